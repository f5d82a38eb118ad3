"""Splices of Spack artifacts (or any artifacts whose binaries carry DT_RPATH), on this machine's runtime.

Spack binaries name their dependencies' prefixes in DT_RPATH, which the loader searches before
``--library-path``; a moved install tree's RPATHs name the root it was built in. So:

- the sandbox maps every install tree back onto the root its RPATHs name (``recorded_root``), read-only:
  the binaries find exactly what they were linked against, and a missing RPATH directory stays missing
  instead of falling through to the host's libraries;
- ``preload``: the replacement's libraries are preloaded (their sonames satisfy the NEEDED entries);
- ``rewire``: copies of the program and of its own package's libraries get their RPATH entries for the
  original dependency replaced by the stage directory (patchelf ``--force-rpath --set-rpath``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.validate.runner import STAGE, Job, System, host_system
from splicelab.validate.sandbox import Bind


def tree_binds(artifacts: Iterable[Artifact]) -> list[Bind]:
    """One read-only bind per install tree: where its prefixes lie now → where they were installed."""
    trees: dict[str, Path] = {}
    for a in artifacts:
        if not a.recorded_root or not os.path.isabs(a.recorded_root):
            continue
        now = Path(a.root).resolve().parts
        then = Path(a.recorded_root).parts
        n = 0  # common trailing components (the prefix's own path inside the tree)
        while n < min(len(now), len(then)) - 1 and now[-1 - n] == then[-1 - n]:
            n += 1
        host = Path(*now[: len(now) - n])
        recorded = str(Path(*then[: len(then) - n]))
        trees.setdefault(recorded, host)
    binds = [Bind(host, recorded) for recorded, host in sorted(trees.items())]
    if trees:
        binds += _stub_binds(artifacts)
    return binds


def _stub_binds(artifacts: Iterable[Artifact]) -> list[Bind]:
    """A tree copied without symlinks keeps each link as a tiny file naming its target; the loader cannot
    follow those, so each such stub gets the real file bound over it."""
    out = []
    for a in artifacts:
        if not a.recorded_root:
            continue
        for alias, real in dict(a.metadata.get("aliases", {})).items():
            path = Path(a.root) / alias
            if path.is_symlink() or not path.is_file():
                continue
            out.append(Bind(Path(a.root) / real, f"{a.recorded_root.rstrip('/')}/{alias}"))
    return out


def _where(a: Artifact) -> str:
    return (a.recorded_root or str(a.root)).rstrip("/")


def _library_files(a: Artifact) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for rel, c in a.libraries():
        out[c.soname or os.path.basename(rel)] = Path(a.root) / rel
    return out


def _describe(a: Artifact, file: str | None = None) -> dict[str, Any]:
    d = a.describe()
    if file is not None:
        d["file"] = file
    return d


def spack_jobs(
    artifacts: Sequence[Artifact],
    dependency: str,
    *,
    method: str = "preload",
    binaries: Sequence[str] | None = None,
    replacements: Sequence[str] | None = None,
) -> Iterator[tuple[Job, Job]]:
    """Every executable of every artifact that links ``dependency``, with every build of ``dependency``.

    ``binaries`` / ``replacements`` restrict by artifact name (or id prefix). Yields ``(job, baseline)``;
    the baseline runs the program as installed.
    """
    by_build = {a.build_id: a for a in artifacts}
    deps = [a for a in artifacts if a.name == dependency and _library_files(a)]
    if replacements:
        deps = [a for a in deps if any(a.name == r or a.id.startswith(r) for r in replacements)]
    family_sonames = frozenset(s for a in deps for s in _library_files(a))
    system: System = host_system(tree_binds(artifacts))
    for a in artifacts:
        if a.name == dependency or (
            binaries and not any(a.name == b or a.id.startswith(b) for b in binaries)
        ):
            continue
        edge = next((d for d in a.dependencies if d.name == dependency), None)
        original = by_build.get(edge.build_id or "") if edge else None
        if original is None:
            continue
        orig_dirs = {f"{_where(original)}/{os.path.dirname(rel)}" for rel, _ in original.libraries()}
        exes = [(rel, c) for rel, c in a.executables() if rel.startswith("bin/")]
        own_libs = {
            c.soname or os.path.basename(rel): Path(a.root) / rel for rel, c in a.libraries() if c.rpath
        }
        for rel, corpus in exes:
            program = f"{_where(a)}/{rel}"
            baseline = Job(
                program, system, {}, family_sonames, "hermetic", record={"baseline_key": f"{a.id}:{rel}"}
            )
            rpath = [STAGE, *(e for e in corpus.rpath if e not in orig_dirs)]
            for r in deps:
                record = {
                    "program": a.name,
                    "program_release": None,
                    "library": r.name,
                    "library_release": None,
                    "mode": "spack",
                    "binary": _describe(a, rel),
                    "dependency": dependency,
                    "original": _describe(original),
                    "replacement": _describe(r),
                    "baseline_key": f"{a.id}:{rel}",
                }
                job = Job(program, system, _library_files(r), family_sonames, method, record=record,
                          program_host=Path(a.root) / rel)  # fmt: skip
                if method == "rewire":
                    job.rewire_rpath = rpath
                    job.rewire_libs = own_libs
                yield job, baseline
