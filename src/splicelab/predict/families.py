"""Predictions for Debian library families between releases, in the two modes ``validate`` performs.

For every splice :func:`splicelab.validate.debian.family_splices` enumerates (the family's program of
release X, the family's library packages of release Y, mode B or C), the registered predictors are asked
in a world laid out like the system the splice really runs on:

- **mode C** — one world per program release X: X's own packages (loader, glibc, every library), the
  default directories those of X's root (``usr/lib/x86_64-linux-gnu``, ``usr/lib``);
- **mode B** — one world for all programs: the newest release's packages first, then every older
  release's library directory (newest first) for the sonames the newest no longer ships, as
  ``validate``'s fallback directories.

Package names change between releases (``libcurl4`` → ``libcurl4t64``, ``libpng16-16`` →
``libpng16-16t64``) and sonames too (``libxml2.so.2`` → ``libxml2.so.16``): the splices are therefore
not matched by package name. Each release's family packages are merged into one *family artifact*
(named :func:`family_name`), which replaces them in every world; a splice swaps the system's family
artifact for release Y's, so every library of the family is replaced at once and a soname Y lacks is
gone (as ``validate`` hides it) instead of being found in the system.

Each result carries the outcome record's fields (program, program_release, library, library_release,
mode, binary, dependency, original, replacement), so :func:`splicelab.evaluate.evaluate` matches it to
the outcome of the same splice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from splicelab import predict as registry
from splicelab.artifact import Artifact
from splicelab.parallel import Executor
from splicelab.predict.base import Splice
from splicelab.predict.engine import Group, Record, SpliceKey, WorldOptions, predict_groups
from splicelab.sources.debian import DebianSet, release_key
from splicelab.validate.debian import MODES, FamilySplice, family_libraries, family_splices, pick_library


def family_name(source: str) -> str:
    """The package name every release's family artifact of ``source`` carries inside a world."""
    return f"{source}-family"


def family_artifact(source: str, libraries: Sequence[Artifact]) -> Artifact:
    """One release's library packages of a family as one artifact (same root, files and aliases merged)."""
    first = libraries[0]
    files = {}
    aliases: dict[str, str] = {}
    for a in libraries:
        files.update(a.files)
        aliases.update(a.metadata.get("aliases") or {})
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
    real packages and its position in :func:`~splicelab.validate.debian.family_splices`' order."""

    groups: list[Group]
    splices: list[tuple[int, FamilySplice, Splice]]
    errors: list[str]


@dataclass
class _World:
    artifacts: list[Artifact]
    options: WorldOptions
    keys: list[SpliceKey]
    splices: list[tuple[int, FamilySplice, Splice]]


def _world(
    dset: DebianSet, releases: Sequence[str], families: Sequence[Artifact], members: set[str]
) -> _World:
    """The world of a system: ``releases[0]``'s root, then the others' multiarch library directories."""
    arts = [a for a in dset.artifacts if a.release in releases and a.id not in members]
    arts += families
    first = dset.releases[releases[0]]
    dirs = [str(first.root / d) for d in first.library_dirs()]
    dirs += [str(dset.releases[r].root / dset.releases[r].library_dirs()[0]) for r in releases[1:]]
    return _World(arts, WorldOptions(default_dirs=tuple(dirs), path_map=(("/", str(first.root)),)), [], [])


def plan(dset: DebianSet, modes: Sequence[str] = MODES, sources: Sequence[str] | None = None) -> FamilyPlan:
    """Worlds and splice keys for every family splice of ``dset`` (see the module docstring)."""
    releases = sorted(dset.releases, key=release_key)
    out = FamilyPlan([], [], [])
    index = 0
    for source in sources or sorted(dset.families):
        libs = {r: family_libraries(dset, source, r) for r in releases}
        members = {a.id for per in libs.values() for a in per}
        families = {r: family_artifact(source, per) for r, per in libs.items() if per}
        worlds: dict[str, _World] = {}
        for s in family_splices(dset, modes, [source]):
            index += 1
            x, y = s.record["program_release"], s.record["library_release"]
            system = x if s.mode == "C" else releases[-1]
            if system not in families:
                out.errors.append(
                    f"{source}: {system} has no library package of the family: the mode {s.mode} splice "
                    f"of {s.program.id} with {y}'s libraries is not predicted"
                )
                continue
            key = x if s.mode == "C" else "B"
            if key not in worlds:  # mode B: the newest release first, then the older ones, newest first
                shown = [x] if s.mode == "C" else [releases[-1], *reversed(releases[:-1])]
                worlds[key] = _world(dset, shown, list(families.values()), members)
            w = worlds[key]
            position = {id(a): i for i, a in enumerate(w.artifacts)}
            w.keys.append(
                (
                    position[id(s.program)],
                    s.path,
                    family_name(source),
                    position[id(families[system])],
                    position[id(families[y])],
                )
            )
            needed = set(s.program.files[s.path].needed) if s.path in s.program.files else set()
            real = Splice(
                binary=s.program,
                file=s.path,
                dependency=source,
                original=pick_library(libs[system], needed)[0],
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
    :func:`~splicelab.validate.debian.family_splices`. Splices that cannot be predicted are described
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
