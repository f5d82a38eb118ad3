"""Analysis results uploaded for a build (``POST /ms1/analyze/builds/``).

The metadata is keyed by analyzer, as spack's analyzers send it:

* ``install_files``: spack's install manifest ``{path: {mode, owner, group, type, hash}}`` (absolute
  paths: the part up to the ``<name>-<version>-<hash>`` directory is the build's install prefix);
* ``install_prefix`` (splicelab's clients): the absolute prefix the build was installed in, which
  RPATHs name; it becomes the artifact's ``recorded_root``;
* ``environment_variables``: ``{NAME: value}``; ``config_args``: a string;
* any other analyzer: a list of ``{"name", "install_file", "value" | "json_value" | "binary_value"}``.

A result whose value is a corpus (ours, ``splicelab.corpus/1``, or symbolator's JSON) is stored once
as a corpus row too, and the build then also appears as an artifact (source ``spack``) whose files are
those corpora, which is what ``/api/v1/artifacts`` and ``splicelab download`` hand to ``predict``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from splicelab.corpus import SCHEMA as CORPUS_SCHEMA
from splicelab.corpus import CorpusFormatError, read_symbolator
from splicelab.store import corpora as corpus_store
from splicelab.store import specs as spec_store
from splicelab.store.models import AnalysisResult, Artifact, ArtifactFile, Build, Corpus, InstallFile, utcnow
from splicelab.store.paths import UnsafePathError, check_absolute, install_prefix, strip_install_prefix
from splicelab.store.upsert import ids_by_key, upsert

# What splicelab's own clients send: analyzer "splicelab", result name "splicelab-corpus".
CORPUS_ANALYZER = "splicelab"
CORPUS_RESULT = "splicelab-corpus"
SYMBOLATOR_RESULT = "symbolator-json"


class AnalysisError(ValueError):
    """The metadata is malformed; the message names the field."""


@dataclass
class _Result:
    analyzer: str
    name: str
    install_file: str
    value: str | None = None
    json_value: Any = None
    binary_value: bytes | None = None
    corpus: corpus_store.PreparedCorpus | None = None


@dataclass
class Summary:
    install_files: int = 0
    results: int = 0
    corpora: int = 0
    new_corpora: int = 0
    artifact_id: int | None = None
    fields: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "install_files": self.install_files,
            "results": self.results,
            "corpora": self.corpora,
            "new_corpora": self.new_corpora,
            "artifact_id": self.artifact_id,
            "updated": self.fields,
        }


def _as_corpus(name: str, value: Any, install_file: str, where: str) -> corpus_store.PreparedCorpus | None:
    """The corpus a result carries, if it carries one."""
    if isinstance(value, dict) and value.get("schema") == CORPUS_SCHEMA:
        doc = dict(value)
        doc.setdefault("path", install_file)
        try:
            return corpus_store.prepare(doc, where)
        except CorpusFormatError as exc:
            raise AnalysisError(str(exc)) from None
    if name == SYMBOLATOR_RESULT and isinstance(value, dict | list):
        try:
            converted = read_symbolator(value)
        except CorpusFormatError as exc:
            raise AnalysisError(f"{where}: {exc}") from None
        if len(converted) != 1:
            return None
        doc = converted[0].to_dict()
        doc["path"] = install_file
        return corpus_store.prepare(doc, where)
    return None


def _parse_results(analyzer: str, results: Any, hashes: tuple[str, ...]) -> list[_Result]:
    where = f"metadata.{analyzer}"
    if not isinstance(results, list):
        raise AnalysisError(f"{where}: expected a list of results")
    out = []
    for i, r in enumerate(results):
        w = f"{where}[{i}]"
        if not isinstance(r, dict):
            raise AnalysisError(f"{w}: expected an object")
        name = r.get("name")
        if not isinstance(name, str) or not name or len(name) > 150:
            raise AnalysisError(f"{w}.name: expected a non-empty string (at most 150 characters)")
        install_file = r.get("install_file")
        if not isinstance(install_file, str):
            raise AnalysisError(f"{w}.install_file: expected a file name")
        path = strip_install_prefix(install_file, hashes, f"{w}.install_file")
        res = _Result(analyzer=analyzer, name=name, install_file=path)
        kinds = [k for k in ("value", "json_value", "binary_value") if k in r]
        if len(kinds) != 1:
            raise AnalysisError(f"{w}: expected exactly one of value, json_value, binary_value")
        kind = kinds[0]
        if kind == "value":
            if r["value"] is not None and not isinstance(r["value"], str):
                raise AnalysisError(f"{w}.value: expected a string")
            res.value = r["value"]
        elif kind == "binary_value":
            try:
                res.binary_value = base64.b64decode(r["binary_value"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise AnalysisError(f"{w}.binary_value: expected base64 text") from None
        else:
            value = r["json_value"]
            if isinstance(value, str | bytes):  # spack sends JSON text
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    raise AnalysisError(f"{w}.json_value: invalid JSON text: {exc}") from None
            res.corpus = _as_corpus(name, value, path, f"{w}.json_value")
            if not (isinstance(value, dict) and value.get("schema") == CORPUS_SCHEMA):
                res.json_value = value  # our own corpora are served from their corpus row
        out.append(res)
    return out


def _parse_manifest(manifest: Any, hashes: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(manifest, dict):
        raise AnalysisError("metadata.install_files: expected an object {path: attributes}")
    rows = []
    for name, attrs in manifest.items():
        w = f"metadata.install_files[{name!r}]"
        path = strip_install_prefix(name, hashes, w)
        if not isinstance(attrs, dict):
            raise AnalysisError(f"{w}: expected an object")
        row: dict[str, Any] = {"name": path, "ftype": str(attrs.get("type") or "")[:50], "hash": ""}
        for key in ("mode", "owner", "group"):
            v = attrs.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**31):
                raise AnalysisError(f"{w}.{key}: expected a non-negative 32-bit integer")
            row[key] = v
        h = attrs.get("hash")
        if h is not None:
            if not isinstance(h, str):
                raise AnalysisError(f"{w}.hash: expected a string")
            row["hash"] = h[:255]
        rows.append(row)
    return rows


def update_metadata(session: Session, build: Build, metadata: Any) -> Summary:
    if not isinstance(metadata, dict):
        raise AnalysisError("metadata: expected an object keyed by analyzer name")
    spec = build.spec
    hashes = tuple(h for h in (spec.full_hash, spec.hash, spec.build_hash) if h)
    summary = Summary()
    manifest: list[dict[str, Any]] = []
    results: list[_Result] = []
    for analyzer, value in metadata.items():
        if not isinstance(analyzer, str) or not analyzer or len(analyzer) > 150:
            raise AnalysisError("metadata: analyzer names must be non-empty strings (at most 150 characters)")
        try:
            if analyzer == "config_args":
                if value is not None and not isinstance(value, str):
                    raise AnalysisError("metadata.config_args: expected a string")
                build.config_args = value
                summary.fields.append("config_args")
            elif analyzer == "environment_variables":
                if not isinstance(value, dict) or not all(isinstance(v, str | None) for v in value.values()):
                    raise AnalysisError("metadata.environment_variables: expected an object of strings")
                build.envars = dict(value)
                summary.fields.append("environment_variables")
            elif analyzer == "install_files":
                manifest = _parse_manifest(value, hashes)
                prefixes = {install_prefix(name, hashes) for name in value}
                prefixes.discard(None)
                if len(prefixes) == 1 and not build.install_prefix:
                    build.install_prefix = str(prefixes.pop())
            elif analyzer == "install_prefix":
                build.install_prefix = check_absolute(value, "metadata.install_prefix")
                summary.fields.append("install_prefix")
            else:
                results.extend(_parse_results(analyzer, value, hashes))
        except UnsafePathError as exc:
            raise AnalysisError(str(exc)) from None
    build.updated_at = utcnow()

    # install files: from the manifest, and every file a result names
    files = {row["name"]: row for row in manifest}
    for r in results:
        files.setdefault(r.install_file, {"name": r.install_file, "ftype": "", "hash": ""})
    for row in files.values():
        row["build_id"] = build.id
        for key in ("mode", "owner", "group"):
            row.setdefault(key, None)
    if manifest:
        upsert(
            session,
            InstallFile,
            manifest,
            ["build_id", "name"],
            update=("ftype", "mode", "owner", "group", "hash"),
        )
    others = [row for name, row in files.items() if name not in {m["name"] for m in manifest}]
    if others:
        upsert(session, InstallFile, others, ["build_id", "name"])
    file_ids = ids_by_key(session, InstallFile, ["build_id", "name"], [(build.id, n) for n in files])
    summary.install_files = len(files)

    # corpora carried by results
    prepared = [r.corpus for r in results if r.corpus is not None]
    corpus_ids, summary.new_corpora = corpus_store.store(session, prepared)
    summary.corpora = len(corpus_ids)

    rows = [
        {
            "install_file_id": file_ids[(build.id, r.install_file)],
            "analyzer": r.analyzer,
            "name": r.name,
            "value": r.value,
            "json_value": r.json_value,
            "binary_value": r.binary_value,
            "corpus_id": corpus_ids[r.corpus.digest] if r.corpus else None,
            "updated_at": utcnow(),
        }
        for r in results
    ]
    if rows:
        upsert(
            session,
            AnalysisResult,
            rows,
            ["install_file_id", "analyzer", "name"],
            update=("value", "json_value", "binary_value", "corpus_id", "updated_at"),
        )
    summary.results = len(rows)
    if corpus_ids:
        summary.artifact_id = sync_artifact(session, build)
    return summary


def sync_artifact(session: Session, build: Build) -> int:
    """(Re)write the artifact that mirrors ``build``: one file per install file that has a corpus
    (ours preferred over one converted from symbolator's JSON)."""
    spec = build.spec
    deps = [
        {
            "name": d.dependency.name,
            "build_id": d.dependency.hash or d.dependency.full_hash,
            "version": d.dependency.version or None,
            "types": d.types or ["link"],
            "virtuals": d.virtuals,
        }
        for d in spec_store.link_dependencies(spec)
    ]
    key = {"name": spec.name, "version": spec.version, "build_id": spec.hash or spec.full_hash}
    values = {
        "source": "spack",
        "compiler": spec.compiler,
        "platform": "-".join(p for p in (spec.platform, spec.platform_os, spec.target) if p) or None,
        "release": None,
        "root": "",
        "recorded_root": build.install_prefix or None,
        "build_spec": spec.build_spec or None,
        "dependencies": deps,
        "extra": {"spack_build_id": build.id, "full_hash": spec.full_hash},
        "spack_build_id": build.id,
        "updated_at": utcnow(),
    }
    upsert(
        session,
        Artifact,
        [{**key, **values}],
        list(key),
        update=(
            "source",
            "compiler",
            "platform",
            "build_spec",
            "recorded_root",
            "dependencies",
            "extra",
            "spack_build_id",
            "updated_at",
        ),
    )
    artifact_id = ids_by_key(session, Artifact, list(key), [tuple(key.values())])[tuple(key.values())]
    rows = session.execute(
        select(InstallFile.name, AnalysisResult.corpus_id, AnalysisResult.name)
        .join(AnalysisResult, AnalysisResult.install_file_id == InstallFile.id)
        .where(InstallFile.build_id == build.id, AnalysisResult.corpus_id.is_not(None))
        .order_by(InstallFile.name, AnalysisResult.name == SYMBOLATOR_RESULT)
    )
    chosen: dict[str, int] = {}
    for name, corpus_id, _result in rows:
        chosen.setdefault(name, corpus_id)
    if chosen:
        upsert(
            session,
            ArtifactFile,
            [{"artifact_id": artifact_id, "path": p, "corpus_id": c} for p, c in chosen.items()],
            ["artifact_id", "path"],
            update=("corpus_id",),
        )
    return artifact_id


def results_of_spec(session: Session, spec_id: int, analyzer: str | None = None) -> list[dict[str, Any]]:
    """``/ms1/specs/<id>/attributes/[<analyzer>/]``: ``[{filename, id, analyzer, name}]``."""
    stmt = (
        select(AnalysisResult.id, AnalysisResult.analyzer, AnalysisResult.name, InstallFile.name)
        .join(InstallFile, AnalysisResult.install_file_id == InstallFile.id)
        .join(Build, InstallFile.build_id == Build.id)
        .where(Build.spec_id == spec_id)
        .order_by(AnalysisResult.id)
    )
    if analyzer:
        stmt = stmt.where(AnalysisResult.analyzer == analyzer)
    return [{"filename": f, "id": i, "analyzer": a, "name": n} for i, a, n, f in session.execute(stmt)]


def results_of_build(session: Session, build_id: int) -> list[dict[str, Any]]:
    stmt = (
        select(AnalysisResult.id, AnalysisResult.analyzer, AnalysisResult.name, InstallFile.name)
        .join(InstallFile, AnalysisResult.install_file_id == InstallFile.id)
        .where(InstallFile.build_id == build_id)
        .order_by(AnalysisResult.id)
    )
    return [{"filename": f, "id": i, "analyzer": a, "name": n} for i, a, n, f in session.execute(stmt)]


def corpus_results_of_builds(session: Session, build_ids: list[int]) -> list[dict[str, Any]]:
    """Every corpus-bearing result of ``build_ids`` (the splice contenders' libraries)."""
    if not build_ids:
        return []
    stmt = (
        select(
            AnalysisResult.id, AnalysisResult.analyzer, AnalysisResult.name, InstallFile.name, Build.spec_id
        )
        .join(InstallFile, AnalysisResult.install_file_id == InstallFile.id)
        .join(Build, InstallFile.build_id == Build.id)
        .where(InstallFile.build_id.in_(build_ids), AnalysisResult.corpus_id.is_not(None))
        .order_by(AnalysisResult.id)
    )
    return [
        {"filename": f, "id": i, "analyzer": a, "name": n, "spec_id": s}
        for i, a, n, f, s in session.execute(stmt)
    ]


def result_value(session: Session, result_id: int) -> tuple[str, Any] | None:
    """``("json", obj)``, ``("text", str)``, ``("binary", bytes)`` for ``attributes/<id>/download/``."""
    r = session.get(AnalysisResult, result_id)
    if r is None:
        return None
    if r.json_value is not None:
        return "json", r.json_value
    if r.corpus_id is not None:
        corpus = session.get(Corpus, r.corpus_id)
        if corpus is not None:
            return "json", corpus_store.document(corpus)
    if r.value is not None:
        return "text", r.value
    if r.binary_value is not None:
        return "binary", r.binary_value
    return "none", None


def spec_of_result(session: Session, result_id: int) -> int | None:
    return session.scalar(
        select(Build.spec_id)
        .join(InstallFile, InstallFile.build_id == Build.id)
        .join(AnalysisResult, AnalysisResult.install_file_id == InstallFile.id)
        .where(AnalysisResult.id == result_id)
    )
