"""The spack-monitor API (``/ms1``), so that spack's monitor client (spack 0.16/0.17) and the old
``spackmoncli`` scripts work against splicelab unchanged.

Writes reply ``{"message", "data", "code"}`` (``code`` repeats the HTTP status: 201 when something
was created, 200 when it existed already; a retried request therefore gets 200 and changes nothing).
Reads reply what spack-monitor replied: plain lists, and the raw value for an attribute download.
Bad input is a 400 whose message names the field, as in spack-monitor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from splicelab import __version__
from splicelab.server.body import json_body, require_fields
from splicelab.server.deps import allow_read, get_db, require_user
from splicelab.server.errors import ApiError
from splicelab.server.params import Name, RowId
from splicelab.server.schemas import json_body as body_doc
from splicelab.server.schemas import ref
from splicelab.store import analysis, builds, specs, splices
from splicelab.store.analysis import AnalysisError
from splicelab.store.builds import ENVIRONMENT_FIELDS, BuildError
from splicelab.store.models import Spec, User
from splicelab.store.paths import UnsafePathError
from splicelab.store.specjson import SpecFormatError, SpecNode, parse_spec

router = APIRouter(prefix="/ms1", tags=["ms1 (spack monitor)"])

T = TypeVar("T")


def reply(code: int, message: str, data: Any) -> JSONResponse:
    return JSONResponse({"message": message, "data": data, "code": code}, status_code=code)


async def write(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction (in a worker thread); store errors become 400/404."""
    try:
        return await run_in_threadpool(get_db(request).write, work)
    except BuildError as exc:
        raise ApiError(exc.code, str(exc)) from None
    except (AnalysisError, SpecFormatError, UnsafePathError) as exc:
        raise ApiError(400, str(exc)) from None


def _nodes(doc: Any) -> list[SpecNode]:
    try:
        return parse_spec(doc)
    except SpecFormatError as exc:
        raise ApiError(400, str(exc)) from None


@router.get("/", summary="Service information")
def service_info() -> dict[str, Any]:
    return {
        "id": "spackmon",
        "status": "running",
        "name": "splicelab monitor (spack-monitor compatible)",
        "description": "Builds, analyses and splice predictions; speaks the spack monitor API.",
        "organization": {"name": "splicelab", "url": ""},
        "documentationUrl": "/docs",
        "version": __version__,
        "auth_instructions_url": "",
        "environment": "splicelab",
    }


