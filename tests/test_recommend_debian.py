"""Acceptance of ``splicelab recommend`` on the Debian corpus families whose library keeps its package
name across releases (zlib: zlib1g, lz4: liblz4-1), against the corpus' real outcomes (outcomes.jsonl).

The releases are fetched from Debian's archive (cached under $SPLICELAB_CACHE or ~/.cache/splicelab) and
predicted by the real engine, one world per system release X (mode C of the corpus: X's own loader, glibc
and libraries, only the family's library from release Y). Where the fetched versions differ from the
corpus manifest (trixie and sid move on), those pairs are not compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from splicelab.artifact import Artifact
from splicelab.predict.engine import WorldOptions
from splicelab.predict.engine import predict as run_predictions
from splicelab.recommend import index_outcomes, recommend

pytestmark = [pytest.mark.network, pytest.mark.slow]

FAMILIES = {"zlib": ("zlib1g", "pigz"), "lz4": ("liblz4-1", "lz4")}  # source: (library, program package)
PROGRAMS = {"usr/bin/pigz", "usr/bin/lz4"}  # the programs the corpus ran (unpigz, lz4cat… were not)
CORPUS_FAMILY = {"zlib": "zlib", "lz4": "liblz4"}


@pytest.fixture(scope="module")
def debian() -> Any:
    from splicelab.sources.debian import fetch_debian

    try:
        dset = fetch_debian(sorted(FAMILIES))
    except Exception as exc:  # no route to Debian's archive here
        pytest.skip(f"Debian archive not reachable: {exc}")
    if dset.errors or len(dset.releases) < 4:
        pytest.skip(f"Debian fetch incomplete: {dset.errors[:3]}")
    return dset


@pytest.fixture(scope="module")
def manifest(shared_dir: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for tsv in (shared_dir / "corpus" / "manifest").glob("*.tsv"):
        out[tsv.stem] = dict(line.split("\t", 1) for line in tsv.read_text().split("\n") if "\t" in line)
    return out


@pytest.fixture(scope="module")
def corpus_outcomes(shared_dir: Path) -> list[dict[str, Any]]:
    lines = (shared_dir / "corpus" / "outcomes.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def predictions(debian: Any) -> list[dict[str, Any]]:
    """Mode-C predictions: per system release X, X's artifacts and every release's family library."""
    libraries = {lib for lib, _ in FAMILIES.values()}
    programs = {prog for _, prog in FAMILIES.values()}
    records = []
    for release, rel in debian.releases.items():
        arts = [a for a in debian.artifacts if a.release == release or a.name in libraries]
        dirs = (str(rel.root / "usr/lib/x86_64-linux-gnu"), str(rel.root / "usr/lib"))
        for r in run_predictions(arts, options=WorldOptions(default_dirs=dirs)):
            s = r.splice
            measured = s.binary.name in programs and s.file in PROGRAMS
            if s.binary.release == release and measured and s.dependency in libraries:
                records.append(r.to_dict())
    assert records
    return records


def _pair(d: Any) -> tuple[str, str, str]:
    return (d.dependency, d.original.release, d.replacement.release)


def _comparable(debian: Any, manifest: dict[str, dict[str, str]]) -> set[tuple[str, str, str]]:
    """(library, X, Y) whose program and libraries have the corpus manifest's versions."""

    def same(a: Artifact | None) -> bool:
        return a is not None and manifest.get(a.release or "", {}).get(a.name) == a.version

    out = set()
    for lib, prog in FAMILIES.values():
        for x in debian.releases:
            for y in debian.releases:
                mine = same(debian.artifact(prog, x)) and same(debian.artifact(lib, x))
                if x != y and mine and same(debian.artifact(lib, y)):
                    out.add((lib, x, y))
    return out


def _really_ok(corpus_outcomes: list[dict[str, Any]], mode: str) -> tuple[set, set]:
    """(library, X, Y) with every program run ok, and those with some run failing (NOLINK: no dependent)."""
    lib_of = {CORPUS_FAMILY[src]: lib for src, (lib, _) in FAMILIES.items()}
    ok, failed = set(), set()
    for row in corpus_outcomes:
        if row["mode"] != mode or row["fam"] not in lib_of or row["X"] == row["Y"]:
            continue
        if row["status"].startswith("NOLINK"):
            continue
        key = (lib_of[row["fam"]], row["X"], row["Y"])
        (ok if row["status"] == "OK" else failed).add(key)
    return ok - failed, failed


