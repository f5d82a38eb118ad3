"""Acceptance of ``splicelab recommend`` on real predictions from the real pipeline.

The Spack fixture (../shared/fixtures, both trees) is predicted by the prediction engine, and what the
recommendations say is compared with what really happened there (truth.json: every pigz / pngfix /
png-fix-itxt binary run with every zlib substituted by LD_PRELOAD, and every prefix run as installed).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from splicelab.artifact import Artifact
from splicelab.cli import main
from splicelab.predict.engine import WorldOptions
from splicelab.predict.engine import predict as run_predictions
from splicelab.recommend import Recommendations, check_spliced_installs, recommend, version_key
from splicelab.report.recommendations import render_json, render_yaml
from splicelab.report.spack_schema import CONCRETIZER_SCHEMA
from splicelab.sources import load_artifacts

FILES = {"pigz": "bin/pigz", "pngfix": "bin/pngfix", "png-fix-itxt": "bin/png-fix-itxt"}


def _hash(prefix: str) -> str:
    return prefix.rsplit("-", 1)[-1]


@pytest.fixture(scope="module")
def trees(shared_dir: Path) -> list[Path]:
    roots = [shared_dir / "fixtures" / "spack-1.0" / "opt", shared_dir / "fixtures" / "spack-0.23" / "opt"]
    if not all(r.is_dir() for r in roots):
        pytest.skip("the Spack fixture trees are not present")
    return roots


@pytest.fixture(scope="module")
def truth(shared_dir: Path) -> dict[str, dict[tuple[str, ...], bool]]:
    """LD_PRELOAD runs: (binary hash, file, zlib hash) → works; as-is runs: (prefix hash, file) → works."""
    doc = json.loads((shared_dir / "fixtures" / "truth.json").read_text())
    preload: dict[tuple[str, ...], bool] = {}
    asis: dict[tuple[str, ...], bool] = {}
    for r in doc["results"]:
        file = FILES[r["kind"]]
        if r["method"] == "LD_PRELOAD":
            preload[(_hash(r["prefix"]), file, _hash(r["zlib"]))] = bool(r["works"])
        elif r["method"] == "asis":
            asis[(_hash(r["prefix"]), file)] = bool(r["works"])
    assert preload and asis
    return {"preload": preload, "asis": asis}


@pytest.fixture(scope="module")
def artifacts(trees: list[Path]) -> list[Artifact]:
    errors: list[Any] = []
    arts = load_artifacts(trees, errors)
    assert not errors
    return arts


@pytest.fixture(scope="module")
def predictions(artifacts: list[Artifact]) -> list[dict[str, Any]]:
    """The real engine's predictions.json records (loader and the seed's symbols)."""
    records = [r.to_dict() for r in run_predictions(artifacts)]
    assert records
    return records


@pytest.fixture(scope="module")
def report(artifacts: list[Artifact], predictions: list[dict[str, Any]]) -> Recommendations:
    spliced = check_spliced_installs(WorldOptions().build(artifacts))
    return recommend(predictions, artifacts, spliced=spliced)


def _truth_of(report: Recommendations, truth: dict) -> Iterator[tuple[Any, list[bool]]]:
    for d in report.decisions:
        seen = [
            truth["preload"][key]
            for c in d.checks
            if (key := (c.binary.hash, c.file, d.replacement.hash)) in truth["preload"]
        ]
        yield d, seen


def test_every_build_pair_decision_matches_what_really_happens(report: Recommendations, truth: dict) -> None:
    assert report.errors == []
    assert len(report.accepted) > 0 and len(report.refused) > 0
    for d, seen in _truth_of(report, truth):
        assert seen, f"no truth for any binary of {d.original.short_id} -> {d.replacement.short_id}"
        assert d.accepted == all(seen), (d.original.short_id, d.replacement.short_id, d.refusals)
        # what breaks is libpng's need of inflateValidate@ZLIB_1.2.9, which zlib 1.2.8 lacks
        if not d.accepted:
            assert any("ZLIB_1.2.9" in why for why in d.refusals)


def test_lines_never_put_zlib_128_under_libpng_and_keep_pigz_only_pairs(
    report: Recommendations, artifacts: list[Artifact]
) -> None:
    by_hash = {a.build_id: a for a in artifacts}
    old_zlib = [z for z in artifacts if z.name == "zlib" and z.version == "1.2.8"]
    assert old_zlib, "the fixture has zlib 1.2.8"
    # zlib versions that some (non-spliced) libpng was built against and links
    libpng_zlibs = {
        by_hash[d.build_id].version
        for a in artifacts
        if a.name == "libpng" and not a.spliced
        for d in a.dependencies
        if d.name == "zlib" and d.build_id in by_hash
    }
    assert libpng_zlibs
    zlib_versions = sorted({a.version for a in artifacts if a.name == "zlib"}, key=version_key)

    def covered(spec_range: str) -> set[str]:
        lo, _, hi = spec_range.partition(":")
        hi = hi or lo
        return {v for v in zlib_versions if version_key(lo) <= version_key(v) <= version_key(hi)}

    lines_with_128 = []
    for r in report.recommendations:
        assert r.package == "zlib"
        targets = covered(r.target.split("@", 1)[1])
        whens = covered(r.when.lstrip("@"))
        if "1.2.8" in whens:
            lines_with_128.append(r)
            assert not targets & libpng_zlibs, r.line
            assert all(d.startswith("pigz@") for d in r.evidence["dependents"]), r.line
    assert lines_with_128, "zlib 1.2.8 is fine for pigz: a line should say so"
    # every pair whose dependents are all pigz is recommended
    pigz_only = [d for d in report.decisions if all(c.binary.package == "pigz" for c in d.checks)]
    assert pigz_only and all(d.accepted for d in pigz_only)
    # the site config never replaces a zlib some libpng loads by zlib 1.2.8
    for s in report.explicit:
        if s.replacement.version == "1.2.8":
            assert not any(dep.startswith("libpng@") for dep in s.dependents)
        assert s.target.store == s.replacement.store
        assert version_key(s.replacement.version) > version_key(s.target.version)


def test_spliced_installs_are_judged_as_they_really_run(report: Recommendations, truth: dict) -> None:
    assert len(report.spliced) == 6
    for s in report.spliced:
        runs = [works for (h, _file), works in truth["asis"].items() if h == s.node.hash]
        assert runs, s.node.short_id
        assert (s.status == "broken") == (not all(runs)), (s.node.short_id, s.reasons)
        assert s.status in ("ok", "broken")
    (broken,) = [s for s in report.spliced if s.status == "broken"]
    assert broken.node.package == "libpng" and broken.node.version == "1.6.37"
    pngfix = [r for r in broken.reasons if r.startswith("bin/pngfix:")]
    assert pngfix and "inflateValidate@ZLIB_1.2.9" in pngfix[0] and "zlib@1.2.8" in pngfix[0]
    assert not any(r.startswith("bin/png-fix-itxt:") for r in broken.reasons)  # it really works


def test_outputs_parse_and_validate(report: Recommendations) -> None:
    items = json.loads(render_json(report))
    assert items
    for item in items:
        assert set(item) == {"package", "target", "when", "line", "evidence"}
        (stmt,) = ast.parse(item["line"]).body
        call = stmt.value
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "can_splice"
        assert [type(a) for a in call.args] == [ast.Constant] and call.args[0].value == item["target"]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        assert kwargs["when"] == item["when"] and set(kwargs) <= {"when", "match_variants"}
    doc = yaml.safe_load(render_yaml(report))
    jsonschema.validate(doc, CONCRETIZER_SCHEMA)
    entries = doc["concretizer"]["splice"]["explicit"]
    assert entries and all("/" in e["replacement"] for e in entries)  # Spack needs the hash


def test_command_on_written_predictions_equals_in_process(trees: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    pred_dir = tmp_path / "pred"
    res = runner.invoke(main, ["predict", *map(str, trees), "--out", str(pred_dir)])
    assert res.exit_code == 0, res.output
    args = ["recommend", *map(str, trees), "--format", "json"]
    from_file = runner.invoke(main, [*args, "--predictions", str(pred_dir)])
    in_process = runner.invoke(main, args)
    assert from_file.exit_code == 0 and in_process.exit_code == 0, from_file.output + in_process.output
    assert json.loads(from_file.stdout) == json.loads(in_process.stdout) != []
    out = tmp_path / "rec"
    res = runner.invoke(
        main,
        [
            "recommend",
            *map(str, trees),
            "--predictions",
            str(pred_dir),
            "--format",
            "yaml",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0
    jsonschema.validate(yaml.safe_load(res.stdout), CONCRETIZER_SCHEMA)
    spliced = json.loads((out / "spliced.json").read_text())
    assert [s["status"] for s in spliced].count("broken") == 1
    text = runner.invoke(main, ["recommend", *map(str, trees), "--predictions", str(pred_dir)])
    assert "BROKEN" in text.stdout and "can_splice(" in text.stdout


def test_command_reports_bad_input_and_goes_on(trees: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    pred_dir = tmp_path / "pred"
    assert runner.invoke(main, ["predict", *map(str, trees), "--out", str(pred_dir)]).exit_code == 0
    records = json.loads((pred_dir / "predictions.json").read_text())
    del records[0]["dependency"]
    (pred_dir / "predictions.json").write_text(json.dumps(records))
    res = runner.invoke(
        main, ["recommend", *map(str, trees), "--predictions", str(pred_dir), "--format", "json"]
    )
    assert res.exit_code == 1
    assert f"{pred_dir}[0]: missing field 'dependency'" in res.stderr
    assert json.loads(res.stdout)  # the rest was used
    res = runner.invoke(main, ["recommend", str(trees[0]), "--predictions", str(tmp_path / "nothing.json")])
    assert res.exit_code != 0
    bad = tmp_path / "outcomes.jsonl"
    bad.write_text('{"mode": "C"}\nnot json\n')
    res = runner.invoke(
        main, ["recommend", str(trees[0]), "--predictions", str(pred_dir), "--outcomes", str(bad)]
    )
    assert res.exit_code != 0 and f"{bad}:2: not a JSON line" in res.output
    res = runner.invoke(
        main, ["recommend", str(trees[0]), "--predictions", str(pred_dir), "--validated-only"]
    )
    assert res.exit_code != 0 and "--validated-only needs --outcomes" in res.output


@pytest.fixture(scope="module")
def fixture_outcomes(trees: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outcomes.json of the real ``splicelab validate`` on the fixture (every binary x every zlib)."""
    out = tmp_path_factory.mktemp("validate") / "outcomes.json"
    runner = CliRunner()
    args = ["validate", *map(str, trees), "--dependency", "zlib", "--out", str(out)]
    res = runner.invoke(main, args)
    if res.exit_code != 0 or not out.exists():  # no user namespaces here: run unisolated
        res = runner.invoke(main, [*args, "--no-isolation"])
    assert res.exit_code == 0 and out.exists(), res.output
    return out


