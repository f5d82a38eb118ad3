"""Predictions for Debian library families between releases, in the two modes ``validate`` performs.

For every splice :func:`splicelab.sources.families.family_splices` enumerates (the family's program of
release X, the family's library packages of release Y, mode B or C), the registered predictors are asked
in a world laid out like the system the splice really runs on, one world per program release X and mode:

- **mode C** — X's own packages (loader, glibc, every library); searched: X's ``usr/lib/x86_64-linux-gnu``
  and ``usr/lib``;
- **mode B** — every release's packages; searched: the newest release's directories, then every older
  release's multiarch directory, newest first (``validate``'s fallback directories).

Package names change between releases (``libcurl4`` → ``libcurl4t64``, ``libpng16-16`` →
``libpng16-16t64``) and sonames too (``libxml2.so.2`` → ``libxml2.so.16``): the splices are therefore
not matched by package name. Each release's family packages are merged into one *family artifact*
(named :func:`family_name`) whose files are listed under their :func:`staged` path (``lib/…``, the same
files through the root's ``lib`` → ``usr/lib`` link): a directory of their own, as ``validate``'s stage
directory is. X's staged directory is searched first; a splice swaps it for Y's, so every library of
the family is replaced at once, a soname Y lacks is gone (as ``validate`` hides it), and no release's
family is ever found in the system's or the fallback directories. The unspliced closure is thus the
program with its own release's family, which works: every problem of a splice is the splice's.

Each result carries the outcome record's fields (program, program_release, library, library_release,
mode, binary, dependency, original, replacement), so :func:`splicelab.evaluate.evaluate` matches it to
the outcome of the same splice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from splicelab import predict as registry
from splicelab.artifact import Artifact
from splicelab.parallel import Executor
from splicelab.predict.base import Splice
from splicelab.predict.engine import Group, Record, SpliceKey, WorldOptions, predict_groups
from splicelab.sources.debian import DebianSet, release_key
from splicelab.sources.families import MODES, FamilySplice, family_libraries, family_splices, pick_library


def family_name(source: str) -> str:
    """The package name every release's family artifact of ``source`` carries inside a world."""
    return f"{source}-family"


def staged(rel: str) -> str:
    """``usr/lib/…`` as ``lib/…``: the same file (a release root's ``lib`` is a symlink to ``usr/lib``)
    in a directory that a world tells apart from the release's own library directory."""
    return rel[len("usr/") :] if rel.startswith("usr/lib/") else rel


def family_artifact(source: str, libraries: Sequence[Artifact]) -> Artifact:
    """One release's library packages of a family as one artifact: same root, files and aliases merged,
    each file under its :func:`staged` path (the world's stand-in for validate's stage directory)."""
    first = libraries[0]
    files = {}
    aliases: dict[str, str] = {}
    for a in libraries:
        files.update({staged(rel): c for rel, c in a.files.items()})
        aliases.update({staged(k): staged(v) for k, v in (a.metadata.get("aliases") or {}).items()})
    return Artifact(
        name=family_name(source),
        version=first.version,
        build_id=first.build_id,
        root=first.root,
        source=first.source,
        platform=first.platform,
        release=first.release,
        files=files,
        metadata={"aliases": aliases, "packages": [a.id for a in libraries], "family": source},
    )


@dataclass(frozen=True, slots=True)
class FamilyPrediction:
    """A family splice and what each predictor said; ``record`` names the real packages."""

    splice: FamilySplice
    record: Record

    def to_dict(self) -> dict[str, Any]:
        """The ``predictions.json`` entry, with the outcome record's fields (docs/formats.md)."""
        return {**self.splice.record, **self.record.to_dict()}


@dataclass
class FamilyPlan:
    """The worlds (groups) to predict in and, in the order of their keys, each family splice with its
    real packages and its position in :func:`~splicelab.sources.families.family_splices`' order."""

    groups: list[Group]
    splices: list[tuple[int, FamilySplice, Splice]]
    errors: list[str]


@dataclass
class _World:
    artifacts: list[Artifact]
    options: WorldOptions
    keys: list[SpliceKey]
    splices: list[tuple[int, FamilySplice, Splice]]


