"""Unit tests of splicelab.recommend on small predictions.json documents (inputs written here, in the
documented format) and artifacts built from the data model. The acceptance tests on real predictions
from the real pipeline are in test_recommend_acceptance.py."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from splicelab.artifact import Artifact, Dependency
from splicelab.recommend import (
    can_splice_line,
    checks_from_predictions,
    decide_pairs,
    index_outcomes,
    recommend,
    spec_version,
    version_key,
)
from splicelab.report.recommendations import render, render_json, render_text, render_yaml, write_all
from splicelab.report.spack_schema import CONCRETIZER_SCHEMA


def art(name: str, version: str, h: str, *, compiler: str = "gcc@12.2.0", **kw: Any) -> Artifact:
    return Artifact(
        name=name,
        version=version,
        build_id=h,
        root=Path("/nonexistent") / h,
        source="spack",
        compiler=compiler,
        **kw,
    )


def ref(a: Artifact, file: str | None = None) -> dict[str, Any]:
    d = a.describe()
    if file is not None:
        d["file"] = file
    return d


def pred(
    binary: Artifact,
    file: str,
    original: Artifact,
    replacement: Artifact,
    loader: str = "works",
    reasons: list[dict[str, Any]] | None = None,
    **others: str,
) -> dict[str, Any]:
    predictors = {"loader": {"verdict": loader, "reasons": reasons or []}}
    for name, verdict in others.items():
        predictors[name] = {"verdict": verdict, "reasons": []}
    return {
        "binary": ref(binary, file),
        "dependency": original.name,
        "original": ref(original),
        "replacement": ref(replacement),
        "predictors": predictors,
    }


MISSING = [
    {
        "kind": "missing-symbol",
        "symbol": "foo_new",
        "version": None,
        "library": "libfoo.so.1",
        "detail": "required by bin/app",
    }
]


def all_pairs(binaries: list[tuple[Artifact, Artifact]], builds: list[Artifact], breaks=()) -> list[dict]:
    """A prediction for every (binary, linked build) x every other build; (binary, replacement) pairs in
    ``breaks`` get a loader ``breaks``."""
    out = []
    for binary, linked in binaries:
        for b in builds:
            if b.build_id == linked.build_id:
                continue
            broken = (binary.build_id, b.build_id) in breaks
            out.append(
                pred(
                    binary, "bin/app", linked, b, "breaks" if broken else "works", MISSING if broken else None
                )
            )
    return out


@pytest.fixture
def foo() -> dict[str, Artifact]:
    return {
        "1.0": art("foo", "1.0", "a" * 32),
        "1.1": art("foo", "1.1", "b" * 32),
        "1.2": art("foo", "1.2", "c" * 32),
        "1.3": art("foo", "1.3", "d" * 32),
        "1.3c": art("foo", "1.3", "e" * 32, compiler="clang@15.0.6"),
    }


def apps(foo: dict[str, Artifact]) -> list[tuple[Artifact, Artifact]]:
    return [
        (art("app", "1", "1" * 32, dependencies=(Dependency("foo", foo["1.0"].build_id),)), foo["1.0"]),
        (art("app", "2", "2" * 32, dependencies=(Dependency("foo", foo["1.1"].build_id),)), foo["1.1"]),
        (art("app", "3", "3" * 32, dependencies=(Dependency("foo", foo["1.2"].build_id),)), foo["1.2"]),
    ]


def test_version_order_and_spec_version() -> None:
    versions = ["1.3.1", "1.2.8", "1.2.13", "1.2.11", "1.3", "1:1.2.13.dfsg-1"]
    assert sorted(versions[:5], key=version_key) == ["1.2.8", "1.2.11", "1.2.13", "1.3", "1.3.1"]
    assert version_key("1:1.2.13.dfsg-1") > version_key("1.3.1")  # the epoch counts first
    assert spec_version("1:1.2.13.dfsg-1") == "1.2.13.dfsg-1"
    assert spec_version("1.3.1") == "1.3.1"


def test_ranges_split_at_refused_and_untested_versions(foo: dict[str, Artifact]) -> None:
    binaries = apps(foo)
    app3 = binaries[2][0]
    builds = list(foo.values())
    records = all_pairs(binaries, builds, breaks={(app3.build_id, foo["1.0"].build_id)})
    artifacts = [a for a, _ in binaries] + builds
    report = recommend(records, artifacts)
    lines = {r.line for r in report.recommendations}
    assert lines == {
        # app3 (on 1.2) breaks with 1.0: 1.0 can only replace 1.1
        'can_splice("foo@1.1", when="@1.0")',
        # 1.1 itself is untested as a target of 1.1 (one build only): splits 1.0 from 1.2
        'can_splice("foo@1.0", when="@1.1")',
        'can_splice("foo@1.2", when="@1.1")',
        'can_splice("foo@1.0:1.1", when="@1.2")',
        'can_splice("foo@1.0:1.2", when="@1.3")',
    }
    refused = [(d.original.version, d.replacement.version) for d in report.refused]
    assert refused == [("1.2", "1.0")]
    assert "foo_new" in report.refused[0].refusals[0]
    r13 = next(r for r in report.recommendations if r.when == "@1.3")
    ev = r13.evidence
    assert ev["compilers"] == {
        "covered": ["clang@15.0.6", "gcc@12.2.0"],
        "seen": ["clang@15.0.6", "gcc@12.2.0"],
        "partial": False,
        "dependents": ["gcc@12.2.0"],
    }
    assert len(ev["pairs"]) == 6 and ev["checks"] == 6
    assert ev["predictors"]["loader"] == {"works": 6, "breaks": 0, "unknown": 0}
    assert ev["validated"] == "none"
    # the refused pair shows in the evidence of lines about 1.0 as replacement or 1.2 as target
    r10 = next(r for r in report.recommendations if r.when == "@1.0")
    assert r10.evidence["refused"][0]["replacement"] == foo["1.0"].id


def test_contiguous_replacements_share_a_when_range(foo: dict[str, Artifact]) -> None:
    foo14 = art("foo", "1.4", "f" * 32)
    binaries = apps(foo)
    builds = [foo["1.0"], foo["1.1"], foo["1.2"], foo["1.3"], foo14]
    records = [r for r in all_pairs(binaries, builds) if r["replacement"]["version"] in ("1.3", "1.4")]
    report = recommend(records, [a for a, _ in binaries] + builds)
    assert [r.line for r in report.recommendations] == ['can_splice("foo@1.0:1.2", when="@1.3:1.4")']


def test_partial_compiler_coverage_is_reported(foo: dict[str, Artifact]) -> None:
    binaries = apps(foo)
    records = [r for r in all_pairs(binaries, list(foo.values())) if r["replacement"]["hash"] != "e" * 32]
    report = recommend(records, [a for a, _ in binaries] + list(foo.values()))
    r13 = next(r for r in report.recommendations if r.when == "@1.3")
    assert r13.evidence["compilers"]["partial"] is True
    assert r13.evidence["compilers"]["covered"] == ["gcc@12.2.0"]
    assert "clang@15.0.6" in r13.evidence["compilers"]["seen"]
    assert "covers foo built with gcc@12.2.0 only" in render_text(report)


def test_type_level_break_refuses_and_seed_disagreement_is_only_noted(foo: dict[str, Artifact]) -> None:
    (app1, _), (app2, _), _ = apps(foo)
    records = [
        pred(app1, "bin/app", foo["1.0"], foo["1.3"], libabigail="breaks"),
        pred(app2, "bin/app", foo["1.1"], foo["1.3"], symbols="breaks"),
        pred(app2, "bin/app", foo["1.1"], foo["1.2"], "unknown"),
    ]
    report = recommend(records)
    by_pair = {(d.original.version, d.replacement.version): d for d in report.decisions}
    assert not by_pair[("1.0", "1.3")].accepted
    assert "libabigail: breaks" in by_pair[("1.0", "1.3")].refusals[0]
    assert by_pair[("1.1", "1.3")].accepted
    assert not by_pair[("1.1", "1.2")].accepted and "loader: unknown" in by_pair[("1.1", "1.2")].refusals[0]
    rec = next(r for r in report.recommendations if r.target == "foo@1.1")
    assert rec.evidence["disagreements"] and "symbols says breaks" in rec.evidence["disagreements"][0]
    assert rec.evidence["agreeing"] == ["loader"]


def test_a_binary_not_checked_against_a_replacement_refuses_the_pair(foo: dict[str, Artifact]) -> None:
    app1 = apps(foo)[0][0]
    other = art("tool", "1", "9" * 32)
    records = [
        pred(app1, "bin/app", foo["1.0"], foo["1.2"]),
        pred(app1, "bin/app", foo["1.0"], foo["1.3"]),
        pred(other, "bin/tool", foo["1.0"], foo["1.3"]),
    ]
    decisions = {d.replacement.version: d for d in decide_pairs(checks_from_predictions(records)[0])}
    assert decisions["1.3"].accepted
    assert not decisions["1.2"].accepted
    assert (
        "bin/tool: loads foo@1.0/aaaaaaa but was not checked with foo@1.2/ccccccc"
        in decisions["1.2"].refusals[0]
    )


def test_spliced_binaries_are_not_evidence(foo: dict[str, Artifact]) -> None:
    app1 = apps(foo)[0][0]
    spliced = art("app", "1", "8" * 32, build_spec=app1.build_id)
    records = [
        pred(app1, "bin/app", foo["1.0"], foo["1.3"]),
        pred(spliced, "bin/app", foo["1.1"], foo["1.3"]),
    ]
    report = recommend(records, [app1, spliced, *foo.values()])
    assert [(d.original.version, d.replacement.version) for d in report.decisions] == [("1.0", "1.3")]


def test_match_variants_when_the_evidence_only_covers_matching_values() -> None:
    def v(abi: str) -> dict[str, Any]:
        return {"parameters": {"abi": abi, "libs": ["shared"], "cflags": ["-O3"]}}

    old_x = art("bar", "1.0", "a" * 32, metadata=v("x"))
    old_y = art("bar", "1.0", "b" * 32, metadata=v("y"))
    new_x = art("bar", "1.1", "c" * 32, metadata=v("x"))
    new_y = art("bar", "1.1", "d" * 32, metadata=v("y"))
    app_x = art("app", "1", "1" * 32)
    app_y = art("app", "2", "2" * 32)
    records = [
        pred(app_x, "bin/app", old_x, new_x),
        pred(app_y, "bin/app", old_y, new_y),
        pred(app_x, "bin/app", old_x, new_y, "breaks", MISSING),
        pred(app_y, "bin/app", old_y, new_x, "breaks", MISSING),
    ]
    # only the matching-variant pairs: match_variants=["abi"]
    report = recommend(records[:2], [old_x, old_y, new_x, new_y, app_x, app_y])
    (rec,) = report.recommendations
    assert rec.line == 'can_splice("bar@1.0", when="@1.1", match_variants=["abi"])'
    call = ast.parse(rec.line).body[0].value
    assert isinstance(call, ast.Call) and call.keywords[1].arg == "match_variants"
    assert ast.literal_eval(call.keywords[1].value) == ["abi"]
    # with the mismatching pairs refused, the version pair is refused as a whole
    report = recommend(records, [old_x, old_y, new_x, new_y, app_x, app_y])
    assert report.recommendations == []
    assert len(report.refused) == 2


def test_validated_only_needs_real_ok_outcomes(foo: dict[str, Artifact]) -> None:
    (app1, _), (app2, _), _ = apps(foo)
    records = [
        pred(app1, "bin/app", foo["1.0"], foo["1.3"]),
        pred(app2, "bin/app", foo["1.1"], foo["1.3"], "breaks", MISSING),  # a false "breaks"
        pred(app2, "bin/app", foo["1.1"], foo["1.2"]),
        pred(app1, "bin/app", foo["1.0"], foo["1.2"]),
    ]

    def outcome(binary: Artifact, original: Artifact, replacement: Artifact, cls: str) -> dict[str, Any]:
        return {
            "program": "app",
            "binary": ref(binary, "bin/app"),
            "dependency": "foo",
            "original": ref(original),
            "replacement": ref(replacement),
            "class": cls,
            "message": "" if cls == "ok" else "boom",
        }

    outcomes = [
        outcome(app1, foo["1.0"], foo["1.3"], "ok"),
        outcome(app2, foo["1.1"], foo["1.3"], "ok"),
        outcome(app2, foo["1.1"], foo["1.2"], "crash"),
        # app1 with 1.2: never run
    ]
    index, errors = index_outcomes(outcomes)
    assert errors == []
    strict = recommend(records, outcomes=index, validated_only=True)
    assert {(d.original.version, d.replacement.version) for d in strict.accepted} == {
        ("1.0", "1.3"),
        ("1.1", "1.3"),
    }
    why = {(d.original.version, d.replacement.version): " ".join(d.refusals) for d in strict.refused}
    assert "ran: crash (boom)" in why[("1.1", "1.2")]
    assert "not validated" in why[("1.0", "1.2")]
    assert all(d.validated for d in strict.accepted)
    # default mode: predictions decide, but a failed real run still refuses
    default = recommend(records, outcomes=index)
    assert {(d.original.version, d.replacement.version) for d in default.accepted} == {
        ("1.0", "1.3"),
        ("1.0", "1.2"),
    }
    (rec,) = default.recommendations
    assert (rec.target, rec.when) == ("foo@1.0", "@1.2:1.3")
    assert rec.evidence["validated"] == "some" and rec.evidence["validated_checks"] == 1
    (rec,) = [r for r in strict.recommendations if r.target == "foo@1.0:1.1"]
    assert rec.when == "@1.3" and rec.evidence["validated"] == "all"
    assert "(real outcomes, all ok)" in render(strict, "yaml")


def test_corpus_outcome_records_match_on_family_program_and_releases() -> None:
    def deb(name: str, version: str, release: str) -> Artifact:
        return Artifact(
            name=name,
            version=version,
            build_id=f"{version}+{release}",
            root=Path("/x"),
            source="debian",
            release=release,
        )

    curl_x = deb("curl", "7.88.1-10+deb12u15", "bookworm")
    lib_x = deb("libcurl4", "7.88.1-10+deb12u15", "bookworm")
    lib_y = deb("libcurl4", "7.74.0-1.3+deb11u16", "bullseye")
    records = [pred(curl_x, "usr/bin/curl", lib_x, lib_y)]
    rows = [
        {
            "mode": "B",
            "fam": "libcurl",
            "exe": "curl",
            "X": "bookworm",
            "Y": "bullseye",
            "status": "ABI-symbol",
            "detail": "[t1] undefined symbol curl_easy_header (exe)",
        },
        {
            "mode": "C",
            "fam": "libcurl",
            "exe": "curl",
            "X": "bookworm",
            "Y": "bullseye",
            "status": "DEP-missing",
            "detail": "[t1] libssl.so.1.1 not found",
        },
    ]
    for mode, cls in (("B", "undefined-symbol"), ("C", "dependency")):
        index, _ = index_outcomes(rows, mode=mode)
        report = recommend(records, [curl_x, lib_x, lib_y], index)
        (d,) = report.decisions
        assert [o.cls for c in d.checks for o in c.outcomes] == [cls]
        assert not d.accepted
    # Debian builds get no site config entry
    index, _ = index_outcomes([{**rows[1], "status": "OK"}])
    report = recommend(records, [curl_x, lib_x, lib_y], index, validated_only=True)
    assert len(report.accepted) == 1 and report.explicit == []


def test_malformed_records_are_named_and_skipped(foo: dict[str, Artifact]) -> None:
    app1 = apps(foo)[0][0]
    good = pred(app1, "bin/app", foo["1.0"], foo["1.3"])
    no_dep = {k: v for k, v in good.items() if k != "dependency"}
    bad_verdict = json.loads(json.dumps(good))
    bad_verdict["predictors"]["loader"]["verdict"] = "maybe"
    no_hash = json.loads(json.dumps(good))
    del no_hash["replacement"]["hash"]
    report = recommend([no_dep, good, bad_verdict, no_hash, "junk"])
    assert len(report.decisions) == 1 and report.decisions[0].accepted
    assert report.errors[0] == "predictions.json[0]: missing field 'dependency'"
    assert "predictions.json[2].predictors.loader: field 'verdict' is 'maybe'" in report.errors[1]
    assert report.errors[2] == "predictions.json[3].replacement: missing field 'hash'"
    assert "predictions.json[4]" in report.errors[3]
    _, errors = index_outcomes([{"binary": {}, "class": "ok"}])
    assert errors and "outcomes[0]: missing field 'original'" in errors[0]


def test_lines_parse_as_python_and_yaml_validates(foo: dict[str, Artifact], tmp_path: Path) -> None:
    binaries = apps(foo)
    report = recommend(all_pairs(binaries, list(foo.values())), [a for a, _ in binaries] + list(foo.values()))
    assert report.recommendations
    for item in json.loads(render_json(report)):
        assert set(item) == {"package", "target", "when", "line", "evidence"}
        (stmt,) = ast.parse(item["line"]).body
        call = stmt.value
        assert isinstance(call, ast.Call) and call.func.id == "can_splice"
        assert len(call.args) == 1 and isinstance(call.args[0].value, str)
        assert call.args[0].value == item["target"]
        assert {k.arg for k in call.keywords} <= {"when", "match_variants"}
        assert ast.literal_eval(call.keywords[0].value) == item["when"]
    doc = yaml.safe_load(render_yaml(report))
    jsonschema.validate(doc, CONCRETIZER_SCHEMA)
    entries = doc["concretizer"]["splice"]["explicit"]
    # one entry per original build, the highest accepted version as replacement, by hash
    assert sorted(e["target"] for e in entries) == sorted(
        f"foo@{v}/{foo[v].build_id}" for v in ("1.0", "1.1", "1.2")
    )
    for e in entries:
        assert e["replacement"].startswith("foo@1.3/") and e["transitive"] is True
    written = write_all(report, tmp_path / "out")
    assert {p.name for p in written} >= {
        "recommendations.json",
        "concretizer.yaml",
        "pairs.json",
        "spliced.json",
    }
    pairs = json.loads((tmp_path / "out" / "pairs.json").read_text())
    assert len(pairs) == len(report.decisions) and all(p["accepted"] for p in pairs)


def test_an_empty_config_still_validates() -> None:
    report = recommend([])
    doc = yaml.safe_load(render_yaml(report))
    jsonschema.validate(doc, CONCRETIZER_SCHEMA)
    assert doc["concretizer"]["splice"]["explicit"] == []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"concretizer": {"splice": {"explicit": [{"target": "zlib"}]}}}, CONCRETIZER_SCHEMA
        )


def test_can_splice_line_quotes() -> None:
    line = can_splice_line('we"ird@1', "@2", ["a"])
    assert ast.literal_eval(ast.parse(line).body[0].value.args[0]) == 'we"ird@1'


# --- Debian families (splicelab.recommend_debian) ---------------------------------------------------


def _deb(name: str, version: str, release: str) -> Artifact:
    return Artifact(
        name=name, version=version, build_id=f"{version}+{release}", root=Path("/x"), source="debian",
        release=release,
    )  # fmt: skip


def _family_pred(
    program: Artifact, original: Artifact, replacement: Artifact, mode: str, loader: str = "works"
) -> dict[str, Any]:
    """A family prediction as predict.families writes it: real packages, the source as dependency."""
    record = pred(
        program, "usr/bin/foo", original, replacement, loader, MISSING if loader == "breaks" else None
    )
    return {
        **record,
        "dependency": "foo",
        "program": program.name,
        "program_release": program.release,
        "library": replacement.name,
        "library_release": replacement.release,
        "mode": mode,
    }


@pytest.fixture
def renamed() -> dict[str, Artifact]:
    """foo's library is libfoo1 in bookworm and libfoo1t64 (the 64-bit time_t rename) in trixie."""
    return {
        "lib-bookworm": _deb("libfoo1", "1:1.0-1", "bookworm"),
        "lib-trixie": _deb("libfoo1t64", "1:1.1-2", "trixie"),
        "tool-bookworm": _deb("foo-tools", "1:1.0-1", "bookworm"),
        "tool-trixie": _deb("foo-tools", "1:1.1-2", "trixie"),
    }


