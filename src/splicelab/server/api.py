"""splicelab's own API, ``/api/v1``: artifacts, corpora, predictions, outcomes; builds and specs to read.

Writes take a JSON array of documents (or one document; corpora also as JSON lines) in the shapes of
docs/formats.md, check all of them first (422 naming the field, nothing stored), then store them in
one transaction as upserts on natural keys: sending the same batch again changes nothing.
They reply ``{"message", "data", "code"}``.

Lists are pages: ``{"items", "count", "limit", "offset", "next"}`` where ``next`` is the URL of the
following page (or null); ``limit`` is at most 1000.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from splicelab.corpus import CorpusFormatError
from splicelab.server.body import items_body
from splicelab.server.deps import allow_read, get_db, require_user
from splicelab.server.errors import ApiError
from splicelab.server.params import NO_NUL, Filter, Name, RowId
from splicelab.server.schemas import json_body as body_doc
from splicelab.server.schemas import list_or_one
from splicelab.store import analysis, artifacts, builds, corpora, outcomes, predictions, specs
from splicelab.store.artifacts import ArtifactFormatError
from splicelab.store.models import Artifact, Build, BuildPhase, Corpus, Outcome, Prediction, Spec, User
from splicelab.store.outcomes import OutcomeFormatError
from splicelab.store.pages import Page, page
from splicelab.store.predictions import PredictionFormatError

router = APIRouter(prefix="/api/v1", tags=["api v1"])

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]
_FORMAT_ERRORS = (CorpusFormatError, ArtifactFormatError, PredictionFormatError, OutcomeFormatError)


def reply(code: int, message: str, data: Any) -> JSONResponse:
    return JSONResponse({"message": message, "data": data, "code": code}, status_code=code)


async def _prepare(items: Sequence[Any], prepare: Callable[[Any, str], T], what: str) -> list[T]:
    """Check every document (off the event loop); the first bad one is a 422 naming its field."""

    def run() -> list[T]:
        return [prepare(item, f"{what}[{i}]") for i, item in enumerate(items)]

    try:
        return await run_in_threadpool(run)
    except _FORMAT_ERRORS as exc:
        raise ApiError(422, str(exc)) from None


async def _write(request: Request, work: Callable[[Session], T]) -> T:
    return await run_in_threadpool(get_db(request).write, work)


def listing(request: Request, result: Page[Any], describe: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    following = None
    if result.has_next:
        following = str(
            request.url.include_query_params(offset=result.offset + result.limit, limit=result.limit)
        )
    return {
        "items": [describe(x) for x in result.items],
        "count": result.total,
        "limit": result.limit,
        "offset": result.offset,
        "next": following,
    }


# --- writes ------------------------------------------------------------------------------------------


@router.post(
    "/corpora",
    summary="Store corpora (bulk); each is kept once per content digest",
    openapi_extra=body_doc(list_or_one("CorpusDoc"), "a JSON array (or JSON lines) of splicelab.corpus/1"),
)
async def post_corpora(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    prepared = await _prepare(await items_body(request), corpora.prepare, "corpora")
    ids, created = await _write(request, lambda s: corpora.store(s, prepared))
    out = [{"digest": c.digest, "id": ids[c.digest], "path": c.path} for c in prepared]
    return reply(
        201 if created else 200, f"{len(ids)} corpora stored, {created} new", {"corpora": out, "new": created}
    )


@router.post(
    "/artifacts",
    summary="Store artifacts with their files' corpora",
    openapi_extra=body_doc(list_or_one("ArtifactDoc"), "Artifact.to_dict documents"),
)
async def post_artifacts(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    prepared = await _prepare(await items_body(request), artifacts.prepare, "artifacts")
    stored = await _write(request, lambda s: artifacts.store(s, prepared))
    created = any(a["created"] for a in stored)
    return reply(201 if created else 200, f"{len(stored)} artifacts stored", {"artifacts": stored})


@router.post(
    "/predictions",
    summary="Store predictions (entries of predictions.json)",
    openapi_extra=body_doc(list_or_one("PredictionEntry")),
)
async def post_predictions(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    groups = await _prepare(await items_body(request), predictions.rows, "predictions")
    rows = [r for g in groups for r in g]
    n = await _write(request, lambda s: predictions.store(s, rows))
    return reply(200, f"{n} predictions stored", {"stored": n, "entries": len(groups)})


@router.post(
    "/outcomes",
    summary="Store outcomes (entries of outcomes.json)",
    openapi_extra=body_doc(list_or_one("OutcomeEntry")),
)
async def post_outcomes(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    rows = await _prepare(await items_body(request), outcomes.row, "outcomes")
    n = await _write(request, lambda s: outcomes.store(s, rows))
    return reply(200, f"{n} outcomes stored", {"stored": n})


# --- reads -------------------------------------------------------------------------------------------


@router.get("/artifacts", summary="Artifacts (filter by package, version, build_id, source, release)")
def list_artifacts(
    request: Request,
    package: Filter = None,
    version: Filter = None,
    build_id: Filter = None,
    source: Filter = None,
    release: Filter = None,
    files: Literal["none", "digests", "full"] = "none",
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    filters = {
        "package": package,
        "version": version,
        "build_id": build_id,
        "source": source,
        "release": release,
    }
    with get_db(request).session() as session:
        result = page(session, artifacts.search(filters), limit, offset)
        described = _with_files(session, result.items, files)
        return listing(request, Page(described, result.total, result.limit, result.offset), lambda d: d)


def _with_files(session: Session, items: list[Artifact], files: str) -> list[dict[str, Any]]:
    if files == "none":
        return [artifacts.describe(a) for a in items]
    by_artifact = artifacts.files_of(session, [a.id for a in items])
    corpus_ids = {cid for f in by_artifact.values() for cid in f.values()}
    if files == "full":
        docs: dict[int, Any] = corpora.documents_by_id(session, corpus_ids)
    else:
        docs = dict(session.execute(select(Corpus.id, Corpus.digest).where(Corpus.id.in_(corpus_ids))).all())
    return [artifacts.describe(a, {p: docs[cid] for p, cid in by_artifact[a.id].items()}) for a in items]


@router.get("/artifacts/{artifact_id}", summary="One artifact, with its files' corpora (Artifact.to_dict)")
def get_artifact(
    artifact_id: RowId,
    request: Request,
    files: Literal["none", "digests", "full"] = "full",
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    with get_db(request).session() as session:
        artifact = session.get(Artifact, artifact_id)
        if artifact is None:
            raise ApiError(404, f"artifact {artifact_id}: not found")
        return _with_files(session, [artifact], files)[0]


@router.get("/corpora", summary="Corpora (summaries; filter by soname, path, elf_type, digest)")
def list_corpora(
    request: Request,
    soname: Filter = None,
    path: Filter = None,
    elf_type: Filter = None,
    digest: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    filters = {"soname": soname, "path": path, "elf_type": elf_type, "digest": digest}
    with get_db(request).session() as session:
        return listing(request, page(session, corpora.query(filters), limit, offset), corpora.summary)


@router.get("/corpora/{digest}", summary="One corpus document (splicelab.corpus/1) by its SHA-256")
def get_corpus(digest: Name, request: Request, _: User | None = Depends(allow_read)) -> Any:
    with get_db(request).session() as session:
        corpus = session.scalar(select(Corpus).where(Corpus.digest == digest))
        if corpus is None:
            raise ApiError(404, f"corpus {digest}: not found")
        return corpora.document(corpus)


@router.get("/predictions", summary="Predictions, one per splice and predictor")
def list_predictions(
    request: Request,
    package: Filter = None,
    version: Filter = None,
    binary: Filter = None,
    file: Filter = None,
    dependency: Filter = None,
    replacement: Filter = None,
    replacement_version: Filter = None,
    predictor: Filter = None,
    verdict: Literal["works", "breaks", "unknown"] | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    filters = {
        "package": package,
        "version": version,
        "binary": binary,
        "file": file,
        "dependency": dependency,
        "replacement": replacement,
        "replacement_version": replacement_version,
        "predictor": predictor,
        "verdict": verdict,
    }
    with get_db(request).session() as session:
        result: Page[Prediction] = page(session, predictions.search(filters), limit, offset)
        return listing(request, result, predictions.describe)


@router.get("/outcomes", summary="Outcomes of real splices")
def list_outcomes(
    request: Request,
    package: Filter = None,
    version: Filter = None,
    binary: Filter = None,
    program: Filter = None,
    library: Filter = None,
    dependency: Filter = None,
    replacement: Filter = None,
    outcome_class: Annotated[str | None, Query(alias="class", max_length=50, pattern=NO_NUL)] = None,
    mode: Filter = None,
    method: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    filters = {
        "package": package,
        "version": version,
        "binary": binary,
        "program": program,
        "library": library,
        "dependency": dependency,
        "replacement": replacement,
        "class": outcome_class,
        "mode": mode,
        "method": method,
    }
    with get_db(request).session() as session:
        result: Page[Outcome] = page(session, outcomes.search(filters), limit, offset)
        return listing(request, result, outcomes.describe)


@router.get("/builds", summary="Builds (filter by package, version, status, tag)")
def list_builds(
    request: Request,
    package: Filter = None,
    version: Filter = None,
    status: Filter = None,
    tag: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    with get_db(request).session() as session:
        result: Page[Build] = page(session, builds.search(package, version, status, tag), limit, offset)
        return listing(request, result, builds.describe)


@router.get("/builds/{build_id}", summary="One build, with its phases and analysis results")
def get_build(build_id: RowId, request: Request, _: User | None = Depends(allow_read)) -> dict[str, Any]:
    with get_db(request).session() as session:
        build = session.get(Build, build_id)
        if build is None:
            raise ApiError(404, f"build {build_id}: not found")
        phases = session.scalars(
            select(BuildPhase).where(BuildPhase.build_id == build.id).order_by(BuildPhase.id)
        )
        return {
            **builds.describe(build),
            "config_args": build.config_args,
            "environment_variables": build.envars,
            "phases": [builds.describe_phase(p, with_output=True) for p in phases],
            "results": analysis.results_of_build(session, build.id),
        }


@router.get("/specs", summary="Specs (filter by package, version, hash prefix)")
def list_specs(
    request: Request,
    package: Filter = None,
    version: Filter = None,
    hash: Filter = None,
    limit: Limit = 100,
    offset: Offset = 0,
    _: User | None = Depends(allow_read),
) -> dict[str, Any]:
    with get_db(request).session() as session:
        result: Page[Spec] = page(session, specs.search(package, version, hash), limit, offset)
        return listing(request, result, specs.describe)


@router.get("/specs/{spec_id}", summary="One spec")
def get_spec(spec_id: RowId, request: Request, _: User | None = Depends(allow_read)) -> dict[str, Any]:
    with get_db(request).session() as session:
        spec = session.get(Spec, spec_id)
        if spec is None:
            raise ApiError(404, f"spec {spec_id}: not found")
        return specs.describe(spec)
