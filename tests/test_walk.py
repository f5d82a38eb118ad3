"""splicelab.walk and splicelab.analyze on a real tree: symlinks, loops, hard links, non-ELF files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _elf_build import LIB_C, LIB_MAP
from conftest import Compiler
from splicelab.analyze import AnalyzeOptions, analyze_files, analyze_partition
from splicelab.elf import read_corpus
from splicelab.walk import WalkStats, walk


@pytest.fixture
def tree(gcc: Compiler, tmp_path: Path) -> Path:
    """root/
    lib/libfeat.so.1.0        real library
    lib/libfeat.so.1 -> libfeat.so.1.0
    lib/hard.so               hard link to libfeat.so.1.0
    lib/README                text
    lib/empty                 zero bytes
    lib/dangling -> nowhere
    bin/main                  executable
    bin/up -> ..              a loop
    alias -> lib              a second route to lib/
    """
    root = tmp_path / "root"
    lib = gcc.shared("root/lib/libfeat.so.1.0", LIB_C, soname="libfeat.so.1", version_script=LIB_MAP)
    (root / "lib" / "libfeat.so.1").symlink_to("libfeat.so.1.0")
    os.link(lib, root / "lib" / "hard.so")
    (root / "lib" / "README").write_text("not an ELF file\n")
    (root / "lib" / "empty").write_bytes(b"")
    (root / "lib" / "dangling").symlink_to("nowhere")
    gcc.executable("root/bin/main", "int main(void) { return 0; }")
    (root / "bin" / "up").symlink_to("..")
    (root / "alias").symlink_to("lib")
    return root


def test_each_file_once_real_name_first(tree: Path) -> None:
    stats = WalkStats()
    entries = list(walk([tree], stats))
    # hard.so and libfeat.so.1.0 are one inode: the first real name in sorted order wins
    assert [e.relpath for e in entries] == ["bin/main", "lib/hard.so"]
    assert all(e.error is None for e in entries)
    assert all(e.path == str(tree / e.relpath) for e in entries)
    assert stats.not_elf == 2  # README and the empty file
    assert stats.duplicates >= 1  # libfeat.so.1.0 / the libfeat.so.1 link


def test_symlink_wins_only_without_the_real_file(tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "links"
    other.mkdir()
    (other / "libz.so").symlink_to(tree / "lib" / "libfeat.so.1.0")
    (other / "zz").symlink_to(tree / "lib")
    entries = list(walk([other]))
    assert [e.relpath for e in entries] == ["libz.so"]  # zz/ leads to the same inodes again


def test_deterministic(tree: Path) -> None:
    assert list(walk([tree])) == list(walk([tree]))


def test_loops_terminate_and_directory_twice(tree: Path) -> None:
    entries = list(walk([tree, tree / "lib", tree / "alias"]))
    assert len(entries) == 2


def test_explicit_files(tree: Path, tmp_path: Path) -> None:
    readme = tree / "lib" / "README"
    missing = tmp_path / "missing.so"
    entries = list(walk([readme, missing, tree / "lib" / "libfeat.so.1", tree / "lib" / "hard.so"]))
    assert [(e.relpath, e.error is None) for e in entries] == [
        ("README", True),  # named explicitly: yielded, the reader reports it
        ("missing.so", False),
        ("libfeat.so.1", True),  # hard.so is the same file: once
    ]
    assert "No such file or directory" in (entries[1].error or "")
    results = list(analyze_files(entries))
    assert [r.ok for r in results] == [False, False, True]
    assert results[0].error == f"{readme}: not an ELF file (magic b'not ')"


def test_unlistable_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        if not os.access(locked, os.R_OK):
            entries = list(walk([tmp_path]))
            assert len(entries) == 1 and "cannot list directory" in (entries[0].error or "")
            return
        # root lists anything: walk in a real process that runs without root's capabilities
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is not installed")
        code = (
            "import sys\nfrom splicelab.walk import walk\nfor e in walk(sys.argv[1:]):\n    print(e.error)\n"
        )
        argv = [setpriv, "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-c", code, str(tmp_path)]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if "setpriv:" in proc.stderr:
            pytest.skip(f"cannot drop capabilities here: {proc.stderr.strip()}")
        assert proc.stdout.strip() == f"{locked}: cannot list directory: Permission denied", proc.stderr
    finally:
        locked.chmod(0o755)


def test_analyze_order_labels_and_partitions(tree: Path) -> None:
    entries = list(walk([tree]))
    results = list(analyze_files(entries))
    assert [r.path for r in results] == [e.path for e in entries]
    assert [r.corpus.path for r in results if r.corpus] == [e.path for e in entries]
    relative = list(analyze_files(entries, AnalyzeOptions(relative=True)))
    assert [r.corpus.path for r in relative if r.corpus] == [e.relpath for e in entries]
    assert analyze_partition(entries, AnalyzeOptions(relative=True)) == relative
    assert relative[1].corpus == read_corpus(tree / "lib" / "hard.so", "lib/hard.so")
    # a plain string works as an entry too
    assert next(analyze_files([str(tree / "bin" / "main")])).corpus == results[0].corpus
