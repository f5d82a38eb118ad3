"""Acceptance of ``splicelab recommend`` on the five Debian corpus families (curl, libxml2, zlib, lz4,
libpng1.6): the recommended pairs (family of release X → family of release Y, the family merged across
renamed packages) against what really happened.

Real Debian packages from the cache ($SPLICELAB_CACHE or ~/.cache/splicelab), fetched once per session;
every mode-C splice performed once per session by the real ``splicelab.validate`` in its sandbox; the
command run as a user runs it (``--debian`` predicts in-process and writes the predictions, which the
other runs read back with ``--predictions``). The truth is computed here from the outcome records
themselves: a pair is ok when every program that loads the family ran ok with Y's family in place of X's.
"""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from splicelab.cli import main
from splicelab.pipeline import RunConfig, run
from splicelab.sources.debian import DEFAULT_RELEASES, DebianSet, fetch_debian
from splicelab.validate import validate
from splicelab.validate.debian import debian_jobs
from splicelab.validate.sandbox import namespaces_available
from test_debian import FAMILIES, debian_cache

pytestmark = [pytest.mark.network, pytest.mark.slow]

CORPUS_FAMILY = {
    "libcurl": "curl",
    "libxml2": "libxml2",
    "zlib": "zlib",
    "liblz4": "lz4",
    "libpng": "libpng1.6",
}
Pair = tuple[str, str, str]  # (source package, release X of the original, release Y of the replacement)


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _recommend(*args: str | Path) -> None:
    res = CliRunner().invoke(main, ["recommend", *map(str, args)])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="session")
def dset() -> DebianSet:
    if not namespaces_available():
        pytest.skip("needs mount/user namespaces (root) to perform the splices hermetically")
    out = fetch_debian(FAMILIES, DEFAULT_RELEASES, debian_cache())
    assert out.errors == []
    return out


