"""Read the nodes of a Spack spec document, whatever its generation.

* spec.yaml / v1 (≤ 0.16): ``{"spec": [{NAME: {... "dependencies": {DEP: {"hash", "type"}}}}]}``
* spec.json v2 (0.17): ``{"spec": {"_meta": {"version": 2}, "nodes": [{"name", "full_hash",
  "build_hash", "hash", "dependencies": [{"name", "full_hash"|"build_hash"|"hash", "type"}]}]}}``
* spec.json v3-v5 (0.18 - 1.x): nodes with ``hash`` only; dependencies carry
  ``parameters: {deptypes, virtuals}``; v5 has no ``compiler`` (compilers are build dependencies with
  virtuals ``c``/``cxx``); spliced nodes carry ``build_spec``.

The identifying hash of a node is its ``full_hash`` when present (what spack-monitor keys on), else
its ``hash``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


class SpecFormatError(ValueError):
    """The spec document is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class DependencyEdge:
    name: str
    hash: str
    types: tuple[str, ...] = ()
    virtuals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SpecNode:
    name: str
    full_hash: str
    version: str = ""
    hash: str = ""
    build_hash: str = ""
    package_hash: str = ""
    namespace: str = ""
    platform: str = ""
    platform_os: str = ""
    target: str = ""
    compiler_name: str = ""
    compiler_version: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    build_spec: str = ""
    dependencies: tuple[DependencyEdge, ...] = ()

    @property
    def compiler(self) -> str | None:
        if not self.compiler_name:
            return None
        return (
            f"{self.compiler_name}@{self.compiler_version}" if self.compiler_version else self.compiler_name
        )


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    raise SpecFormatError(f"{where}: expected a string, got {type(value).__name__}")


def _node_hash(d: Mapping[str, Any], where: str) -> str:
    for key in ("full_hash", "hash", "build_hash"):
        value = d.get(key)
        if value:
            if not isinstance(value, str):
                raise SpecFormatError(f"{where}.{key}: expected a string")
            return value
    raise SpecFormatError(f"{where}: missing field 'hash' (or 'full_hash')")


def _types(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SpecFormatError(f"{where}: expected a list of strings")


def _dependencies(raw: Any, where: str) -> tuple[DependencyEdge, ...]:
    if raw is None:
        return ()
    items: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(raw, Mapping):  # spec.yaml: {name: {hash, type}}
        for name, d in raw.items():
            if not isinstance(d, Mapping):
                raise SpecFormatError(f"{where}.dependencies[{name!r}]: expected an object")
            items.append((str(name), d))
    elif isinstance(raw, list):
        for i, d in enumerate(raw):
            if not isinstance(d, Mapping) or not isinstance(d.get("name"), str) or not d["name"]:
                raise SpecFormatError(f"{where}.dependencies[{i}]: expected an object with a 'name'")
            items.append((d["name"], d))
    else:
        raise SpecFormatError(f"{where}.dependencies: expected a list")
    edges = []
    for name, d in items:
        w = f"{where}.dependencies[{name!r}]"
        params = d.get("parameters") if isinstance(d.get("parameters"), Mapping) else {}
        assert isinstance(params, Mapping)
        types = _types(d.get("type", params.get("deptypes")), f"{w}.type")
        virtuals = _types(params.get("virtuals", d.get("virtuals")), f"{w}.virtuals")
        edges.append(DependencyEdge(name=name, hash=_node_hash(d, w), types=types, virtuals=virtuals))
    return tuple(edges)


def parse_node(d: Mapping[str, Any], where: str = "spec.nodes[0]") -> SpecNode:
    if not isinstance(d, Mapping):
        raise SpecFormatError(f"{where}: expected an object")
    if "name" not in d and len(d) == 1 and isinstance(next(iter(d.values())), Mapping):
        ((name, inner),) = d.items()  # spec.yaml node: {name: {...}}
        d = {"name": name, **inner}
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise SpecFormatError(f"{where}: missing field 'name'")
    arch = d.get("arch") or {}
    if not isinstance(arch, Mapping):
        raise SpecFormatError(f"{where}.arch: expected an object")
    target = arch.get("target", "")
    if isinstance(target, Mapping):
        target = target.get("name", "")
    compiler = d.get("compiler") or {}
    if not isinstance(compiler, Mapping):
        raise SpecFormatError(f"{where}.compiler: expected an object")
    compiler_name = _str(compiler.get("name"), f"{where}.compiler.name")
    compiler_version = _str(compiler.get("version") or compiler.get("versions"), f"{where}.compiler.version")
    deps = _dependencies(d.get("dependencies"), where)
    if not compiler_name:  # v5: the compiler is a build dependency providing c/cxx
        for dep in deps:
            if {"c", "cxx"} & set(dep.virtuals):
                compiler_name = dep.name
                break
    params = d.get("parameters") or {}
    if not isinstance(params, Mapping):
        raise SpecFormatError(f"{where}.parameters: expected an object")
    build_spec = d.get("build_spec") or {}
    build_spec_hash = (
        build_spec.get("hash", "") if isinstance(build_spec, Mapping) else _str(build_spec, where)
    )
    return SpecNode(
        name=name,
        full_hash=_node_hash(d, where),
        version=_str(d.get("version"), f"{where}.version"),
        hash=_str(d.get("hash"), f"{where}.hash"),
        build_hash=_str(d.get("build_hash"), f"{where}.build_hash"),
        package_hash=_str(d.get("package_hash"), f"{where}.package_hash"),
        namespace=_str(d.get("namespace"), f"{where}.namespace"),
        platform=_str(arch.get("platform"), f"{where}.arch.platform"),
        platform_os=_str(arch.get("platform_os"), f"{where}.arch.platform_os"),
        target=_str(target, f"{where}.arch.target"),
        compiler_name=compiler_name,
        compiler_version=compiler_version,
        parameters=dict(params),
        build_spec=str(build_spec_hash or ""),
        dependencies=deps,
    )


def parse_spec(doc: Any) -> list[SpecNode]:
    """The nodes of a spec document; the first is the root."""
    if isinstance(doc, Mapping) and "spec" in doc:
        doc = doc["spec"]
    if isinstance(doc, Mapping):
        nodes = doc.get("nodes")
        if nodes is None:
            raise SpecFormatError("spec: missing field 'nodes'")
    elif isinstance(doc, list):  # spec.yaml: a list of single-key node objects
        nodes = doc
    else:
        raise SpecFormatError("spec: expected an object with 'nodes'")
    if not isinstance(nodes, list) or not nodes:
        raise SpecFormatError("spec.nodes: expected a non-empty list")
    parsed = [parse_node(n, f"spec.nodes[{i}]") for i, n in enumerate(nodes)]
    return _link(parsed)


def _link(nodes: list[SpecNode]) -> list[SpecNode]:
    """Point every edge at the identifying hash of its node (an edge may name a node by another of its
    hashes) and fill a v5 compiler's version from the compiler's own node."""
    canonical: dict[str, SpecNode] = {}
    for node in nodes:
        for h in (node.hash, node.build_hash, node.full_hash):
            if h:
                canonical.setdefault(h, node)
    out = []
    for node in nodes:
        edges = tuple(
            replace(e, hash=canonical[e.hash].full_hash) if e.hash in canonical else e
            for e in node.dependencies
        )
        changes: dict[str, Any] = {"dependencies": edges}
        if node.compiler_name and not node.compiler_version:
            for e in edges:
                target = canonical.get(e.hash)
                if e.name == node.compiler_name and target is not None:
                    changes["compiler_version"] = target.version
                    break
        out.append(replace(node, **changes))
    return out
