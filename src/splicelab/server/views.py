"""What the web pages show about packages and builds, read from the store as plain data.

* :func:`packages` - every package the monitor knows (a spec with builds, an artifact, a binary with
  predictions, a dependency that was spliced, an outcome) with its counts;
* :func:`build_matrix` - a package's builds as versions x compilers (successes / total per cell),
  for one operating system or all, as spack-monitor's build matrix showed them;
* :func:`builds_of` and :func:`build_detail` - the build table and one build with its phases.

Only reads; the pages (``web.py``) render what these return.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from splicelab.store import analysis
from splicelab.store.models import (
    Artifact,
    Build,
    BuildEnvironment,
    BuildPhase,
    Outcome,
    Prediction,
    Spec,
)

BUILDS_SHOWN = 500  # rows of a package's build table


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort versions as people read them: ``1.2.8 < 1.2.11 < 1.3``; text parts after numbers."""
    parts = re.findall(r"\d+|[^\d.\-_+]+", version or "")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


# --- packages ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PackageRow:
    name: str
    builds: int = 0
    succeeded: int = 0
    artifacts: int = 0
    binaries: int = 0  # binary files with predictions
    splices: int = 0  # splices predicted with this package as the binary
    spliced_in: int = 0  # splices predicted with this package as the swapped dependency
    outcomes: int = 0  # real splices of this package's binaries


def packages(session: Session) -> list[PackageRow]:
    rows: dict[str, PackageRow] = {}

    def row(name: str) -> PackageRow:
        if name not in rows:
            rows[name] = PackageRow(name)
        return rows[name]

    stmt = (
        select(Spec.name, Build.status, func.count(Build.id))
        .join(Build, Build.spec_id == Spec.id)
        .group_by(Spec.name, Build.status)
    )
    for name, status, n in session.execute(stmt):
        r = row(name)
        r.builds += n
        if status == "SUCCESS":
            r.succeeded += n
    for name, n in session.execute(select(Artifact.name, func.count()).group_by(Artifact.name)):
        row(name).artifacts = n
    files = (
        select(Prediction.binary_package, Prediction.binary_id, Prediction.binary_file).distinct().subquery()
    )
    for name, n in session.execute(
        select(files.c.binary_package, func.count()).group_by(files.c.binary_package)
    ):
        row(name).binaries = n
    for column, attr in ((Prediction.binary_package, "splices"), (Prediction.dependency, "spliced_in")):
        splices = (
            select(
                column.label("name"),
                Prediction.binary_id,
                Prediction.binary_file,
                Prediction.original_id,
                Prediction.replacement_id,
            )
            .distinct()
            .subquery()
        )
        for name, n in session.execute(select(splices.c.name, func.count()).group_by(splices.c.name)):
            setattr(row(name), attr, n)
    for name, n in session.execute(
        select(Outcome.binary_package, func.count())
        .where(Outcome.binary_package != "")
        .group_by(Outcome.binary_package)
    ):
        row(name).outcomes = n
    return sorted(rows.values(), key=lambda r: r.name.lower())


def package_exists(session: Session, name: str) -> bool:
    checks = (
        select(Spec.id).where(Spec.name == name),
        select(Artifact.id).where(Artifact.name == name),
        select(Prediction.id).where(Prediction.binary_package == name),
        select(Prediction.id).where(Prediction.dependency == name),
        select(Outcome.id).where(Outcome.binary_package == name),
    )
    return any(session.scalar(q.limit(1)) is not None for q in checks)


def package_row(session: Session, name: str) -> PackageRow:
    """The counts of one package (the list's row), computed for that package only."""
    r = PackageRow(name)
    for status, n in session.execute(
        select(Build.status, func.count(Build.id))
        .join(Spec, Build.spec_id == Spec.id)
        .where(Spec.name == name)
        .group_by(Build.status)
    ):
        r.builds += n
        r.succeeded += n if status == "SUCCESS" else 0
    r.artifacts = session.scalar(select(func.count()).where(Artifact.name == name)) or 0
    files = (
        select(Prediction.binary_id, Prediction.binary_file)
        .where(Prediction.binary_package == name)
        .distinct()
        .subquery()
    )
    r.binaries = session.scalar(select(func.count()).select_from(files)) or 0
    for column, attr in ((Prediction.binary_package, "splices"), (Prediction.dependency, "spliced_in")):
        splices = (
            select(
                Prediction.binary_id,
                Prediction.binary_file,
                Prediction.original_id,
                Prediction.replacement_id,
            )
            .where(column == name)
            .distinct()
            .subquery()
        )
        setattr(r, attr, session.scalar(select(func.count()).select_from(splices)) or 0)
    r.outcomes = session.scalar(select(func.count()).where(Outcome.binary_package == name)) or 0
    return r


# --- the build matrix -------------------------------------------------------------------------------------


@dataclass(slots=True)
class MatrixCell:
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def success(self) -> int:
        return self.statuses["SUCCESS"]

    @property
    def tone(self) -> str:
        """``ok`` (all built), ``bad`` (none built and some failed), ``mixed``, ``pending`` (nothing
        finished yet) - the cell's colour."""
        if self.total and self.success == self.total:
            return "ok"
        if self.success:
            return "mixed"
        if self.statuses["FAILED"] or self.statuses["CANCELLED"]:
            return "bad"
        return "pending"

    def describe(self) -> str:
        return ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.statuses.items()))


@dataclass(slots=True)
class BuildMatrix:
    versions: list[str]
    compilers: list[str]
    cells: dict[tuple[str, str], MatrixCell]
    systems: list[str]  # every OS the package was built on
    system: str | None  # the one shown (None: all)

    def cell(self, version: str, compiler: str) -> MatrixCell | None:
        return self.cells.get((version, compiler))


