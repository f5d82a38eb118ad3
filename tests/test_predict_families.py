"""Acceptance: predictions of Debian family splices against what really happens when they are performed.

Five families (curl, xmllint, pigz, lz4, pngfix) x four releases x modes B and C, fetched from Debian's
archive (cached) and performed for real by ``splicelab.validate`` in its sandbox. The ``loader``
predictor must be right on every load outcome (no false "works", no false "breaks"), and its reasons
must name what the real loader named.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from splicelab.evaluate import RUNTIME_FAILURES, evaluate
from splicelab.parallel import DaskExecutor
from splicelab.predict.families import FamilyPrediction, predict_families
from splicelab.sources.debian import DEFAULT_RELEASES, DebianSet, fetch_debian
from splicelab.validate import validate
from splicelab.validate.debian import debian_jobs
from splicelab.validate.sandbox import namespaces_available
from test_debian import FAMILIES, debian_cache

pytestmark = [pytest.mark.network, pytest.mark.slow]

RECORD = ("program", "program_release", "library", "library_release", "mode", "dependency")


def _key(d: dict[str, Any]) -> tuple[str, ...]:
    return (d["dependency"], d["mode"], d["program_release"], d["library_release"])


@pytest.fixture(scope="module")
def dset() -> DebianSet:
    out = fetch_debian(FAMILIES, DEFAULT_RELEASES, debian_cache())
    assert out.errors == []
    return out


@pytest.fixture(scope="module")
def predictions(dset: DebianSet) -> list[FamilyPrediction]:
    errors: list[str] = []
    out = predict_families(dset, ["loader", "symbols"], errors=errors)
    assert errors == []
    return out


@pytest.fixture(scope="module")
def outcomes(dset: DebianSet) -> list[dict[str, Any]]:
    if not namespaces_available():
        pytest.skip("needs mount/user namespaces (root) to perform the splices hermetically")
    return list(validate(debian_jobs(dset, ("B", "C")), workers=2))


@pytest.fixture(scope="module")
def pairs(predictions: list[FamilyPrediction], outcomes: list[dict[str, Any]]) -> list[tuple[dict, dict]]:
    by_key = {_key(o): o for o in outcomes}
    assert len(by_key) == len(outcomes)
    return [(e, by_key[_key(e)]) for e in (p.to_dict() for p in predictions)]


def test_every_splice_validate_performs_is_predicted_under_its_name(
    predictions: list[FamilyPrediction], outcomes: list[dict[str, Any]], pairs: list[tuple[dict, dict]]
) -> None:
    assert len(predictions) == len(outcomes) == len(FAMILIES) * 4 * 4 * 2
    for e, o in pairs:
        assert {k: e[k] for k in RECORD} == {k: o[k] for k in RECORD}
        for side in ("binary", "original", "replacement"):
            assert e[side]["id"] == o[side]["id"], (side, _key(e))
        assert e["binary"]["file"] == o["binary"]["file"]
        assert set(e["predictors"]) == {"loader", "symbols"}
    # renamed packages and a new soname are spliced all the same
    renamed = {(e["original"]["package"], e["replacement"]["package"]) for e, _ in pairs}
    assert ("libcurl4t64", "libcurl4") in renamed and ("libpng16-16t64", "libpng16-16") in renamed
    assert ("libxml2-16", "libxml2") in renamed


def test_loader_is_right_on_every_load_outcome(pairs: list[tuple[dict, dict]]) -> None:
    judged = [(e, o) for e, o in pairs if o.get("linked") is not False and o["class"] not in RUNTIME_FAILURES]
    wrong = [
        (_key(e), e["predictors"]["loader"]["verdict"], o["class"], o["message"][:120])
        for e, o in judged
        if (e["predictors"]["loader"]["verdict"] == "works") != (o["class"] == "ok")
    ]
    assert wrong == []
    classes = {o["class"] for _, o in judged}
    assert {"ok", "undefined-symbol", "soname-not-found", "dependency", "glibc-library"} <= classes
    assert len(judged) >= 140  # 160 splices; only lz4 of bullseye/bookworm does not load liblz4
    ev = evaluate([e for e, _ in pairs], [o for _, o in pairs])["loader"]
    assert (ev["total"], ev["correct"], ev["false_works"], ev["false_breaks"], ev["unknown"]) == (
        len(judged),
        len(judged),
        0,
        0,
        0,
    )
    assert ev["runtime"] == sum(1 for _, o in pairs if o["class"] in RUNTIME_FAILURES)


_MISSING_FILE = re.compile(r"error while loading shared libraries: ([^:\s]+): cannot open")
_VERSION = re.compile(r"version `([^']+)' not found")


def test_loader_reasons_name_what_the_real_loader_named(pairs: list[tuple[dict, dict]]) -> None:
    checked = set()
    for e, o in pairs:
        if o["class"] in ("ok", *RUNTIME_FAILURES) or o.get("linked") is False:
            continue
        reasons = e["predictors"]["loader"]["reasons"]
        kinds = {r["kind"] for r in reasons}
        libraries = {r["library"] for r in reasons}
        if o["class"] == "undefined-symbol":
            assert o["symbol"] in {r["symbol"] for r in reasons if r["kind"] == "missing-symbol"}, _key(e)
        elif o["class"] == "soname-not-found":
            assert "missing-soname" in kinds and _MISSING_FILE.search(o["message"])[1] in libraries  # type: ignore[index]
        elif o["class"] == "glibc-library":
            versions = {r["version"] for r in reasons if r["kind"] == "dependency-version"}
            assert _VERSION.search(o["message"])[1] in versions, _key(e)  # type: ignore[index]
        elif o["class"] == "dependency":
            # the replacement's own needs (the loader stops at the first; others may follow)
            assert kinds & {"dependency-unmet", "dependency-version"}, _key(e)
            missing = _MISSING_FILE.search(o["message"])
            if missing:  # the first library the loader missed is among the predicted ones
                assert missing[1] in libraries, (_key(e), missing[1], libraries)
        checked.add(o["class"])
    assert checked == {"undefined-symbol", "soname-not-found", "glibc-library", "dependency"}


def test_a_dask_cluster_predicts_the_same(dset: DebianSet, dask_cluster: tuple[str, list]) -> None:
    two = ("bookworm", "sid")  # every corpus travels to the workers: two releases keep it short
    part = DebianSet(
        dset.cache,
        {r: dset.releases[r] for r in two},
        {src: {r: f for r, f in per.items() if r in two} for src, per in dset.families.items()},
        [a for a in dset.artifacts if a.release in two],
        [],
    )
    mine = [
        p.to_dict() for p in predict_families(part, ["loader", "symbols"], modes=("C",), sources=["curl"])
    ]
    with DaskExecutor(scheduler=dask_cluster[0]) as executor:
        remote = [p.to_dict() for p in predict_families(part, ["loader", "symbols"], modes=("C",),
                                                        sources=["curl"], executor=executor)]  # fmt: skip
    assert remote == mine and len(mine) == 4
    breaks = [e for e in remote if e["predictors"]["loader"]["verdict"] == "breaks"]
    assert len(breaks) == 2 and all(e["predictors"]["loader"]["reasons"] for e in breaks)


def test_a_program_that_is_not_in_its_package_is_named_and_the_rest_predicted(dset: DebianSet) -> None:
    families = {src: {rel: replace(f) for rel, f in per.items()} for src, per in dset.families.items()}
    families["lz4"]["bookworm"].programs = [("lz4", "usr/bin/no-such-program")]
    partial = DebianSet(dset.cache, dset.releases, families, dset.artifacts, [])
    errors: list[str] = []
    out = predict_families(partial, ["loader"], sources=["lz4"], errors=errors)
    assert len(out) == 3 * 4 * 2 and "bookworm" not in {p.splice.record["program_release"] for p in out}
    assert len(errors) == 4 * 2  # each of bookworm's splices, named
    assert all("lz4: bookworm: program 'usr/bin/no-such-program' is not an ELF file" in e for e in errors)


def test_a_newest_release_without_the_family_still_has_mode_b(dset: DebianSet) -> None:
    families = {src: dict(per) for src, per in dset.families.items()}
    del families["lz4"]["sid"]  # as if sid had dropped liblz4-1 (and its lz4 program with it)
    partial = DebianSet(dset.cache, dset.releases, families, dset.artifacts, [])
    errors: list[str] = []
    out = predict_families(partial, ["loader"], sources=["lz4"], errors=errors)
    assert errors == [] and len(out) == 3 * 3 * 2
    b = [p.to_dict() for p in out if p.splice.mode == "B"]
    # trixie's lz4 needs LZ4_attach_dictionary, which the older liblz4 lacks: on sid's system too
    broken = {
        (e["program_release"], e["library_release"])
        for e in b
        if e["predictors"]["loader"]["verdict"] == "breaks"
    }
    assert broken == {("trixie", "bullseye"), ("trixie", "bookworm")}
