"""How long do the pictures of a large prediction run take? Heatmap files and the HTML report.

For square matrices of 10,000 and 100,000 cells (synthetic predictions documents in the shape of
predictions.json, two predictors, 5 % "unknown" verdicts) this measures

* matplotlib: the clustered verdict heatmap and the agreement map, each written as PDF, PNG and SVG
  (:func:`splicelab.report.heatmap.render_verdict_heatmap` / ``render_agreement_map``);
* the HTML report: building it (Python), its size, and in Debian's Chromium (headless) the time from
  navigation start until the heatmap's canvas is drawn (``performance.now()`` when the draw ends), and the
  heatmap's own draw time.

    python benchmarks/bench_render.py                     # 10,000 and 100,000 cells
    python benchmarks/bench_render.py --cells 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from splicelab.report.grid import build_grid
from splicelab.report.heatmap import render_agreement_map, render_verdict_heatmap
from splicelab.report.html import render_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def document(n_rows: int, n_cols: int, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Predictions (loader, symbols) and outcomes over n_rows binaries x n_cols replacements."""
    rng = random.Random(seed)
    entries, outcomes = [], []
    original = {"package": "libdep", "version": "1.0", "hash": "o" * 32}
    for i in range(n_rows):
        binary = {
            "package": f"pkg{i % 7}",
            "version": f"1.{i}",
            "hash": f"{i:07d}" + "b" * 25,
            "file": "bin/tool",
        }
        for j in range(n_cols):
            repl = {"package": "libdep", "version": f"2.{j}", "hash": f"{j:07d}" + "r" * 25}
            broken = (j % 5 == 0) or (i % 4 == 0 and j % 3 == 0)
            preds = {}
            for name, noise in (("loader", 0.01), ("symbols", 0.2)):
                if rng.random() < 0.05:
                    preds[name] = {"verdict": "unknown", "reasons": [{"kind": "tool-error"}]}
                elif broken != (rng.random() < noise):
                    preds[name] = {
                        "verdict": "breaks",
                        "reasons": [
                            {
                                "kind": "missing-symbol",
                                "symbol": f"dep_{j}",
                                "version": f"DEP_2.{j}",
                                "library": "libdep.so.2",
                                "detail": "required by bin/tool",
                            }
                        ],
                    }
                else:
                    preds[name] = {"verdict": "works", "reasons": []}
            entries.append(
                {
                    "binary": binary,
                    "dependency": "libdep",
                    "original": original,
                    "replacement": repl,
                    "predictors": preds,
                }
            )
            if rng.random() < 0.3:
                outcomes.append(
                    {
                        "binary": binary,
                        "replacement": repl,
                        "dependency": "libdep",
                        "class": "undefined-symbol" if broken else "ok",
                        "message": "",
                    }
                )
    return entries, outcomes


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def browser_times(html: Path, repeat: int) -> tuple[float, float] | None:
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    page_ms, draw_ms = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            page = b.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(html.as_uri())
            page.wait_for_function("() => document.getElementById('heatmap').dataset.drawn", timeout=300_000)
            page_ms.append(page.evaluate("window.splicelabHeatmap.pageMs"))
            draw_ms.append(page.evaluate("window.splicelabHeatmap.drawnAt"))
            page.close()
        b.close()
    return statistics.median(page_ms), statistics.median(draw_ms)


def bench(cells: int, repeat: int, work: Path) -> None:
    side = math.isqrt(cells)
    n_rows, n_cols = side, math.ceil(cells / side)
    t = time.perf_counter()
    entries, outcomes = document(n_rows, n_cols)
    grid = build_grid(entries, outcomes)
    print(
        f"\n== {n_rows} x {n_cols} = {n_rows * n_cols} cells"
        f" (inputs built in {time.perf_counter() - t:.1f} s)"
    )
    t_heat, (files, clustering) = timed(
        lambda: render_verdict_heatmap(grid, "loader", work / f"heat{cells}", "bench"), repeat
    )
    sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size // 1024} KiB" for p in files)
    notes = "; ".join(clustering.notes) or "rows and columns clustered"
    print(f"verdict heatmap (pdf+png+svg): {t_heat:6.2f} s   [{sizes}] ({notes})")
    t_agree, files = timed(
        lambda: render_agreement_map(grid, "loader", work / f"agree{cells}", "bench", clustering), repeat
    )
    print(f"agreement map   (pdf+png+svg): {t_agree:6.2f} s")
    html = work / f"report{cells}.html"
    t_html, text = timed(lambda: render_report(grid, title=f"{cells} cells"), repeat)
    html.write_text(text)
    print(f"HTML report built:             {t_html:6.2f} s   [{html.stat().st_size // 1024} KiB]")
    times = browser_times(html, repeat)
    if times is None:
        print("Chromium: not installed, load time not measured")
    else:
        print(
            f"Chromium: heatmap drawn {times[0]:8.0f} ms after navigation start"
            f" (draw itself {times[1]:.0f} ms)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--cells", type=int, action="append", help="matrix size (repeatable; default 10000, 100000)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is shown")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for cells in args.cells or [10_000, 100_000]:
            bench(cells, args.repeat, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