def test_validated_only_recommends_exactly_what_ran_ok(
    trees: list[Path], fixture_outcomes: Path, predictions: list[dict[str, Any]], artifacts: list[Artifact]
) -> None:
    from splicelab.recommend import index_outcomes
    from splicelab.report.recommendations import load_records

    outcomes = load_records(fixture_outcomes)
    index, errors = index_outcomes(outcomes)
    assert errors == [] and len(index) == len(outcomes) > 0
    spliced = {a.build_id for a in artifacts if a.spliced}  # not evidence for can_splice
    ran_ok: dict[tuple[str, str], bool] = {}
    for o in outcomes:
        if o["binary"]["hash"] in spliced:
            continue
        key = (o["original"]["id"], o["replacement"]["id"])
        ran_ok[key] = ran_ok.get(key, True) and o["class"] == "ok"
    report = recommend(predictions, artifacts, index, validated_only=True)
    assert report.decisions
    for d in report.decisions:
        key = (d.original.id, d.replacement.id)
        assert key in ran_ok, f"{key} was never run"
        assert d.accepted == ran_ok[key], (key, d.refusals)
        if d.accepted:
            assert d.validated
    assert all(r.evidence["validated"] == "all" for r in report.recommendations)
    assert report.explicit and all(s.validated for s in report.explicit)
    # the command says the same
    res = CliRunner().invoke(
        main,
        [
            "recommend",
            *map(str, trees),
            "--outcomes",
            str(fixture_outcomes),
            "--validated-only",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    assert [i["line"] for i in json.loads(res.stdout)] == [r.line for r in report.recommendations]
