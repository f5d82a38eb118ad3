"""splicelab.elf against pyelftools on every ELF file of real trees.

Every ELF file under /usr/lib/x86_64-linux-gnu, ../shared/fixtures and the cross compilers' sysroots
(ELF32, big-endian glibc builds) is read by both; every header field, dynamic tag, version definition
and requirement must agree, and so must every symbol of a file with up to ``LIMIT`` symbols. Of bigger
files (libLLVM, libicu ...) a spread of ``LIMIT`` symbols is compared (all of the first and last
quarter, the rest evenly), which keeps pyelftools' share of the time bounded. Set
SPLICELAB_ORACLE_FULL=1 to compare every symbol of every file (about 4x slower).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from _elf_oracle import compare
from conftest import FIXTURES
from splicelab.walk import walk

LIMIT = None if os.environ.get("SPLICELAB_ORACLE_FULL") else 400

TREES = {
    "system": Path("/usr/lib/x86_64-linux-gnu"),
    "fixtures": FIXTURES,
    "i686-sysroot": Path("/usr/i686-linux-gnu/lib"),
    "s390x-sysroot": Path("/usr/s390x-linux-gnu/lib"),
    "powerpc-sysroot": Path("/usr/powerpc-linux-gnu/lib"),
}


def _files(root: Path) -> list[str]:
    return [e.path for e in walk([root]) if e.error is None]


@pytest.mark.slow
@pytest.mark.parametrize("tree", list(TREES))
def test_every_file_agrees_with_pyelftools(tree: str) -> None:
    root = TREES[tree]
    if not root.is_dir():
        pytest.skip(f"{root} is not here")
    files = _files(root)
    assert files, f"no ELF file under {root}"
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(functools.partial(compare, limit=LIMIT), files, chunksize=4))
    mismatches = [r for r in results if r is not None]
    assert not mismatches, f"{len(mismatches)} of {len(files)} files differ:\n" + "\n".join(mismatches[:10])
