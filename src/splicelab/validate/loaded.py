"""Which file the loader really loaded for each library, read from the run itself.

With ``LD_DEBUG=libs,files`` and ``LD_DEBUG_OUTPUT=FILE`` the dynamic loader writes its search and
mapping steps to ``FILE.<pid>`` (one file per process), never to the program's own output:

    find library=libz.so.1 [0]; searching
      trying file=/.splice/libz.so.1
    file=libz.so.1 [0];  generating link map
    file=/.splice/libz.so.1 [0];  generating link map        (a preloaded object: a path)

So one run both performs the splice and records what it loaded, as ``ld.so --list`` would report it:
the name each object was searched by → the file that was mapped (``"not found"`` when the search
failed) and preloaded objects by their file name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

DEBUG = "libs,files"
NOT_FOUND = "not found"

_FIND = re.compile(r"^\s*\d+:\s+find library=(.+?) \[\d+\]; searching$")
_TRY = re.compile(r"^\s*\d+:\s+trying file=(.+)$")
_MAP = re.compile(r"^\s*\d+:\s+file=(.+?) \[\d+\];  generating link map$")


def environment(output: str) -> dict[str, str]:
    """The variables that make the loader record into ``output``.<pid> (a path the program sees)."""
    return {"LD_DEBUG": DEBUG, "LD_DEBUG_OUTPUT": output}


def parse(lines: Iterable[str], program: str) -> dict[str, str]:
    """Name → loaded file from one process's debug output; ``program`` (its own path) is left out."""
    loaded: dict[str, str] = {}
    tried: dict[str, str | None] = {}  # searched name → the last file tried for it
    searching: str | None = None
    for line in lines:
        if m := _TRY.match(line):
            if searching is not None:
                tried[searching] = m.group(1)
        elif m := _FIND.match(line):
            searching = m.group(1)
            tried.setdefault(searching, None)
        elif m := _MAP.match(line):
            searching = None
            name = m.group(1)
            if "/" in name:
                if name != program:
                    loaded.setdefault(os.path.basename(name), name)
            elif tried.get(name):
                loaded.setdefault(name, tried.pop(name) or "")
    for name in tried:
        loaded.setdefault(name, NOT_FOUND)
    return loaded


def read(directory: Path, program: str) -> dict[str, str]:
    """Every debug file of a run in ``directory``, merged (the first process to map a name wins)."""
    loaded: dict[str, str] = {}
    for path in sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime_ns):
        with open(path, errors="replace") as f:
            for name, file in parse(f, program).items():
                loaded.setdefault(name, file)
    return loaded
