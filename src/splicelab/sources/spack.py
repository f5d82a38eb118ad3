"""Artifacts from a Spack install tree: the database index and every prefix's ``.spack/spec.json``.

An install tree is a root holding ``.spack-db/index.json`` (the database: every installed spec, its
prefix and whether it is external) and prefixes ``<root>/<arch>/[<compiler>/]<name>-<version>-<hash>``,
each with ``.spack/spec.json`` (the spec's whole DAG, the prefix's own node first).

Spec formats read here (``_meta.version`` of the spec, or its shape):

- v1 (Spack <= 0.16): ``{"spec": [{NAME: node}, ...]}``; dependencies ``{NAME: {"hash", "type"}}``;
  nodes carry ``hash`` (the DAG hash) and possibly ``build_hash``/``full_hash``.
- v2 (0.17-0.18): ``{"spec": {"_meta": {"version": 2}, "nodes": [...]}}``; nodes have ``name``;
  dependencies a list of ``{"name", "build_hash"|"hash", "type"}``.
- v3 (0.19): as v2, dependencies reference ``hash``.
- v4 (0.20-0.23): dependencies ``{"name", "hash", "parameters": {"deptypes", "virtuals"}}``.
- v5 (1.0): no ``compiler`` key; compilers are build dependencies with ``virtuals`` ``c``/``cxx``/
  ``fortran``. A spliced node has ``build_spec: {"name", "hash"}`` and drops its build dependencies,
  so its compiler comes from its build spec's node.

A tree may have been moved since it was installed: the database and the binaries' RPATHs name the root
it was built in. Each artifact's ``root`` is where the prefix lies now and ``recorded_root`` where it was
installed (from the database, else from ``.spack/install_manifest.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from splicelab.artifact import Artifact, Dependency
from splicelab.sources.errors import SourceError
from splicelab.sources.files import read_tree

DB_INDEX = Path(".spack-db") / "index.json"
SPEC_JSON = Path(".spack") / "spec.json"
MANIFEST_JSON = Path(".spack") / "install_manifest.json"

# Virtuals a compiler provides to a node that uses it (Spack >= 1.0), in order of preference.
_LANGUAGE_VIRTUALS = ("c", "cxx", "fortran")
# Spack 1.0 package names of compilers whose usual compiler name differs.
_COMPILER_NAMES = {"llvm": "clang", "llvm-amdgpu": "rocmcc", "intel-oneapi-compilers": "oneapi"}
# How deep below an install root a prefix can sit: <arch>/<compiler>/<name>-<version>-<hash>.
_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class NodeDependency:
    name: str
    ref: str  # the hash the dependency is referenced by (in v2 possibly a build_hash)
    types: tuple[str, ...]
    virtuals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SpecNode:
    """One node of a spec DAG, the same whatever the spec format was."""

    name: str
    version: str
    hash: str
    aliases: tuple[str, ...]  # every other hash this node is known by (build_hash, full_hash)
    platform: str | None
    os: str | None
    target: str | None
    compiler: str | None  # "gcc@12.2.0" from the node's own ``compiler`` key (formats v1-v4)
    dependencies: tuple[NodeDependency, ...]
    build_spec: str | None
    external: str | None  # the external's path, when the node is external
    namespace: str | None
    format: int

    @property
    def arch(self) -> str | None:
        parts = [p for p in (self.platform, self.os, self.target) if p]
        return "-".join(parts) or None


# --- parsing ---------------------------------------------------------------------------------------


def _field(node: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in node:
        raise SourceError(f"{where}: missing field {key!r}")
    return node[key]


def _str_field(node: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(node, key, where)
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise SourceError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return str(value)


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _version(node: Mapping[str, Any], where: str) -> str:
    version = _str_field(node, "version", where)
    return version[1:] if version.startswith("=") else version  # "=1.2.3" pins a concrete version


def _arch(node: Mapping[str, Any], where: str) -> tuple[str | None, str | None, str | None]:
    arch = node.get("arch")
    if arch is None:
        return None, None, None
    if not isinstance(arch, Mapping):
        raise SourceError(f"{where}: field 'arch' must be an object")
    target = arch.get("target")
    if isinstance(target, Mapping):
        target = target.get("name")
    platform_os = arch.get("platform_os") or arch.get("os")
    return arch.get("platform"), platform_os, target if isinstance(target, str) else None


def _compiler(node: Mapping[str, Any], where: str) -> str | None:
    compiler = node.get("compiler")
    if compiler is None:
        return None
    if isinstance(compiler, str):  # an abstract spec's "gcc@12"
        return compiler
    if not isinstance(compiler, Mapping) or "name" not in compiler:
        raise SourceError(f"{where}: field 'compiler' must be an object with 'name' and 'version'")
    version = compiler.get("version")
    if isinstance(version, list):  # some old formats wrote a version list
        version = version[0] if version else None
    return f"{compiler['name']}@{version}" if version else str(compiler["name"])


def _dependencies(node: Mapping[str, Any], where: str) -> tuple[NodeDependency, ...]:
    deps = node.get("dependencies")
    if deps is None:
        return ()
    out: list[NodeDependency] = []
    if isinstance(deps, Mapping):  # v1: {name: {"hash", "type"}} or {name: hash}
        for name, info in deps.items():
            dwhere = f"{where}: dependencies[{name!r}]"
            if isinstance(info, str):
                out.append(NodeDependency(str(name), info, ("build", "link"), ()))
                continue
            if not isinstance(info, Mapping):
                raise SourceError(f"{dwhere}: expected an object")
            ref = info.get("hash") or info.get("build_hash") or info.get("full_hash")
            if not isinstance(ref, str):
                raise SourceError(f"{dwhere}: missing field 'hash'")
            out.append(NodeDependency(str(name), ref, _strs(info.get("type"), f"{dwhere}.type"), ()))
        return tuple(out)
    if not isinstance(deps, list):
        raise SourceError(f"{where}: field 'dependencies' must be a list or an object")
    for i, info in enumerate(deps):
        dwhere = f"{where}: dependencies[{i}]"
        if not isinstance(info, Mapping):
            raise SourceError(f"{dwhere}: expected an object")
        name = _str_field(info, "name", dwhere)
        ref = info.get("hash") or info.get("build_hash") or info.get("full_hash") or info.get("dag_hash")
        if not isinstance(ref, str):
            raise SourceError(f"{dwhere}: missing field 'hash'")
        params = info.get("parameters")
        if isinstance(params, Mapping):  # v4, v5
            types = _strs(params.get("deptypes"), f"{dwhere}.parameters.deptypes")
            virtuals = _strs(params.get("virtuals"), f"{dwhere}.parameters.virtuals")
        else:  # v2, v3
            types = _strs(info.get("type"), f"{dwhere}.type")
            virtuals = ()
        out.append(NodeDependency(name, ref, types, virtuals))
    return tuple(out)


def parse_node(node: Mapping[str, Any], where: str, *, name: str | None = None, fmt: int = 0) -> SpecNode:
    """One node dict (``name`` given separately for the v1 ``{NAME: node}`` shape)."""
    if not isinstance(node, Mapping):
        raise SourceError(f"{where}: expected an object")
    node_name = name if name is not None else _str_field(node, "name", where)
    where = f"{where} ({node_name})"
    dag_hash = _str_field(node, "hash", where)
    aliases = tuple(
        str(node[k])
        for k in ("build_hash", "full_hash")
        if isinstance(node.get(k), str) and node[k] != dag_hash
    )
    platform, platform_os, target = _arch(node, where)
    build_spec = node.get("build_spec")
    if build_spec is not None:
        if not isinstance(build_spec, Mapping) or not isinstance(build_spec.get("hash"), str):
            raise SourceError(f"{where}: field 'build_spec' must be an object with a 'hash'")
        build_spec = build_spec["hash"]
    external = node.get("external")
    external_path = None
    if isinstance(external, Mapping):
        external_path = str(external.get("path") or external.get("module") or "external")
    return SpecNode(
        name=node_name,
        version=_version(node, where),
        hash=dag_hash,
        aliases=aliases,
        platform=platform,
        os=platform_os,
        target=target,
        compiler=_compiler(node, where),
        dependencies=_dependencies(node, where),
        build_spec=build_spec,
        external=external_path,
        namespace=node.get("namespace") if isinstance(node.get("namespace"), str) else None,
        format=fmt,
    )


def parse_spec(doc: Any, where: str) -> list[SpecNode]:
    """The nodes of a spec document (a ``spec.json``'s content), the root node first."""
    if not isinstance(doc, Mapping) or "spec" not in doc:
        raise SourceError(f"{where}: missing field 'spec'")
    spec = doc["spec"]
    if isinstance(spec, list):  # v1
        nodes = []
        for i, entry in enumerate(spec):
            if not isinstance(entry, Mapping) or len(entry) != 1:
                raise SourceError(f"{where}: spec[{i}] must be an object with one key, the package name")
            ((name, node),) = entry.items()
            nodes.append(parse_node(node, f"{where}: spec[{i}]", name=str(name), fmt=1))
        return nodes
    if not isinstance(spec, Mapping):
        raise SourceError(f"{where}: field 'spec' must be an object or a list")
    meta = spec.get("_meta", {})
    fmt = meta.get("version") if isinstance(meta, Mapping) else None
    if not isinstance(fmt, int):
        raise SourceError(f"{where}: missing field 'spec._meta.version'")
    raw_nodes = spec.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise SourceError(f"{where}: field 'spec.nodes' must be a non-empty list")
    return [parse_node(n, f"{where}: spec.nodes[{i}]", fmt=fmt) for i, n in enumerate(raw_nodes)]


def _db_node(spec: Any, where: str) -> SpecNode:
    """A database record's spec: a node dict (DB >= 6) or ``{NAME: node}`` (older)."""
    if isinstance(spec, Mapping) and "name" not in spec and len(spec) == 1:
        ((name, node),) = spec.items()
        return parse_node(node, where, name=str(name), fmt=1)
    return parse_node(spec, where)


@dataclass(frozen=True, slots=True)
class DbRecord:
    node: SpecNode
    path: str | None
    installed: bool
    explicit: bool


def read_database(root: Path) -> tuple[dict[str, DbRecord], list[SourceError]]:
    """The records of ``root/.spack-db/index.json`` by DAG hash; bad records are reported and skipped."""
    index = root / DB_INDEX
    errors: list[SourceError] = []
    try:
        doc = json.loads(index.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [SourceError(f"{index}: cannot read: {exc}")]
    except json.JSONDecodeError as exc:
        return {}, [SourceError(f"{index}: invalid JSON: {exc}")]
    database = doc.get("database") if isinstance(doc, Mapping) else None
    installs = database.get("installs") if isinstance(database, Mapping) else None
    if not isinstance(installs, Mapping):
        return {}, [SourceError(f"{index}: missing field 'database.installs'")]
    records: dict[str, DbRecord] = {}
    for key, rec in installs.items():
        where = f"{index}: installs[{key!r}]"
        try:
            if not isinstance(rec, Mapping):
                raise SourceError(f"{where}: expected an object")
            node = _db_node(_field(rec, "spec", where), f"{where}.spec")
        except SourceError as exc:
            errors.append(exc)
            continue
        path = rec.get("path")
        records[node.hash] = DbRecord(
            node=node,
            path=path if isinstance(path, str) else None,
            installed=bool(rec.get("installed", True)),
            explicit=bool(rec.get("explicit", False)),
        )
    return records, errors


# --- from nodes to artifacts -----------------------------------------------------------------------


class _Nodes:
    """Every node known (from the database and spec files), reachable by any of its hashes."""

    def __init__(self) -> None:
        self._by_hash: dict[str, SpecNode] = {}

    def add(self, node: SpecNode, *, prefer: bool = False) -> None:
        for h in (node.hash, *node.aliases):
            if prefer or h not in self._by_hash:
                self._by_hash[h] = node

    def get(self, ref: str | None) -> SpecNode | None:
        return self._by_hash.get(ref) if ref else None


def _compiler_of(node: SpecNode, nodes: _Nodes, depth: int = 0) -> tuple[str | None, dict[str, str]]:
    """The compiler as ``name@version`` and, for v5 specs, each language's compiler package."""
    if node.compiler:
        return node.compiler, {}
    by_language: dict[str, str] = {}
    for dep in node.dependencies:
        if "build" not in dep.types:
            continue
        for lang in dep.virtuals:
            if lang in _LANGUAGE_VIRTUALS:
                target = nodes.get(dep.ref)
                by_language[lang] = f"{dep.name}@{target.version}" if target else dep.name
    for lang in _LANGUAGE_VIRTUALS:
        if lang in by_language:
            name, _, version = by_language[lang].partition("@")
            name = _COMPILER_NAMES.get(name, name)
            return (f"{name}@{version}" if version else name), by_language
    if node.build_spec and depth < 3:  # a spliced node dropped its build deps: ask what it was built as
        built = nodes.get(node.build_spec)
        if built is not None and built is not node:
            return _compiler_of(built, nodes, depth + 1)
    return None, by_language


def _artifact(
    node: SpecNode, nodes: _Nodes, prefix: Path, recorded: str | None, extra: Mapping[str, Any]
) -> tuple[Artifact, list[SourceError]]:
    compiler, by_language = _compiler_of(node, nodes)
    deps = []
    for d in node.dependencies:
        target = nodes.get(d.ref)
        deps.append(
            Dependency(
                name=d.name,
                build_id=target.hash if target else d.ref,
                version=target.version if target else None,
                types=d.types,
                virtuals=d.virtuals,
            )
        )
    tree = read_tree(prefix)
    metadata: dict[str, Any] = {"spec_format": node.format, **extra}
    if node.namespace:
        metadata["namespace"] = node.namespace
    if by_language:
        metadata["compilers"] = dict(sorted(by_language.items()))
    if tree.aliases:
        metadata["aliases"] = dict(sorted(tree.aliases.items()))
    artifact = Artifact(
        name=node.name,
        version=node.version,
        build_id=node.hash,
        root=prefix,
        source="spack",
        compiler=compiler,
        platform=node.arch,
        dependencies=tuple(deps),
        files=tree.files,
        recorded_root=recorded,
        build_spec=node.build_spec,
        metadata=metadata,
    )
    return artifact, tree.errors


def _read_spec_file(prefix: Path) -> list[SpecNode]:
    path = prefix / SPEC_JSON
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: invalid JSON: {exc}") from None
    return parse_spec(doc, str(path))


def _own_node(nodes: list[SpecNode], prefix: Path) -> SpecNode:
    """The prefix's own node: the one whose hash ends the directory name, else the first."""
    for node in nodes:
        if prefix.name.endswith(f"-{node.hash}"):
            return node
    return nodes[0]


def _recorded_from_manifest(prefix: Path) -> str | None:
    """The install path recorded in ``install_manifest.json`` (its keys are absolute paths)."""
    try:
        doc = json.loads((prefix / MANIFEST_JSON).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, Mapping):
        return None
    for key in doc:
        parts = PurePosixPath(key).parts
        if prefix.name in parts:
            return str(PurePosixPath(*parts[: parts.index(prefix.name) + 1]))
    return None


def is_root(path: Path) -> bool:
    return (path / DB_INDEX).is_file()


def is_prefix(path: Path) -> bool:
    return (path / SPEC_JSON).is_file()


def find_prefixes(root: Path, max_depth: int = _MAX_DEPTH) -> list[Path]:
    """Every directory below ``root`` holding ``.spack/spec.json`` (not looking inside prefixes)."""
    found: list[Path] = []
    top = os.fspath(root)
    base_depth = top.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, _ in os.walk(top):
        if os.path.isfile(os.path.join(dirpath, SPEC_JSON)):
            found.append(Path(dirpath))
            dirnames[:] = []
            continue
        if dirpath.count(os.sep) - base_depth >= max_depth:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)


def _match_prefix(recorded: str, on_disk: Mapping[str, Path]) -> tuple[Path | None, str | None]:
    """Map a recorded prefix path onto a prefix found on disk by the longest common tail.

    Returns the prefix and the recorded install root (the part of ``recorded`` the tail hangs from).
    """
    parts = PurePosixPath(recorded).parts
    for i in range(1, len(parts)):
        rel = "/".join(parts[i:])
        if rel in on_disk:
            return on_disk[rel], str(PurePosixPath(*parts[:i]))
    return None, None


def load_root(root: Path, errors: list[SourceError]) -> list[Artifact]:
    """Every installed prefix of a Spack install tree (with or without its database)."""
    root = Path(root)
    records: dict[str, DbRecord] = {}
    if is_root(root):
        records, db_errors = read_database(root)
        errors.extend(db_errors)
    prefixes = find_prefixes(root)
    on_disk = {p.relative_to(root).as_posix(): p for p in prefixes}
    nodes = _Nodes()
    for rec in records.values():
        nodes.add(rec.node)
    recorded_for: dict[Path, str] = {}
    for h, rec in sorted(records.items()):
        if rec.node.external or not rec.installed or rec.path is None:
            continue
        prefix, _ = _match_prefix(rec.path, on_disk)
        if prefix is None:
            errors.append(
                SourceError(
                    f"{root / DB_INDEX}: installs[{h!r}].path {rec.path!r}: "
                    f"no such prefix under {root} (deleted, or not part of this tree)"
                )
            )
            continue
        recorded_for[prefix] = rec.path
    artifacts: list[Artifact] = []
    for prefix in prefixes:
        try:
            spec_nodes = _read_spec_file(prefix)
        except SourceError as exc:
            errors.append(exc)
            continue
        for node in spec_nodes:
            nodes.add(node)
        own = _own_node(spec_nodes, prefix)
        nodes.add(own, prefer=True)  # the prefix's own spec file is the authority on itself
        recorded = recorded_for.get(prefix) or _recorded_from_manifest(prefix)
        extra: dict[str, Any] = {"spack_root": str(root)}
        rec = records.get(own.hash)
        if rec is not None:
            extra["explicit"] = rec.explicit
        artifact, file_errors = _artifact(own, nodes, prefix, recorded, extra)
        errors.extend(file_errors)
        artifacts.append(artifact)
    return artifacts


def load_prefix(prefix: Path, errors: list[SourceError]) -> list[Artifact]:
    """One prefix on its own (its database, if any, found among its ancestors)."""
    prefix = Path(prefix)
    try:
        spec_nodes = _read_spec_file(prefix)
    except SourceError as exc:
        errors.append(exc)
        return []
    nodes = _Nodes()
    for node in spec_nodes:
        nodes.add(node)
    own = _own_node(spec_nodes, prefix)
    nodes.add(own, prefer=True)
    artifact, file_errors = _artifact(own, nodes, prefix, _recorded_from_manifest(prefix), {})
    errors.extend(file_errors)
    return [artifact]
