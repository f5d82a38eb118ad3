"""Artifacts from plain directories: one build per directory, described by a small metadata file.

The directory holds the build's files in any layout (``bin/``, ``lib/``, ...) and ``splicelab.toml`` (or
``splicelab.json``, same fields) at its top::

    name = "zlib"
    version = "1.3.1"
    build_id = "gcc12"              # optional, default: the directory's name
    compiler = "gcc@12.2.0"         # optional
    platform = "linux-x86_64"       # optional
    release = "bookworm"            # optional
    recorded_root = "/usr"          # optional: where the files were installed, if they moved
    dependencies = ["glibc@2.36", { name = "libpng", version = "1.6.39", build_id = "abc", types = ["link"] }]

    [metadata]                      # optional, free-form, copied into the artifact
    origin = "built by hand"

See docs/sources.md.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact, Dependency
from splicelab.sources.errors import SourceError
from splicelab.sources.files import read_tree

METADATA_FILES = ("splicelab.toml", "splicelab.json")
_OPTIONAL_STRINGS = ("compiler", "platform", "release", "recorded_root")


def metadata_file(path: Path) -> Path | None:
    """The metadata file of the artifact directory ``path``, or None when it is not one."""
    for name in METADATA_FILES:
        candidate = path / name
        if candidate.is_file():
            return candidate
    return None


def _read(meta: Path) -> Mapping[str, Any]:
    try:
        text = meta.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{meta}: cannot read: {exc}") from None
    try:
        doc = tomllib.loads(text) if meta.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{meta}: invalid {meta.suffix[1:].upper()}: {exc}") from None
    if not isinstance(doc, Mapping):
        raise SourceError(f"{meta}: expected a table/object at the top level")
    return doc


def _string(doc: Mapping[str, Any], key: str, meta: Path, *, required: bool) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise SourceError(f"{meta}: missing field {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value) == "":
        raise SourceError(f"{meta}: field {key!r} must be a non-empty string, got {value!r}")
    return str(value)


def _dependency(entry: Any, where: str) -> Dependency:
    if isinstance(entry, str):
        name, _, version = entry.partition("@")
        if not name:
            raise SourceError(f"{where}: empty dependency name")
        return Dependency(name=name, version=version or None)
    if not isinstance(entry, Mapping):
        raise SourceError(f"{where}: expected a string 'name[@version]' or a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise SourceError(f"{where}: missing field 'name'")
    for key in ("types", "virtuals"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourceError(f"{where}: field {key!r} must be a list of strings")
    build_id, version = entry.get("build_id"), entry.get("version")
    return Dependency(
        name=name,
        build_id=None if build_id is None else str(build_id),
        version=None if version is None else str(version),
        types=tuple(entry.get("types", ["link"])),
        virtuals=tuple(entry.get("virtuals", [])),
    )


def load_directory(path: Path, errors: list[SourceError]) -> list[Artifact]:
    """The artifact in directory ``path``; problems go to ``errors`` (nothing is returned if fatal)."""
    path = Path(path)
    meta = metadata_file(path)
    if meta is None:
        errors.append(SourceError(f"{path}: no {' or '.join(METADATA_FILES)} found"))
        return []
    try:
        doc = _read(meta)
        name = _string(doc, "name", meta, required=True)
        version = _string(doc, "version", meta, required=True)
        build_id = _string(doc, "build_id", meta, required=False) or path.resolve().name
        strings = {key: _string(doc, key, meta, required=False) for key in _OPTIONAL_STRINGS}
        raw_deps = doc.get("dependencies", [])
        if not isinstance(raw_deps, list):
            raise SourceError(f"{meta}: field 'dependencies' must be a list")
        deps = tuple(_dependency(d, f"{meta}: dependencies[{i}]") for i, d in enumerate(raw_deps))
        extra = doc.get("metadata", {})
        if not isinstance(extra, Mapping):
            raise SourceError(f"{meta}: field 'metadata' must be a table/object")
    except SourceError as exc:
        errors.append(exc)
        return []
    assert name is not None and version is not None  # required above
    tree = read_tree(path, skip_dirs=())
    errors.extend(tree.errors)
    metadata = dict(extra)
    if tree.aliases:
        metadata["aliases"] = dict(sorted(tree.aliases.items()))
    return [
        Artifact(
            name=name,
            version=version,
            build_id=build_id,
            root=path,
            source="directory",
            compiler=strings["compiler"],
            platform=strings["platform"],
            release=strings["release"],
            dependencies=deps,
            files=tree.files,
            recorded_root=strings["recorded_root"],
            metadata=metadata,
        )
    ]
