"""Debian library families between releases: which splices exist.

A *family* is a source package's shared-library binary packages in each release (merged across renames:
libcurl4 → libcurl4t64, libxml2 → libxml2-16) and the program that links them. A family splice is the
program of release X with the family's packages of release Y, in mode B (pure interface: the newest
release's system) or C (release X's own system). :func:`family_splices` enumerates them once for both
``splicelab.validate`` (which performs them) and ``splicelab.predict.families`` (which predicts them), so
both sides describe every splice by the same record.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.sources.debian import MULTIARCH, DebianSet, release_key

LIBDIR = f"usr/lib/{MULTIARCH}"
MODES = ("B", "C")


def library_files(art: Artifact) -> dict[str, Path]:
    """soname (and real file name) → host file, for each shared library the artifact ships."""
    out: dict[str, Path] = {}
    for rel, corpus in art.files.items():
        if corpus.elf_type != "ET_DYN" or not corpus.soname:
            continue
        if not rel.startswith(("usr/lib/", "lib/")):
            continue
        if "/" in rel[len(LIBDIR) + 1 :] and rel.startswith(LIBDIR):  # plugins in subdirectories
            continue
        out[corpus.soname] = art.root / rel
        out[os.path.basename(rel)] = art.root / rel
    return out


def family_program(dset: DebianSet, source: str, release: str) -> tuple[Artifact, str] | None:
    """The family's program in ``release``: its package's artifact and the program's path."""
    fam = dset.families.get(source, {}).get(release)
    if fam is None or not fam.programs:
        return None
    pkg, path = fam.programs[0]
    art = dset.artifact(pkg, release)
    if art is None or not path:
        return None
    return art, path


def family_libraries(dset: DebianSet, source: str, release: str) -> list[Artifact]:
    """The family's library packages in ``release`` (every one is spliced in)."""
    fam = dset.families.get(source, {}).get(release)
    if fam is None:
        return []
    return [a for n in fam.libraries if (a := dset.artifact(n, release)) is not None]


def _describe(art: Artifact, file: str | None = None) -> dict[str, Any]:
    d = art.describe()
    if file is not None:
        d["file"] = file
    return d


def pick_library(libs: list[Artifact], needed: set[str]) -> list[Artifact]:
    """The libraries, the one providing a soname the program needs first."""
    return sorted(libs, key=lambda a: (not (set(library_files(a)) & needed), a.name))


@dataclass(frozen=True)
class FamilySplice:
    """One splice of a family: the program of release X with the library packages of release Y, in
    mode B or C. ``record`` holds the fields its outcome (and a prediction of it) carries: program,
    program_release, library, library_release, mode, binary, dependency, original, replacement."""

    source: str
    mode: str
    program: Artifact
    path: str
    libraries: tuple[Artifact, ...]  # release Y's family packages, all spliced in
    family_sonames: frozenset[str]  # every soname the family has in any release
    record: dict[str, Any]


def family_splices(
    dset: DebianSet, modes: Sequence[str] = MODES, sources: Sequence[str] | None = None
) -> Iterator[FamilySplice]:
    """Every (program release X, library release Y, mode) splice of each family, X, Y, mode in order."""
    releases = sorted(dset.releases, key=release_key)
    for source in sources or sorted(dset.families):
        family_libs = {r: family_libraries(dset, source, r) for r in releases}
        family_sonames = frozenset(s for libs in family_libs.values() for a in libs for s in library_files(a))
        for x in releases:
            prog = family_program(dset, source, x)
            if prog is None:
                continue
            p_art, p_path = prog
            needed = set(p_art.files[p_path].needed) if p_path in p_art.files else set()
            for y in releases:
                repl = family_libs[y]
                if not repl:
                    continue
                for mode in modes:
                    original = pick_library(family_libs[x if mode == "C" else releases[-1]], needed)
                    record: dict[str, Any] = {
                        "program": p_art.name,
                        "program_release": x,
                        "library": pick_library(repl, needed)[0].name,
                        "library_release": y,
                        "mode": mode,
                        "binary": _describe(p_art, p_path),
                        "dependency": source,
                        "original": _describe(original[0]) if original else None,
                        "replacement": _describe(pick_library(repl, needed)[0]),
                    }
                    yield FamilySplice(source, mode, p_art, p_path, tuple(repl), family_sonames, record)
