"""Link closures (splicelab.link) on real builds, each checked against the real ``ld.so``."""

from __future__ import annotations

import shutil
import types
from pathlib import Path

import pytest

from _linklab import SYSTEM_DIR, Lab, artifact, get, run, system_artifact
from conftest import Compiler
from splicelab.link import RTLD_SYMBOLS, World
from splicelab.splices import enumerate_splices

PRINT_A = '#include <stdio.h>\nvoid who(void) { puts("A"); }\n'
PRINT_B = '#include <stdio.h>\nvoid who(void) { puts("B"); }\n'
CALL_WHO = "void who(void);\nint main(void) { who(); return 0; }\n"


@pytest.fixture
def lab(cc: Compiler) -> Lab:
    return Lab(cc)


def loaded_from(world: World, name: str) -> str | None:
    c = world.closure(get(world, "app", "1"), "bin/app")
    obj = c.find(name)
    return None if obj is None or obj.artifact is None else f"{obj.artifact.name}-{obj.artifact.version}"


@pytest.mark.parametrize("tags", ["rpath", "runpath"])
def test_rpath_before_ld_library_path_runpath_after(lab: Lab, tags: str) -> None:
    a = lab.lib("a", "1", PRINT_A)
    b = lab.lib("b", "1", PRINT_B)
    dtags = "--disable-new-dtags" if tags == "rpath" else "--enable-new-dtags"
    app = lab.exe(CALL_WHO, libs=[a], flags=[f"-Wl,{dtags},-rpath,{a.parent}"])
    real = run(app, [b.parent])
    world = lab.world(ld_library_path=[b.parent])
    expected = "a-1" if tags == "rpath" else "b-1"
    assert loaded_from(world, "libfoo.so.1") == expected
    assert real.stdout.strip() == expected[0].upper()
    root = world.closure(get(world, "app", "1"), "bin/app").root.corpus
    assert bool(root.rpath) == (tags == "rpath") and bool(root.runpath) == (tags == "runpath")


@pytest.mark.parametrize("tags", ["rpath", "runpath"])
def test_rpath_inherited_runpath_not(lab: Lab, tags: str) -> None:
    """libfoo (no search path of its own) needs libbar, which only the executable's path names."""
    bar = lab.lib("bar", "1", "int bar(void) { return 0; }\n", soname="libbar.so.1")
    foo = lab.lib("foo", "1", "int bar(void);\nint foo(void) { return bar(); }\n", libs=[bar])
    dtags = "--disable-new-dtags" if tags == "rpath" else "--enable-new-dtags"
    app = lab.exe(
        "int foo(void);\nint main(void) { return foo(); }\n",
        libs=[foo],
        flags=[f"-Wl,{dtags},-rpath,{foo.parent}:{bar.parent}", f"-Wl,-rpath-link,{bar.parent}"],
    )
    real = run(app)
    world = lab.world()
    c = world.closure(get(world, "app", "1"), "bin/app")
    found = c.find("libbar.so.1") is not None
    assert found is real.ok is (tags == "rpath")
    if not found:
        assert [(m.name, c.objects[m.needed_by].role) for m in c.missing] == [("libbar.so.1", "libfoo.so.1")]
        assert "libbar.so.1: cannot open shared object file" in real.stderr


def test_origin_and_moved_tree(lab: Lab, tmp_path: Path) -> None:
    foo = lab.lib("app", "1", PRINT_A)  # the library inside the app's own prefix
    app = lab.exe(CALL_WHO, libs=[foo], flags=["-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib"])
    moved = tmp_path / "elsewhere" / "app-1"
    shutil.copytree(app.parent.parent, moved, symlinks=True)
    for root in (app.parent.parent, moved):
        world = World([artifact(root, "app", "1"), system_artifact()], default_dirs=[SYSTEM_DIR])
        c = world.closure(get(world, "app", "1"), "bin/app")
        assert c.find("libfoo.so.1").path == str(root / "lib/libfoo.so.1")  # type: ignore[union-attr]
        assert c.problems() == ()
        assert run(root / "bin/app").stdout.strip() == "A"


