"""What a run loaded, read from the loader's debug output of that run, is what ``ld.so --list`` reports.

Real programs of this machine and gcc-built ones, through the real loader: the same file for every
library, ``not found`` for a library that is missing, preloaded objects by file name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Compiler
from splicelab.validate import loaded

LOADER = "/lib64/ld-linux-x86-64.so.2"
HOST_PROGRAMS = [
    p for p in ("/usr/bin/curl", "/usr/bin/git", "/usr/bin/ssh", "/usr/bin/openssl") if os.path.exists(p)
]


def listing(argv: list[str]) -> dict[str, str]:
    """``ld.so --list`` output as name -> file (this test's own reading of it)."""
    out = subprocess.run([LOADER, "--list", *argv], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if m := re.match(r"\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", line):
            found[m.group(1)] = m.group(2)
        elif m := re.match(r"\s*(/\S+) \(0x[0-9a-f]+\)$", line):
            found.setdefault(os.path.basename(m.group(1)), m.group(1))
    return found


def traced(argv: list[str], program: str, tmp: Path) -> dict[str, str]:
    trace = tmp / "trace"
    shutil.rmtree(trace, ignore_errors=True)
    trace.mkdir()
    env = {"PATH": "/usr/bin:/bin", "LD_BIND_NOW": "1", **loaded.environment(str(trace / "ld"))}
    subprocess.run([LOADER, *argv], env=env, capture_output=True, timeout=30)
    return loaded.read(trace, program)


@pytest.mark.parametrize("program", HOST_PROGRAMS)
def test_host_programs_load_what_ld_so_lists(program: str, tmp_path: Path) -> None:
    argv = ["--inhibit-cache", program, "--version"]
    want = listing(argv[:-1])
    want.pop(os.path.basename(LOADER), None)  # the loader itself is not searched for
    got = traced(argv, program, tmp_path)
    assert len(want) >= 3
    # Every library the listing names came from the same file; a real run may load more (plugins that
    # curl opens with dlopen, e.g. SASL mechanisms), which the listing cannot know about.
    assert {name: got.get(name) for name in want} == want


def test_search_path_preload_and_missing(gcc: Compiler, tmp_path: Path) -> None:
    lib = gcc.shared("v1/libfoo.so.1", "int foo(int x) { return x + 1; }\n", soname="libfoo.so.1")
    other = gcc.shared("v2/libbar.so.2", "int bar(int x) { return x + 2; }\n", soname="libbar.so.2")
    prog = gcc.executable(
        "bin/prog",
        "#include <stdio.h>\nint foo(int); int bar(int);\n"
        'int main(void) { printf("%d\\n", foo(1) + bar(1)); }\n',
        libs=[lib, other],
    )
    stage = tmp_path / "stage"
    stage.mkdir()
    os.link(lib, stage / "libfoo.so.1")
    path = f"{stage}:{other.parent}"
    for argv in (
        ["--inhibit-cache", "--library-path", path, str(prog)],  # both found by searching
        [
            "--inhibit-cache",
            "--library-path",
            str(other.parent),
            "--preload",
            f"{stage}/libfoo.so.1",
            str(prog),
        ],
    ):
        got = traced(argv, str(prog), tmp_path)
        assert got["libfoo.so.1"] == f"{stage}/libfoo.so.1"
        assert got["libbar.so.2"] == f"{other.parent}/libbar.so.2"
        assert got == {k: v for k, v in listing(argv).items() if k != os.path.basename(LOADER)}
    missing = traced(["--inhibit-cache", "--library-path", str(stage), str(prog)], str(prog), tmp_path)
    assert missing["libbar.so.2"] == loaded.NOT_FOUND
    assert missing["libfoo.so.1"] == f"{stage}/libfoo.so.1"