def test_validated_only_recommends_exactly_the_pairs_that_ran_ok(
    debian: Any, predictions: list[dict[str, Any]], manifest: dict, corpus_outcomes: list[dict[str, Any]]
) -> None:
    index, errors = index_outcomes(corpus_outcomes, mode="C")
    assert errors == []
    report = recommend(predictions, debian.artifacts, index, validated_only=True)
    comparable = _comparable(debian, manifest)
    assert comparable, "no fetched version matches the corpus manifest"
    ok, failed = _really_ok(corpus_outcomes, "C")
    predicted = {_pair(d) for d in report.decisions} & comparable
    # the pipeline saw every pair the corpus ran (programs that link the library)
    assert (ok | failed) & comparable == predicted
    recommended = {_pair(d) for d in report.accepted} & comparable
    assert recommended == ok & comparable
    assert failed & comparable, "the corpus has failing pairs for these families (lz4)"
    for d in report.refused:
        if _pair(d) in comparable:
            assert any("ran: undefined-symbol" in why for why in d.refusals), d.refusals
    # Debian builds make can_splice lines (evidence), never a Spack site config
    assert report.recommendations and report.explicit == []


def test_predictions_alone_recommend_the_same_pairs(
    debian: Any, predictions: list[dict[str, Any]], manifest: dict, corpus_outcomes: list[dict[str, Any]]
) -> None:
    report = recommend(predictions, debian.artifacts)
    comparable = _comparable(debian, manifest)
    ok, _ = _really_ok(corpus_outcomes, "C")
    assert {_pair(d) for d in report.accepted} & comparable == ok & comparable
    lz4 = [d for d in report.refused if d.dependency == "liblz4-1" and _pair(d) in comparable]
    assert lz4 and all("LZ4_attach_dictionary" in " ".join(d.refusals) for d in lz4)


@pytest.fixture(scope="module")
def validate_outcomes(debian: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outcomes.json of the real ``splicelab validate --debian`` for the two families (modes B and C)."""
    from click.testing import CliRunner

    from splicelab.cli import main

    out = tmp_path_factory.mktemp("validate") / "outcomes.json"
    args = ["validate", *(x for src in sorted(FAMILIES) for x in ("--debian", src)), "--out", str(out)]
    args += ["--cache", str(debian.cache)]
    runner = CliRunner()
    res = runner.invoke(main, args)
    if res.exit_code != 0 or not out.exists():  # no user namespaces here: run unisolated
        res = runner.invoke(main, [*args, "--no-isolation"])
    assert res.exit_code == 0 and out.exists(), res.output
    return out


def test_validated_only_on_validate_outcomes_matches_the_corpus(
    debian: Any,
    predictions: list[dict[str, Any]],
    validate_outcomes: Path,
    manifest: dict,
    corpus_outcomes: list[dict[str, Any]],
) -> None:
    from splicelab.report.recommendations import load_records

    records = load_records(validate_outcomes)
    index, errors = index_outcomes(records, mode="C")
    assert errors == [] and len(index) > 0
    report = recommend(predictions, debian.artifacts, index, validated_only=True)
    ran = {}
    for o in records:
        if o["mode"] == "C" and o["program_release"] != o["library_release"] and o.get("linked", True):
            key = (o["replacement"]["package"], o["program_release"], o["library_release"])
            ran[key] = ran.get(key, True) and o["class"] == "ok"
    assert {_pair(d) for d in report.accepted} == {k for k, good in ran.items() if good}
    assert {_pair(d) for d in report.refused} == {k for k, good in ran.items() if not good}
    # and where the versions are the corpus', what validate found is what the corpus found
    comparable = _comparable(debian, manifest)
    ok, _ = _really_ok(corpus_outcomes, "C")
    assert {_pair(d) for d in report.accepted} & comparable == ok & comparable
