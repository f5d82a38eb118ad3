"""Adapter for libabigail's ``abicompat`` (Debian package abigail-tools).

``abicompat APP OLD_LIB NEW_LIB`` answers whether APP, linked against OLD_LIB, still works with NEW_LIB.
It is always run here with ``--appd D --libd1 D --libd2 D`` pointing at an empty directory: left to
itself it looks for split debug info next to the files and aborts (exit 134) on files that carry a
``.gnu_debuglink`` whose target is absent. ``--weak-mode`` is never used: without debug info it answers
0 for every input.

The exit status is abidiff's bit field: 1 error, 2 usage error, 4 ABI change, 8 incompatible change.
The report lists removed symbols (``[D] name`` or ``[D] 'function int f(int)' {f}``) and changed ones
(``[C] 'function int use(S*)' ... has some ... changes:``); :func:`parse_report` extracts them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

PROGRAM = "abicompat"
INSTALL_HINT = "apt-get install abigail-tools"

ERROR = 1
USAGE = 2
CHANGE = 4
INCOMPATIBLE = 8

# "[D] bar", "[D] bar@@V2", "[D] 'function int bar(int)'    {bar}",
# "[C] 'function int use(S*)' at f.c:2:1 has ..."
_ENTRY = re.compile(r"^\s*\[(?P<tag>[ACD])\]\s+(?P<body>.+?)\s*$")
_BRACES = re.compile(r"\{(?P<sym>[^{}\s]+)\}")
_QUOTED = re.compile(r"'(?P<decl>[^']*)'")
_IDENT_BEFORE_PAREN = re.compile(r"(?P<name>[A-Za-z_][\w:~<>,]*)\s*\(")


@dataclass(frozen=True, slots=True)
class Entry:
    """One symbol the report names: ``change`` is "removed", "changed" or "added"."""

    change: str
    symbol: str
    version: str | None = None
    declaration: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error(self) -> bool:
        return self.returncode < 0 or self.returncode > 15 or bool(self.returncode & (ERROR | USAGE))

    @property
    def incompatible(self) -> bool:
        return not self.error and bool(self.returncode & INCOMPATIBLE)

    @property
    def changed(self) -> bool:
        return not self.error and bool(self.returncode & CHANGE)

    @property
    def entries(self) -> list[Entry]:
        return parse_report(self.stdout)


def unavailable() -> str | None:
    """None when abicompat can be run, else why not."""
    if shutil.which(PROGRAM) is None:
        return f"{PROGRAM} not found on PATH ({INSTALL_HINT})"
    return None


def version() -> str | None:
    try:
        proc = subprocess.run([PROGRAM, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip().rsplit(" ", 1)[-1] or None


def abicompat(
    app: str | os.PathLike[str],
    old_lib: str | os.PathLike[str],
    new_lib: str | os.PathLike[str],
    *,
    timeout: float = 300,
) -> Result:
    """Run abicompat on real files; a missing program or a timeout come back as an error result."""
    with tempfile.TemporaryDirectory(prefix="splicelab-abicompat-") as empty:
        cmd = [PROGRAM, "--appd", empty, "--libd1", empty, "--libd2", empty,
               os.fspath(app), os.fspath(old_lib), os.fspath(new_lib)]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        except FileNotFoundError:
            return Result(-1, "", f"{PROGRAM} not found ({INSTALL_HINT})")
        except subprocess.TimeoutExpired:
            return Result(-1, "", f"{PROGRAM} timed out after {timeout:g}s")
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _symbol(body: str) -> tuple[str, str | None, str | None]:
    """(symbol, version, declaration) of one report line's body."""
    declaration = None
    quoted = _QUOTED.search(body)
    if quoted:
        declaration = quoted.group("decl")
    braces = _BRACES.search(body)
    if braces:
        raw = braces.group("sym")
    elif quoted:
        ident = _IDENT_BEFORE_PAREN.search(declaration or "")
        raw = ident.group("name") if ident else (declaration or "").split()[-1].split("[")[0]
    else:
        raw = body.split()[0]
    name, sep, ver = raw.partition("@")
    return name, (ver.lstrip("@") or None) if sep else None, declaration


def parse_report(text: str) -> list[Entry]:
    """The symbols an abicompat (or abidiff) report lists as removed, changed or added."""
    kinds = {"D": "removed", "C": "changed", "A": "added"}
    out = []
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            name, ver, decl = _symbol(m.group("body"))
            out.append(Entry(kinds[m.group("tag")], name, ver, decl))
    return out
