"""Specs in the database: import a spec document's nodes, find specs, describe them.

A dependency known only by a parent's edge is inserted as a stub (name and hash); its own node fills
the row in when it arrives, in the same upload or a later one. Every step is an upsert, so uploading
the same spec twice, or two specs sharing dependencies at the same time, leaves one row per hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from splicelab.store.models import Build, Spec, SpecDependency
from splicelab.store.specjson import SpecNode
from splicelab.store.upsert import ids_by_key, upsert

_DESCRIPTIVE = (
    "name",
    "version",
    "hash",
    "build_hash",
    "package_hash",
    "spack_version",
    "namespace",
    "platform",
    "platform_os",
    "target",
    "compiler_name",
    "compiler_version",
    "parameters",
    "build_spec",
)


def _row(node: SpecNode, spack_version: str) -> dict[str, Any]:
    return {
        "full_hash": node.full_hash,
        "name": node.name,
        "version": node.version,
        "hash": node.hash,
        "build_hash": node.build_hash,
        "package_hash": node.package_hash,
        "spack_version": spack_version,
        "namespace": node.namespace,
        "platform": node.platform,
        "platform_os": node.platform_os,
        "target": node.target,
        "compiler_name": node.compiler_name,
        "compiler_version": node.compiler_version,
        "parameters": node.parameters,
        "build_spec": node.build_spec,
    }


def _stub(name: str, full_hash: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_DESCRIPTIVE, "")
    row.update(full_hash=full_hash, name=name, parameters={})
    return row


def import_nodes(session: Session, nodes: Sequence[SpecNode], spack_version: str = "") -> tuple[Spec, bool]:
    """Store every node and edge; returns the root spec and whether it was new.

    Rows already complete are not written again (an UPDATE would lock them, and a dependency shared
    by many specs is exactly the row every concurrent upload would then queue on).
    """
    root_hash = nodes[0].full_hash
    hashes = {n.full_hash for n in nodes} | {e.hash for n in nodes for e in n.dependencies}
    stored = dict(
        session.execute(select(Spec.full_hash, Spec.version).where(Spec.full_hash.in_(hashes))).all()
    )
    complete = {h for h, version in stored.items() if version}  # a stub has no version yet
    known = {n.full_hash for n in nodes}
    stubs = [
        _stub(e.name, e.hash) for n in nodes for e in n.dependencies if e.hash not in known | stored.keys()
    ]
    if stubs:
        upsert(session, Spec, stubs, ["full_hash"])
    fresh = [n for n in nodes if n.full_hash not in complete]
    if fresh:
        upsert(session, Spec, [_row(n, spack_version) for n in fresh], ["full_hash"], update=_DESCRIPTIVE)
    ids = ids_by_key(session, Spec, ["full_hash"], [(h,) for h in hashes])
    edges = [
        {
            "spec_id": ids[(n.full_hash,)],
            "dependency_id": ids[(e.hash,)],
            "types": list(e.types),
            "virtuals": list(e.virtuals),
        }
        for n in fresh
        for e in n.dependencies
    ]
    if edges:
        upsert(session, SpecDependency, edges, ["spec_id", "dependency_id"], update=("types", "virtuals"))
    root = session.get(Spec, ids[(root_hash,)], populate_existing=True)
    assert root is not None
    return root, root_hash not in complete


def find_by_hash(session: Session, value: str) -> Spec | None:
    """The spec whose identifying hash (or DAG hash) is ``value``."""
    spec = session.scalar(select(Spec).where(Spec.full_hash == value))
    if spec is None:
        spec = session.scalar(select(Spec).where(Spec.hash == value).order_by(Spec.id).limit(1))
    return spec


def by_name(session: Session, name: str) -> list[Spec]:
    return list(session.scalars(select(Spec).where(Spec.name == name).order_by(Spec.id)))


def dependents(session: Session, spec_ids: Sequence[int]) -> set[int]:
    """Every spec that depends on one of ``spec_ids``, directly or not."""
    found: set[int] = set()
    frontier = set(spec_ids)
    while frontier:
        rows = session.scalars(
            select(SpecDependency.spec_id).where(SpecDependency.dependency_id.in_(frontier))
        )
        frontier = set(rows) - found - set(spec_ids)
        found |= frontier
    return found


def link_dependencies(spec: Spec) -> list[SpecDependency]:
    return [d for d in spec.dependencies if not d.types or {"link", "run"} & set(d.types)]


def builds_of(session: Session, spec_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """``{spec id: [{"build_id", "status", "install_prefix"}]}``, oldest build first."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in spec_ids}
    if not spec_ids:
        return out
    stmt = (
        select(Build.spec_id, Build.id, Build.status, Build.install_prefix)
        .where(Build.spec_id.in_(list(spec_ids)))
        .order_by(Build.id)
    )
    for spec_id, build_id, status, prefix in session.execute(stmt):
        out[spec_id].append({"build_id": build_id, "status": status, "install_prefix": prefix or None})
    return out


def describe(spec: Spec, builds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A spec as ``/ms1/specs/name/<pkg>/`` lists it: spack-monitor's serializer, with richer edges
    (and the spec's builds when ``builds`` is given)."""
    d = {
        "id": spec.id,
        "label": "spec",
        "name": spec.name,
        "version": spec.version or None,
        "spack_version": spec.spack_version or None,
        "full_hash": spec.full_hash,
        "hash": spec.hash or spec.full_hash,
        "build_hash": spec.build_hash or None,
        "package_hash": spec.package_hash or None,
        "namespace": spec.namespace or None,
        "arch": {"platform": spec.platform, "platform_os": spec.platform_os, "target": spec.target}
        if spec.platform
        else None,
        "compiler": {"name": spec.compiler_name, "version": spec.compiler_version or None}
        if spec.compiler_name
        else None,
        "parameters": spec.parameters,
        "build_spec": spec.build_spec or None,
        "dependencies": [
            {
                "id": d.dependency.id,
                "name": d.dependency.name,
                "version": d.dependency.version or None,
                "full_hash": d.dependency.full_hash,
                "hash": d.dependency.hash or d.dependency.full_hash,
                "types": d.types,
                "virtuals": d.virtuals,
            }
            for d in sorted(spec.dependencies, key=lambda d: d.dependency.name)
        ],
        "add_date": spec.created_at.isoformat() if spec.created_at else None,
    }
    if builds is not None:
        d["builds"] = builds
    return d


def ids_summary(spec: Spec) -> dict[str, Any]:
    """spack-monitor's ``to_dict_ids``: the reply to ``specs/new``."""
    return {
        "id": spec.id,
        "full_hash": spec.full_hash,
        "name": spec.name,
        "version": spec.version or None,
        "spack_version": spec.spack_version or None,
        "specs": {d.dependency.name: d.dependency.full_hash for d in spec.dependencies},
    }


def search(name: str | None = None, version: str | None = None, hash_prefix: str | None = None) -> Any:
    stmt = select(Spec)
    if name:
        stmt = stmt.where(Spec.name == name)
    if version:
        stmt = stmt.where(Spec.version == version)
    if hash_prefix:
        stmt = stmt.where(or_(Spec.full_hash.startswith(hash_prefix), Spec.hash.startswith(hash_prefix)))
    return stmt.order_by(Spec.id)
