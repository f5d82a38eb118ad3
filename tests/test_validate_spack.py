"""Spack artifacts (the fixture's moved install trees, DT_RPATH) spliced for real, checked against
truth.json's LD_PRELOAD rows: pigz works with every zlib; pngfix fails with zlib@1.2.8 (libpng16.so.16
needs ZLIB_1.2.9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splicelab.artifact import Artifact
from splicelab.sources import load_artifacts
from splicelab.validate import validate
from splicelab.validate.sandbox import namespaces_available
from splicelab.validate.spack import spack_jobs, tree_binds

pytestmark = pytest.mark.skipif(not namespaces_available(), reason="needs mount/network namespaces (root)")


@pytest.fixture(scope="module")
def artifacts(shared_dir: Path) -> list[Artifact]:
    trees = [shared_dir / "fixtures" / "spack-1.0" / "opt", shared_dir / "fixtures" / "spack-0.23" / "opt"]
    errors: list = []
    arts = load_artifacts(trees, errors=errors)
    assert arts
    return arts


def _truth(shared_dir: Path) -> dict[tuple[str, str, str], bool]:
    rows = json.loads((shared_dir / "fixtures" / "truth.json").read_text())["results"]
    return {
        (r["prefix"][-32:], r["zlib"][-32:], r["kind"]): r["works"]
        for r in rows
        if r["method"] == "LD_PRELOAD"
    }


def _kind(o: dict) -> str | None:
    name = o["binary"]["file"].rsplit("/", 1)[-1]
    return name if name in ("pigz", "pngfix") else None


def test_trees_map_back_to_their_recorded_roots(artifacts: list[Artifact]) -> None:
    binds = [b for b in tree_binds(artifacts) if b.source.is_dir()]
    assert binds
    for a in artifacts:
        assert a.recorded_root is not None
        b = next(b for b in binds if a.recorded_root.startswith(b.target + "/"))
        assert b.source / a.recorded_root[len(b.target) + 1 :] == Path(a.root).resolve()


@pytest.mark.slow
def test_preload_agrees_with_truth(artifacts: list[Artifact], shared_dir: Path) -> None:
    truth = _truth(shared_dir)
    jobs = list(spack_jobs(artifacts, "zlib", method="preload", binaries=["pigz", "libpng"]))
    outcomes = list(validate(jobs, workers=2))
    compared = 0
    for o in outcomes:
        kind = _kind(o)
        key = (o["binary"]["hash"], o["replacement"]["hash"], kind)
        if kind is None or key not in truth:
            continue
        compared += 1
        assert (o["class"] == "ok") == truth[key], o
        assert o["substituted"], o  # the preloaded zlib is the one loaded
        if o["class"] != "ok":
            assert o["class"] == "missing-version" and o["version"] == "ZLIB_1.2.9"
            assert o["replacement"]["version"] == "1.2.8" and kind == "pngfix"
    assert compared == 168  # 10 pigz x 12 zlib + 4 pngfix x 12 zlib


def test_rewire_gives_the_same_classes(artifacts: list[Artifact], shared_dir: Path) -> None:
    truth = _truth(shared_dir)
    jobs = [
        (j, b)
        for j, b in spack_jobs(artifacts, "zlib", method="rewire", binaries=["libpng"])
        if j.record["binary"]["file"].endswith("pngfix")
        and j.record["replacement"]["version"] in ("1.2.8", "1.3.1")
    ]
    assert jobs
    outcomes = list(validate(jobs, workers=2))
    for o in outcomes:
        key = (o["binary"]["hash"], o["replacement"]["hash"], "pngfix")
        assert (o["class"] == "ok") == truth[key], o
        assert o["method"] == "rewire" and o["substituted"], o
    assert {o["class"] for o in outcomes} == {"ok", "missing-version"}
