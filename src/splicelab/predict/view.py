"""What the predictors other than ``loader`` need to know about a splice, taken from the link closure.

- :func:`loaded_objects`: the files the binary loads before the splice (the binary first), each with
  the artifact it belongs to, from ``World.closure`` (splicelab.link does the ld.so emulation).
- :func:`library_pairs`: for each library of the replaced dependency that the closure loads, the
  replacement's library that takes its place (same soname, else the same name up to the first dot) and
  the closure's objects that link it directly (NEEDED): the consumers a type-level tool must check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from splicelab.artifact import Artifact
from splicelab.corpus import Corpus
from splicelab.predict.base import Splice

if TYPE_CHECKING:
    from splicelab.link import World


@dataclass(frozen=True, slots=True)
class Loaded:
    """One object of a closure: its corpus, the artifact holding it (None when outside every artifact,
    e.g. a default directory) and where the file lies now."""

    corpus: Corpus
    artifact: Artifact | None
    path: Path

    @property
    def label(self) -> str:
        return f"{self.artifact.short_id}:{self.corpus.path}" if self.artifact else str(self.path)


def loaded_objects(splice: Splice, world: World) -> list[Loaded]:
    """The unspliced closure of ``splice.binary``/``splice.file``, the binary first, in load order."""
    closure = world.closure(splice.binary, splice.file)
    return [Loaded(obj.corpus, obj.artifact, Path(obj.path)) for obj in closure.objects]


def _same(a: Artifact | None, b: Artifact) -> bool:
    return a is not None and (a is b or (a.id == b.id and a.source == b.source))


def _stem(name: str) -> str:
    return os.path.basename(name).split(".")[0]


@dataclass(frozen=True, slots=True)
class LibraryPair:
    """``old`` (loaded from the original dependency) replaced by ``new`` (None: no counterpart), and the
    closure's objects that list ``old``'s soname in their NEEDED entries."""

    old: Loaded
    new_path: Path | None
    new_corpus: Corpus | None
    consumers: tuple[Loaded, ...]

    @property
    def soname(self) -> str:
        return self.old.corpus.soname or self.old.corpus.name


def library_pairs(splice: Splice, world: World) -> list[LibraryPair]:
    objects = loaded_objects(splice, world)
    replacement_libs = splice.replacement.libraries()
    pairs = []
    for old in objects:
        if not _same(old.artifact, splice.original) or old.corpus.elf_type != "ET_DYN":
            continue
        soname = old.corpus.soname or old.corpus.name
        match = next(((p, c) for p, c in replacement_libs if c.soname == soname), None)
        if match is None:
            match = next(((p, c) for p, c in replacement_libs if _stem(p) == _stem(old.corpus.path)), None)
        consumers = tuple(
            o for o in objects if soname in o.corpus.needed and not _same(o.artifact, splice.original)
        )
        new_path = splice.replacement.root / match[0] if match else None
        pairs.append(LibraryPair(old, new_path, match[1] if match else None, consumers))
    return pairs
