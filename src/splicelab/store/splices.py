"""Splice contenders, as spack-monitor found them.

For a spec with a build, the *comparable builds* are the builds of specs of the same package, built
with a compiler of the same name, on the same OS, target and platform as the spec's first build.

* ``spec_contenders``: the corpus-bearing analysis results of the comparable builds — the libraries of
  every version of a dependency that could be spliced in (``/ms1/specs/<id>/splices/contenders/``);
* ``result_contenders``: the dependency specs of the comparable builds of the result's spec — what a
  binary could have its libraries swapped with (``/ms1/attributes/<id>/splice/contenders/``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from splicelab.store import analysis
from splicelab.store.models import Build, BuildEnvironment, Spec, SpecDependency


class NoBuildError(LookupError):
    """The spec has no build to compare environments with."""


def comparable_builds(session: Session, spec: Spec) -> list[int]:
    first = session.scalar(select(Build).where(Build.spec_id == spec.id).order_by(Build.id).limit(1))
    if first is None:
        raise NoBuildError(f"spec {spec.id} ({spec.name}) has no builds")
    env = first.environment
    stmt = (
        select(Build.id)
        .join(Spec, Build.spec_id == Spec.id)
        .join(BuildEnvironment, Build.environment_id == BuildEnvironment.id)
        .where(
            Spec.name == spec.name,
            Spec.compiler_name == spec.compiler_name,
            BuildEnvironment.host_os == env.host_os,
            BuildEnvironment.host_target == env.host_target,
            BuildEnvironment.platform == env.platform,
        )
        .order_by(Build.id)
    )
    return list(session.scalars(stmt))


def spec_contenders(session: Session, spec: Spec) -> list[dict[str, Any]]:
    return analysis.corpus_results_of_builds(session, comparable_builds(session, spec))


def result_contenders(session: Session, spec: Spec) -> list[Spec]:
    builds = comparable_builds(session, spec)
    spec_ids = select(Build.spec_id).where(Build.id.in_(builds))
    dep_ids = select(SpecDependency.dependency_id).where(SpecDependency.spec_id.in_(spec_ids))
    return list(session.scalars(select(Spec).where(Spec.id.in_(dep_ids)).order_by(Spec.id)))
