"""How long does the monitor's splice heatmap page take with 10,000 and 100,000 cells?

A real ``splicelab serve`` (SQLite, a temporary directory) is filled through ``/api/v1`` with a
synthetic predictions document in the shape of predictions.json (square: binaries x replacements,
loader and symbols verdicts, missing symbols as reasons; an outcome for every 7th splice), then for
``/packages/<name>/heatmap`` this measures

* the server: the time until the whole page has arrived (HTTP GET over loopback): the first request
  after the upload, which builds the page, and then the median of ``--repeat`` requests, which the
  server answers from its page cache (kept until predictions or outcomes change), and its size. A
  small heatmap is asked for before, so that imports (scipy) are not counted;
* Debian's Chromium (headless, Playwright): from navigation start until the response has arrived and
  until the heatmap's canvas is drawn (``performance.now()`` when the draw ends), and the draw itself.

    python benchmarks/bench_web.py                    # 10,000 and 100,000 cells
    python benchmarks/bench_web.py --cells 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_server_harness import Server, add_user
from test_web_harness import CHROMIUM, CHROMIUM_ARGS, Site, post, synthetic_entries


def server_times(url: str, repeat: int) -> tuple[float, float, int]:
    """(first request s (builds the page), median of the next ``repeat`` s (cached), page bytes)."""
    with httpx.Client(timeout=600) as client:
        t = time.perf_counter()
        first = client.get(url)
        first_s = time.perf_counter() - t
        first.raise_for_status()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            reply = client.get(url)
            times.append(time.perf_counter() - t)
            reply.raise_for_status()
    return first_s, statistics.median(times), len(reply.content)


def browser_times(url: str, repeat: int) -> dict[str, float] | None:
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    found: dict[str, list[float]] = {"response": [], "drawn": [], "draw": []}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeat):
            page = b.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url, timeout=600_000)
            page.wait_for_function("() => document.getElementById('heatmap').dataset.drawn", timeout=600_000)
            t: dict[str, Any] = page.evaluate(
                "() => { const h = window.splicelabHeatmap;"
                " const n = performance.getEntriesByType('navigation')[0];"
                " return {response: n.responseEnd, drawn: h.pageMs, draw: h.drawnAt}; }"
            )
            for k in found:
                found[k].append(float(t[k]))
            page.close()
        b.close()
    return {k: statistics.median(v) for k, v in found.items()}


def bench(site: Site, cells: int, repeat: int) -> None:
    side = math.isqrt(cells)
    n_rows, n_cols = side, math.ceil(cells / side)
    package = f"bench{cells}"
    t = time.perf_counter()
    entries, outcomes = synthetic_entries(n_rows, n_cols, package)
    post(site, "predictions", entries)
    post(site, "outcomes", outcomes)
    print(f"\n== {n_rows} x {n_cols} = {n_rows * n_cols} cells (uploaded in {time.perf_counter() - t:.1f} s)")
    url = f"{site.url}/packages/{package}/heatmap"
    first, median, size = server_times(url, repeat)
    print(f"server: page built and sent in {first:6.2f} s, from its cache in {median:.2f} s", end="")
    print(f"  [{size // 1024} KiB]")
    times = browser_times(url, repeat)
    if times is None:
        print("Chromium: not installed, load time not measured")
        return
    print(
        f"Chromium: page arrived {times['response']:8.0f} ms, heatmap drawn {times['drawn']:8.0f} ms"
        f" after navigation start (draw itself {times['draw']:.0f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--cells", type=int, action="append", help="heatmap size (repeatable; default 10000, 100000)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'monitor.db'}"
        token = add_user(url, "bench")
        with Server(url, work) as server:
            site = Site(server, token, work, user="bench")
            post(site, "predictions", synthetic_entries(3, 3, "warmup")[0])
            httpx.get(f"{site.url}/packages/warmup/heatmap", timeout=600).raise_for_status()
            for cells in args.cells or [10_000, 100_000]:
                bench(site, cells, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
