"""The type-level tools as predictors: libabigail's abicompat and abicheck's application mode.

The acceptance cases are built without debug info (as installed binaries usually are) and also run for
real, so each row states where the tool is right and where it is not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _splice_cases import build
from conftest import COMPILERS, Compiler
from splicelab.predict.abicheck import AbicheckPredictor
from splicelab.predict.base import Verdict
from splicelab.predict.cache import ResultCache
from splicelab.predict.libabigail import LibabigailPredictor
from splicelab.tools import abigail

W, B = Verdict.WORKS, Verdict.BREAKS

needs_abicompat = pytest.mark.skipif(abigail.unavailable() is not None, reason="abicompat is not installed")

# case: (real run works, libabigail verdict, its (kind, symbol, version) reasons,
#        abicheck verdict, its (kind, symbol, version) reasons)
EXPECTED = {
    "removed-function": (False, B, {("missing-symbol", "bar", None)}, B, {("missing-symbol", "bar", None)}),
    "added-function": (True, W, set(), W, set()),
    # abicompat 2.2 does not see bar@FOO_2 become bar@FOO_1; abicheck does
    "removed-version-node": (
        False,
        W,
        set(),
        B,
        {("missing-version", None, "FOO_2"), ("abi-change", "bar", None)},
    ),
    # abicompat reports the new SONAME (exit 12, no symbol); abicheck notes it but says compatible
    "soname-bump": (False, B, {("abi-change", None, None)}, W, {("abi-change", "DT_SONAME", None)}),
    # without debug info neither sees the data object shrink
    "shrunk-data-object": (False, W, set(), W, set()),
    # the replacement's own needs are beyond both
    "needs-missing-library": (False, W, set(), W, set()),
    "needs-version-closure-lacks": (False, W, set(), W, {("dependency-version", None, "DEP_2")}),
    # abicompat counts a weak import as required; abicheck does not
    "weak-symbol": (True, B, {("missing-symbol", "opt", None)}, W, set()),
    # both look at one library: foo left libfoo.so.1, that it arrived through libfoo_impl.so.1 they miss
    "symbol-moved-to-sub-library": (
        True,
        B,
        {("missing-symbol", "foo", None)},
        B,
        {("missing-symbol", "foo", None)},
    ),
}


def _reasons(p: object) -> set[tuple[str, str | None, str | None]]:
    return {(r.kind, r.symbol, r.version) for r in p.reasons}  # type: ignore[attr-defined]


@needs_abicompat
@pytest.mark.parametrize("case", list(EXPECTED))
def test_acceptance_case(case: str, gcc: Compiler) -> None:
    c = build(case, gcc)
    real_ok, lv, lreasons, av, areasons = EXPECTED[case]
    assert c.run_spliced().ok is real_ok
    world = c.world()
    splice = c.splice(world)
    cache = ResultCache()
    lp = LibabigailPredictor(cache).predict(splice, world)
    assert (lp.verdict, _reasons(lp)) == (lv, lreasons)
    ap = AbicheckPredictor(cache).predict(splice, world)
    assert (ap.verdict, _reasons(ap)) == (av, areasons)
    assert all(r.library == "libfoo.so.1" for r in (*lp.reasons, *ap.reasons))


@needs_abicompat
@pytest.mark.skipif("clang" not in COMPILERS, reason="clang is not installed")
@pytest.mark.parametrize("case", ["removed-function", "removed-version-node", "weak-symbol"])
def test_acceptance_case_clang(case: str, tmp_path: Path) -> None:
    c = build(case, Compiler("clang", tmp_path))
    _, lv, _, av, _ = EXPECTED[case]
    world = c.world()
    splice = c.splice(world)
    assert LibabigailPredictor(ResultCache()).predict(splice, world).verdict == lv
    assert AbicheckPredictor(ResultCache()).predict(splice, world).verdict == av


@needs_abicompat
def test_results_are_cached_by_content(gcc: Compiler, tmp_path: Path) -> None:
    c = build("removed-function", gcc)
    world = c.world()
    splice = c.splice(world)
    cache_dir = tmp_path / "cache"
    first = LibabigailPredictor(ResultCache(cache_dir)).predict(splice, world)
    entries = list(cache_dir.glob("libabigail/*/*.json"))
    assert len(entries) == 1
    assert json.loads(entries[0].read_text()) == first.to_dict()
    # a new process (a new cache object on the same directory) answers from the file, even when the
    # stored answer is changed: proof that abicompat did not run again
    doctored = {"verdict": "unknown", "reasons": [{"kind": "tool-error", "detail": "from the cache"}]}
    entries[0].write_text(json.dumps(doctored))
    again = LibabigailPredictor(ResultCache(cache_dir)).predict(splice, world)
    assert again.to_dict()["reasons"][0]["detail"] == "from the cache"


def test_missing_tool_is_unknown_and_warned_once(
    gcc: Compiler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = build("removed-function", gcc)
    world = c.world()
    splice = c.splice(world)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # really no abicompat on PATH
    predictor = LibabigailPredictor(ResultCache())
    with pytest.warns(RuntimeWarning, match="abicompat not found") as caught:
        first = predictor.predict(splice, world)
        second = predictor.predict(splice, world)
    assert len(caught) == 1
    for p in (first, second):
        assert p.verdict == Verdict.UNKNOWN
        assert [r.kind for r in p.reasons] == ["tool-unavailable"]
        assert "abigail-tools" in (p.reasons[0].detail or "")


@needs_abicompat
def test_abicompat_error_is_unknown(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    result = abigail.abicompat(missing, missing, missing)
    assert result.error and not result.changed
    from splicelab.predict.libabigail import verdict_of

    p = verdict_of(result, "libfoo.so.1", "app")
    assert p.verdict == Verdict.UNKNOWN
    assert p.reasons[0].kind == "tool-error" and "does not exist" in (p.reasons[0].detail or "")


@needs_abicompat
def test_consumers_one_level_down(tmp_path: Path) -> None:
    """pngfix with zlib 1.2.13 -> 1.2.8: the library that imports the removed inflateValidate is
    libpng16.so.16, which the pair list must include as a consumer beside pngfix itself."""
    from conftest import FIXTURES
    from splicelab.link import World
    from splicelab.predict.base import Splice
    from splicelab.predict.view import library_pairs
    from splicelab.sources import load_artifacts

    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    arts = load_artifacts([FIXTURES / "spack-1.0" / "opt"])
    world = World(arts)
    png = next(a for a in arts if a.short_id == "libpng@1.6.37/kyp7fs5")
    old = next(a for a in arts if a.short_id == "zlib@1.2.13/cidiy6c")
    new = next(a for a in arts if a.short_id == "zlib@1.2.8/izp7ndt")
    splice = Splice(png, "bin/pngfix", "zlib", old, new)
    (pair,) = library_pairs(splice, world)
    assert pair.soname == "libz.so.1"
    assert pair.new_path == new.root / "lib/libz.so.1.2.8"
    assert sorted(c.corpus.path for c in pair.consumers) == ["bin/pngfix", "lib/libpng16.so.16.37.0"]
    # abicheck finds it through libpng16; abicompat 2.2 answers 0 for both consumers (a miss)
    ap = AbicheckPredictor(ResultCache()).predict(splice, world)
    assert ap.verdict == B
    assert _reasons(ap) == {
        ("missing-symbol", "inflateValidate", None),
        ("missing-version", None, "ZLIB_1.2.9"),
    }
    assert {r.detail for r in ap.reasons} == {"used by libpng16.so.16.37.0"}
    assert LibabigailPredictor(ResultCache()).predict(splice, world).verdict == W
