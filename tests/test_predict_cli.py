"""``splicelab predict`` on the Spack fixture: every splice predicted, the loader agrees with truth.json,
the three output files, bad input, and the Dask seam giving the same records as an in-process run."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from splicelab.cli import main
from splicelab.report.predictions import PredictionsFormatError, load_predictions

ROOTS = [FIXTURES / "spack-1.0" / "opt", FIXTURES / "spack-0.23" / "opt"]

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not present")


def _hash(prefix: str) -> str:
    return prefix.rsplit("-", 1)[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("predict")
    result = CliRunner().invoke(main, ["predict", *map(str, ROOTS), "--out", str(out)])
    return {"out": out, "result": result}


def test_every_splice_is_predicted(run_dir: dict[str, Any]) -> None:
    result = run_dir["result"]
    assert result.exit_code == 0, result.output
    entries = load_predictions(run_dir["out"] / "predictions.json")
    assert {name for e in entries for name in e.predictors} == {"loader", "symbols"}
    zlibs = {e.replacement["hash"] for e in entries} | {e.original["hash"] for e in entries}
    assert len(zlibs) == 12
    by_binary: dict[tuple[str, str], set[str]] = {}
    for e in entries:
        assert e.dependency == "zlib"
        assert e.replacement["hash"] != e.original["hash"]
        by_binary.setdefault((e.binary["hash"], e.file), set()).add(e.replacement["hash"])
    pigz = {k for k in by_binary if k[1] == "bin/pigz"}
    libpng = {k for k in by_binary if k[1] != "bin/pigz"}
    assert len(pigz) == 10
    # pngfix, png-fix-itxt and libpng16 itself, for each of the four libpng builds
    assert sorted({f.split("/")[-1].split(".")[0] for _, f in libpng}) == [
        "libpng16",
        "png-fix-itxt",
        "pngfix",
    ]
    assert len(libpng) == 12
    assert all(len(replacements) == 11 for replacements in by_binary.values())  # every other zlib build
    assert len(entries) == 22 * 11


def test_loader_agrees_with_truth(run_dir: dict[str, Any]) -> None:
    entries = load_predictions(run_dir["out"] / "predictions.json")
    verdicts = {
        (e.binary["hash"], e.file.rsplit("/", 1)[-1], e.replacement["hash"]): e.predictors[
            "loader"
        ].verdict.value
        for e in entries
    }
    truth = json.loads((FIXTURES / "truth.json").read_text())
    rows = [r for r in truth["results"] if r["method"] == "LD_PRELOAD"]
    compared = 0
    for r in rows:
        key = (_hash(r["prefix"]), r["kind"], _hash(r["zlib"]))
        if key not in verdicts:  # the binary with its own zlib: not a splice
            own = {e.original["hash"] for e in entries if e.binary["hash"] == key[0]}
            assert own == {key[2]}
            continue
        compared += 1
        assert verdicts[key] == ("works" if r["works"] else "breaks"), (key, r["stderr"])
    assert compared == len(rows) - 18 == 198


def test_matrix_csv(run_dir: dict[str, Any]) -> None:
    with open(run_dir["out"] / "matrix.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header[0] == "binary" and len(header) == 13
    assert header[1] == "zlib@1.2.8/izp7ndt" and header[-1] == "zlib@1.3.1/vvmyf7i"
    assert len(body) == 22
    table = {r[0]: dict(zip(header[1:], map(int, r[1:]), strict=True)) for r in body}
    assert table["libpng@1.6.39/v5ibpqu:bin/pngfix"]["zlib@1.2.8/izp7ndt"] == -1
    assert table["libpng@1.6.39/v5ibpqu:bin/pngfix"]["zlib@1.3.1/eem6ovn"] == 0  # its own zlib: untested
    assert table["libpng@1.6.37/wwh2v25:bin/pngfix"]["zlib@1.2.8/izp7ndt"] == 0  # spliced onto 1.2.8 already
    assert table["libpng@1.6.37/wwh2v25:bin/png-fix-itxt"]["zlib@1.3.1/eem6ovn"] == 1
    values = [v for r in table.values() for v in r.values()]
    assert values.count(-1) == 6 and values.count(0) == 22 and values.count(1) == 22 * 11 - 6


def test_symbolator_predictions_in_the_seeds_shape(run_dir: dict[str, Any]) -> None:
    doc = json.loads((run_dir["out"] / "symbolator-predictions.json").read_text())
    assert len(doc) == 14  # the binaries' specs: 10 pigz, 4 libpng
    fields = {
        "missing",
        "B_insert",
        "A_binary",
        "prediction",
        "A_id",
        "B_id",
        "specA_id",
        "specB_id",
        "specA",
        "specB",
    }
    n = 0
    for key, results in doc.items():
        name_version, _, rest = key.partition("/")
        build_hash, _, spec_id = rest.partition(":")
        assert name_version.split("@")[0] in ("pigz", "libpng") and len(build_hash) == 32
        for res in results:
            n += 1
            assert set(res) == fields
            assert res["specA"] == key and res["specB_id"] == int(spec_id)
            assert res["specB"].startswith("zlib@") and res["specB"].endswith(f":{res['specA_id']}")
            assert res["B_insert"].startswith("lib/libz.so.1.")
            assert res["prediction"] is (not res["missing"])
            if res["specB"].startswith("zlib@1.2.8/") and res["A_binary"] == "bin/pngfix":
                assert "libpng16 inflateValidate" in res["missing"]
    assert n == 22 * 11


def test_bad_input_is_reported_and_the_rest_predicted(tmp_path: Path) -> None:
    tree = tmp_path / "opt"
    shutil.copytree(FIXTURES / "spack-0.23" / "opt", tree, symlinks=True)
    for p in tree.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    spec = next(tree.rglob("pigz-2.8-iktbszv*/.spack/spec.json"))
    spec.write_text("{ broken")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["predict", str(tree), str(tmp_path / "nope"), "--out", str(out)])
    assert result.exit_code == 1
    assert f"error: {spec}: invalid JSON" in result.stderr
    assert f"error: {tmp_path / 'nope'}: no such file or directory" in result.stderr
    # the other pigz build still gets its splice: zlib 1.2.13 -> 1.3.1
    (entry,) = load_predictions(out / "predictions.json")
    assert (entry.binary["hash"][:7], entry.original["version"], entry.replacement["version"]) == (
        "rfx64iu",
        "1.2.13",
        "1.3.1",
    )
    assert entry.predictors["loader"].verdict.value == "works"
    assert (out / "matrix.csv").is_file()


def test_load_predictions_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps([{"binary": {"package": "a", "version": "1", "hash": "h"}, "dependency": "z"}]))
    with pytest.raises(PredictionsFormatError, match=r"p.json: \[0\]: missing field 'predictors'"):
        load_predictions(bad)
    bad.write_text(json.dumps([{"dependency": "z", "predictors": {}, "binary": {"package": "a"}}]))
    with pytest.raises(PredictionsFormatError, match=r"\[0\].binary: missing field 'version'"):
        load_predictions(bad)


def test_dask_gives_the_same_records_as_in_process() -> None:
    from splicelab.parallel import make_executor
    from splicelab.predict.engine import predict
    from splicelab.sources import load_artifacts

    arts = load_artifacts(ROOTS)
    local = [r.to_dict() for r in predict(arts, ["loader", "symbols"])]
    with make_executor(workers=2) as executor:
        distributed = [r.to_dict() for r in predict(arts, ["loader", "symbols"], executor=executor)]
    assert distributed == local and len(local) == 242
