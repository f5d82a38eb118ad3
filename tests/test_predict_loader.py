"""The loader predictor on real builds (gcc-12, gcc-11, clang), each verdict checked against the real
``ld.so``: the client is run with v1 and with v2 (``LD_BIND_NOW=1``) and the predicted verdict must be
what really happened. Then the Spack fixture trees, against their recorded truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _linklab import SYSTEM_DIR, Lab, get, kinds, predict, run, system_artifact
from conftest import FIXTURES, Compiler
from splicelab.link import World
from splicelab.predict.base import Splice, Verdict
from splicelab.predict.loader import LoaderPredictor
from splicelab.sources.spack import load_root
from splicelab.splices import enumerate_splices

CLIENT = """
#include <stdio.h>
int foo(void);
int bar(void);
int main(void) { int v = foo() + bar(); printf("%d\\n", v); return v == 3 ? 0 : 1; }
"""
FOO_BAR = "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"


@pytest.fixture
def lab(cc: Compiler) -> Lab:
    return Lab(cc)


def check(lab: Lab, dependency: str, old: str, new: str, old_path: list[Path], new_path: list[Path]):  # type: ignore[no-untyped-def]
    """Predict app x (old → new) with the app loading ``old`` via LD_LIBRARY_PATH, run it for real
    with each, and insist the prediction matches the run."""
    app = lab.root / "app-1/bin/app"
    before, after = run(app, old_path), run(app, new_path)
    assert before.ok, before
    world = lab.world(ld_library_path=old_path)
    prediction = predict(world, dependency, old, new)
    expected = Verdict.WORKS if after.ok else Verdict.BREAKS
    assert prediction.verdict == expected, (prediction, after)
    return prediction, after


def test_removed_function_breaks(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", "int foo(void) { return 1; }\n")
    lab.exe(CLIENT, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert "undefined symbol: bar" in after.stderr
    assert [(r.kind, r.symbol) for r in p.reasons] == [("missing-symbol", "bar")]
    assert p.reasons[0].detail == "required by bin/app"


def test_added_function_works(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", FOO_BAR + "int baz(void) { return 3; }\n")
    lab.exe(CLIENT, libs=[v1])
    p, _ = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert p.reasons == ()


def test_removed_version_node_breaks(lab: Lab) -> None:
    v1 = lab.lib(
        "foo",
        "1",
        FOO_BAR,
        script="FOO_1 { global: foo; local: *; };\nFOO_2 { global: bar; } FOO_1;\n",
    )
    v2 = lab.lib("foo", "2", FOO_BAR, script="FOO_1 { global: foo; bar; local: *; };\n")
    lab.exe(CLIENT, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert "version `FOO_2' not found" in after.stderr
    assert [(r.kind, r.symbol, r.version, r.library) for r in p.reasons] == [
        ("missing-version", "bar", "FOO_2", "libfoo.so.1")
    ]


def test_soname_bump_breaks(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR)
    v2 = lab.lib("foo", "2", FOO_BAR, soname="libfoo.so.2")
    lab.exe(CLIENT, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert "libfoo.so.1: cannot open shared object file" in after.stderr
    assert [(r.kind, r.library) for r in p.reasons] == [("missing-soname", "libfoo.so.1")]


def test_shrunk_data_object_breaks(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", "int table[4] = {1, 2, 3, 4};\n")
    v2 = lab.lib("foo", "2", "int table[2] = {1, 2};\n")
    client = """
    #include <stdio.h>
    extern int table[4];
    int main(void) {
        int s = 0;
        for (int i = 0; i < 4; i++) s += table[i];
        printf("%d\\n", s);
        return s != 10;
    }
    """
    lab.exe(client, libs=[v1], flags=["-fno-pie", "-no-pie"])
    world = lab.world()
    copy = next(
        s for s in world.closure(get(world, "app", "1"), "bin/app").root.corpus.symbols if s.name == "table"
    )
    assert copy.defined and copy.size == 16  # a copy relocation: the executable holds the data
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert after.stdout.strip() == "3"  # ld.so copied 8 bytes only
    assert [(r.kind, r.symbol, r.library) for r in p.reasons] == [("data-shrunk", "table", "libfoo.so.1")]
    assert "holds 16 bytes" in (p.reasons[0].detail or "") and "defines 8" in (p.reasons[0].detail or "")


def test_replacement_needs_missing_library(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR)
    extra = lab.lib("extra", "1", "int extra(void) { return 0; }\n", soname="libextra.so.1")
    v2 = lab.lib(
        "foo",
        "2",
        "int extra(void);\nint foo(void) { return 1 + extra(); }\nint bar(void) { return 2; }\n",
        libs=[extra],
    )
    lab.exe(CLIENT, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert "libextra.so.1: cannot open shared object file" in after.stderr
    assert ("dependency-unmet", "libextra.so.1") in [(r.kind, r.library) for r in p.reasons]


def test_replacement_needs_version_closure_lacks(lab: Lab) -> None:
    dep1 = lab.lib(
        "dep",
        "1",
        "int dep_old(void) { return 1; }\n",
        soname="libdep.so.1",
        script="DEP_1 { global: dep_old; local: *; };\n",
    )
    dep2 = lab.lib(
        "dep",
        "2",
        "int dep_old(void) { return 1; }\nint dep_new(void) { return 0; }\n",
        soname="libdep.so.1",
        script="DEP_1 { global: dep_old; local: *; };\nDEP_2 { global: dep_new; } DEP_1;\n",
    )
    v1 = lab.lib(
        "foo",
        "1",
        "int dep_old(void);\nint foo(void) { return dep_old(); }\nint bar(void) { return 2; }\n",
        libs=[dep1],
    )
    v2 = lab.lib(
        "foo",
        "2",
        "int dep_new(void);\nint foo(void) { return 1 + dep_new(); }\nint bar(void) { return 2; }\n",
        libs=[dep2],
    )
    lab.exe(CLIENT, libs=[v1], flags=[f"-Wl,-rpath-link,{dep1.parent}"])
    p, after = check(lab, "foo", "1", "2", [v1.parent, dep1.parent], [v2.parent, dep1.parent])
    assert "version `DEP_2' not found" in after.stderr
    assert [(r.kind, r.symbol, r.version, r.library) for r in p.reasons] == [
        ("dependency-version", "dep_new", "DEP_2", "libdep.so.1")
    ]


def test_weak_symbol_may_go(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR + "int opt(void) { return 100; }\n")
    v2 = lab.lib("foo", "2", FOO_BAR)
    client = """
    #include <stdio.h>
    int foo(void); int bar(void);
    extern int opt(void) __attribute__((weak));
    int main(void) { printf("%d\\n", foo() + bar() + (opt ? opt() : 0)); return 0; }
    """
    lab.exe(client, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert after.stdout.strip() == "3" and p.reasons == ()


@pytest.mark.parametrize("found", [True, False], ids=["impl-found", "impl-hidden"])
def test_symbol_moved_to_sub_library(lab: Lab, found: bool) -> None:
    v1 = lab.lib("foo", "1", FOO_BAR)
    impl = lab.lib(
        "foo",
        "2",
        "int foo(void) { return 1; }\n",
        soname="libfoo_impl.so.1",
        subdir="lib" if found else "lib/private",
    )
    # a facade: libfoo keeps bar and links libfoo_impl, which now holds foo
    v2 = lab.lib("foo", "2", "int bar(void) { return 2; }\n", libs=["-Wl,--no-as-needed", impl])
    lab.exe(CLIENT, libs=[v1])
    p, after = check(lab, "foo", "1", "2", [v1.parent], [v2.parent])
    assert after.ok is found
    if not found:
        got = {(r.kind, r.symbol, r.library) for r in p.reasons}
        assert ("dependency-unmet", None, "libfoo_impl.so.1") in got
        assert ("symbol-moved", "foo", "libfoo_impl.so.1") in got


def test_spack_fixture_matches_truth() -> None:
    errors: list = []
    artifacts = load_root(FIXTURES / "spack-1.0" / "opt", errors) + load_root(
        FIXTURES / "spack-0.23" / "opt", errors
    )
    assert not errors
    world = World(artifacts)
    truth = json.loads((FIXTURES / "truth.json").read_text())
    # ground truth: LD_PRELOAD runs (a real substitution); prefix "tree:relpath" -> zlib prefix -> works
    real: dict[tuple[str, str], bool] = {}
    for row in truth["results"]:
        if row["method"] == "LD_PRELOAD" and row["kind"] in ("pigz", "pngfix"):
            real[(row["prefix"], row["zlib"])] = row["works"]

    def label(a) -> str:  # type: ignore[no-untyped-def]
        tree = "spack-1.0" if "spack-1.0" in str(a.root) else "spack-0.23"
        return f"{tree}:{a.root.relative_to(FIXTURES / tree / 'opt')}"

    predictor = LoaderPredictor()
    compared = 0
    for s in enumerate_splices(world, dependencies=["zlib"]):
        if s.file not in ("bin/pigz", "bin/pngfix"):
            continue
        key = (label(s.binary), label(s.replacement))
        p = predictor.predict(s, world)
        assert p.verdict == (Verdict.WORKS if real[key] else Verdict.BREAKS), (key, p)
        if s.file == "bin/pngfix" and s.replacement.version == "1.2.8":
            assert [(r.kind, r.symbol, r.version, r.library, r.detail) for r in p.reasons] == [
                (
                    "missing-version",
                    "inflateValidate",
                    "ZLIB_1.2.9",
                    "libz.so.1",
                    "required by lib/libpng16.so.16",
                )
            ]
        compared += 1
    pigz = sum(1 for a in artifacts if a.name == "pigz")
    zlibs = sum(1 for a in artifacts if a.name == "zlib")
    assert compared == pigz * (zlibs - 1) + 4 * (zlibs - 1)


def test_spack_fixture_with_system_glibc() -> None:
    """With the host's glibc (bookworm, as the fixture's chroot) as the system, closures are complete."""

    errors: list = []
    artifacts = load_root(FIXTURES / "spack-1.0" / "opt", errors)
    world = World([*artifacts, system_artifact()], default_dirs=[SYSTEM_DIR])
    png = next(a for a in artifacts if a.name == "libpng" and a.build_id.startswith("kyp7"))
    closure = world.closure(png, "bin/pngfix")
    assert closure.problems() == ()
    assert [o.role for o in closure.objects] == [
        "pngfix",
        "libpng16.so.16",
        "libz.so.1",
        "libc.so.6",
        "libm.so.6",
        "ld-linux-x86-64.so.2",
    ]
    z128 = next(a for a in artifacts if a.name == "zlib" and a.version == "1.2.8")
    p = LoaderPredictor().predict(Splice(png, "bin/pngfix", "zlib", closure.objects[2].artifact, z128), world)
    assert p.verdict == Verdict.BREAKS and kinds(p) == {"missing-version"}


def test_incremental_path_equals_full_reload() -> None:
    """On every splice of both fixture trees (with the host's glibc), the incremental check finds the
    same problems as loading the spliced closure from scratch."""

    errors: list = []
    artifacts = load_root(FIXTURES / "spack-1.0" / "opt", errors) + load_root(
        FIXTURES / "spack-0.23" / "opt", errors
    )
    world = World([*artifacts, system_artifact()], default_dirs=[SYSTEM_DIR])
    splices = list(enumerate_splices(world))
    assert len(splices) == 242
    fast = 0
    for s in splices:
        a = world.splice(s.binary, s.file, s.dependency, s.replacement)
        b = world.splice_slow(s.binary, s.file, s.dependency, s.replacement)
        assert [p.key for p in a.new] == [p.key for p in b.new], s.key
        assert [f.path for f in a.files] == [f.path for f in b.files], s.key
        fast += a.fast
    assert fast == len(splices)  # every fixture splice keeps the closure's shape
