"""Inputs for the report and visualize tests, and tests of the grid they are read into.

Real outcomes come from the Spack fixture's ``truth.json`` (the LD_PRELOAD runs: the ground truth).
Synthetic predictions documents (docs/formats.md shape) serve layout and scaling tests: a 10,000-cell
matrix, names carrying HTML and JavaScript.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from splicelab.report.grid import (
    ReportInputError,
    Spec,
    build_grid,
    load_grid,
    normalize_symbolator,
    split_by_package,
)

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
TRUTH = SHARED / "fixtures" / "truth.json"
KIND_FILE = {"pigz": "bin/pigz", "pngfix": "bin/pngfix", "png-fix-itxt": "bin/png-fix-itxt"}
ZLIB_MISSING = re.compile(r"version `([^']+)' not found \(required by ([^)]+)\)")


def _prefix_spec(prefix: str) -> dict[str, str]:
    """``spack-1.0:linux-x86_64_v3/zlib-1.2.8-izp7ndt…`` → package, version, hash."""
    leaf = prefix.rsplit("/", 1)[-1]
    name_version, build = leaf.rsplit("-", 1)
    name, version = name_version.rsplit("-", 1)
    return {"package": name, "version": version, "hash": build, "id": f"{name}@{version}/{build}"}


def truth_outcomes() -> list[dict[str, Any]]:
    """outcomes.json entries for every LD_PRELOAD run of the fixture's truth.json."""
    if not TRUTH.is_file():
        pytest.skip("../shared/fixtures/truth.json is not present")
    data = json.loads(TRUTH.read_text())
    out = []
    for r in data["results"]:
        if r["method"] != "LD_PRELOAD":
            continue
        binary = _prefix_spec(r["prefix"]) | {"file": KIND_FILE[r["kind"]]}
        repl = _prefix_spec(r["zlib"])
        cls = "ok" if r["works"] else ("missing-version" if "version `" in r["stderr"] else "crash")
        out.append(
            {
                "binary": binary,
                "dependency": "zlib",
                "replacement": repl,
                "method": "preload",
                "class": cls,
                "message": r["stderr"],
            }
        )
    return out


def predictions_for(outcomes: list[dict[str, Any]], seed: int = 1) -> list[dict[str, Any]]:
    """A predictions document over the cells of ``outcomes``: a 'loader' that names the missing version
    where the run failed, and a careless 'naive' predictor (works everywhere but a few random cells)."""
    rng = random.Random(seed)
    entries = []
    for o in outcomes:
        m = ZLIB_MISSING.search(o["message"])
        loader = (
            {
                "verdict": "breaks",
                "reasons": [
                    {
                        "kind": "missing-version",
                        "symbol": "inflateValidate",
                        "version": m.group(1),
                        "library": "libz.so.1",
                        "detail": f"required by {m.group(2).rsplit('/', 1)[-1]}",
                    }
                ],
            }
            if m
            else {"verdict": "works", "reasons": []}
        )
        naive = {"verdict": "breaks" if rng.random() < 0.1 else "works", "reasons": []}
        entries.append(
            {
                "binary": o["binary"],
                "dependency": "zlib",
                "original": {"package": "zlib", "version": "0", "hash": "unknown"},
                "replacement": o["replacement"],
                "predictors": {"loader": loader, "naive": naive},
            }
        )
    return entries


def synthetic_predictions(
    n_rows: int,
    n_cols: int,
    *,
    packages: int = 1,
    predictors: tuple[str, ...] = ("loader", "symbols"),
    seed: int = 0,
    package_names: list[str] | None = None,
    density: float = 1.0,
) -> list[dict[str, Any]]:
    """n_rows binaries x n_cols replacements with random but structured verdicts (block pattern)."""
    rng = random.Random(seed)
    names = package_names or [f"pkg{k}" for k in range(packages)]
    entries = []
    for i in range(n_rows):
        pkg = names[i % len(names)]
        binary = {
            "package": pkg,
            "version": f"1.{i // len(names)}",
            "hash": f"{i:07d}" + "b" * 25,
            "file": f"bin/{pkg}-tool{i % 3}",
        }
        for j in range(n_cols):
            if rng.random() > density:
                continue
            repl = {"package": "libdep", "version": f"2.{j}", "hash": f"{j:07d}" + "r" * 25}
            preds = {}
            for k, name in enumerate(predictors):
                breaks = (j * 7 + k) % 5 == 0 or (i % 4 == 0 and j % 3 == 0)
                if rng.random() < 0.05:
                    preds[name] = {
                        "verdict": "unknown",
                        "reasons": [{"kind": "tool-error", "detail": "timeout"}],
                    }
                elif breaks:
                    preds[name] = {
                        "verdict": "breaks",
                        "reasons": [
                            {
                                "kind": "missing-symbol",
                                "symbol": f"dep_fn_{j}",
                                "version": f"DEP_2.{j}",
                                "library": "libdep.so.2",
                                "detail": None,
                            }
                        ],
                    }
                else:
                    preds[name] = {"verdict": "works", "reasons": []}
            entries.append(
                {
                    "binary": binary,
                    "dependency": "libdep",
                    "original": ORIGINAL,
                    "replacement": repl,
                    "predictors": preds,
                }
            )
    return entries


ORIGINAL = {"package": "libdep", "version": "1.0", "hash": "o" * 32}


