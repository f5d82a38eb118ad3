"""``splicelab analyze`` run as a real process on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _elf_build import Built, build_features
from conftest import FIXTURES, Compiler
from splicelab.corpus import Corpus, read_symbolator
from splicelab.elf import read_corpus


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "splicelab", "analyze", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    b = build_features(Compiler("gcc-12", tmp_path_factory.mktemp("cli")))
    (b.lib.parent / "notes.txt").write_text("not ELF")
    return b


def test_jsonl_to_stdout(built: Built) -> None:
    proc = run(built.lib.parent)
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    corpora = [Corpus.from_dict(d) for d in docs]
    assert {c.path for c in corpora} == {str(built.lib), str(built.exe)}
    for c in corpora:
        assert c == read_corpus(c.path)
    assert "2 ELF, 0 errors" in proc.stderr
    others = [p for p in built.lib.parent.iterdir() if p not in (built.lib, built.exe)]  # sources, notes
    assert f"{len(others)} files that are not ELF skipped" in proc.stderr
    assert "error:" not in proc.stderr


def test_failures_reported_and_exit_code(built: Built, tmp_path: Path) -> None:
    broken = tmp_path / "broken.so"
    broken.write_bytes(built.lib.read_bytes()[:100])
    proc = run(built.lib, broken, built.lib.parent / "notes.txt", tmp_path / "missing")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3
    assert errors[0].startswith(f"error: {broken}: ")
    assert errors[1] == f"error: {built.lib.parent / 'notes.txt'}: not an ELF file (magic b'not ')"
    assert errors[2].startswith(f"error: {tmp_path / 'missing'}: ")
    assert "4 files, 1 ELF, 3 errors" in proc.stderr
    # the good file is still written
    assert [json.loads(line)["path"] for line in proc.stdout.splitlines()] == [str(built.lib)]


def test_symbolator_format_to_file_relative(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "corpora.json"
    proc = run(built.lib.parent, "--format", "symbolator", "--out", out, "--relative")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    data = json.loads(out.read_text())
    assert isinstance(data, list) and len(data) == 2
    corpora = {c.path: c for c in read_symbolator(data)}
    assert set(corpora) == {"libfeat.so.1", "main"}
    lib = corpora["libfeat.so.1"]
    real = read_corpus(built.lib, "libfeat.so.1")
    assert (lib.soname, lib.needed, lib.rpath, lib.flags, lib.flags_1) == (
        real.soname,
        real.needed,
        real.rpath,
        real.flags,
        real.flags_1,
    )
    assert {s.name for s in lib.symbols} == {s.name for s in real.symbols}


def test_empty_input(tmp_path: Path) -> None:
    proc = run(tmp_path, "--format", "symbolator")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []
    assert "0 files, 0 ELF, 0 errors" in proc.stderr


def test_unwritable_out(built: Built, tmp_path: Path) -> None:
    proc = run(built.lib, "--out", tmp_path / "no" / "such" / "dir.jsonl")
    assert proc.returncode == 2
    assert "--out" in proc.stderr


def test_dask_workers_same_output(built: Built, tmp_path: Path) -> None:
    local = run(built.lib.parent, "--relative")
    dask = run(built.lib.parent, "--relative", "--workers", "2")
    assert dask.returncode == 0, dask.stderr
    assert dask.stdout == local.stdout


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not here")
def test_round_trips_on_the_fixture_tree(tmp_path: Path) -> None:
    """Every ELF file of the Spack fixture: ours and symbolator's JSON read back to the same corpus."""
    ours, theirs = tmp_path / "o.jsonl", tmp_path / "s.json"
    assert run(FIXTURES, "--out", ours, "--relative").returncode == 0
    assert run(FIXTURES, "--out", theirs, "--relative", "--format", "symbolator").returncode == 0
    corpora = [Corpus.from_dict(json.loads(line)) for line in ours.read_text().splitlines()]
    assert len(corpora) > 20
    for c in corpora:
        assert c == read_corpus(FIXTURES / c.path, c.path)
    back = read_symbolator(json.loads(theirs.read_text()))
    assert [b.path for b in back] == [c.path for c in corpora]
    for b, c in zip(back, corpora, strict=True):
        assert (b.soname, b.needed, b.rpath, b.runpath, b.machine, b.elf_type) == (
            c.soname,
            c.needed,
            c.rpath,
            c.runpath,
            c.machine,
            c.elf_type,
        )
        last = {s.name: s for s in c.symbols}
        assert {s.name: (s.version_info, s.defined, s.binding) for s in b.symbols} == {
            n: (s.version_info, s.defined, s.binding) for n, s in last.items()
        }