def _family_records(a: dict[str, Artifact]) -> list[dict[str, Any]]:
    old, new = a["lib-bookworm"], a["lib-trixie"]
    return [
        _family_pred(a["tool-bookworm"], old, old, "C"),
        _family_pred(a["tool-bookworm"], old, new, "C"),
        _family_pred(a["tool-trixie"], new, old, "C", "breaks"),
        _family_pred(a["tool-trixie"], new, new, "C"),
        _family_pred(a["tool-bookworm"], new, old, "B"),  # mode B: the newest release's system
        _family_pred(a["tool-bookworm"], new, new, "B"),
        _family_pred(a["tool-trixie"], new, old, "B", "breaks"),
        _family_pred(a["tool-trixie"], new, new, "B"),
    ]


def _release_pairs(decisions: list[Any]) -> dict[tuple[str | None, str | None], bool]:
    return {(d.original.release, d.replacement.release): d.accepted for d in decisions}


def test_a_debian_family_is_one_package_across_renamed_packages(renamed: dict[str, Artifact]) -> None:
    from splicelab.recommend_debian import recommend_families

    report = recommend_families(_family_records(renamed))
    assert _release_pairs(report.decisions) == {("bookworm", "trixie"): True, ("trixie", "bookworm"): False}
    (rec,) = report.recommendations
    assert (rec.package, rec.line) == ("foo", 'can_splice("foo@1.0-1", when="@1.1-2")')
    assert rec.evidence["debian"]["releases"]["trixie"]["packages"] == ["libfoo1t64 1:1.1-2"]
    assert report.families["foo"]["releases"]["bookworm"]["version"] == "1:1.0-1"
    assert report.explicit == [] and {d.original.package for d in report.decisions} == {"foo"}
    text = render_text(report)
    assert "Debian family (libfoo1, libfoo1t64); evidence: mode C" in text
    assert "site config" not in text  # a Debian family has no place in a Spack config
    # mode B: the system is trixie's, so every pair starts from trixie's build; both programs depend on it
    b = recommend_families(_family_records(renamed), mode="B")
    assert _release_pairs(b.decisions) == {("trixie", "bookworm"): False}
    assert {c.binary.release for d in b.decisions for c in d.checks} == {"bookworm", "trixie"}


