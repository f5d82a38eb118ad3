/* splicelab monitor pages: selectors that apply themselves, and heatmap clicks that open the splice page. */
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.form) t.form.submit();
  });

  function spliceUrl(base, row, col) {
    var q = new URLSearchParams({ binary: row.id, file: row.file, replacement: col.id });
    return base + encodeURIComponent(row["package"]) + "/splice?" + q.toString();
  }

  function wire() {
    document.querySelectorAll(".web-heatmap[data-splice-base]").forEach(function (box) {
      // the heatmap's root (.hm) dispatches "hm-select" on itself (the event does not bubble)
      box.querySelector(".hm").addEventListener("hm-select", function (ev) {
        ev.preventDefault();
        var url = spliceUrl(box.dataset.spliceBase, ev.detail.row, ev.detail.col);
        if (ev.detail.ctrl) window.open(url, "_blank", "noopener");
        else window.location.assign(url);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
