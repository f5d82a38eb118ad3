"""Artifacts (``splicelab.artifact/1``) in the database, with their files' corpora.

An artifact is keyed by (name, version, build_id). Uploading it again updates its description and
adds or re-points files; files stored earlier are never dropped by a later, partial upload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from splicelab.artifact import SCHEMA
from splicelab.corpus import CorpusFormatError
from splicelab.store import corpora as corpus_store
from splicelab.store.models import Artifact, ArtifactFile, utcnow
from splicelab.store.paths import UnsafePathError, safe_relative_path
from splicelab.store.upsert import ids_by_key, upsert

KEY = ("name", "version", "build_id")
_OPTIONAL_STR = ("compiler", "platform", "release", "recorded_root", "build_spec")


class ArtifactFormatError(ValueError):
    """An artifact document is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class PreparedArtifact:
    key: tuple[str, str, str]
    values: dict[str, Any]
    files: dict[str, corpus_store.PreparedCorpus]

    @property
    def ident(self) -> str:
        return f"{self.key[0]}@{self.key[1]}/{self.key[2]}"


def check_component(value: Any, field: str) -> str:
    """A name, version or build id: it becomes a directory name on download."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ArtifactFormatError(f"{field}: expected a non-empty string")
    if len(value) > 255 or "/" in value or "\\" in value or "\x00" in value or value in (".", ".."):
        raise ArtifactFormatError(f"{field}: {value!r} cannot be used as a name (no '/', '..', NUL; ≤255)")
    return value


def _str_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ArtifactFormatError(f"{field}: expected a list of strings")
    return list(value)


def _dependencies(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ArtifactFormatError(f"{where}.dependencies: expected a list")
    out = []
    for i, d in enumerate(raw):
        w = f"{where}.dependencies[{i}]"
        if not isinstance(d, dict):
            raise ArtifactFormatError(f"{w}: expected an object")
        dep = {
            "name": check_component(d.get("name"), f"{w}.name"),
            "build_id": d.get("build_id"),
            "version": d.get("version"),
            "types": _str_list(d.get("types", ["link"]), f"{w}.types"),
            "virtuals": _str_list(d.get("virtuals", []), f"{w}.virtuals"),
        }
        for key in ("build_id", "version"):
            if dep[key] is not None and not isinstance(dep[key], str):
                raise ArtifactFormatError(f"{w}.{key}: expected a string or null")
        out.append(dep)
    return out


def prepare(doc: Any, where: str = "artifact") -> PreparedArtifact:
    if not isinstance(doc, dict):
        raise ArtifactFormatError(f"{where}: expected a JSON object")
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise ArtifactFormatError(f"{where}.schema: is {schema!r}, expected {SCHEMA!r}")
    key = (
        check_component(doc.get("name"), f"{where}.name"),
        check_component(doc.get("version"), f"{where}.version"),
        check_component(doc.get("build_id"), f"{where}.build_id"),
    )
    values: dict[str, Any] = {}
    for name in _OPTIONAL_STR:
        v = doc.get(name)
        if v is not None and not isinstance(v, str):
            raise ArtifactFormatError(f"{where}.{name}: expected a string or null")
        values[name] = v
    source = doc.get("source", "directory")
    if not isinstance(source, str) or not source or len(source) > 50:
        raise ArtifactFormatError(f"{where}.source: expected a short string")
    values["source"] = source
    root = doc.get("root", "")
    if not isinstance(root, str):
        raise ArtifactFormatError(f"{where}.root: expected a string")
    values["root"] = root
    values["dependencies"] = _dependencies(doc.get("dependencies"), where)
    meta = doc.get("metadata", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArtifactFormatError(f"{where}.metadata: expected an object")
    values["extra"] = meta
    raw_files = doc.get("files", {})
    if raw_files is None:
        raw_files = {}
    if not isinstance(raw_files, dict):
        raise ArtifactFormatError(f"{where}.files: expected an object {{path: corpus}}")
    files: dict[str, corpus_store.PreparedCorpus] = {}
    for path, corpus in raw_files.items():
        w = f"{where}.files[{path!r}]"
        try:
            rel = safe_relative_path(path, w)
            if isinstance(corpus, dict):  # a file's corpus path is its path in the artifact
                corpus = {**corpus, "path": rel}
            files[rel] = corpus_store.prepare(corpus, w)
        except (UnsafePathError, CorpusFormatError) as exc:
            raise ArtifactFormatError(str(exc)) from None
    return PreparedArtifact(key=key, values=values, files=files)


def store(session: Session, prepared: Sequence[PreparedArtifact]) -> list[dict[str, Any]]:
    """Upsert the artifacts, their corpora and files; one summary per artifact, in input order."""
    all_corpora = [c for a in prepared for c in a.files.values()]
    corpus_ids, _new = corpus_store.store(session, all_corpora)
    keys = [a.key for a in prepared]
    existed = ids_by_key(session, Artifact, KEY, keys)
    now = utcnow()
    rows = [{**dict(zip(KEY, a.key, strict=True)), **a.values, "updated_at": now} for a in prepared]
    update = [k for k in rows[0] if k not in KEY] if rows else []
    upsert(session, Artifact, rows, KEY, update=update)
    ids = ids_by_key(session, Artifact, KEY, keys)
    file_rows = [
        {"artifact_id": ids[a.key], "path": p, "corpus_id": corpus_ids[c.digest]}
        for a in prepared
        for p, c in a.files.items()
    ]
    if file_rows:
        upsert(session, ArtifactFile, file_rows, ["artifact_id", "path"], update=("corpus_id",))
    return [
        {"id": ids[a.key], "artifact": a.ident, "created": a.key not in existed, "files": len(a.files)}
        for a in prepared
    ]


def files_of(session: Session, artifact_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """``{artifact id: {path: corpus id}}``."""
    out: dict[int, dict[str, int]] = {i: {} for i in artifact_ids}
    if not artifact_ids:
        return out
    stmt = (
        select(ArtifactFile.artifact_id, ArtifactFile.path, ArtifactFile.corpus_id)
        .where(ArtifactFile.artifact_id.in_(list(artifact_ids)))
        .order_by(ArtifactFile.artifact_id, ArtifactFile.path)
    )
    for aid, path, cid in session.execute(stmt):
        out[aid][path] = cid
    return out


def describe(artifact: Artifact, files: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``Artifact.to_dict`` shape (plus the row ``id``); ``files`` maps path to corpus (or digest)."""
    d: dict[str, Any] = {
        "schema": SCHEMA,
        "id": artifact.id,
        "name": artifact.name,
        "version": artifact.version,
        "build_id": artifact.build_id,
        "root": artifact.root,
        "source": artifact.source,
        "compiler": artifact.compiler,
        "platform": artifact.platform,
        "release": artifact.release,
        "dependencies": artifact.dependencies,
        "recorded_root": artifact.recorded_root,
        "build_spec": artifact.build_spec,
        "metadata": artifact.extra,
    }
    if files is not None:
        d["files"] = dict(files)
    return d


def search(filters: Mapping[str, str | None]) -> Select[tuple[Artifact]]:
    stmt = select(Artifact)
    for column in ("name", "version", "build_id", "source", "release", "compiler"):
        value = filters.get(column)
        if value:
            stmt = stmt.where(getattr(Artifact, column) == value)
    if filters.get("package"):
        stmt = stmt.where(Artifact.name == filters["package"])
    return stmt.order_by(Artifact.id)
