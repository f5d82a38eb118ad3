"""Sources of artifacts: what a path given on the command line turns into.

``load_artifacts(paths)`` looks at each path and reads it as

- a Spack install root (``.spack-db/index.json`` inside, or prefixes with ``.spack/spec.json`` below),
- a single Spack prefix (``.spack/spec.json`` inside),
- an artifact directory (``splicelab.toml`` / ``splicelab.json`` inside), or a folder of them,
- an artifacts JSON file (a list of ``Artifact.to_dict`` objects, or ``{"artifacts": [...]}``).

Bad input never stops the whole load: each problem becomes a :class:`SourceError` naming the file and
field, appended to ``errors`` (or logged when no list is given), and the other paths still load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from splicelab.artifact import Artifact
from splicelab.corpus import CorpusFormatError
from splicelab.sources import directory, spack
from splicelab.sources.errors import SourceError

__all__ = ["SourceError", "load_artifacts", "read_artifacts_json", "write_artifacts_json"]

log = logging.getLogger(__name__)

# Artifact directories are looked for this far below a folder that is not one itself.
_DIRECTORY_DEPTH = 2


def read_artifacts_json(path: Path, errors: list[SourceError]) -> list[Artifact]:
    """Artifacts from a JSON file written by :func:`write_artifacts_json` (or a bare list of them)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(SourceError(f"{path}: cannot read: {exc}"))
        return []
    except json.JSONDecodeError as exc:
        errors.append(SourceError(f"{path}: invalid JSON: {exc}"))
        return []
    if isinstance(doc, Mapping):
        doc = doc.get("artifacts", [doc] if "build_id" in doc else None)
    if not isinstance(doc, list):
        errors.append(SourceError(f"{path}: expected a list of artifacts or an object with 'artifacts'"))
        return []
    out = []
    for i, entry in enumerate(doc):
        if not isinstance(entry, Mapping):
            errors.append(SourceError(f"{path}: artifacts[{i}]: expected an object"))
            continue
        try:
            out.append(Artifact.from_dict(entry))
        except (ValueError, CorpusFormatError, KeyError, TypeError) as exc:
            errors.append(SourceError(f"{path}: artifacts[{i}]: {exc}"))
    return out


def write_artifacts_json(artifacts: Iterable[Artifact], path: Path, *, with_files: bool = True) -> None:
    doc = {"artifacts": [a.to_dict(with_files=with_files) for a in artifacts]}
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")


def _artifact_dirs(folder: Path, depth: int) -> list[Path]:
    found = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if directory.metadata_file(child) is not None:
            found.append(child)
        elif depth > 1:
            found.extend(_artifact_dirs(child, depth - 1))
    return found


def _load_path(path: Path, errors: list[SourceError]) -> list[Artifact]:
    if not path.exists():
        errors.append(SourceError(f"{path}: no such file or directory"))
        return []
    if path.is_file():
        return read_artifacts_json(path, errors)
    if spack.is_root(path):
        return spack.load_root(path, errors)
    if spack.is_prefix(path):
        return spack.load_prefix(path, errors)
    if directory.metadata_file(path) is not None:
        return directory.load_directory(path, errors)
    # A folder of prefixes without a database, or of artifact directories (or both).
    artifacts: list[Artifact] = []
    if spack.find_prefixes(path):
        artifacts.extend(spack.load_root(path, errors))
    for child in _artifact_dirs(path, _DIRECTORY_DEPTH):
        artifacts.extend(directory.load_directory(child, errors))
    if not artifacts:
        errors.append(
            SourceError(
                f"{path}: not a Spack install tree or prefix, nor an artifact directory "
                f"(no .spack-db/index.json, .spack/spec.json or {' / '.join(directory.METADATA_FILES)})"
            )
        )
    return artifacts


def load_artifacts(paths: Iterable[str | Path], errors: list[SourceError] | None = None) -> list[Artifact]:
    """Every artifact found at ``paths``, in the order given, each build once (first occurrence wins)."""
    sink: list[SourceError] = [] if errors is None else errors
    seen: set[tuple[str, str, str, str]] = set()
    out: list[Artifact] = []
    for p in paths:
        for artifact in _load_path(Path(p), sink):
            key = (artifact.source, artifact.name, artifact.version, artifact.build_id)
            if key not in seen:
                seen.add(key)
                out.append(artifact)
    if errors is None:
        for err in sink:
            log.warning("%s", err)
    return out
