"""The machine's own system libraries as one artifact, for closures that need a C library.

Spack installs and plain directories usually leave glibc outside (an external): a closure of theirs then
has no ``libc.so.6``, and every C library import stays unresolved on both sides of a splice. Giving the
system directories (``/lib/x86_64-linux-gnu``) makes them one artifact named ``system`` whose files lie
where they are (root ``/``), searched last like ld.so's default directories. Use it only when the
machine's C library is the one the builds ran with (the same release).

Only the files directly in each directory are read (not its subdirectories).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from splicelab.artifact import Artifact
from splicelab.sources.errors import SourceError
from splicelab.sources.files import read_tree

NAME = "system"


def load_system(directories: Sequence[str | Path], errors: list[SourceError]) -> Artifact | None:
    """One artifact ``system`` holding the ELF files of ``directories``; None when there are none."""
    files = {}
    aliases = {}
    for d in directories:
        top = os.path.normpath(os.path.abspath(d))
        if not os.path.isdir(top):
            errors.append(SourceError(f"{d}: not a directory"))
            continue
        tree = read_tree(Path(top), skip_dirs=(), recursive=False)
        errors.extend(tree.errors)
        rel = top.lstrip("/")
        files.update({f"{rel}/{p}": c for p, c in tree.files.items()})
        aliases.update({f"{rel}/{a}": f"{rel}/{t}" for a, t in tree.aliases.items()})
    if not files:
        return None
    label = "+".join(os.path.normpath(str(d)).strip("/").replace("/", "-") for d in directories)
    return Artifact(
        name=NAME,
        version="host",
        build_id=label,
        root=Path("/"),
        source=NAME,
        files=files,
        metadata={"aliases": dict(sorted(aliases.items())), "directories": [str(d) for d in directories]},
    )