def test_recorded_root_maps_never_the_host(lab: Lab) -> None:
    """A binary whose RPATH names the root it was built in (not where it lies): found through the map,
    and without the map not found at all, though the host's libc is right there."""
    foo = lab.lib("foo", "1", PRINT_A)
    recorded = "/opt/splicelab-test-recorded/foo-1"
    app = lab.exe(CALL_WHO, libs=[foo], flags=[f"-Wl,--disable-new-dtags,-rpath,{recorded}/lib"])
    assert run(app).rc != 0  # the real loader finds nothing there either
    arts = lab.artifacts()
    bare = World(arts, default_dirs=[SYSTEM_DIR])  # the host's libc is not an artifact here
    c = bare.closure(get(bare, "app", "1"), "bin/app")
    assert {m.name for m in c.missing} == {"libfoo.so.1", "libc.so.6"}
    mapped = World(arts, default_dirs=[SYSTEM_DIR], path_map={recorded: foo.parent.parent})
    assert loaded_from(mapped, "libfoo.so.1") == "foo-1"
    get(mapped, "foo", "1").recorded_root = recorded
    by_artifact = World(arts)
    assert loaded_from(by_artifact, "libfoo.so.1") == "foo-1"


def test_loader_symbols_without_and_with_ld_so(lab: Lab) -> None:
    tls = lab.lib("foo", "1", "__thread int counter;\nint foo(void) { return ++counter; }\n")
    lab.exe("int foo(void);\nint main(void) { return foo() - 1; }\n", libs=[tls])
    for system in (False, True):
        world = lab.world(ld_library_path=[tls.parent], system=system)
        c = world.closure(get(world, "app", "1"), "bin/app")
        lib = c.position("libfoo.so.1")
        tga = [b for b in c.bind() if b.requester == lib and b.name == "__tls_get_addr"]
        if not tga:
            pytest.skip("this compiler did not use the general-dynamic TLS model")
        provider = c.objects[tga[0].provider]  # type: ignore[index]
        assert provider.role == "ld-linux-x86-64.so.2"
        assert (provider.artifact is None) is (not system)  # the built-in stand-in, or the real ld.so
        assert "__tls_get_addr" in RTLD_SYMBOLS
        if system:
            assert c.problems() == ()
            assert run(lab.root / "app-1/bin/app", [tls.parent]).ok


OLD_NEW = """
int other(void) { return 9; }
int foo_old(void) { return 1; }
int foo_new(void) { return 2; }
__asm__(".symver foo_old,foo@VER_1");
__asm__(".symver foo_new,foo@@VER_2");
"""


@pytest.mark.parametrize(
    ("script", "code", "expected"),
    [
        # VER_1 is the oldest node (index 2): an unversioned import takes it, hidden or not
        ("VER_1 { global: other; foo; local: *; };\nVER_2 { global: foo; } VER_1;\n", OLD_NEW, "VER_1"),
        # VER_1 is not the oldest: the hidden one is skipped, the default (@@) one taken
        (
            "VER_0 { global: other; local: *; };\nVER_1 { global: foo; } VER_0;\n"
            "VER_2 { global: foo; } VER_1;\n",
            OLD_NEW,
            "VER_2",
        ),
        # only a hidden one that is not the oldest: nothing to bind to
        (
            "VER_0 { global: other; local: *; };\nVER_1 { global: foo; } VER_0;\n",
            "int other(void) { return 9; }\nint foo_old(void) { return 1; }\n"
            '__asm__(".symver foo_old,foo@VER_1");\n',
            None,
        ),
    ],
    ids=["oldest", "default", "hidden-only"],
)
def test_unversioned_import_binding(lab: Lab, script: str, code: str, expected: str | None) -> None:
    plain = lab.lib("foo", "0", "int foo(void) { return 0; }\n")
    versioned = lab.lib("foo", "1", code, script=script)
    lab.exe(
        '#include <stdio.h>\nint foo(void);\nint main(void) { printf("%d\\n", foo()); return 0; }\n',
        libs=[plain],
    )
    real = run(lab.root / "app-1/bin/app", [versioned.parent])
    world = lab.world(ld_library_path=[versioned.parent])
    c = world.closure(get(world, "app", "1"), "bin/app")
    (b,) = [b for b in c.bind() if b.requester == 0 and b.name == "foo"]
    assert b.version is None
    if expected is None:
        assert b.provider is None and not real.ok and "undefined symbol: foo" in real.stderr
        assert [(p.kind, p.symbol) for p in c.problems()] == [("missing-symbol", "foo")]
    else:
        sym = world.index(c.objects[b.provider].corpus).lookup("foo", None)  # type: ignore[index]
        assert sym is not None and sym.version == expected
        assert real.stdout.strip() == {"VER_1": "1", "VER_2": "2"}[expected]


