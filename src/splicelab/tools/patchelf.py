"""Adapter for patchelf: rewrite a copy's RPATH and NEEDED entries (what Spack's rewiring does)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class PatchelfError(RuntimeError):
    """patchelf is missing or failed; the message names the file."""


def available() -> str | None:
    """None when patchelf can be run, else why not."""
    return None if shutil.which("patchelf") else "patchelf not found (apt-get install patchelf)"


def _run(args: Sequence[str]) -> str:
    exe = shutil.which("patchelf")
    if exe is None:
        raise PatchelfError("patchelf not found (apt-get install patchelf)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PatchelfError(f"patchelf {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def print_rpath(path: Path) -> list[str]:
    """The file's DT_RPATH or DT_RUNPATH entries."""
    return [p for p in _run(["--print-rpath", str(path)]).strip().split(":") if p]


def print_needed(path: Path) -> list[str]:
    return [n for n in _run(["--print-needed", str(path)]).split() if n]


def rewire(
    path: Path,
    rpath: Sequence[str] | None = None,
    replace_needed: Mapping[str, str] | None = None,
    force_rpath: bool = True,
) -> None:
    """Rewrite ``path`` in place: new RPATH (as DT_RPATH with ``force_rpath``) and NEEDED renames."""
    args: list[str] = []
    if rpath is not None:
        if force_rpath:
            args.append("--force-rpath")
        args += ["--set-rpath", ":".join(rpath)]
    for old, new in (replace_needed or {}).items():
        args += ["--replace-needed", old, new]
    if args:
        _run([*args, str(path)])
