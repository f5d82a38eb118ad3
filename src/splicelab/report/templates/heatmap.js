/* splicelab interactive heatmap: a canvas of binaries x replacements, drawn from the JSON payload that
 * splicelab.report.html.build_payload writes. Every name goes into the DOM through textContent only. */
(function () {
  "use strict";

  var VERDICT = {
    w: { label: "works", color: "#3681be" },
    b: { label: "breaks", color: "#e1422e" },
    u: { label: "unknown", color: "#c9c9cf" },
    "-": { label: "not predicted", color: "#f1f1f2" }
  };
  var AGREEMENT_COLORS = ["#4477AA", "#66CCEE", "#EE6677", "#CCBB44", "#AA3377", "#E8E8E8"];
  var OUTCOME = {
    ok: { label: "ran", color: "#3681be" },
    fail: { label: "failed", color: "#e1422e" },
    inconclusive: { label: "inconclusive", color: "#AA3377" },
    none: { label: "not run", color: "#f1f1f2" }
  };
  var EMPTY_COLOR = "#ffffff";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function outcomeKind(o) {
    if (!o) return "none";
    if (o[3] === null) return "inconclusive";
    return o[3] ? "ok" : "fail";
  }

  function agreementCode(letter, o) {
    var ran = o ? o[3] : null;
    if (ran === null || ran === undefined) return 5;
    if (letter === "w") return ran ? 0 : 2;
    if (letter === "b") return ran ? 3 : 1;
    return 4;
  }

  function mount(root, data) {
    var started = performance.now();
    var q = function (name) { return root.querySelector("[data-hm=" + name + "]"); };
    var canvas = q("canvas"), overlay = q("overlay"), tooltip = q("tooltip"), panel = q("panel");
    var legend = q("legend"), modeSel = q("mode"), orderSel = q("order"), pkgSel = q("package");
    var status = q("status"), scroller = q("scroller");
    var nR = data.rows.length, nC = data.cols.length, P = data.predictors;
    var api = { ready: false, drawnAt: null, root: root };
    root.heatmap = api;
    window.splicelabHeatmap = api;

    if (!data.cells.length) {
      status.textContent = "No predictions in this input: nothing to draw.";
      root.classList.add("hm-empty");
      api.ready = true;
      api.drawnAt = performance.now() - started;
      api.pageMs = performance.now();
      root.dataset.drawn = "1";
      return api;
    }

    // cell lookup: row * nC + col -> index into data.cells
    var lookup = nR * nC <= 16000000 ? new Int32Array(nR * nC).fill(-1) : null;
    var lookupMap = lookup ? null : new Map();
    data.cells.forEach(function (c, k) {
      if (lookup) lookup[c[0] * nC + c[1]] = k; else lookupMap.set(c[0] * nC + c[1], k);
    });
    function cellAt(i, j) {
      var k = lookup ? lookup[i * nC + j] : lookupMap.get(i * nC + j);
      return k === undefined || k < 0 ? null : data.cells[k];
    }
    var hasOutcomes = data.outcomes.length > 0;

    // --- controls ------------------------------------------------------------------------------------
    function option(select, value, text) {
      var o = el("option", null, text);
      o.value = value;
      select.appendChild(o);
    }
    P.forEach(function (p, k) { option(modeSel, "v" + k, "verdict: " + p); });
    if (hasOutcomes) {
      P.forEach(function (p, k) { option(modeSel, "a" + k, "prediction vs outcome: " + p); });
      option(modeSel, "o", "real outcome");
    }
    var defaultK = Math.max(0, P.indexOf(data.default_predictor));
    modeSel.value = (hasOutcomes ? "a" : "v") + defaultK;
    option(orderSel, "name", "by name");
    if (data.orders.clustered) {
      option(orderSel, "clustered", "clustered (" + data.orders.clustered.by + ")");
      orderSel.value = "clustered";
    }
    option(pkgSel, "", "all packages (" + data.packages.length + ")");
    data.packages.forEach(function (p) { option(pkgSel, p, p); });

    // --- geometry ------------------------------------------------------------------------------------
    var view = { rows: [], cols: [], cs: 10, left: 0, top: 0 };
    var ctx = canvas.getContext("2d"), octx = overlay.getContext("2d");
    var font = "11px system-ui, sans-serif";
    var hover = null, selected = null;

    function colorOf(c) {
      if (!c) return EMPTY_COLOR;
      var mode = modeSel.value, o = c[3] >= 0 ? data.outcomes[c[3]] : null;
      if (mode === "o") return OUTCOME[outcomeKind(o)].color;
      var k = +mode.slice(1), letter = c[2].charAt(k);
      if (mode.charAt(0) === "a") return AGREEMENT_COLORS[agreementCode(letter, o)];
      return VERDICT[letter].color;
    }

    function layout() {
      var order = data.orders[orderSel.value] || data.orders.name;
      var pkg = pkgSel.value;
      var rows = order.rows.filter(function (i) { return !pkg || data.rows[i].package === pkg; });
      var cols = order.cols;
      if (pkg) {
        var used = new Uint8Array(nC);
        rows.forEach(function (i) { for (var j = 0; j < nC; j++) if (cellAt(i, j)) used[j] = 1; });
        cols = cols.filter(function (j) { return used[j]; });
      }
      view.rows = rows;
      view.cols = cols;
      ctx.font = font;
      var widest = 0, tallest = 0;
      var rstride = Math.max(1, Math.floor(rows.length / 400)), cstride = Math.max(1, Math.floor(cols.length / 400));
      for (var a = 0; a < rows.length; a += rstride) {
        widest = Math.max(widest, ctx.measureText(data.rows[rows[a]].label).width);
      }
      for (var b = 0; b < cols.length; b += cstride) {
        tallest = Math.max(tallest, ctx.measureText(data.cols[cols[b]].label).width);
      }
      view.left = Math.min(280, Math.ceil(widest)) + 12;
      view.top = Math.min(170, Math.ceil(tallest)) + 12;
      var side = panel.offsetWidth ? panel.offsetWidth + 24 : 0;
      var avail = Math.max(240, root.clientWidth - side - view.left - 24);
      var cs = Math.floor(Math.min(avail / Math.max(cols.length, 1), 720 / Math.max(rows.length, 1)));
      view.cs = Math.max(3, Math.min(24, cs));
      view.step = labelStep();
    }

    function labelStep() {
      var need = 12;
      return { r: Math.max(1, Math.ceil(need / view.cs)), c: Math.max(1, Math.ceil(need / view.cs)) };
    }

    function fit(text, width) {
      if (ctx.measureText(text).width <= width) return text;
      var lo = 0, hi = text.length;
      while (lo < hi) {
        var mid = (lo + hi + 1) >> 1;
        if (ctx.measureText("\u2026" + text.slice(text.length - mid)).width <= width) lo = mid; else hi = mid - 1;
      }
      return "\u2026" + text.slice(text.length - lo);
    }

    function draw() {
      layout();
      var dpr = window.devicePixelRatio || 1, cs = view.cs;
      var w = view.left + view.cols.length * cs + 4, h = view.top + view.rows.length * cs + 4;
      [canvas, overlay].forEach(function (cv) {
        cv.width = Math.ceil(w * dpr);
        cv.height = Math.ceil(h * dpr);
        cv.style.width = w + "px";
        cv.style.height = h + "px";
      });
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      octx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      ctx.font = font;
      ctx.fillStyle = "#333";
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      for (var a = 0; a < view.rows.length; a += view.step.r) {
        ctx.fillText(fit(data.rows[view.rows[a]].label, view.left - 10), view.left - 6, view.top + a * cs + cs / 2);
      }
      ctx.save();
      ctx.textAlign = "left";
      for (var b = 0; b < view.cols.length; b += view.step.c) {
        ctx.save();
        ctx.translate(view.left + b * cs + cs / 2, view.top - 6);
        ctx.rotate(-Math.PI / 2);
        ctx.fillText(fit(data.cols[view.cols[b]].label, view.top - 10), 0, 0);
        ctx.restore();
      }
      ctx.restore();
      // cells, batched by colour
      var gap = cs >= 8 ? 1 : 0, batches = {}, tally = {};
      for (var r = 0; r < view.rows.length; r++) {
        var i = view.rows[r];
        for (var c = 0; c < view.cols.length; c++) {
          var cell = cellAt(i, view.cols[c]);
          var color = colorOf(cell);
          (batches[color] = batches[color] || []).push(r, c);
          tally[color] = (tally[color] || 0) + (cell ? 1 : 0);
        }
      }
      Object.keys(batches).forEach(function (color) {
        var list = batches[color];
        ctx.fillStyle = color;
        for (var k = 0; k < list.length; k += 2) {
          ctx.fillRect(view.left + list[k + 1] * cs, view.top + list[k] * cs, cs - gap, cs - gap);
        }
      });
      drawLegend(tally);
      drawOverlay();
      status.textContent = view.rows.length + " binary files \u00d7 " + view.cols.length + " replacements" +
        (orderSel.value === "clustered" && data.orders.clustered.notes.length
          ? " (" + data.orders.clustered.notes.join("; ") + ")" : "") +
        ". Hover a cell for the verdicts, click it for the reasons.";
      api.drawnAt = performance.now() - started;
      api.pageMs = performance.now();
      api.ready = true;
      root.dataset.drawn = String((+root.dataset.drawn || 0) + 1);
    }

    function drawLegend(tally) {
      clear(legend);
      var mode = modeSel.value, items;
      if (mode === "o") {
        items = ["ok", "fail", "inconclusive", "none"].map(function (k) { return OUTCOME[k]; });
      } else if (mode.charAt(0) === "a") {
        items = data.agreement.map(function (a) { return { label: a.label, color: AGREEMENT_COLORS[a.code] }; });
      } else {
        items = ["w", "b", "u", "-"].map(function (k) { return VERDICT[k]; });
      }
      items.forEach(function (it) {
        var item = el("span", "hm-legend-item");
        var sw = el("span", "hm-swatch");
        sw.style.background = it.color;
        item.appendChild(sw);
        item.appendChild(el("span", null, it.label + " (" + (tally[it.color] || 0) + ")"));
        legend.appendChild(item);
      });
    }

    function drawOverlay() {
      var cs = view.cs;
      octx.clearRect(0, 0, overlay.width, overlay.height);
      [[hover, "#111", 1.5], [selected, "#000", 2.5]].forEach(function (h) {
        if (!h[0]) return;
        var r = view.rows.indexOf(h[0].row), c = view.cols.indexOf(h[0].col);
        if (r < 0 || c < 0) return;
        octx.strokeStyle = h[1];
        octx.lineWidth = h[2];
        octx.strokeRect(view.left + c * cs - 0.5, view.top + r * cs - 0.5, cs, cs);
      });
    }

    function hit(ev) {
      var box = overlay.getBoundingClientRect();
      var x = ev.clientX - box.left - view.left, y = ev.clientY - box.top - view.top;
      if (x < 0 || y < 0) return null;
      var c = Math.floor(x / view.cs), r = Math.floor(y / view.cs);
      if (r >= view.rows.length || c >= view.cols.length) return null;
      return { row: view.rows[r], col: view.cols[c] };
    }

    function verdictWord(letter) { return VERDICT[letter] ? VERDICT[letter].label : "?"; }

    function showTooltip(ev, h) {
      var cell = cellAt(h.row, h.col);
      clear(tooltip);
      tooltip.appendChild(el("div", "hm-tt-binary", data.rows[h.row].label));
      tooltip.appendChild(el("div", "hm-tt-repl", "\u2190 " + data.cols[h.col].label));
      if (!cell) {
        tooltip.appendChild(el("div", "hm-tt-none", "no prediction for this pair"));
      } else {
        P.forEach(function (p, k) {
          var line = el("div", "hm-tt-verdict hm-v-" + cell[2].charAt(k));
          line.appendChild(el("b", null, p + ": "));
          line.appendChild(document.createTextNode(verdictWord(cell[2].charAt(k))));
          tooltip.appendChild(line);
        });
        if (cell[3] >= 0) {
          var o = data.outcomes[cell[3]];
          tooltip.appendChild(el("div", "hm-tt-outcome", "real outcome: " + o[0]));
        }
      }
      tooltip.hidden = false;
      var pad = 14, tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
      var x = ev.clientX + pad, y = ev.clientY + pad;
      if (x + tw > window.innerWidth) x = ev.clientX - tw - pad;
      if (y + th > window.innerHeight) y = ev.clientY - th - pad;
      tooltip.style.left = Math.max(0, x) + "px";
      tooltip.style.top = Math.max(0, y) + "px";
    }

    function showPanel(h) {
      var cell = cellAt(h.row, h.col), row = data.rows[h.row], col = data.cols[h.col];
      clear(panel);
      panel.appendChild(el("h3", null, row.label));
      var dl = el("dl", "hm-facts");
      [["binary", row.id], ["file", row.file], ["replacement", col.id]].forEach(function (kv) {
        dl.appendChild(el("dt", null, kv[0]));
        dl.appendChild(el("dd", null, kv[1]));
      });
      panel.appendChild(dl);
      if (!cell) {
        panel.appendChild(el("p", "hm-muted", "No predictor looked at this pair."));
        return;
      }
      P.forEach(function (p, k) {
        var letter = cell[2].charAt(k);
        var box = el("section", "hm-pred");
        var head = el("h4");
        head.appendChild(el("span", null, p + " "));
        head.appendChild(el("span", "hm-badge hm-v-" + letter, verdictWord(letter)));
        box.appendChild(head);
        var ids = cell[4] ? cell[4][k] : [];
        if (ids.length) {
          var table = el("table", "hm-reasons");
          var tr = el("tr");
          ["kind", "symbol", "version", "library", "detail"].forEach(function (t) { tr.appendChild(el("th", null, t)); });
          table.appendChild(tr);
          ids.forEach(function (id) {
            var reason = data.reasons[id], row2 = el("tr");
            reason.forEach(function (v) { row2.appendChild(el("td", null, v === null ? "" : v)); });
            table.appendChild(row2);
          });
          box.appendChild(table);
        } else if (letter !== "-") {
          box.appendChild(el("p", "hm-muted", letter === "w" ? "nothing missing" : "no reasons given"));
        }
        panel.appendChild(box);
      });
      if (cell[3] >= 0) {
        var o = data.outcomes[cell[3]], sec = el("section", "hm-outcome");
        sec.appendChild(el("h4", null, "real outcome: " + o[0] + (o[2] ? " (" + o[2] + ")" : "")));
        if (o[1]) sec.appendChild(el("pre", null, o[1]));
        panel.appendChild(sec);
      }
    }

    overlay.addEventListener("mousemove", function (ev) {
      var h = hit(ev);
      if (!h) { tooltip.hidden = true; hover = null; drawOverlay(); return; }
      hover = h;
      drawOverlay();
      showTooltip(ev, h);
    });
    overlay.addEventListener("mouseleave", function () { tooltip.hidden = true; hover = null; drawOverlay(); });
    overlay.addEventListener("click", function (ev) {
      var h = hit(ev);
      if (!h) return;
      // an embedding page (the monitor's web UI) may take the click over: it cancels this event
      var pick = new CustomEvent("hm-select", { cancelable: true, detail: {
        row: data.rows[h.row], col: data.cols[h.col], ctrl: ev.ctrlKey || ev.metaKey || ev.shiftKey } });
      if (!root.dispatchEvent(pick)) return;
      selected = h;
      drawOverlay();
      showPanel(h);
    });
    [modeSel, orderSel, pkgSel].forEach(function (s) { s.addEventListener("change", draw); });

    // test and embedding hooks: where a cell is on screen
    api.cellCenter = function (rowIndex, colIndex) {
      var r = view.rows.indexOf(rowIndex), c = view.cols.indexOf(colIndex);
      if (r < 0 || c < 0) return null;
      var box = overlay.getBoundingClientRect();
      return { x: box.left + view.left + (c + 0.5) * view.cs, y: box.top + view.top + (r + 0.5) * view.cs };
    };
    api.reveal = function (rowIndex, colIndex) {
      var r = view.rows.indexOf(rowIndex), c = view.cols.indexOf(colIndex);
      if (r < 0 || c < 0) return null;
      var x = view.left + (c + 0.5) * view.cs, y = view.top + (r + 0.5) * view.cs;
      scroller.scrollLeft = Math.max(0, x - scroller.clientWidth / 2);
      scroller.scrollTop = Math.max(0, y - scroller.clientHeight / 2);
      var box = overlay.getBoundingClientRect();
      window.scrollBy(0, box.top + y - window.innerHeight / 2);
      return api.cellCenter(rowIndex, colIndex);
    };
    api.find = function (rowLabel, colLabel) {
      var i = data.rows.findIndex(function (r) { return r.label === rowLabel; });
      var j = data.cols.findIndex(function (c) { return c.label === colLabel; });
      return i < 0 || j < 0 ? null : { row: i, col: j };
    };
    api.redraw = draw;
    draw();
    return api;
  }

  window.SpliceHeatmap = { mount: mount };
})();