NO_COMPILER = "(no compiler)"
NO_VERSION = "(no version)"


def _os(env_os: str, spec_os: str) -> str:
    return env_os or spec_os or "(unknown OS)"


def _compiler(name: str, version: str) -> str:
    return (f"{name}@{version}" if version else name) if name else NO_COMPILER


def _build_spec_compilers(session: Session, hashes: set[str]) -> dict[str, str]:
    """The compilers of the specs a spliced spec was built as (Spack 1.0 splices drop the build
    dependencies, and with them the compiler, from the spliced node)."""
    if not hashes:
        return {}
    stmt = select(Spec.full_hash, Spec.compiler_name, Spec.compiler_version).where(
        Spec.full_hash.in_(sorted(hashes)), Spec.compiler_name != ""
    )
    return {h: _compiler(n, v) for h, n, v in session.execute(stmt)}


def build_matrix(session: Session, package: str, system: str | None = None) -> BuildMatrix:
    stmt = (
        select(
            Spec.version,
            Spec.compiler_name,
            Spec.compiler_version,
            Spec.build_spec,
            Spec.platform_os,
            BuildEnvironment.host_os,
            Build.status,
        )
        .join(Build, Build.spec_id == Spec.id)
        .join(BuildEnvironment, Build.environment_id == BuildEnvironment.id)
        .where(Spec.name == package)
    )
    found = list(session.execute(stmt))
    spliced = _build_spec_compilers(
        session, {r.build_spec for r in found if r.build_spec and not r.compiler_name}
    )
    cells: dict[tuple[str, str], MatrixCell] = {}
    systems: set[str] = set()
    for version, cname, cversion, build_spec, spec_os, env_os, status in found:
        where = _os(env_os, spec_os)
        systems.add(where)
        if system and where != system:
            continue
        compiler = _compiler(cname, cversion) if cname else spliced.get(build_spec, NO_COMPILER)
        key = (version or NO_VERSION, compiler)
        cells.setdefault(key, MatrixCell()).statuses[status] += 1
    versions = sorted({v for v, _ in cells}, key=version_key, reverse=True)
    compilers = sorted({c for _, c in cells}, key=lambda c: (c.split("@")[0], version_key(c)))
    return BuildMatrix(versions, compilers, cells, sorted(systems), system)


# --- builds -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class BuildRow:
    id: int
    version: str
    compiler: str
    system: str
    target: str
    status: str
    hash: str
    updated: str
    build_spec: str = ""  # the hash this spliced spec was built as


def builds_of(
    session: Session,
    package: str,
    system: str | None = None,
    version: str | None = None,
    compiler: str | None = None,
) -> tuple[list[BuildRow], int]:
    """A package's builds, newest first (at most :data:`BUILDS_SHOWN`), and how many match in all."""
    stmt = (
        select(Build, Spec, BuildEnvironment)
        .join(Spec, Build.spec_id == Spec.id)
        .join(BuildEnvironment, Build.environment_id == BuildEnvironment.id)
        .where(Spec.name == package)
        .order_by(Build.id.desc())
    )
    if version:
        stmt = stmt.where(Spec.version == ("" if version == NO_VERSION else version))
    found = list(session.execute(stmt).unique())
    spliced = _build_spec_compilers(
        session, {s.build_spec for _, s, _ in found if s.build_spec and not s.compiler_name}
    )
    out: list[BuildRow] = []
    total = 0
    for build, spec, env in found:
        where = _os(env.host_os, spec.platform_os)
        comp = spec.compiler or spliced.get(spec.build_spec, NO_COMPILER)
        if (system and where != system) or (compiler and comp != compiler):
            continue
        total += 1
        if len(out) < BUILDS_SHOWN:
            out.append(
                BuildRow(
                    id=build.id,
                    version=spec.version or NO_VERSION,
                    compiler=comp,
                    system=where,
                    target=env.host_target or spec.target,
                    status=build.status,
                    hash=spec.full_hash,
                    updated=build.updated_at.strftime("%Y-%m-%d %H:%M") if build.updated_at else "",
                    build_spec=spec.build_spec,
                )
            )
    return out, total


@dataclass(slots=True)
class PhaseView:
    name: str
    status: str
    output: str | None
    updated: str


@dataclass(slots=True)
class BuildDetail:
    build: Build
    spec: Spec
    dependencies: list[dict[str, Any]]
    phases: list[PhaseView]
    results: list[dict[str, Any]]
    artifacts: list[Artifact]


def build_detail(session: Session, build_id: int) -> BuildDetail | None:
    build = session.get(Build, build_id)
    if build is None:
        return None
    spec = build.spec
    deps = [
        {
            "name": d.dependency.name,
            "version": d.dependency.version,
            "hash": d.dependency.hash or d.dependency.full_hash,
            "types": ", ".join(d.types or []),
            "virtuals": ", ".join(d.virtuals or []),
        }
        for d in sorted(spec.dependencies, key=lambda d: d.dependency.name)
    ]
    phases = [
        PhaseView(
            p.name,
            p.status,
            p.output,
            p.updated_at.strftime("%Y-%m-%d %H:%M:%S") if p.updated_at else "",
        )
        for p in session.scalars(
            select(BuildPhase).where(BuildPhase.build_id == build.id).order_by(BuildPhase.id)
        )
    ]
    artifacts = list(session.scalars(select(Artifact).where(Artifact.spack_build_id == build.id)))
    # the build's tags and owner are loaded with it; touch them before the session closes
    _ = ([t.tag for t in build.tags], build.owner, build.environment)
    return BuildDetail(build, spec, deps, phases, analysis.results_of_build(session, build.id), artifacts)