def test_a_program_that_does_not_load_the_family_is_no_dependent(renamed: dict[str, Artifact]) -> None:
    from splicelab.recommend_debian import annotate_loads, recommend_families

    records = _family_records(renamed)
    tool = renamed["tool-bookworm"]
    # from its closure (recommend --debian) ...
    loads = {(tool.id, "usr/bin/foo", "C"): False}
    report = recommend_families(annotate_loads(records, loads))
    assert _release_pairs(report.decisions) == {("trixie", "bookworm"): False}
    assert report.not_dependents == [
        "foo-tools@1:1.0-1/bookworm:usr/bin/foo does not load foo (foo@1:1.0-1/bookworm)"
    ]
    # ... or from its real runs: validate's `linked` false, the corpus' NOLINK
    ran = [{**records[1], "class": "ok", "linked": False}]
    nolink = [
        {"mode": "C", "fam": "libfoo", "exe": "foo", "X": "bookworm", "Y": "trixie", "status": "NOLINK:x"}
    ]
    for outcomes in (ran, nolink):
        index, errors = index_outcomes(outcomes, mode="C")
        assert errors == []
        strict = recommend_families(records, index, validated_only=True)
        assert ("bookworm", "trixie") not in _release_pairs(strict.decisions)
        assert len(strict.not_dependents) == 1
    # a run that did load it decides the pair
    index, _ = index_outcomes([{**records[1], "class": "ok", "linked": True}], mode="C")
    assert _release_pairs(recommend_families(records, index, validated_only=True).decisions) == {
        ("bookworm", "trixie"): True,
        ("trixie", "bookworm"): False,
    }
