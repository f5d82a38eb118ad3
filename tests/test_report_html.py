"""``splicelab report``: the static HTML page opened in real Chromium (Debian's, headless) with Playwright.

Screenshots are kept under test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from splicelab.cli import main
from splicelab.report.grid import build_grid
from splicelab.report.html import build_payload, payload_script, render_report
from test_report_data import real_predictions, synthetic_predictions, truth_outcomes, write_json

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash .ci/setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A page with its console errors and dialogs recorded."""

    def __init__(self, browser: Any, path: Path, width: int = 1500, height: int = 1000) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => document.getElementById('heatmap').dataset.drawn", timeout=60_000)

    def cell(self, row_label: str, col_label: str) -> dict[str, float]:
        pos = self.page.evaluate(
            "([r, c]) => { const h = window.splicelabHeatmap; const f = h.find(r, c);"
            " return f && h.reveal(f.row, f.col); }",
            [row_label, col_label],
        )
        assert pos is not None, f"no cell {row_label} x {col_label} on the page"
        return pos

    def shot(self, name: str, full: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=full)
        return path

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("report")
    predictions = real_predictions(base / "predicted")
    outcomes = write_json(base / "outcomes.json", truth_outcomes())
    out = base / "report.html"
    result = CliRunner().invoke(
        main, ["report", str(predictions), "--outcomes", str(outcomes), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return {
        "html": out,
        "entries": json.loads(predictions.read_text()),
        "outcomes": json.loads(outcomes.read_text()),
    }


def _label(b: dict[str, Any], file: bool = False) -> str:
    text = f"{b['package']}@{b['version']}/{b['hash'][:7]}"
    return f"{text}:{b['file']}" if file else text


# --- the page in Chromium -------------------------------------------------------------------------------


def test_report_is_self_contained(real: dict[str, Any], browser: Any) -> None:
    html = real["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    page = Page(browser, real["html"])
    try:
        assert page.errors == []
        assert all(u.startswith(("file:", "data:", "about:")) for u in page.requests), page.requests
    finally:
        page.close()


def test_hover_names_binary_replacement_and_verdicts(real: dict[str, Any], browser: Any) -> None:
    entry = next(e for e in real["entries"] if e["predictors"]["loader"]["verdict"] == "breaks")
    row, col = _label(entry["binary"], file=True), _label(entry["replacement"])
    page = Page(browser, real["html"])
    try:
        pos = page.cell(row, col)
        page.page.mouse.move(pos["x"], pos["y"])
        tooltip = page.page.locator("[data-hm=tooltip]")
        tooltip.wait_for(state="visible")
        text = tooltip.inner_text()
        assert row in text and col in text
        for name, p in entry["predictors"].items():
            assert re.search(rf"{re.escape(name)}:\s*{p['verdict']}", text), text
        page.shot("report-hover.png")
        page.page.mouse.move(2, 2)
        tooltip.wait_for(state="hidden")
        assert page.errors == []
    finally:
        page.close()


def test_click_shows_missing_symbols_in_the_panel(real: dict[str, Any], browser: Any) -> None:
    entry = next(
        e
        for e in real["entries"]
        if e["predictors"]["loader"]["verdict"] == "breaks" and e["predictors"]["loader"]["reasons"]
    )
    reason = entry["predictors"]["loader"]["reasons"][0]
    row, col = _label(entry["binary"], file=True), _label(entry["replacement"])
    page = Page(browser, real["html"])
    try:
        pos = page.cell(row, col)
        page.page.mouse.click(pos["x"], pos["y"])
        panel = page.page.locator("[data-hm=panel]")
        panel.locator("table.hm-reasons").first.wait_for()
        text = panel.inner_text()
        assert entry["binary"]["id"] in text and entry["replacement"]["id"] in text
        for field in ("kind", "symbol", "version", "library"):
            if reason[field]:
                assert reason[field] in text, (field, text)
        # the real outcome of that splice, when it was run, is shown with the loader's message
        outcome = next(
            (
                o
                for o in real["outcomes"]
                if o["binary"]["id"] == entry["binary"]["id"]
                and o["binary"]["file"] == entry["binary"]["file"]
                and o["replacement"]["id"] == entry["replacement"]["id"]
            ),
            None,
        )
        if outcome is not None:
            assert f"real outcome: {outcome['class']}" in text
        page.page.mouse.move(pos["x"] + 1, pos["y"] + 1)
        page.shot("report-click.png")
        page.page.evaluate("window.scrollTo(0, 0)")
        page.shot("report-full.png", full=True)
        assert page.errors == []
    finally:
        page.close()


def test_modes_orders_and_package_filter_redraw(real: dict[str, Any], browser: Any) -> None:
    page = Page(browser, real["html"])
    try:
        legend = page.page.locator("[data-hm=legend]")
        assert "right: works" in legend.inner_text()  # outcomes given: agreement is the first view
        page.page.select_option("[data-hm=mode]", "v0")
        assert "works (" in legend.inner_text() and "right:" not in legend.inner_text()
        n_works = sum(1 for e in real["entries"] if e["predictors"][real_first(real)]["verdict"] == "works")
        assert f"works ({n_works})" in legend.inner_text()
        page.page.select_option("[data-hm=package]", "pigz")
        status = page.page.locator("[data-hm=status]").inner_text()
        pigz_rows = {
            (e["binary"]["id"], e["binary"]["file"])
            for e in real["entries"]
            if e["binary"]["package"] == "pigz"
        }
        assert status.startswith(f"{len(pigz_rows)} binary files")
        page.page.select_option("[data-hm=order]", "name")
        assert int(page.page.evaluate("document.getElementById('heatmap').dataset.drawn")) >= 4
        assert page.errors == []
    finally:
        page.close()


def real_first(real: dict[str, Any]) -> str:
    return next(iter(real["entries"][0]["predictors"]))


def test_scoreboard_and_summary(real: dict[str, Any], browser: Any) -> None:
    page = Page(browser, real["html"])
    try:
        board = page.page.locator("#scoreboard").inner_text()
        summary = page.page.locator("#summary").inner_text()
        assert re.search(rf"\b{len(real['entries'])}\s+splices predicted", summary), summary
        ran = {
            (o["binary"]["id"], o["binary"]["file"], o["replacement"]["id"]): o["class"] == "ok"
            for o in real["outcomes"]
        }
        for predictor in real["entries"][0]["predictors"]:
            judged = right = false_works = 0
            for e in real["entries"]:
                key = (e["binary"]["id"], e["binary"]["file"], e["replacement"]["id"])
                if key not in ran:
                    continue
                verdict = e["predictors"][predictor]["verdict"]
                judged += 1
                right += (verdict == "works" and ran[key]) or (verdict == "breaks" and not ran[key])
                false_works += verdict == "works" and not ran[key]
            assert judged > 0
            assert f"({right} of {judged} right" in board, (predictor, board)
            assert f"{100 * right / judged:.1f} %" in board
            if false_works:
                assert f'{false_works} false "works"' in board
        assert page.errors == []
    finally:
        page.close()


# --- hostile names, empty input, evaluation.json, large input ----------------------------------------


def test_html_and_js_in_names_render_as_text(tmp_path: Path, browser: Any) -> None:
    doc = synthetic_predictions(
        4, 3, package_names=[XSS, "</script><script>alert(2)</script>"], predictors=("loader",)
    )
    doc[0]["predictors"] = {
        "<b>bold</b>": {
            "verdict": "breaks",
            "reasons": [
                {
                    "kind": "missing-symbol",
                    "symbol": "<svg onload=alert(3)>",
                    "version": "V&1",
                    "library": "lib\"x'.so",
                    "detail": "\u2028</script>",
                }
            ],
        }
    }
    doc[0]["replacement"]["package"] = "<iframe src=javascript:alert(4)>"
    preds = write_json(tmp_path / "xss.json", doc)
    out = tmp_path / "xss.html"
    result = CliRunner().invoke(main, ["report", str(preds), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<img src=x" not in html and "<iframe" not in html and "<svg onload" not in html
    page = Page(browser, out)
    try:
        assert page.page.locator("img, iframe, svg").count() == 0
        assert page.dialogs == []
        summary_and_board = page.page.locator("body").inner_text()
        assert "<b>bold</b>" in summary_and_board  # predictor name shown as text in the summary table
        page.page.select_option("[data-hm=package]", XSS)
        assert page.page.locator("[data-hm=package] option:checked").inner_text() == XSS
        row = _label(doc[0]["binary"], file=True)
        col = _label(doc[0]["replacement"])
        pos = page.cell(row, col)
        page.page.mouse.click(pos["x"], pos["y"])
        page.page.mouse.move(pos["x"] + 1, pos["y"] + 1)
        tooltip = page.page.locator("[data-hm=tooltip]").inner_text()
        assert XSS in tooltip and "<iframe src=javascript:alert(4)>" in tooltip
        panel = page.page.locator("[data-hm=panel]").inner_text()
        assert "<svg onload=alert(3)>" in panel and "lib\"x'.so" in panel and "V&1" in panel
        page.shot("report-xss.png")
        page.page.wait_for_timeout(200)  # give any injected handler a chance to fire
        assert page.dialogs == [] and page.page.locator("img, iframe, svg").count() == 0
        assert page.errors == []
    finally:
        page.close()


def test_payload_script_cannot_close_its_element() -> None:
    payload = {"a": "</script><script>alert(1)</script>", "b": "<!-- \u2028 \u2029 & >", "c": [1, None]}
    tag = str(payload_script(payload, "x"))
    inner = tag[len('<script type="application/json" id="x">') : -len("</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert "\u2028" not in inner and "\u2029" not in inner
    assert json.loads(inner) == payload
    assert 'id="&lt;b&gt;"' in str(payload_script({}, "<b>"))


def test_empty_input_renders_a_sensible_page(tmp_path: Path, browser: Any) -> None:
    preds = write_json(tmp_path / "predictions.json", [])
    out = tmp_path / "empty.html"
    result = CliRunner().invoke(main, ["report", str(preds), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = Page(browser, out)
    try:
        assert page.page.locator("#empty-notice").is_visible()
        assert "No predictions" in page.page.locator("[data-hm=status]").inner_text()
        assert not page.page.locator("[data-hm=canvas]").is_visible()
        assert "No real outcomes" in page.page.locator("#scoreboard").inner_text()
        page.shot("report-empty.png", full=True)
        assert page.errors == []
    finally:
        page.close()


def test_scoreboard_from_evaluation_json(tmp_path: Path, browser: Any) -> None:
    doc = synthetic_predictions(3, 3, predictors=("loader", "symbols"))
    preds = write_json(tmp_path / "predictions.json", doc)
    evaluation = {
        "loader": {
            "correct": 7,
            "false_works": 1,
            "false_breaks": 1,
            "unknown": 0,
            "total": 9,
            "accuracy": 7 / 9,
            "confusion": {"works": {"ok": 5, "fail": 1}, "breaks": {"ok": 1, "fail": 2}, "unknown": {}},
            "misses": [
                {
                    "binary": "pkg0@1.0/0000000:bin/pkg0-tool0",
                    "replacement": "libdep@2.1/0000001",
                    "verdict": "works",
                    "class": "undefined-symbol",
                    "reasons": [],
                    "message": "undefined symbol: dep_fn_9",
                },
                {
                    "binary": "b",
                    "replacement": "r",
                    "verdict": "breaks",
                    "class": "ok",
                    "reasons": [],
                    "message": "",
                },
            ],
        },
    }
    write_json(tmp_path / "evaluation.json", evaluation)  # found beside predictions.json
    out = tmp_path / "ev.html"
    result = CliRunner().invoke(main, ["report", str(preds), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = Page(browser, out)
    try:
        board = page.page.locator("#scoreboard").inner_text()
        assert "77.8 %" in board and "(7 of 9 right" in board
        assert '1 false "works"' in board and "undefined symbol: dep_fn_9" in board
        assert "pkg0@1.0/0000000:bin/pkg0-tool0" in board
        assert page.errors == []
    finally:
        page.close()
    bad = write_json(tmp_path / "bad-eval.json", {"loader": {"confusion": {"works": {"ok": "many"}}}})
    result = CliRunner().invoke(main, ["report", str(preds), "--evaluation", str(bad), "--out", str(out)])
    assert result.exit_code != 0
    assert "bad-eval.json" in result.output and "confusion.works" in result.output


def test_ten_thousand_cell_report_opens(tmp_path: Path, browser: Any) -> None:
    doc = synthetic_predictions(100, 100, packages=3, predictors=("loader", "symbols"))
    grid = build_grid(doc)
    out = tmp_path / "big.html"
    out.write_text(render_report(grid, title="10,000 cells"))
    page = Page(browser, out)
    try:
        drawn_ms = page.page.evaluate("window.splicelabHeatmap.drawnAt")
        assert isinstance(drawn_ms, int | float) and drawn_ms > 0
        status = page.page.locator("[data-hm=status]").inner_text()
        assert status.startswith("100 binary files \u00d7 100 replacements")
        last = doc[-1]
        row, col = _label(last["binary"], file=True), _label(last["replacement"])
        pos = page.cell(row, col)
        page.page.mouse.move(pos["x"], pos["y"])
        tooltip = page.page.locator("[data-hm=tooltip]")
        tooltip.wait_for(state="visible")
        assert row in tooltip.inner_text() and col in tooltip.inner_text()
        page.shot("report-10000.png")
        assert page.errors == []
    finally:
        page.close()


def test_payload_is_compact_and_complete() -> None:
    doc = synthetic_predictions(5, 4, predictors=("loader", "symbols"))
    grid = build_grid(doc)
    payload = build_payload(grid)
    assert len(payload["cells"]) == len(doc)
    assert payload["predictors"] == ["loader", "symbols"]
    letters = {"works": "w", "breaks": "b", "unknown": "u"}
    for entry in doc:
        i = [r["label"] for r in payload["rows"]].index(_label(entry["binary"], file=True))
        j = [c["label"] for c in payload["cols"]].index(_label(entry["replacement"]))
        cell = next(c for c in payload["cells"] if c[0] == i and c[1] == j)
        assert cell[2] == "".join(letters[entry["predictors"][p]["verdict"]] for p in payload["predictors"])
        for k, p in enumerate(payload["predictors"]):
            want = [r.get("symbol") for r in entry["predictors"][p]["reasons"]]
            got = [payload["reasons"][x][1] for x in (cell[4][k] if len(cell) > 4 else [])]
            assert got == want
    assert sorted(payload["orders"]["name"]["rows"]) == list(range(5))
