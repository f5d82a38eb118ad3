"""The seed's algorithm (symbols) and its union variant on the acceptance cases and the Spack fixture.

Each case is built with every compiler and also run for real (host ld.so, LD_BIND_NOW): the tests
state what the seed gets right and what it gets wrong.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from _linklab import SYSTEM_DIR, system_artifact
from _splice_cases import build
from conftest import FIXTURES, Compiler
from splicelab.corpus import Corpus
from splicelab.link import World
from splicelab.predict.base import Splice, Verdict
from splicelab.predict.symbols import (
    SymbolsPredictor,
    SymbolsUnionPredictor,
    missing_strings,
    missing_symbols,
    prefix,
    seed_splice,
)

W, B = Verdict.WORKS, Verdict.BREAKS

# case: (the real run works, symbols verdict, the seed's "missing" list, symbols-union verdict)
EXPECTED: dict[str, tuple[bool, Verdict, list[str], Verdict]] = {
    "removed-function": (False, B, ["app bar"], W),  # union keeps the old library: misses it
    "added-function": (True, W, [], W),
    "removed-version-node": (False, W, [], W),  # names only: a version node is invisible
    "soname-bump": (False, W, [], W),  # libfoo.so.2 matches "libfoo": the NEEDED is never checked
    "shrunk-data-object": (False, W, [], W),  # sizes are invisible
    "needs-missing-library": (False, B, ["libfoo extra"], B),  # right: extra() is defined nowhere
    "needs-version-closure-lacks": (False, W, [], W),  # dep_new exists, at another version
    "weak-symbol": (True, B, ["app opt"], W),  # wrong: a weak import may stay unbound
    "symbol-moved-to-sub-library": (
        True,
        B,
        ["app foo", "libfoo foo"],
        W,
    ),  # wrong: the new library's NEEDED is ignored
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_acceptance_case(case: str, cc: Compiler) -> None:
    c = build(case, cc)
    real_ok, verdict, missing, union_verdict = EXPECTED[case]
    assert c.run_spliced().ok is real_ok
    world = c.world()
    splice = c.splice(world)
    p = SymbolsPredictor().predict(splice, world)
    assert p.verdict == verdict
    assert missing_strings(p) == missing
    assert {r.kind for r in p.reasons} <= {"missing-symbol"}
    assert len(p.reasons) == len(missing)
    u = SymbolsUnionPredictor().predict(splice, world)
    assert u.verdict == union_verdict
    if case == "removed-function":
        (r,) = p.reasons
        assert (r.symbol, r.library, r.detail) == ("bar", "libfoo.so.1", "required by bin/app")
    if case == "needs-missing-library":
        (r,) = p.reasons
        assert (r.symbol, r.library, r.detail) == ("extra", None, "required by lib/libfoo.so.1")


def test_seed_swaps_by_prefix_and_only_known_libraries(gcc: Compiler) -> None:
    c = build("symbol-moved-to-sub-library", gcc)
    world = c.world()
    splice = c.splice(world)
    result = SymbolsPredictor().run(splice, world)
    # libfoo.so.1 swapped for libfoo.so.1; libfoo_impl.so.1 ("libfoo_impl") is no known library: left out
    assert result.selected == (("lib/libfoo.so.1", "lib/libfoo.so.1"),)
    assert result.missing == (("bin/app", "foo"), ("lib/libfoo.so.1", "foo"))
    baseline = [o.corpus for o in world.closure(splice.binary, splice.file).objects]
    replacements = [corpus for _, corpus in splice.replacement.libraries()]
    assert seed_splice(baseline, replacements, union=True).missing == ()
    # with the sub-library added by hand the seed is satisfied: what it lacked was the NEEDED walk
    assert seed_splice(baseline + replacements[:1], replacements).selected == result.selected


# --- the Spack fixture ------------------------------------------------------------------------------------


def _truth() -> dict[tuple[str, str, str], bool]:
    """(binary prefix hash, program, zlib hash) -> works, from the LD_PRELOAD rows (real substitution)."""
    truth = json.loads((FIXTURES / "truth.json").read_text())
    out = {}
    for r in truth["results"]:
        if r["method"] == "LD_PRELOAD":
            out[(r["prefix"].rsplit("-", 1)[1], r["kind"], r["zlib"].rsplit("-", 1)[1])] = r["works"]
    return out


@pytest.fixture(scope="module")
def fixture_world() -> Any:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    from splicelab.sources import load_artifacts
    from splicelab.splices import enumerate_splices

    arts = load_artifacts([FIXTURES / "spack-1.0" / "opt", FIXTURES / "spack-0.23" / "opt"])
    world = World([*arts, system_artifact()], default_dirs=[SYSTEM_DIR])
    return world, list(enumerate_splices(world, arts))


def test_fixture_seed_matches_truth_and_union_misses_zlib_1_2_8(fixture_world: Any) -> None:
    world, splices = fixture_world
    truth = _truth()
    seed, union = SymbolsPredictor(), SymbolsUnionPredictor()
    compared = 0
    breaks: list[Splice] = []
    for s in splices:
        program = s.file.rsplit("/", 1)[-1]
        key = (s.binary.build_id, program, s.replacement.build_id)
        p = seed.predict(s, world)
        if p.verdict == B:
            breaks.append(s)
            assert missing_strings(p) == ["libpng16 inflateValidate"]
        if key in truth:
            compared += 1
            assert (p.verdict == W) is truth[key], key
        assert union.predict(s, world).verdict == W  # zlib 1.2.13 stays beside 1.2.8: nothing is missing
    assert compared == 198  # every LD_PRELOAD row but each binary with its own zlib
    assert {s.replacement.version for s in breaks} == {"1.2.8"}
    assert {s.file.rsplit("/", 1)[-1] for s in breaks} == {
        "pngfix",
        "libpng16.so.16.37.0",
        "libpng16.so.16.39.0",
    }


def _literal_seed(baseline: list[Corpus], replacements: list[Corpus], union: bool) -> list[tuple[str, str]]:
    """The seed's steps transcribed one to one (spack-monitor's run_symbols_splice), as an oracle."""
    by_name = {c.path.rsplit("/", 1)[-1]: c for c in baseline}
    before = {f"{prefix(p)} {n}" for p, n in missing_symbols(by_name.values())}
    lookup = {prefix(k): c for k, c in by_name.items()}
    splices = {prefix(k): c for k, c in {c.path.rsplit("/", 1)[-1]: c for c in replacements}.items()}
    old = []
    for lib, corpus in splices.items():
        if lib in lookup:
            old.append(lookup[lib])
            lookup[lib] = corpus
    after = missing_symbols([*lookup.values(), *(old if union else [])])
    return sorted((p, n) for p, n in after if f"{prefix(p)} {n}" not in before)


@pytest.mark.parametrize("system", [True, False], ids=["with-libc", "without-libc"])
def test_incremental_seed_equals_the_literal_one(system: bool) -> None:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    from splicelab.sources import load_artifacts
    from splicelab.splices import enumerate_splices

    arts = load_artifacts([FIXTURES / "spack-1.0" / "opt", FIXTURES / "spack-0.23" / "opt"])
    world = World([*arts, system_artifact()], default_dirs=[SYSTEM_DIR]) if system else World(arts)
    differing = 0
    for s in enumerate_splices(world, arts):
        baseline = [o.corpus for o in world.closure(s.binary, s.file).objects]
        replacements = [c for _, c in s.replacement.libraries()]
        for union in (False, True):
            fast = seed_splice(baseline, replacements, union=union).missing
            assert list(fast) == _literal_seed(baseline, replacements, union), (s.key, union)
            differing += bool(fast)
    assert differing > 0  # the comparison saw failures, not only empty sets
