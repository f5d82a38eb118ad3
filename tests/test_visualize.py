"""``splicelab visualize``: real files from real predictions (the Spack fixture) and the fixture's real
outcomes, checked as files (PNG signature and size, PDF header, SVG as XML with the labels as text) and
as content (the CSV matrix against the predictions, the agreement categories against the outcomes)."""

from __future__ import annotations

import csv
import json
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from splicelab.cli import main
from splicelab.evaluate import evaluate
from splicelab.predict.base import Verdict
from splicelab.report.agreement import Agreement, agreement_matrix, categorize, counts
from splicelab.report.grid import Outcome, build_grid
from splicelab.report.heatmap import (
    CLUSTER_MAX,
    MAX_PIXELS,
    cluster,
    layout_for,
    render_verdict_heatmap,
    safe_name,
)
from test_report_data import real_predictions, synthetic_predictions, truth_outcomes, write_json

SVG = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def assert_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:], f"{path} is not a PDF"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Real predictions of the fixture, its real outcomes, and ``splicelab visualize`` run on them."""
    base = tmp_path_factory.mktemp("real")
    predictions = real_predictions(base / "predicted")
    outcomes = write_json(base / "outcomes.json", truth_outcomes())
    out = base / "out"
    result = CliRunner().invoke(
        main, ["visualize", str(predictions), "--outcomes", str(outcomes), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return {
        "out": out,
        "predictions": predictions,
        "entries": json.loads(predictions.read_text()),
        "outcomes": json.loads(outcomes.read_text()),
    }


def test_one_directory_per_binary_package_with_every_file(real_run: dict[str, Any]) -> None:
    out: Path = real_run["out"]
    packages = {e["binary"]["package"] for e in real_run["entries"]}
    predictors = {p for e in real_run["entries"] for p in e["predictors"]}
    assert {d.name for d in out.iterdir()} == packages
    for package in packages:
        d = out / package
        for predictor in predictors:
            for suffix in ("", "-agreement"):
                stem = f"{package}-{predictor}{suffix}"
                w, h = png_size(d / f"{stem}.png")
                assert 400 < w <= MAX_PIXELS + 200 and 300 < h <= MAX_PIXELS + 200
                assert_pdf(d / f"{stem}.pdf")
                assert any(package in t for t in svg_texts(d / f"{stem}.svg"))
            assert (d / f"{package}-{predictor}.csv").is_file()
        copy = json.loads((d / "predictions.json").read_text())
        assert copy == [e for e in real_run["entries"] if e["binary"]["package"] == package]
    # kept for people to look at, beside the report's screenshots
    ARTIFACTS.mkdir(exist_ok=True)
    for package in sorted(packages):
        for stem in (f"{package}-loader", f"{package}-symbols-agreement"):
            shutil.copyfile(out / package / f"{stem}.png", ARTIFACTS / f"visualize-{stem}.png")


def test_svg_labels_are_the_binaries_and_replacements(real_run: dict[str, Any]) -> None:
    entries = [e for e in real_run["entries"] if e["binary"]["package"] == "pigz"]
    texts = set(svg_texts(real_run["out"] / "pigz" / "pigz-loader.svg"))
    rows = {f"pigz@{e['binary']['version']}/{e['binary']['hash'][:7]}:{e['binary']['file']}" for e in entries}
    cols = {f"zlib@{e['replacement']['version']}/{e['replacement']['hash'][:7]}" for e in entries}
    assert rows <= texts
    assert cols <= texts


def test_png_grows_with_the_matrix(real_run: dict[str, Any]) -> None:
    n_rows = {
        pkg: len(
            {
                (e["binary"]["id"], e["binary"]["file"])
                for e in real_run["entries"]
                if e["binary"]["package"] == pkg
            }
        )
        for pkg in ("pigz", "libpng")
    }
    assert n_rows["libpng"] != n_rows["pigz"]
    heights = {pkg: png_size(real_run["out"] / pkg / f"{pkg}-loader.png")[1] for pkg in n_rows}
    bigger = max(n_rows, key=n_rows.__getitem__)
    smaller = min(n_rows, key=n_rows.__getitem__)
    assert heights[bigger] > heights[smaller]


def test_csv_matrix_matches_the_predictions(real_run: dict[str, Any]) -> None:
    for package in ("pigz", "libpng"):
        for predictor in ("loader", "symbols"):
            with (real_run["out"] / package / f"{package}-{predictor}.csv").open() as fh:
                rows = list(csv.reader(fh))
            header, body = rows[0], rows[1:]
            table = {r[0]: dict(zip(header[1:], map(int, r[1:]), strict=True)) for r in body}
            predicted = set()
            for e in real_run["entries"]:
                if e["binary"]["package"] != package:
                    continue
                b, r = e["binary"], e["replacement"]
                row = f"{b['package']}@{b['version']}/{b['hash'][:7]}:{b['file']}"
                col = f"{r['package']}@{r['version']}/{r['hash'][:7]}"
                want = {"works": 1, "breaks": -1, "unknown": 0}[e["predictors"][predictor]["verdict"]]
                assert table[row][col] == want, (package, predictor, row, col)
                predicted.add((row, col))
            # every other cell (a build never predicted for that binary, e.g. its own) is 0: untested
            others = [
                v for row, cols in table.items() for col, v in cols.items() if (row, col) not in predicted
            ]
            assert len(predicted) + len(others) == len(table) * (len(header) - 1)
            assert set(others) <= {0}


def test_agreement_categories_follow_the_real_outcomes(real_run: dict[str, Any]) -> None:
    grid = build_grid(real_run["entries"], real_run["outcomes"])
    failed = {
        (o["binary"]["id"], o["binary"]["file"], o["replacement"]["id"])
        for o in real_run["outcomes"]
        if o["class"] != "ok"
    }
    assert failed
    for predictor in grid.predictors:
        m = agreement_matrix(grid, predictor)
        for (i, j), cell in grid.cells.items():
            key = (grid.rows[i].binary.id, grid.rows[i].file, grid.cols[j].id)
            p = cell.predictions.get(predictor)
            if cell.outcome is None:
                assert m[i, j] == Agreement.UNTESTED
            elif p is None or p.verdict is Verdict.UNKNOWN:
                assert m[i, j] == Agreement.UNDECIDED
            elif key in failed:
                assert m[i, j] == (
                    Agreement.RIGHT_BREAKS if p.verdict is Verdict.BREAKS else Agreement.FALSE_WORKS
                )
            else:
                assert m[i, j] == (
                    Agreement.RIGHT_WORKS if p.verdict is Verdict.WORKS else Agreement.FALSE_BREAKS
                )
        # the same counts as the scoreboard's (splicelab.evaluate)
        ev = evaluate(real_run["entries"], real_run["outcomes"])[predictor]
        tally = counts(m)
        assert ev["false_works"] == tally[Agreement.FALSE_WORKS]
        assert ev["false_breaks"] == tally[Agreement.FALSE_BREAKS]
        assert ev["correct"] == tally[Agreement.RIGHT_WORKS] + tally[Agreement.RIGHT_BREAKS]


@pytest.mark.parametrize(
    ("verdict", "cls", "expected"),
    [
        ("works", "ok", Agreement.RIGHT_WORKS),
        ("works", "undefined-symbol", Agreement.FALSE_WORKS),
        ("breaks", "missing-version", Agreement.RIGHT_BREAKS),
        ("breaks", "ok", Agreement.FALSE_BREAKS),
        ("unknown", "ok", Agreement.UNDECIDED),
        (None, "crash", Agreement.UNDECIDED),
        ("works", None, Agreement.UNTESTED),
        ("breaks", "not-linked", Agreement.UNTESTED),
        (None, None, Agreement.UNTESTED),
    ],
)
def test_categorize(verdict: str | None, cls: str | None, expected: Agreement) -> None:
    outcome = None if cls is None else Outcome("ok", linked=False) if cls == "not-linked" else Outcome(cls)
    assert categorize(verdict, outcome) is expected


def test_predictor_option_limits_the_files(tmp_path: Path, real_run: dict[str, Any]) -> None:
    out = tmp_path / "one"
    result = CliRunner().invoke(
        main, ["visualize", str(real_run["predictions"]), "--predictor", "symbols", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in (out / "pigz").iterdir()}
    assert "pigz-symbols.png" in names
    assert not any("loader" in n for n in names)
    assert not any("agreement" in n for n in names)  # no outcomes beside this predictions.json
    bad = CliRunner().invoke(
        main, ["visualize", str(real_run["predictions"]), "--predictor", "nope", "--out", str(out)]
    )
    assert bad.exit_code != 0
    assert "no predictor named nope" in bad.output and "loader" in bad.output


def test_symbolator_file_and_directory_input(tmp_path: Path, real_run: dict[str, Any]) -> None:
    directory = real_run["predictions"].parent
    symbolator = directory / "symbolator-predictions.json"
    out = tmp_path / "seed"
    result = CliRunner().invoke(main, ["visualize", str(symbolator), "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(symbolator.read_text())
    with (out / "pigz" / "pigz-symbols.csv").open() as fh:
        rows = list(csv.reader(fh))
    values = {r[0]: dict(zip(rows[0][1:], r[1:], strict=True)) for r in rows[1:]}
    for key, results in doc.items():
        if not key.startswith("pigz@"):
            continue
        name, rest = key.split(":")[0].split("@")
        version, build = rest.split("/")
        for res in results:
            repl = res["specB"].split(":")[0]
            rname, rrest = repl.split("@")
            rversion, rbuild = rrest.split("/")
            cell = values[f"{name}@{version}/{build[:7]}:{res['A_binary']}"][
                f"{rname}@{rversion}/{rbuild[:7]}"
            ]
            assert cell == ("1" if res["prediction"] else "-1")
    assert json.loads((out / "pigz" / "symbolator-predictions.json").read_text()) == {
        k: v for k, v in doc.items() if k.startswith("pigz@")
    }
    # a directory: its predictions.json is taken
    out2 = tmp_path / "dir"
    result = CliRunner().invoke(
        main, ["visualize", str(directory), "--predictor", "loader", "--out", str(out2)]
    )
    assert result.exit_code == 0, result.output
    assert (out2 / "libpng" / "libpng-loader.png").is_file()


def test_bad_input_is_named(tmp_path: Path) -> None:
    doc = synthetic_predictions(2, 2, predictors=("a",))
    del doc[1]["replacement"]["version"]
    path = write_json(tmp_path / "broken-preds.json", doc)
    result = CliRunner().invoke(main, ["visualize", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "broken-preds.json" in result.output and "[1].replacement" in result.output
    assert "version" in result.output
    result = CliRunner().invoke(
        main, ["visualize", str(tmp_path / "empty-dir-missing"), "--out", str(tmp_path)]
    )
    assert result.exit_code != 0 and "no such file" in result.output


def test_hostile_package_names_make_safe_directories(tmp_path: Path) -> None:
    names = ["<img src=x onerror=alert(1)>", "../../etc", "a b"]
    doc = synthetic_predictions(3, 2, package_names=names, predictors=("loader",))
    path = write_json(tmp_path / "p.json", doc)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["visualize", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dirs = sorted(p.name for p in out.iterdir())
    assert dirs == sorted(safe_name(n) for n in names)
    assert all(p.resolve().parent == out.resolve() for p in out.iterdir())
    assert not (tmp_path.parent / "etc").exists()
    texts = svg_texts(out / safe_name(names[0]) / f"{safe_name(names[0])}-loader.svg")
    assert any(names[0] in t for t in texts)  # the name is drawn as text, as it is


# --- layout and clustering -----------------------------------------------------------------------------


def test_layout_caps_size_and_thins_labels() -> None:
    small, big, huge = layout_for(8, 12), layout_for(300, 300), layout_for(1000, 1000)
    assert small.rows.label_step == 1 and small.cols.label_step == 1 and small.grid_lines
    assert big.rows.label_step > 1 and big.cols.labelled < 300
    assert huge.rows.label_step > big.rows.label_step and not huge.grid_lines and huge.rasterize
    assert big.figsize[0] > small.figsize[0]
    assert huge.figsize[0] <= big.figsize[0] * 1.5  # capped
    for lay in (small, big, huge):
        assert max(lay.figsize) * lay.dpi <= MAX_PIXELS
        assert lay.cell_in * lay.figsize[1] > 0


@pytest.mark.parametrize(
    ("values", "note"),
    [
        (np.ones((5, 4), dtype=np.int8), "rows not clustered: all alike"),
        (np.array([[1, -1, 0, 1]], dtype=np.int8), "rows not clustered: only 1"),
        (
            np.zeros((CLUSTER_MAX + 1, 2), dtype=np.int8),
            f"rows not clustered: {CLUSTER_MAX + 1} > {CLUSTER_MAX}",
        ),
    ],
)
def test_clustering_is_skipped_with_a_note(values: np.ndarray, note: str) -> None:
    c = cluster(values)
    assert note in c.notes
    assert c.row_linkage is None
    assert sorted(c.row_order) == list(range(values.shape[0]))


def test_clustering_groups_alike_rows() -> None:
    a, b = [1, 1, -1, -1, 1, 0], [-1, -1, 1, 1, 0, 1]
    values = np.array([a, b, a, b, a, b], dtype=np.int8)
    c = cluster(values)
    assert c.row_linkage is not None and not [n for n in c.notes if n.startswith("rows")]
    groups = [c.row_order[:3], c.row_order[3:]]
    assert {frozenset(g) for g in groups} == {frozenset({0, 2, 4}), frozenset({1, 3, 5})}


def test_ten_thousand_cells_render_with_thinned_labels(tmp_path: Path) -> None:
    grid = build_grid(synthetic_predictions(200, 50, predictors=("loader",)))
    files, clustering = render_verdict_heatmap(grid, "loader", tmp_path / "big", "big")
    w, h = png_size(tmp_path / "big.png")
    assert max(w, h) <= MAX_PIXELS + 200 and min(w, h) > 1000
    texts = svg_texts(tmp_path / "big.svg")
    labels = [t for t in texts if t.startswith("pkg0@")]
    assert 10 < len(labels) < 200  # every k-th binary labelled, not all 200
    assert any("labelled" in t for t in texts)
    assert clustering.row_linkage is not None
    assert {p.suffix for p in files} == {".pdf", ".png", ".svg"}
