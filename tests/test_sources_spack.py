"""Spack install trees: spec.json formats v1-v5, the database index, moved trees, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, Compiler
from splicelab.sources import SourceError, load_artifacts
from splicelab.sources.spack import parse_spec

ARCH = {"platform": "linux", "platform_os": "debian12", "target": "x86_64_v3"}


def _node(name: str, version: str, h: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "arch": ARCH, "namespace": "builtin", "hash": h, **extra}


def _dep(name: str, h: str, types: list[str], virtuals: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "hash": h, "parameters": {"deptypes": types, "virtuals": virtuals or []}}


def v5_doc(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"_meta": {"version": 5}, "nodes": nodes}}


# --- the formats ------------------------------------------------------------------------------------


def test_v1_list_of_named_nodes() -> None:
    doc = {
        "spec": [
            {
                "hdf5": {
                    "version": "1.10.5",
                    "arch": {
                        "platform": "linux",
                        "platform_os": "ubuntu20.04",
                        "target": {"name": "skylake"},
                    },
                    "compiler": {"name": "gcc", "version": "9.4.0"},
                    "dependencies": {"zlib": {"hash": "zzzz", "type": ["build", "link"]}},
                    "hash": "hhhh",
                    "build_hash": "bbbb",
                }
            },
            {"zlib": {"version": "1.2.11", "compiler": {"name": "gcc", "version": "9.4.0"}, "hash": "zzzz"}},
        ]
    }
    hdf5, zlib = parse_spec(doc, "spec.json")
    assert (hdf5.name, hdf5.version, hdf5.hash, hdf5.format) == ("hdf5", "1.10.5", "hhhh", 1)
    assert hdf5.aliases == ("bbbb",)
    assert hdf5.arch == "linux-ubuntu20.04-skylake"
    assert hdf5.compiler == "gcc@9.4.0"
    assert [(d.name, d.ref, d.types) for d in hdf5.dependencies] == [("zlib", "zzzz", ("build", "link"))]
    assert zlib.arch is None and zlib.dependencies == ()


def test_v2_dependencies_by_build_hash_resolve_to_dag_hash(tmp_path: Path, gcc: Compiler) -> None:
    # v2 (Spack 0.17) references dependencies by build_hash; the artifact names the DAG hash.
    doc = {
        "spec": {
            "_meta": {"version": 2},
            "nodes": [
                {
                    **_node("app", "1.0", "appdag", compiler={"name": "gcc", "version": "11.2.0"}),
                    "dependencies": [{"name": "zlib", "build_hash": "zlibbuild", "type": ["build", "link"]}],
                    "full_hash": "appfull",
                    "build_hash": "appbuild",
                },
                {**_node("zlib", "1.2.11", "zlibdag"), "build_hash": "zlibbuild", "full_hash": "zlibfull"},
            ],
        }
    }
    prefix = tmp_path / "opt" / "app-1.0-appdag"
    (prefix / ".spack").mkdir(parents=True)
    (prefix / ".spack" / "spec.json").write_text(json.dumps(doc))
    errors: list[SourceError] = []
    (art,) = load_artifacts([prefix], errors)
    assert errors == []
    assert (art.name, art.version, art.build_id, art.compiler) == ("app", "1.0", "appdag", "gcc@11.2.0")
    (dep,) = art.dependencies
    assert (dep.name, dep.build_id, dep.version, dep.types) == (
        "zlib",
        "zlibdag",
        "1.2.11",
        ("build", "link"),
    )
    assert art.metadata["spec_format"] == 2


def test_v4_compiler_key_and_dependency_parameters() -> None:
    doc = {
        "spec": {
            "_meta": {"version": 4},
            "nodes": [
                {
                    **_node("pigz", "2.8", "p" * 32, compiler={"name": "gcc", "version": "12.2.0"}),
                    "dependencies": [
                        _dep("glibc", "g" * 32, ["link"], ["libc"]),
                        _dep("zlib", "z" * 32, ["build", "link"], ["zlib-api"]),
                    ],
                }
            ],
        }
    }
    (pigz,) = parse_spec(doc, "spec.json")
    assert pigz.compiler == "gcc@12.2.0" and pigz.format == 4
    assert [(d.name, d.types, d.virtuals) for d in pigz.dependencies] == [
        ("glibc", ("link",), ("libc",)),
        ("zlib", ("build", "link"), ("zlib-api",)),
    ]


def _write_prefix(root: Path, rel: str, nodes: list[dict[str, Any]]) -> Path:
    prefix = root / rel
    (prefix / ".spack").mkdir(parents=True)
    (prefix / ".spack" / "spec.json").write_text(json.dumps(v5_doc(nodes)))
    return prefix


def test_v5_compiler_is_a_build_dependency_and_a_splice_inherits_its_build_spec(tmp_path: Path) -> None:
    gcc = _node("gcc", "12.2.0", "c" * 32, external={"path": "/usr", "module": None})
    llvm = _node("llvm", "15.0.6", "l" * 32, external={"path": "/usr", "module": None})
    built = _node(
        "pigz",
        "2.8",
        "b" * 32,
        dependencies=[_dep("gcc", "c" * 32, ["build"], ["c"]), _dep("zlib", "1" * 32, ["build", "link"])],
    )
    spliced = _node(
        "pigz",
        "2.8",
        "s" * 32,
        dependencies=[_dep("zlib", "2" * 32, ["link"], ["zlib-api"])],
        build_spec={"name": "pigz", "hash": "b" * 32},
    )
    clang_built = _node(
        "pigz", "2.6", "k" * 32, dependencies=[_dep("llvm", "l" * 32, ["build"], ["c", "cxx"])]
    )
    zlib1, zlib2 = _node("zlib", "1.2.13", "1" * 32), _node("zlib", "1.3.1", "2" * 32)
    root = tmp_path / "opt"
    _write_prefix(root, f"linux-x86_64_v3/pigz-2.8-{'s' * 32}", [spliced, built, gcc, zlib1, zlib2])
    _write_prefix(root, f"linux-x86_64_v3/pigz-2.6-{'k' * 32}", [clang_built, llvm])
    errors: list[SourceError] = []
    arts = {a.build_id: a for a in load_artifacts([root], errors)}
    assert errors == []
    assert set(arts) == {"s" * 32, "k" * 32}
    s = arts["s" * 32]
    assert s.build_spec == "b" * 32 and s.spliced
    assert s.compiler == "gcc@12.2.0"  # from the build spec's node: the spliced node has no build deps
    assert [(d.name, d.version, d.build_id) for d in s.dependencies] == [("zlib", "1.3.1", "2" * 32)]
    k = arts["k" * 32]
    assert k.compiler == "clang@15.0.6"
    assert k.metadata["compilers"] == {"c": "llvm@15.0.6", "cxx": "llvm@15.0.6"}
    assert k.platform == "linux-debian12-x86_64_v3"


# --- a whole tree with a database, moved after the install -------------------------------------------


def _make_tree(tmp_path: Path, gcc: Compiler, recorded: str) -> Path:
    """A small real install tree: libfoo (a real shared library) and app (a real executable using it)."""
    root = tmp_path / "tree" / "opt"
    foo_h, app_h, glibc_h = "f" * 32, "a" * 32, "g" * 32
    foo_rel, app_rel = f"linux-x86_64_v3/foo-1.0-{foo_h}", f"linux-x86_64_v3/app-2.0-{app_h}"
    glibc = _node("glibc", "2.36", glibc_h, external={"path": "/usr", "module": None})
    foo = _node("foo", "1.0", foo_h, dependencies=[_dep("glibc", glibc_h, ["link"], ["libc"])])
    app = _node(
        "app",
        "2.0",
        app_h,
        dependencies=[_dep("foo", foo_h, ["build", "link"]), _dep("glibc", glibc_h, ["link"])],
    )
    foo_prefix = _write_prefix(root, foo_rel, [foo, glibc])
    app_prefix = _write_prefix(root, app_rel, [app, foo, glibc])
    lib = gcc.shared("libfoo.so.1.0", "int foo(void) { return 1; }", soname="libfoo.so.1")
    (foo_prefix / "lib").mkdir()
    (foo_prefix / "lib" / "libfoo.so.1.0").write_bytes(lib.read_bytes())
    (foo_prefix / "lib" / "libfoo.so.1").symlink_to("libfoo.so.1.0")
    (foo_prefix / "lib" / "libfoo.so").write_text("libfoo.so.1\n")  # a symlink flattened by a copy
    exe = gcc.executable("app", "int foo(void); int main(void) { return foo() - 1; }", libs=[lib])
    (app_prefix / "bin").mkdir()
    (app_prefix / "bin" / "app").write_bytes(exe.read_bytes())
    (app_prefix / "share").mkdir()
    (app_prefix / "share" / "README").write_text("not an ELF file\n")
    installs = {
        glibc_h: {"spec": glibc, "path": "/usr", "installed": True, "explicit": False},
        foo_h: {"spec": foo, "path": f"{recorded}/{foo_rel}", "installed": True, "explicit": False},
        app_h: {"spec": app, "path": f"{recorded}/{app_rel}", "installed": True, "explicit": True},
    }
    (root / ".spack-db").mkdir()
    (root / ".spack-db" / "index.json").write_text(
        json.dumps({"database": {"version": "8", "installs": installs}})
    )
    return root


def test_tree_with_database_maps_recorded_root_and_reads_elf_files(tmp_path: Path, gcc: Compiler) -> None:
    root = _make_tree(tmp_path, gcc, "/opt/built/here/opt")
    errors: list[SourceError] = []
    arts = {a.name: a for a in load_artifacts([root], errors)}
    assert errors == []
    assert set(arts) == {"foo", "app"}  # the external glibc has no prefix: a dependency only
    foo, app = arts["foo"], arts["app"]
    assert foo.root == root / "linux-x86_64_v3" / f"foo-1.0-{'f' * 32}"
    assert foo.recorded_root == f"/opt/built/here/opt/linux-x86_64_v3/foo-1.0-{'f' * 32}"
    assert sorted(foo.files) == ["lib/libfoo.so.1.0"]
    assert foo.files["lib/libfoo.so.1.0"].soname == "libfoo.so.1"
    assert foo.metadata["aliases"] == {
        "lib/libfoo.so": "lib/libfoo.so.1.0",
        "lib/libfoo.so.1": "lib/libfoo.so.1.0",
    }
    assert sorted(app.files) == ["bin/app"]
    assert "libfoo.so.1" in app.files["bin/app"].needed
    assert [(d.name, d.version, d.types) for d in app.dependencies] == [
        ("foo", "1.0", ("build", "link")),
        ("glibc", "2.36", ("link",)),
    ]
    assert app.metadata["explicit"] is True and foo.metadata["explicit"] is False


def test_one_bad_prefix_is_reported_and_the_others_load(tmp_path: Path, gcc: Compiler) -> None:
    root = _make_tree(tmp_path, gcc, "/x/opt")
    bad = _write_prefix(root, "linux-x86_64_v3/bad-1-" + "b" * 32, [])
    (bad / ".spack" / "spec.json").write_text("{ not json")
    nover = _write_prefix(root, "linux-x86_64_v3/nover-1-" + "n" * 32, [{"name": "nover", "hash": "n" * 32}])
    errors: list[SourceError] = []
    names = sorted(a.name for a in load_artifacts([root], errors))
    assert names == ["app", "foo"]
    messages = sorted(str(e) for e in errors)
    assert len(messages) == 2
    assert messages[0].startswith(str(bad / ".spack" / "spec.json")) and "invalid JSON" in messages[0]
    assert messages[1].startswith(str(nover / ".spack" / "spec.json")) and "'version'" in messages[1]


def test_database_record_without_prefix_and_bad_database(tmp_path: Path, gcc: Compiler) -> None:
    root = _make_tree(tmp_path, gcc, "/x/opt")
    index = root / ".spack-db" / "index.json"
    doc = json.loads(index.read_text())
    gone = _node("gone", "1", "d" * 32)
    doc["database"]["installs"]["d" * 32] = {
        "spec": gone,
        "path": "/x/opt/linux-x86_64_v3/gone-1",
        "installed": True,
    }
    index.write_text(json.dumps(doc))
    errors: list[SourceError] = []
    assert sorted(a.name for a in load_artifacts([root], errors)) == ["app", "foo"]
    assert len(errors) == 1 and "installs['" + "d" * 32 + "'].path" in str(errors[0])
    # A broken database still leaves the prefixes on disk readable.
    index.write_text("[]")
    errors = []
    assert sorted(a.name for a in load_artifacts([root], errors)) == ["app", "foo"]
    assert len(errors) == 1 and "database.installs" in str(errors[0]) and str(index) in str(errors[0])


# --- the real fixture trees -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_artifacts() -> dict[str, Any]:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    errors: list[SourceError] = []
    arts = load_artifacts([FIXTURES / "spack-1.0" / "opt", FIXTURES / "spack-0.23" / "opt"], errors)
    return {"artifacts": arts, "errors": errors}


def test_fixture_trees_load_completely(fixture_artifacts: dict[str, Any]) -> None:
    arts = fixture_artifacts["artifacts"]
    assert fixture_artifacts["errors"] == []
    assert len(arts) == 25 + 5
    by_id = {a.short_id: a for a in arts}
    assert len([a for a in arts if a.name == "pigz"]) == 10
    assert len([a for a in arts if a.name == "zlib"]) == 12
    assert len([a for a in arts if a.name == "libpng"]) == 4
    # compilers, Spack 1.0 (v5: from build dependencies) and 0.23 (v4: the compiler key)
    assert by_id["pigz@2.6/4dpyafh"].compiler == "clang@15.0.6"
    assert by_id["pigz@2.8/7tv6hpo"].compiler == "gcc@11.3.0"
    assert by_id["pigz@2.8/rfx64iu"].compiler == "gcc@12.2.0"
    assert by_id["pigz@2.8/rfx64iu"].metadata["spec_format"] == 4
    # spliced nodes: build_spec, and the compiler of what they were built as
    spliced = sorted(a.short_id for a in arts if a.spliced)
    expected = ["pigz@2.8/lkcj25t", "pigz@2.8/wo6nn2r", "pigz@2.6/5mv6qxf", "pigz@2.8/iktbszv"]
    assert spliced == sorted([*expected, "libpng@1.6.37/wwh2v25", "libpng@1.6.39/k325wv3"])
    wwh = by_id["libpng@1.6.37/wwh2v25"]
    assert wwh.build_spec and wwh.build_spec.startswith("kyp7fs5")
    assert wwh.compiler == "gcc@12.2.0"
    assert {d.name: d.version for d in wwh.dependencies}["zlib"] == "1.2.8"
    # moved trees: the recorded root is the build root, root is where the files are now
    pigz = by_id["pigz@2.8/hlqtbel"]
    assert pigz.recorded_root == "/opt/fixture/spack-1.0/opt/linux-x86_64_v3/" + pigz.root.name
    assert pigz.root.is_dir() and pigz.root.name == "pigz-2.8-hlqtbeloxdwquxhac5wrrtrflubiyudu"
    assert by_id["zlib@1.3.1/kufvn4v"].recorded_root.startswith("/opt/fixture/spack-0.23/opt/")
    # files: relative paths of every ELF file, nothing else
    assert sorted(pigz.files) == ["bin/pigz"]
    png = by_id["libpng@1.6.39/v5ibpqu"]
    assert sorted(png.files) == ["bin/png-fix-itxt", "bin/pngfix", "lib/libpng16.so.16.39.0"]
    assert png.metadata["aliases"]["lib/libpng16.so.16"] == "lib/libpng16.so.16.39.0"
    # externals are dependencies without artifacts
    assert "glibc" in {d.name for d in pigz.dependencies}
    assert not any(a.name == "glibc" for a in arts)
