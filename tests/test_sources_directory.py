"""Artifact directories (splicelab.toml / splicelab.json), folders of them, and artifacts JSON files."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Compiler
from splicelab.sources import SourceError, load_artifacts, write_artifacts_json


def _build(gcc: Compiler, where: Path, meta_name: str, meta: str) -> Path:
    where.mkdir(parents=True)
    lib = gcc.shared("libbar.so.2.0.1", "int bar(void) { return 2; }", soname="libbar.so.2")
    (where / "lib").mkdir()
    (where / "lib" / "libbar.so.2.0.1").write_bytes(lib.read_bytes())
    (where / "lib" / "libbar.so.2").symlink_to("libbar.so.2.0.1")
    exe = gcc.executable("tool", "int bar(void); int main(void) { return bar() - 2; }", libs=[lib])
    (where / "bin").mkdir()
    (where / "bin" / "tool").write_bytes(exe.read_bytes())
    (where / "doc.txt").write_text("hello\n")
    (where / meta_name).write_text(meta)
    return where


TOML = """
name = "bar"
version = "2.0.1"
compiler = "gcc@12.2.0"
platform = "linux-x86_64"
release = "bookworm"
recorded_root = "/usr"
dependencies = ["glibc@2.36", { name = "zlib", version = "1.3.1", build_id = "zz", types = ["link", "run"] }]

[metadata]
origin = "test"
"""


def test_toml_directory(tmp_path: Path, gcc: Compiler) -> None:
    d = _build(gcc, tmp_path / "bar-build", "splicelab.toml", TOML)
    errors: list[SourceError] = []
    (art,) = load_artifacts([d], errors)
    assert errors == []
    assert (art.name, art.version, art.build_id, art.source) == ("bar", "2.0.1", "bar-build", "directory")
    assert (art.compiler, art.platform, art.release, art.recorded_root) == (
        "gcc@12.2.0",
        "linux-x86_64",
        "bookworm",
        "/usr",
    )
    assert sorted(art.files) == ["bin/tool", "lib/libbar.so.2.0.1"]
    assert art.files["bin/tool"].is_executable and art.files["lib/libbar.so.2.0.1"].soname == "libbar.so.2"
    assert art.metadata == {"origin": "test", "aliases": {"lib/libbar.so.2": "lib/libbar.so.2.0.1"}}
    assert [(x.name, x.version, x.build_id, x.types) for x in art.dependencies] == [
        ("glibc", "2.36", None, ("link",)),
        ("zlib", "1.3.1", "zz", ("link", "run")),
    ]


def test_json_directory_and_folder_of_directories(tmp_path: Path, gcc: Compiler) -> None:
    meta = {"name": "bar", "version": "2.1", "build_id": "b21", "dependencies": []}
    _build(gcc, tmp_path / "all" / "one", "splicelab.json", json.dumps(meta))
    _build(gcc, tmp_path / "all" / "nested" / "two", "splicelab.toml", 'name = "bar"\nversion = "2.2"\n')
    errors: list[SourceError] = []
    arts = load_artifacts([tmp_path / "all"], errors)
    assert errors == []
    assert [(a.version, a.build_id) for a in arts] == [("2.2", "two"), ("2.1", "b21")]


def test_bad_metadata_names_file_and_field_and_others_still_load(tmp_path: Path, gcc: Compiler) -> None:
    good = _build(gcc, tmp_path / "all" / "good", "splicelab.toml", 'name = "bar"\nversion = "1"\n')
    noname = tmp_path / "all" / "noname"
    noname.mkdir()
    (noname / "splicelab.toml").write_text('version = "1"\n')
    broken = tmp_path / "all" / "broken"
    broken.mkdir()
    (broken / "splicelab.toml").write_text("name = \n")
    baddeps = tmp_path / "all" / "baddeps"
    baddeps.mkdir()
    (baddeps / "splicelab.json").write_text(
        json.dumps({"name": "x", "version": "1", "dependencies": [{"v": 1}]})
    )
    errors: list[SourceError] = []
    arts = load_artifacts([tmp_path / "all", tmp_path / "missing"], errors)
    assert [a.root for a in arts] == [good]
    messages = sorted(str(e) for e in errors)
    assert any(m.startswith(str(noname / "splicelab.toml")) and "missing field 'name'" in m for m in messages)
    assert any(m.startswith(str(broken / "splicelab.toml")) and "invalid TOML" in m for m in messages)
    assert any(m.startswith(str(baddeps / "splicelab.json")) and "dependencies[0]" in m for m in messages)
    assert any(m.startswith(str(tmp_path / "missing")) and "no such file" in m for m in messages)
    assert len(messages) == 4


def test_artifacts_json_round_trip(tmp_path: Path, gcc: Compiler) -> None:
    d = _build(gcc, tmp_path / "bar-build", "splicelab.toml", TOML)
    (art,) = load_artifacts([d])
    out = tmp_path / "artifacts.json"
    write_artifacts_json([art], out)
    errors: list[SourceError] = []
    (again,) = load_artifacts([out], errors)
    assert errors == []
    assert again.to_dict() == art.to_dict()
    # a damaged entry is reported by index; the file still yields the good one
    doc = json.loads(out.read_text())
    doc["artifacts"].append({"name": "x"})
    out.write_text(json.dumps(doc))
    arts = load_artifacts([out], errors)
    assert [a.id for a in arts] == [art.id]
    assert len(errors) == 1 and "artifacts[1]" in str(errors[0]) and "'version'" in str(errors[0])


def test_plain_folder_without_anything_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    errors: list[SourceError] = []
    assert load_artifacts([tmp_path / "empty"], errors) == []
    assert len(errors) == 1 and "not a Spack install tree" in str(errors[0])
