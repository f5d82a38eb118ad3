"""Recommendations for Debian library families: each release's build of a family is one version of one
package, whatever the family's packages are called in that release.

:mod:`splicelab.predict.families` predicts (and ``splicelab validate --debian`` performs) every splice
of a family's program of release X with the family's library packages of release Y, in mode C (X's own
system, only the family from Y) or mode B (the newest release's system, the program from X, the family
from Y). Its records name the real packages (``libcurl4`` of bookworm, ``libcurl4t64`` of trixie), so the
generic :func:`splicelab.recommend.recommend`, which pairs builds by package name, never pairs across a
rename. Here the records of one mode become checks whose original and replacement are *family builds*:

- package: the Debian source package (``curl``), the family merged across renames;
- version: the highest Debian version of the family's library packages named for that release
  (sid's libxml2 family: ``libxml2-16`` 2.15.4, beside ``libxml2`` 2.12.7+really2.9.14);
- hash: the release (``curl@7.88.1-10+deb12u15/bookworm``).

Outcomes are attached while the checks still name the real packages (validate's records match on them),
then the rules of :mod:`splicelab.recommend` apply unchanged: a pair (family of release X → family of
release Y) is recommended when every program seen loading X's build works with Y's in its place.

Mode C (the default) is the evidence for a splice of a real installation: the program of X on X's
system, so the pair (X → Y) has X's program as its dependent. In mode B the system is always the newest
release, so its pairs all start from the newest release's build and have every release's program as
dependents: evidence about the interface alone. A program whose closure does not load the family at all
(lz4 of bullseye has liblz4 built in) is not a dependent: its real runs say so (``linked`` false, the
corpus' ``NOLINK``), and, with the releases at hand, so does its closure (:func:`family_loads`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import TYPE_CHECKING, Any

from splicelab.recommend import (
    Build,
    OutcomeIndex,
    Recommendations,
    attach_outcomes,
    checks_from_predictions,
    recommend_checks,
)
from splicelab.sources.debian import compare_versions

if TYPE_CHECKING:
    from splicelab.sources.debian import DebianSet

MODES = ("B", "C")
FAMILY_FIELDS = ("program_release", "library_release", "mode", "dependency")
NAMING = (
    "Debian terms, not Spack specs: the package is the family's source package, each version the build "
    "of one release (the highest version of its library packages there; an epoch is dropped)"
)


def is_family_record(record: Any) -> bool:
    """A prediction (or outcome) of a family splice: it names program and library releases and a mode."""
    return isinstance(record, Mapping) and all(record.get(k) is not None for k in FAMILY_FIELDS)


def _release(record: Mapping[str, Any], side: str) -> str | None:
    """The release of the record's original or replacement build: its own ``release``, else what the
    splice implies (the replacement is release Y's; in mode C the original is the program's X's)."""
    ref = record.get(side)
    if isinstance(ref, Mapping) and ref.get("release"):
        return str(ref["release"])
    if side == "replacement":
        return str(record["library_release"])
    return str(record["program_release"]) if record.get("mode") == "C" else None


@dataclass(frozen=True, slots=True)
class FamilyBuilds:
    """Every family build named by a set of records, and the real packages behind each."""

    builds: dict[tuple[str, str], Build]  # (source, release) → family build
    packages: dict[tuple[str, str], list[str]]  # (source, release) → "libcurl4 7.74.0-1.3+deb11u13", …

    def of(self, source: str, release: str | None) -> Build | None:
        return self.builds.get((source, release)) if release else None


def family_builds(records: Iterable[Mapping[str, Any]]) -> FamilyBuilds:
    """The family build of each (source package, release) the family records name (see the module
    docstring for its package, version and hash)."""
    versions: dict[tuple[str, str], set[str]] = defaultdict(set)
    packages: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records:
        if not is_family_record(record):
            continue
        source = str(record["dependency"])
        for side in ("original", "replacement"):
            ref, release = record.get(side), _release(record, side)
            if not isinstance(ref, Mapping) or release is None or ref.get("version") is None:
                continue
            versions[(source, release)].add(str(ref["version"]))
            packages[(source, release)].add(f"{ref.get('package')} {ref['version']}")
    order = cmp_to_key(compare_versions)
    builds = {
        (source, release): Build(
            package=source, version=max(vs, key=order), hash=release, release=release, source="debian"
        )
        for (source, release), vs in versions.items()
    }
    return FamilyBuilds(builds, {k: sorted(v) for k, v in packages.items()})


def family_loads(
    dset: DebianSet, modes: Sequence[str] = MODES, sources: Sequence[str] | None = None
) -> dict[tuple[str, str, str], bool]:
    """(program id, program file, mode) → whether the program's unspliced closure, in the world its
    splices are predicted in (:func:`splicelab.predict.families.plan`), loads a file of the family."""
    from splicelab.predict.families import family_name, plan
    from splicelab.splices import loaded_dependencies

    p = plan(dset, modes, sources)
    splices = iter(p.splices)
    out: dict[tuple[str, str, str], bool] = {}
    for group in p.groups:
        world = group.options.build(group.artifacts)
        for b, file, *_ in group.keys:
            _, splice, _ = next(splices)
            program = group.artifacts[b]
            key = (program.id, file, splice.mode)
            if key not in out:
                out[key] = family_name(splice.source) in loaded_dependencies(world, program, file)
    return out


def annotate_loads(
    records: Iterable[Mapping[str, Any]], loads: Mapping[tuple[str, str, str], bool]
) -> list[dict[str, Any]]:
    """The records, each family record with ``loads`` (see :func:`family_loads`) where it is known."""
    out = []
    for record in records:
        r = dict(record)
        if is_family_record(r) and isinstance(r.get("binary"), Mapping):
            known = loads.get((str(r["binary"].get("id")), str(r["binary"].get("file")), str(r["mode"])))
            if known is not None:
                r["loads"] = known
        out.append(r)
    return out


def recommend_families(
    records: Iterable[Any],
    outcomes: OutcomeIndex | None = None,
    *,
    mode: str = "C",
    validated_only: bool = False,
    source: str = "predictions.json",
) -> Recommendations:
    """Recommendations from family predictions (``splicelab run``'s predictions.json, or
    :func:`splicelab.predict.families.predict_families`), the family merged across renames, one
    ``mode``'s splices as the evidence, with their real outcomes (``outcomes`` indexed in that mode)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    records = list(records)
    errors = [
        f"{source}[{i}]: not a Debian family prediction (no {', '.join(FAMILY_FIELDS)}): left out"
        for i, r in enumerate(records)
        if not is_family_record(r)
    ]
    family = [r for r in records if is_family_record(r)]
    table = family_builds(family)
    chosen = []
    for r in family:
        if r["mode"] != mode:
            continue
        r = dict(r)
        for side in ("original", "replacement"):  # a release for every side (mode C: implied)
            ref, release = r.get(side), _release(r, side)
            if isinstance(ref, Mapping) and release is not None and not ref.get("release"):
                r[side] = {**ref, "release": release}
        chosen.append(r)
    checks, parse_errors = checks_from_predictions(chosen, source=f"{source} (mode {mode})")
    errors += parse_errors
    if outcomes is not None:
        attach_outcomes(checks, outcomes)  # on the real packages' ids
    mapped = []
    for check in checks:
        original = table.of(check.dependency, check.original.release)
        replacement = table.of(check.dependency, check.replacement.release)
        if original is None or replacement is None:
            errors.append(f"{check.binary_key} {check.original.id} → {check.replacement.id}: no release")
            continue
        check.original, check.replacement = original, replacement
        mapped.append(check)
    report = recommend_checks(mapped, table.builds.values(), validated_only=validated_only, errors=errors)
    for s in sorted({s for s, _ in table.builds}):
        report.families[s] = {
            "source": s,
            "mode": mode,
            "naming": NAMING,
            "releases": _releases(table, s, {r for src, r in table.builds if src == s}),
        }
    by_id = {b.id: b for b in table.builds.values()}
    for rec in report.recommendations:
        involved = {
            by_id[p[side]].release for p in rec.evidence["pairs"] for side in ("original", "replacement")
        }
        rec.evidence["debian"] = {
            "source": rec.package,
            "mode": mode,
            "naming": NAMING,
            "releases": _releases(table, rec.package, {r for r in involved if r}),
        }
    return report


def _releases(table: FamilyBuilds, source: str, releases: set[str]) -> dict[str, dict[str, Any]]:
    """release → the family build's version and the real library packages behind it, in version order."""
    builds = sorted(
        (table.builds[(source, r)] for r in releases),
        key=lambda b: cmp_to_key(compare_versions)(b.version),
    )
    return {
        b.hash: {"version": b.version, "id": b.id, "packages": table.packages.get((source, b.hash), [])}
        for b in builds
    }