def real_predictions(out: Path) -> Path:
    """``splicelab predict`` over the fixture's two Spack trees (loader and symbols): predictions.json."""
    trees = [SHARED / "fixtures" / t / "opt" for t in ("spack-1.0", "spack-0.23")]
    if not all(t.is_dir() for t in trees):
        pytest.skip("the Spack fixture trees are not present")
    proc = subprocess.run(
        [sys.executable, "-m", "splicelab", "predict", *map(str, trees), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return out / "predictions.json"


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


# --- tests of the grid ------------------------------------------------------------------------------------


def test_grid_from_truth_matches_outcomes() -> None:
    outcomes = truth_outcomes()
    grid = build_grid(predictions_for(outcomes), outcomes)
    binaries = {(o["binary"]["id"], o["binary"]["file"]) for o in outcomes}
    repls = {o["replacement"]["id"] for o in outcomes}
    assert grid.shape == (len(binaries), len(repls))
    assert grid.predictors == ["loader", "naive"]
    failed = sum(1 for o in outcomes if o["class"] != "ok")
    assert failed > 0
    assert sum(1 for c in grid.cells.values() if c.outcome and c.outcome.works is False) == failed
    loader = grid.values("loader")
    assert int((loader == -1).sum()) == failed
    assert int((loader == 1).sum()) == len(outcomes) - failed


def test_grid_values_and_labels() -> None:
    doc = synthetic_predictions(3, 4, predictors=("a",), seed=3)
    grid = build_grid(doc)
    v = grid.values("a")
    for e in doc:
        i = grid.row_labels().index(
            f"{e['binary']['package']}@{e['binary']['version']}/{e['binary']['hash'][:7]}:{e['binary']['file']}"
        )
        j = grid.col_labels().index(
            f"{e['replacement']['package']}@{e['replacement']['version']}/{e['replacement']['hash'][:7]}"
        )
        assert v[i, j] == {"works": 1, "breaks": -1, "unknown": 0}[e["predictors"]["a"]["verdict"]]


def test_labels_fall_back_to_full_id_on_collision() -> None:
    doc = synthetic_predictions(1, 2, predictors=("a",))
    doc[1]["replacement"] = dict(doc[0]["replacement"], hash=doc[0]["replacement"]["hash"][:7] + "zzz")
    grid = build_grid(doc)
    labels = grid.col_labels()
    assert len(set(labels)) == 2
    assert all(label.count("/") == 1 and len(label.split("/")[1]) > 7 for label in labels)


def test_subset_keeps_only_a_packages_rows_and_columns() -> None:
    doc = synthetic_predictions(6, 3, packages=2, predictors=("a",))
    doc = [e for e in doc if not (e["binary"]["package"] == "pkg1" and e["replacement"]["version"] == "2.2")]
    grid = build_grid(doc)
    sub = grid.subset("pkg1")
    assert {r.binary.package for r in sub.rows} == {"pkg1"}
    assert sub.shape == (3, 2)
    assert grid.subset("pkg0").shape == (3, 3)


def test_symbolator_document_is_read() -> None:
    doc = {
        "pigz@2.8/hlqtbeloxdwquxhac5wrrtrflubiyudu": [
            {
                "missing": [],
                "A_binary": "bin/pigz",
                "B_insert": "lib/libz.so.1",
                "prediction": True,
                "specB": "zlib@1.2.8/izp7ndtlch3lvjr74mtqvz6e2o7f34t6",
            },
            {
                "missing": ["libz inflateValidate"],
                "A_binary": "bin/pigz",
                "B_insert": "lib/libz.so.1",
                "prediction": False,
                "specB": "zlib@1.2.11/bmh5m6jdue25rie3hoyk5tzfwosja3x7",
            },
        ]
    }
    entries = normalize_symbolator(doc, "s.json")
    grid = build_grid(entries)
    assert grid.predictors == ["symbols"]
    assert grid.row_labels() == ["pigz@2.8/hlqtbel:bin/pigz"]
    assert grid.values("symbols").tolist() == [[1, -1]]
    reason = entries[1]["predictors"]["symbols"]["reasons"][0]
    assert (reason["symbol"], reason["library"]) == ("inflateValidate", "libz")
    assert list(split_by_package(doc)) == ["pigz"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("replacement"), r"\[0\]\.replacement: expected an object"),
        (lambda e: e["binary"].pop("file"), r"\[0\]\.binary: missing field 'file'"),
        (lambda e: e["predictors"]["a"].update(verdict="maybe"), r"predictors\['a'\].*'maybe'"),
        (lambda e: e["binary"].pop("version"), r"\[0\]\.binary: missing field 'version'"),
    ],
)
def test_bad_input_names_file_and_field(tmp_path: Path, mutate: Any, message: str) -> None:
    doc = synthetic_predictions(1, 1, predictors=("a",))
    mutate(doc[0])
    path = write_json(tmp_path / "bad.json", doc)
    with pytest.raises(ReportInputError, match=re.escape(str(path)) + ".*" + message):
        load_grid(path)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match=r"nothing\.json: no such file"):
        load_grid(tmp_path / "nothing.json")
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(ReportInputError, match=r"broken\.json: not JSON"):
        load_grid(tmp_path / "broken.json")


def test_outcome_for_unknown_splice_is_counted_not_placed() -> None:
    doc = synthetic_predictions(1, 1, predictors=("a",))
    stray = {
        "binary": {"package": "x", "version": "1", "hash": "h", "file": "bin/x"},
        "replacement": {"package": "y", "version": "1", "hash": "h"},
        "class": "ok",
    }
    grid = build_grid(doc, [stray])
    assert grid.unmatched_outcomes == 1
    assert not grid.has_outcomes
    assert Spec("a", "1", "abcdefghij").label == "a@1/abcdefg"
