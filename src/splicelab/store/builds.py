"""Builds: a spec built in a build environment, its status, tags and phases.

When a build fails, the builds of its dependents (in the same environment) that have not succeeded
can never run: they become ``CANCELLED``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from splicelab.store import specs as spec_store
from splicelab.store.models import (
    BUILD_STATUSES,
    PHASE_STATUSES,
    Build,
    BuildEnvironment,
    BuildPhase,
    BuildTag,
    Spec,
    utcnow,
)
from splicelab.store.upsert import get_or_create, upsert

ENVIRONMENT_FIELDS = ("hostname", "platform", "kernel_version", "host_os", "host_target")


class BuildError(ValueError):
    """A build request names no known spec or build, or carries a bad status; ``code`` is the HTTP status."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.code = code


def environment(session: Session, fields: Mapping[str, str]) -> tuple[BuildEnvironment, bool]:
    key = {k: str(fields[k]) for k in ENVIRONMENT_FIELDS}
    return get_or_create(session, BuildEnvironment, key)


def get_build(
    session: Session,
    spec: Spec,
    env_fields: Mapping[str, str],
    owner_id: int | None,
    tags: Sequence[str] = (),
) -> tuple[Build, bool, bool]:
    """The build of ``spec`` in the environment (created if new); returns (build, created, env created)."""
    env, env_created = environment(session, env_fields)
    build, created = get_or_create(
        session,
        Build,
        {"spec_id": spec.id, "environment_id": env.id},
        {"owner_id": owner_id, "status": "NOTRUN", "envars": {}},
    )
    if tags:
        upsert(session, BuildTag, [{"build_id": build.id, "tag": t} for t in tags], ["build_id", "tag"])
        session.expire(build, ["tags"])
    return build, created, env_created


def parse_tags(value: Any) -> list[str]:
    """Tags as spack sends them (one comma-separated string) or as a list."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        items = value
    else:
        raise BuildError("tags: expected a comma-separated string or a list of strings", 400)
    tags = [t.strip() for t in items if t.strip()]
    for t in tags:
        if len(t) > 255:
            raise BuildError("tags: a tag is longer than 255 characters", 400)
    return tags


def load(session: Session, build_id: Any) -> Build:
    if isinstance(build_id, bool) or not isinstance(build_id, int | str) or not str(build_id).isdigit():
        raise BuildError("build_id: expected an integer", 400)
    if not 0 < int(build_id) < 2**31:
        raise BuildError(f"build_id: no build {build_id}", 404)
    build = session.get(Build, int(build_id))
    if build is None:
        raise BuildError(f"build_id: no build {build_id}", 404)
    return build


def set_status(session: Session, build: Build, status: str) -> list[int]:
    """Set ``build``'s status; on FAILED cancel the unfinished builds of its dependents. Returns the
    ids of the builds cancelled."""
    if status not in BUILD_STATUSES:
        raise BuildError(f"status: {status!r} is not one of {', '.join(BUILD_STATUSES)}", 400)
    build.status = status
    build.updated_at = utcnow()
    if status != "FAILED":
        return []
    dependents = spec_store.dependents(session, [build.spec_id])
    if not dependents:
        return []
    ids = list(
        session.scalars(
            select(Build.id).where(
                Build.spec_id.in_(dependents),
                Build.environment_id == build.environment_id,
                Build.status != "SUCCESS",
            )
        )
    )
    if ids:
        session.execute(
            update(Build).where(Build.id.in_(ids)).values(status="CANCELLED", updated_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
    return ids


def set_phase(session: Session, build: Build, name: str, status: str, output: str | None) -> BuildPhase:
    if not isinstance(name, str) or not name or len(name) > 255:
        raise BuildError("phase_name: expected a non-empty string (at most 255 characters)", 400)
    if status not in PHASE_STATUSES:
        raise BuildError(f"status: {status!r} is not one of {', '.join(PHASE_STATUSES)}", 400)
    if output is not None and not isinstance(output, str):
        raise BuildError("output: expected a string", 400)
    phase, _ = get_or_create(
        session,
        BuildPhase,
        {"build_id": build.id, "name": name},
        {"status": status, "output": output, "updated_at": utcnow()},
        update=("status", "output", "updated_at"),
    )
    return phase


def describe(build: Build) -> dict[str, Any]:
    """spack-monitor's ``Build.to_dict`` (``build_id``, ``spec_full_hash``, ``spec_name``) and more."""
    return {
        "build_id": build.id,
        "spec_full_hash": build.spec.full_hash,
        "spec_name": build.spec.name,
        "spec_version": build.spec.version or None,
        "spec_id": build.spec_id,
        "status": build.status,
        "tags": [t.tag for t in build.tags],
        "owner": build.owner.name if build.owner else None,
        "install_prefix": build.install_prefix or None,
        "environment": build.environment.to_dict(),
        "created_at": build.created_at.isoformat() if build.created_at else None,
        "updated_at": build.updated_at.isoformat() if build.updated_at else None,
    }


def describe_phase(phase: BuildPhase, with_output: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"id": phase.id, "name": phase.name, "status": phase.status}
    if with_output:
        d["output"] = phase.output
    return d


def search(
    package: str | None = None, version: str | None = None, status: str | None = None, tag: str | None = None
) -> Select[tuple[Build]]:
    stmt = select(Build).join(Spec, Build.spec_id == Spec.id)
    if package:
        stmt = stmt.where(Spec.name == package)
    if version:
        stmt = stmt.where(Spec.version == version)
    if status:
        stmt = stmt.where(Build.status == status)
    if tag:
        stmt = stmt.where(Build.id.in_(select(BuildTag.build_id).where(BuildTag.tag == tag)))
    return stmt.order_by(Build.id)