@pytest.fixture(scope="session")
def validated(dset: DebianSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """outcomes.json: every mode-C splice of the five families, performed for real."""
    path = tmp_path_factory.mktemp("validate") / "outcomes.json"
    path.write_text(json.dumps(list(validate(debian_jobs(dset, ("C",)), workers=2))))
    return path


@pytest.fixture(scope="session")
def corpus(shared_dir: Path) -> Path:
    return shared_dir / "corpus" / "outcomes.jsonl"


@pytest.fixture(scope="session")
def pairs(
    dset: DebianSet, validated: Path, corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The output directories of ``splicelab recommend`` on the five families: ``default`` (predictions
    alone, made by --debian), ``validate`` and ``corpus`` (--validated-only on those outcomes)."""
    base = tmp_path_factory.mktemp("recommend")
    sources = [x for s in FAMILIES for x in ("--debian", s)]
    _recommend(*sources, "--cache", dset.cache, "--format", "json", "--out", base / "default")
    for name, outcomes in (("validate", validated), ("corpus", corpus)):
        predictions = base / "default" / "predictions.json"
        _recommend(
            "--predictions", predictions, "--outcomes", outcomes, "--validated-only", "--out", base / name
        )
    return {name: base / name for name in ("default", "validate", "corpus")}


def _decided(out: Path, source: str) -> tuple[set[Pair], set[Pair]]:
    """(recommended, refused) pairs of ``source`` in ``out``'s pairs.json."""
    rec, ref = set(), set()
    for d in _load(out / "pairs.json"):
        if d["dependency"] == source:
            (rec if d["accepted"] else ref).add((source, *d["releases"]))
    return rec, ref


def _truth(runs: Iterable[tuple[Pair, bool]]) -> tuple[set[Pair], set[Pair]]:
    """(ok, failed): a pair is ok when every run of it was ok."""
    seen: dict[Pair, bool] = defaultdict(lambda: True)
    for pair, ok in runs:
        seen[pair] &= ok
    return {p for p, ok in seen.items() if ok}, {p for p, ok in seen.items() if not ok}


def _validate_truth(path: Path, source: str, mode: str = "C") -> tuple[set[Pair], set[Pair]]:
    """From validate's records: programs that do not load the family (``linked`` false) are no dependents."""
    return _truth(
        ((source, o["original"]["release"], o["library_release"]), o["class"] == "ok")
        for o in _load(path)
        if o["dependency"] == source
        and o["mode"] == mode
        and o.get("linked") is not False
        and o["original"]["release"] != o["library_release"]
    )


def _corpus_truth(path: Path, source: str, comparable: set[Pair]) -> tuple[set[Pair], set[Pair]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return _truth(
        ((source, r["X"], r["Y"]), r["status"] == "OK")
        for r in rows
        if r["mode"] == "C"
        and CORPUS_FAMILY[r["fam"]] == source
        and not r["status"].startswith("NOLINK")
        and (source, r["X"], r["Y"]) in comparable
    )


def _comparable(dset: DebianSet, manifests: Path, source: str) -> set[Pair]:
    """Pairs whose program (of X) and family packages (of X and Y) have the corpus manifest's versions."""
    manifest = {
        tsv.stem: dict(line.split("\t", 1) for line in tsv.read_text().splitlines() if "\t" in line)
        for tsv in manifests.glob("*.tsv")
    }

    def same(release: str, packages: Iterable[str]) -> bool:
        listed = [p for p in packages if p in manifest.get(release, {})]
        return bool(listed) and all(
            (a := dset.artifact(p, release)) is not None and a.version == manifest[release][p] for p in listed
        )

    fams = dset.families[source]
    libs_same = {r: same(r, f.libraries) for r, f in fams.items()}
    return {
        (source, x, y)
        for x in fams
        for y in fams
        if x != y and libs_same[x] and libs_same[y] and same(x, [p for p, _ in fams[x].programs])
    }


@pytest.mark.parametrize("source", FAMILIES)
def test_validated_only_recommends_exactly_the_pairs_that_ran_ok(
    source: str, pairs: dict[str, Path], validated: Path
) -> None:
    recommended, refused = _decided(pairs["validate"], source)
    ok, failed = _validate_truth(validated, source)
    assert recommended == ok
    assert refused == failed  # every pair with a dependent program is decided, none other
    for d in _load(pairs["validate"] / "pairs.json"):
        if d["dependency"] == source and not d["accepted"]:
            assert all(": ran: " in why for why in d["reasons"]), d["reasons"]


@pytest.mark.parametrize("source", FAMILIES)
def test_validated_only_on_the_corpus_outcomes_where_the_versions_match(
    source: str, pairs: dict[str, Path], corpus: Path, dset: DebianSet
) -> None:
    comparable = _comparable(dset, corpus.parent / "manifest", source)
    if not comparable:
        pytest.skip(f"{source}: no fetched version matches the corpus manifest any more")
    recommended, refused = _decided(pairs["corpus"], source)
    ok, failed = _corpus_truth(corpus, source, comparable)
    assert recommended & comparable == ok
    assert refused & comparable == failed


@pytest.mark.parametrize("source", FAMILIES)
def test_predictions_alone_recommend_no_pair_that_failed_for_real(
    source: str, pairs: dict[str, Path], validated: Path, corpus: Path, dset: DebianSet
) -> None:
    recommended, refused = _decided(pairs["default"], source)
    ok, failed = _validate_truth(validated, source)
    assert recommended <= ok and not recommended & failed
    comparable = _comparable(dset, corpus.parent / "manifest", source)
    corpus_ok, corpus_failed = _corpus_truth(corpus, source, comparable)
    assert recommended & comparable <= corpus_ok and not recommended & corpus_failed
    # the same pairs are judged: programs that do not load the family (lz4 of bullseye, bookworm) are
    # known from their closures, without running them
    assert recommended | refused == ok | failed


def test_the_lines_are_in_debian_terms_and_the_family_crosses_renames(
    pairs: dict[str, Path], dset: DebianSet
) -> None:
    lines = _load(pairs["default"] / "recommendations.json")
    assert lines
    for rec in lines:
        call = ast.parse(rec["line"]).body[0].value  # type: ignore[attr-defined]
        assert call.func.id == "can_splice" and call.args[0].value == rec["target"]
        assert rec["package"] in FAMILIES and rec["target"].startswith(rec["package"] + "@")
        releases = rec["evidence"]["debian"]["releases"]
        for rel, info in releases.items():  # each version is one release's build of the family
            packages = [dset.artifact(n, rel) for n in dset.families[rec["package"]][rel].libraries]
            assert info["version"].split(":")[-1] in {p.version.split(":")[-1] for p in packages if p}
        versions = {info["version"].split(":")[-1] for info in releases.values()}
        assert rec["when"][1:].split(":")[0] in versions
    # one family, whatever its packages are called: trixie's libcurl4t64 replaces bookworm's libcurl4
    decided = {(d["dependency"], *d["releases"]) for d in _load(pairs["default"] / "pairs.json")}
    for source, x, y in (("curl", "bookworm", "trixie"), ("libpng1.6", "trixie", "bookworm")):
        assert (source, x, y) in decided
    text = (pairs["default"] / "recommendations.txt").read_text()
    assert "Debian terms, not Spack specs" in text and "libcurl4, libcurl4t64" in text
    assert "lz4@1.9.3-2/bullseye:usr/bin/lz4 does not load lz4" in text
    assert _load(pairs["default"] / "spliced.json") == []
    assert "explicit: []" in (pairs["default"] / "concretizer.yaml").read_text()  # no Spack site config


def test_a_run_directory_in_mode_c_and_b(dset: DebianSet, tmp_path: Path) -> None:
    """``splicelab run lz4`` (both modes), then ``recommend --predictions RUN_DIR``: its own outcomes are
    used; mode B's pairs all start from the newest release's build (its system), with every release's
    program that loads liblz4 as a dependent."""
    result = run(RunConfig("lz4", out=tmp_path / "run", cache=dset.cache, report=False, store=False))
    assert result.errors == [] and result.validated
    outcomes = tmp_path / "run" / "outcomes.json"
    newest = dset.newest_release()
    for mode in ("C", "B"):
        out = tmp_path / f"rec-{mode}"
        _recommend("--predictions", tmp_path / "run", "--mode", mode, "--validated-only", "--out", out)
        recommended, refused = _decided(out, "lz4")
        if mode == "B":
            runs = [
                (("lz4", newest, o["library_release"]), o["class"] == "ok")
                for o in _load(outcomes)
                if o["mode"] == "B" and o.get("linked") is not False and o["library_release"] != newest
            ]
            ok, failed = _truth(runs)
            assert {x for _, x, _ in recommended | refused} == {newest}
        else:
            ok, failed = _validate_truth(outcomes, "lz4")
        assert (recommended, refused) == (ok, failed)
        assert ok and failed  # lz4: trixie's and sid's programs need LZ4_attach_dictionary