@router.post(
    "/specs/new/",
    summary="Upload a spec (spec.json v1-v5); its dependencies become specs too",
    openapi_extra=body_doc(ref("SpecUpload")),
)
async def new_spec(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    data = require_fields(await json_body(request), ("spec", "spack_version"))
    if not isinstance(data["spack_version"], str):
        raise ApiError(400, "spack_version: expected a string")
    nodes = _nodes(data["spec"])

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        root, created = specs.import_nodes(session, nodes, data["spack_version"])
        return specs.ids_summary(root), created

    summary, created = await write(request, work)
    return reply(201 if created else 200, "success", {"spec": summary, "created": created})


@router.post(
    "/builds/new/",
    summary="Get or create the build of a spec in a build environment",
    openapi_extra=body_doc(ref("BuildNew")),
)
async def new_build(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "body: expected a JSON object")
    missing = [f for f in ("full_hash", *ENVIRONMENT_FIELDS) if not data.get(f)]
    if missing:
        raise ApiError(400, f"Missing required build environment data: {', '.join(missing)}")
    for f in ("full_hash", *ENVIRONMENT_FIELDS):
        if not isinstance(data[f], str) or len(data[f]) > 255:
            raise ApiError(400, f"{f}: expected a string (at most 255 characters)")
    tags = _tags(data.get("tags"))
    nodes = _nodes(data["spec"]) if data.get("spec") else None
    spack_version = data.get("spack_version") if isinstance(data.get("spack_version"), str) else ""
    user_id = user.id

    def work(session: Session) -> tuple[dict[str, Any], bool, bool]:
        spec = specs.find_by_hash(session, data["full_hash"])
        if spec is None and nodes:
            root, _ = specs.import_nodes(session, nodes, spack_version)
            spec = (
                root
                if data["full_hash"] in (root.full_hash, root.hash)
                else specs.find_by_hash(session, data["full_hash"])
            )
        if spec is None:
            raise BuildError(
                f"The spec with full hash {data['full_hash']} and spack version {spack_version} "
                "does not exist.",
                400,
            )
        build, created, env_created = builds.get_build(session, spec, data, user_id, tags)
        return builds.describe(build), created, env_created

    build, created, env_created = await write(request, work)
    data_out = {"build_created": created, "build_environment_created": env_created, "build": build}
    return reply(201 if created else 200, "Build get or create was successful.", data_out)


def _tags(value: Any) -> list[str]:
    try:
        return builds.parse_tags(value)
    except BuildError as exc:
        raise ApiError(400, str(exc)) from None


@router.post(
    "/builds/update/",
    summary="Set a build's status (FAILED cancels the unfinished builds of its dependents)",
    openapi_extra=body_doc(ref("BuildUpdate")),
)
async def update_build(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict) or data.get("build_id") in (None, ""):
        raise ApiError(400, "Missing required build id.")
    status = data.get("status")
    if not isinstance(status, str):
        raise ApiError(400, "status: expected a string")

    def work(session: Session) -> tuple[dict[str, Any], list[int]]:
        build = builds.load(session, data["build_id"])
        cancelled = builds.set_status(session, build, status)
        return builds.describe(build), cancelled

    build, cancelled = await write(request, work)
    return reply(200, "Status updated", {"build": build, "cancelled": cancelled})


@router.post(
    "/builds/phases/update/",
    summary="Record a build phase's status and output",
    openapi_extra=body_doc(ref("PhaseUpdate")),
)
async def update_phase(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict) or data.get("build_id") in (None, ""):
        raise ApiError(400, "Missing required build_id.")
    if not data.get("phase_name") or not data.get("status"):
        raise ApiError(400, "phase_name, and status are required.")

    def work(session: Session) -> dict[str, Any]:
        build = builds.load(session, data["build_id"])
        phase = builds.set_phase(session, build, data["phase_name"], data["status"], data.get("output"))
        return builds.describe_phase(phase)

    phase = await write(request, work)
    return reply(200, f"Phase {data['phase_name']} was successfully updated.", {"build_phase": phase})


@router.post(
    "/analyze/builds/",
    summary="Upload analysis results for a build's install files",
    openapi_extra=body_doc(ref("AnalyzeUpload")),
)
async def analyze_build(request: Request, user: User = Depends(require_user)) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict) or data.get("build_id") in (None, ""):
        raise ApiError(400, "Missing required build_id.")
    metadata = data.get("metadata", {})

    def work(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        build = builds.load(session, data["build_id"])
        summary = analysis.update_metadata(session, build, metadata)
        return builds.describe(build), summary.to_dict()

    build, summary = await write(request, work)
    return reply(200, "Metadata updated", {"build": build, "analysis": summary})


# --- reads -------------------------------------------------------------------------------------------


def _spec(session: Session, spec_id: int) -> Spec:
    spec = session.get(Spec, spec_id)
    if spec is None:
        raise ApiError(404, f"spec {spec_id}: not found")
    return spec


@router.get("/specs/name/{name}/", summary="Every spec of a package")
def specs_by_name(name: Name, request: Request, _: User | None = Depends(allow_read)) -> list[dict[str, Any]]:
    with get_db(request).session() as session:
        found = specs.by_name(session, name)
        builds_of = specs.builds_of(session, [s.id for s in found])
        return [specs.describe(s, builds_of[s.id]) for s in found]


@router.get("/specs/{spec_id}/attributes/", summary="A spec's analysis results (ids, files, analyzers)")
def spec_attributes(
    spec_id: RowId, request: Request, _: User | None = Depends(allow_read)
) -> list[dict[str, Any]]:
    with get_db(request).session() as session:
        return analysis.results_of_spec(session, spec_id)


@router.get("/specs/{spec_id}/attributes/{analyzer}/", summary="A spec's results of one analyzer")
def spec_attributes_of(
    spec_id: RowId, analyzer: Name, request: Request, _: User | None = Depends(allow_read)
) -> list[dict[str, Any]]:
    with get_db(request).session() as session:
        return analysis.results_of_spec(session, spec_id, analyzer)


@router.get("/attributes/{attr_id}/download/", summary="The value of one analysis result")
def download_attribute(attr_id: RowId, request: Request, _: User | None = Depends(allow_read)) -> Response:
    with get_db(request).session() as session:
        found = analysis.result_value(session, attr_id)
    if found is None:
        raise ApiError(404, f"attribute {attr_id}: not found")
    kind, value = found
    if kind == "binary":
        return Response(value, media_type="application/octet-stream")
    if kind == "none":
        raise ApiError(404, "This attribute does not have an associated value.")
    return JSONResponse(value)


@router.get(
    "/specs/{spec_id}/splices/contenders/",
    summary="Corpus results of comparable builds of the spec's package (libraries to splice in)",
)
def spec_splice_contenders(
    spec_id: RowId, request: Request, _: User | None = Depends(allow_read)
) -> list[dict[str, Any]]:
    with get_db(request).session() as session:
        spec = _spec(session, spec_id)
        try:
            return splices.spec_contenders(session, spec)
        except splices.NoBuildError:
            raise ApiError(400, "We don't have any builds for that spec.") from None


@router.get(
    "/attributes/{attr_id}/splice/contenders/",
    summary="Dependency specs of comparable builds of the result's spec (what could be spliced)",
)
def attribute_splice_contenders(
    attr_id: RowId, request: Request, _: User | None = Depends(allow_read)
) -> list[dict[str, Any]]:
    with get_db(request).session() as session:
        spec_id = analysis.spec_of_result(session, attr_id)
        if spec_id is None:
            raise ApiError(404, f"attribute {attr_id}: not found")
        spec = _spec(session, spec_id)
        try:
            return [specs.describe(s) for s in splices.result_contenders(session, spec)]
        except splices.NoBuildError:
            raise ApiError(400, "We don't have any builds for that spec.") from None