def _backdrop(a: Artifact) -> Artifact:
    """``a`` with its shared libraries only (no programs, no plugins without a soname): what a world
    needs of a package that is not spliced, and a fraction of what indexing every symbol would cost."""
    libs = {rel: c for rel, c in a.files.items() if c.elf_type == "ET_DYN" and c.soname}
    return a if len(libs) == len(a.files) else replace(a, files=libs)


def _world(program: Artifact, system: Sequence[Artifact], dset: DebianSet, releases: Sequence[str]) -> _World:
    """The world of ``program`` on a system: the program's release's family (its staged directory)
    searched first, then ``releases[0]``'s library directories, then the other releases' multiarch
    directories (whose family files are staged away, as validate hides them)."""
    first = dset.releases[releases[0]]
    libdir = first.library_dirs()[0]
    dirs = [str(program.root / staged(libdir))]
    dirs += [str(first.root / d) for d in first.library_dirs()]
    dirs += [str(dset.releases[r].root / dset.releases[r].library_dirs()[0]) for r in releases[1:]]
    options = WorldOptions(default_dirs=tuple(dirs), path_map=(("/", str(first.root)),))
    return _World([program, *system], options, [], [])


def plan(dset: DebianSet, modes: Sequence[str] = MODES, sources: Sequence[str] | None = None) -> FamilyPlan:
    """Worlds and splice keys for every family splice of ``dset`` (see the module docstring)."""
    releases = sorted(dset.releases, key=release_key)
    newest = releases[-1] if releases else ""
    out = FamilyPlan([], [], [])
    index = 0
    for source in sources or sorted(dset.families):
        libs = {r: family_libraries(dset, source, r) for r in releases}
        members = {a.id for per in libs.values() for a in per}
        families = {r: family_artifact(source, per) for r, per in libs.items() if per}
        backdrop = [_backdrop(a) for a in dset.artifacts if a.id not in members]
        worlds: dict[tuple[str, str], _World] = {}
        for s in family_splices(dset, modes, [source]):
            index += 1
            x, y = s.record["program_release"], s.record["library_release"]
            if s.path not in s.program.files:
                out.errors.append(
                    f"{source}: {x}: program {s.path!r} is not an ELF file of package {s.program.id}: "
                    f"its mode {s.mode} splice with {y}'s libraries is not predicted"
                )
                continue
            if (s.mode, x) not in worlds:  # mode B: the newest release, then the older ones, newest first
                shown = [x] if s.mode == "C" else [newest, *reversed(releases[:-1])]
                system = [a for a in backdrop if a.release in shown and a.id != s.program.id]
                worlds[(s.mode, x)] = _world(s.program, [*system, *families.values()], dset, shown)
            w = worlds[(s.mode, x)]
            position = {id(a): i for i, a in enumerate(w.artifacts)}
            w.keys.append(
                (
                    position[id(s.program)],
                    s.path,
                    family_name(source),
                    position[id(families[x])],
                    position[id(families[y])],
                )
            )
            needed = set(s.program.files[s.path].needed)
            system_libs = libs[x if s.mode == "C" else newest] or libs[x]
            real = Splice(
                binary=s.program,
                file=s.path,
                dependency=source,
                original=pick_library(system_libs, needed)[0],
                replacement=pick_library(list(s.libraries), needed)[0],
            )
            w.splices.append((index, s, real))
        for w in worlds.values():
            out.groups.append(Group(tuple(w.artifacts), w.options, tuple(w.keys)))
            out.splices += w.splices
    return out


def predict_families(
    dset: DebianSet,
    predictors: Sequence[str] = registry.DEFAULT,
    *,
    modes: Sequence[str] = MODES,
    sources: Sequence[str] | None = None,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    errors: list[str] | None = None,
) -> list[FamilyPrediction]:
    """Every family splice of ``dset`` predicted by ``predictors`` (through ``executor``), in the order of
    :func:`~splicelab.sources.families.family_splices`. Splices that cannot be predicted are described
    in ``errors``."""
    p = plan(dset, modes, sources)
    if errors is not None:
        errors += p.errors
    records = predict_groups(p.groups, predictors, executor=executor, progress=progress, total=total)
    done = [
        (index, FamilyPrediction(s, Record(real, r.predictions)))
        for (index, s, real), r in zip(p.splices, records, strict=True)
    ]
    return [fp for _, fp in sorted(done, key=lambda t: t[0])]
