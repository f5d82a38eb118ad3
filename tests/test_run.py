"""``splicelab run``: the whole job on a real Debian family, as a user runs it (a real process), and the
consistency of everything it writes: predictions x outcomes, the evaluation recomputed from those two
files, the matrix, the heatmaps, the HTML report, the summary and the database ``serve`` reads."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from splicelab.evaluate import RUNTIME_FAILURES
from splicelab.pipeline import RunConfig, run
from splicelab.validate.sandbox import namespaces_available
from test_debian import debian_cache

pytestmark = [pytest.mark.network, pytest.mark.slow]

RELEASES = ("bullseye", "bookworm", "trixie", "sid")


def _splicelab(*args: str | Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "splicelab", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def zlib(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    if not namespaces_available():
        pytest.skip("needs mount/user namespaces (root) to perform the splices hermetically")
    tmp = tmp_path_factory.mktemp("run")
    db = f"sqlite:///{tmp / 'splicelab.db'}"
    proc = _splicelab("run", "zlib", "--out", tmp / "zlib", "--db", db, "--cache", debian_cache())
    return proc, tmp / "zlib", db


def _splice(d: dict[str, Any]) -> tuple[Any, ...]:
    return (d["binary"]["id"], d["binary"]["file"], d["original"]["id"], d["replacement"]["id"], d["mode"])


def test_run_exits_0_and_says_where_the_report_is(zlib: tuple) -> None:
    proc, out, _ = zlib
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"report: {out / 'report.html'}" in proc.stderr
    for stage in ("fetch", "analyze", "predict", "validate", "evaluate", "report", "store"):
        assert stage in proc.stderr
    assert "error" not in proc.stderr


def test_every_output_file_is_written(zlib: tuple) -> None:
    _, out, _ = zlib
    top = ["artifacts.json", "predictions.json", "symbolator-predictions.json", "matrix.csv", "outcomes.json",
           "evaluation.json", "report.html", "summary.md"]  # fmt: skip
    per_mode = ["predictions.json", "outcomes.json", "evaluation.json", "matrix.csv", "report.html"]
    kinds = [f"{p}{a}" for p in ("loader", "symbols") for a in ("", "-agreement")]
    drawn = [f"pigz-{k}.{x}" for k in kinds for x in ("png", "pdf", "svg")]
    expected = top + [f"mode-{m}/{f}" for m in "BC" for f in per_mode]
    expected += [f"mode-{m}/heatmaps/pigz/{f}" for m in "BC" for f in drawn]
    missing = [f for f in expected if not (out / f).is_file() or (out / f).stat().st_size == 0]
    assert missing == []


def test_predictions_and_outcomes_are_the_same_splices(zlib: tuple) -> None:
    _, out, _ = zlib
    preds, outs = _load(out / "predictions.json"), _load(out / "outcomes.json")
    assert len(preds) == len(outs) == 4 * 4 * 2  # program release x library release x mode
    assert Counter(p["mode"] for p in preds) == {"B": 16, "C": 16}
    assert {_splice(p) for p in preds} == {_splice(o) for o in outs}
    assert len({_splice(p) for p in preds}) == 32
    for o in outs:
        for key in ("program", "program_release", "library", "library_release", "class", "message"):
            assert key in o, key
        assert o["program"] == "pigz" and o["library"] == "zlib1g"
    assert {(p["program_release"], p["library_release"]) for p in preds} == {
        (x, y) for x in RELEASES for y in RELEASES
    }
    for m in "BC":
        assert _load(out / f"mode-{m}" / "predictions.json") == [p for p in preds if p["mode"] == m]
        assert _load(out / f"mode-{m}" / "outcomes.json") == [o for o in outs if o["mode"] == m]


def _recompute(preds: list[dict], outs: list[dict], predictor: str) -> dict[str, int]:
    """The evaluation counts from the two files alone (docs/formats.md), without splicelab.evaluate."""
    by_splice = {_splice(o): o for o in outs}
    n = Counter()
    for p in preds:
        o = by_splice.get(_splice(p))
        if o is None or o.get("linked") is False:
            n["unmatched"] += 1
            continue
        verdict = p["predictors"][predictor]["verdict"]
        if o["class"] in RUNTIME_FAILURES:
            n["runtime"] += 1
            continue
        n["total"] += 1
        ok = o["class"] == "ok"
        if verdict == "unknown":
            n["unknown"] += 1
        elif (verdict == "works") == ok:
            n["correct"] += 1
        else:
            n["false_works" if verdict == "works" else "false_breaks"] += 1
    return {
        k: n[k]
        for k in ("correct", "false_works", "false_breaks", "unknown", "total", "runtime", "unmatched")
    }


def test_evaluation_is_what_the_two_files_say(zlib: tuple) -> None:
    _, out, _ = zlib
    preds, outs = _load(out / "predictions.json"), _load(out / "outcomes.json")
    ev = _load(out / "evaluation.json")
    assert set(ev) == {"loader", "symbols"}
    for name, e in ev.items():
        assert {k: e[k] for k in _recompute(preds, outs, name)} == _recompute(preds, outs, name)
        assert len(e["misses"]) == e["false_works"] + e["false_breaks"]
    for m in "BC":
        mode_ev = _load(out / f"mode-{m}" / "evaluation.json")
        mp, mo = [p for p in preds if p["mode"] == m], [o for o in outs if o["mode"] == m]
        for name, e in mode_ev.items():
            assert {k: e[k] for k in _recompute(mp, mo, name)} == _recompute(mp, mo, name)
    # the acceptance on this family: the loader is never wrong on a load outcome
    assert ev["loader"]["false_works"] == ev["loader"]["false_breaks"] == 0
    assert ev["loader"]["total"] == 32


def test_matrix_and_symbolator_file_follow_the_predictions(zlib: tuple) -> None:
    _, out, _ = zlib
    preds = _load(out / "predictions.json")
    with open(out / "matrix.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 4 and len(rows[0]) == 1 + 4  # pigz of 4 releases x zlib1g of 4 releases

    def label(d: dict[str, Any], short: bool) -> str:
        return f"{d['package']}@{d['version']}/{d['hash'][:7] if short else d['hash']}"

    # pigz 2.6-1 of bullseye and of bookworm share "2.6-1+b": such labels are written in full
    names = {label(p["binary"], False): label(p["binary"], True) for p in preds}
    short_rows = Counter(names.values())
    worst: dict[tuple[str, str], int] = {}
    for p in preds:
        b = label(p["binary"], short_rows[label(p["binary"], True)] == 1) + ":" + p["binary"]["file"]
        r = label(p["replacement"], True)
        value = {"works": 1, "breaks": -1, "unknown": 0}[p["predictors"]["loader"]["verdict"]]
        worst[(b, r)] = min(worst.get((b, r), value), value)
    header = rows[0][1:]
    cells = {(row[0], col): int(v) for row in rows[1:] for col, v in zip(header, row[1:], strict=True)}
    assert cells == worst
    assert "pigz@2.6-1/2.6-1+bullseye:usr/bin/pigz" in {row[0] for row in rows}
    seed = _load(out / "symbolator-predictions.json")
    entries = [e for v in seed.values() for e in v]
    assert len(entries) == len(preds)
    assert Counter(e["prediction"] for e in entries) == Counter(
        p["predictors"]["symbols"]["verdict"] == "works" for p in preds
    )
    assert all(k.startswith("pigz@") for k in seed)


def test_heatmaps_are_real_images(zlib: tuple) -> None:
    from PIL import Image

    _, out, _ = zlib
    for m in "BC":
        for name in ("pigz-loader.png", "pigz-loader-agreement.png"):
            path = out / f"mode-{m}" / "heatmaps" / "pigz" / name
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            with Image.open(path) as img:
                img.verify()
            with Image.open(path) as img:
                assert img.size[0] > 200 and img.size[1] > 200
        svg = (out / f"mode-{m}" / "heatmaps" / "pigz" / "pigz-loader.svg").read_text()
        assert "<svg" in svg and "zlib1g" in svg
        assert (out / f"mode-{m}" / "heatmaps" / "pigz" / "pigz-loader.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_summary_and_artifacts(zlib: tuple) -> None:
    from splicelab.sources import SourceError, load_artifacts

    _, out, _ = zlib
    page = (out / "report.html").read_text()
    assert page == (out / "mode-C" / "report.html").read_text()  # the top page: the system mode
    assert 'id="splicelab-data"' in page and "pigz" in page and "zlib1g" in page
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# splicelab run zlib")
    for line in ("| loader | B | 16 | 16 | 0 | 0 | 0 | 0 | 0 | 100.0% |", "| loader | C | 16 | 16 |",
                 "| bullseye | zlib1g ", "`report.html`"):  # fmt: skip
        assert line in summary, line
    errors: list[SourceError] = []
    arts = load_artifacts([out / "artifacts.json"], errors)
    assert errors == []
    with_files = {(a.name, a.release) for a in arts if a.files}
    assert {("pigz", r) for r in RELEASES} | {("zlib1g", r) for r in RELEASES} <= with_files
    assert len(arts) > len(with_files)  # the rest of each runtime is listed, without its corpora


def test_the_database_holds_the_run(zlib: tuple) -> None:
    from splicelab.store import artifacts as artifact_store
    from splicelab.store import open_database
    from splicelab.store import outcomes as outcome_store
    from splicelab.store import predictions as prediction_store

    _, out, db_url = zlib
    preds, outs = _load(out / "predictions.json"), _load(out / "outcomes.json")
    db = open_database(db_url)
    try:
        with db.session() as s:
            stored = {
                (r.binary_id, r.binary_file, r.original_id, r.replacement_id, r.predictor): r.verdict
                for r in s.scalars(prediction_store.search({}))
            }
            rows = list(s.scalars(outcome_store.search({})))
            stored_artifacts = {(a.name, a.release) for a in s.scalars(artifact_store.search({}))}
    finally:
        db.dispose()
    for p in preds:  # mode B and C of the newest release's program are one splice to the store
        for name, v in p["predictors"].items():
            key = (p["binary"]["id"], p["binary"]["file"], p["original"]["id"], p["replacement"]["id"], name)
            assert stored[key] == v["verdict"]
    assert len(rows) == len(outs) == 32
    assert Counter((r.mode, r.outcome_class) for r in rows) == Counter((o["mode"], o["class"]) for o in outs)
    assert {r.program for r in rows} == {"pigz"}
    assert {("pigz", r) for r in RELEASES} | {("zlib1g", r) for r in RELEASES} <= stored_artifacts


def test_usage_errors_exit_2_and_stage_errors_exit_1(tmp_path: Path) -> None:
    bad = _splicelab("run", "zlib", "--program", "pigz", "--out", tmp_path / "a", timeout=120)
    assert bad.returncode == 2 and "PACKAGE:PATH" in bad.stderr
    bad = _splicelab("run", "zlib", "--mode", "sideways", timeout=120)
    assert bad.returncode == 2
    out = tmp_path / "none"
    db = f"sqlite:///{tmp_path / 'x.db'}"
    proc = _splicelab("run", "no-such-source-xyz", "--releases", "bookworm", "--no-validate", "--out", out,
                      "--db", db, "--cache", debian_cache(), timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "error: fetch:" in proc.stderr and "no-such-source-xyz" in proc.stderr
    summary = (out / "summary.md").read_text()  # the run still reports what happened
    assert "## Errors" in summary and "fetch:" in summary


def test_runtime_failures_are_counted_apart(tmp_path: Path) -> None:
    """curl --version prints the libcurl it runs with: compared with the unspliced run, every splice
    that loads a libcurl of another build prints other output (wrong-output, a run-time failure the
    loader cannot see); the splices the loader refuses stay load failures."""
    if not namespaces_available():
        pytest.skip("needs mount/user namespaces (root) to perform the splices hermetically")
    smoke = tmp_path / "smoke.toml"
    smoke.write_text('[programs.curl]\ncommands = [{ args = ["--version"] }]\n')
    result = run(
        RunConfig(
            "curl",
            tmp_path / "curl",
            modes=("B",),
            smoke=smoke,
            cache=debian_cache(),
            report=False,
            store=False,
        )
    )
    assert result.errors == []
    classes = Counter(o["class"] for o in result.outcomes)
    assert classes["wrong-output"] >= 4 and classes["undefined-symbol"] >= 1
    runtime = sum(n for c, n in classes.items() if c in RUNTIME_FAILURES)
    ev = _load(tmp_path / "curl" / "evaluation.json")["loader"]
    assert ev["runtime"] == runtime and len(ev["runtime_failures"]) == runtime
    assert {m["class"] for m in ev["runtime_failures"]} <= RUNTIME_FAILURES
    assert all(m["verdict"] == "works" for m in ev["runtime_failures"])  # it loads: the loader says works
    assert ev["total"] == len(result.outcomes) - runtime
    assert ev["false_works"] == ev["false_breaks"] == 0
    summary = (tmp_path / "curl" / "summary.md").read_text()
    assert "### Run-time failures" in summary and "wrong-output" in summary