def test_closure_order_and_bad_input(lab: Lab) -> None:
    """Breadth-first: the executable, its NEEDED in order, then theirs; a file not in the world is a
    KeyError naming it."""
    baz = lab.lib("baz", "1", "int baz(void) { return 0; }\n", soname="libbaz.so.1")
    bar = lab.lib(
        "bar", "1", "int baz(void);\nint bar(void) { return baz(); }\n", soname="libbar.so.1", libs=[baz]
    )
    foo = lab.lib("foo", "1", "int foo(void) { return 0; }\n")
    lab.exe(
        "int foo(void); int bar(void);\nint main(void) { return foo() + bar(); }\n",
        libs=[foo, bar],
        flags=[f"-Wl,-rpath-link,{baz.parent}"],
    )
    world = lab.world(ld_library_path=[foo.parent, bar.parent, baz.parent])
    app = get(world, "app", "1")
    c = world.closure(app, "bin/app")
    roles = [o.role for o in c.objects]
    assert roles[:4] == ["app", "libfoo.so.1", "libbar.so.1", "libc.so.6"]
    assert roles.index("libbaz.so.1") > 3 and c.find("libbaz.so.1").loader == 2  # type: ignore[union-attr]
    assert c.problems() == () and run(lab.root / "app-1/bin/app", [foo.parent, bar.parent, baz.parent]).ok
    assert world.closure(app, "bin/app") is c  # cached
    with pytest.raises(KeyError, match="bin/nope"):
        world.closure(app, "bin/nope")
    stranger = types.SimpleNamespace(**{k: getattr(app, k) for k in ("id", "files")})
    with pytest.raises(KeyError, match="not part of this world"):
        world.file(stranger, "bin/app")  # type: ignore[arg-type]


def test_enumerate_splices(lab: Lab) -> None:
    v1 = lab.lib("foo", "1", "int foo(void) { return 0; }\n")
    lab.lib("foo", "2", "int foo(void) { return 0; }\n")
    lab.lib("foo", "3", "int foo(void) { return 0; }\n")
    lab.lib("bar", "1", "int bar(void) { return 0; }\n", soname="libbar.so.1")  # never loaded
    lab.lib("bar", "2", "int bar(void) { return 0; }\n", soname="libbar.so.1")
    lab.exe("int foo(void);\nint main(void) { return foo(); }\n", libs=[v1])
    world = lab.world(ld_library_path=[v1.parent])
    gen = enumerate_splices(world)
    assert iter(gen) is gen  # a generator: it streams
    splices = list(gen)
    keys = [(s.binary.name, s.file, s.dependency, s.original.version, s.replacement.version) for s in splices]
    # the libraries' own closures load glibc only, of which there is one build: no splice
    assert keys == [("app", "bin/app", "foo", "1", "2"), ("app", "bin/app", "foo", "1", "3")]
    assert keys == [
        (s.binary.name, s.file, s.dependency, s.original.version, s.replacement.version)
        for s in enumerate_splices(world)
    ]
    assert list(enumerate_splices(world, dependencies=["bar"])) == []
