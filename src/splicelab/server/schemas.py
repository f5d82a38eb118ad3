"""Request-body shapes, for the OpenAPI document.

The write endpoints read their bodies themselves (spack's client posts JSON with a form content type,
and corpus ingest is too hot for a model per symbol); the checks in ``splicelab.store`` are the
authority. These models describe the same shapes so that ``/openapi.json`` and its readers (clients,
schemathesis) know them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SymbolDoc(_Open):
    name: str
    type: str = "NOTYPE"
    binding: str = "GLOBAL"
    visibility: str = "DEFAULT"
    size: int = 0
    section: str = "DEFINED"
    version: str | None = None
    default: bool = True
    library: str | None = None


class VersionDefinitionDoc(_Open):
    name: str
    base: bool = False
    weak: bool = False
    parents: list[str] = []


class VersionRequirementDoc(_Open):
    file: str
    versions: list[str] = []
    weak: list[str] = []


class CorpusDoc(_Open):
    """One ELF file's dynamic view (``splicelab.corpus/1``, docs/formats.md)."""

    schema_: Literal["splicelab.corpus/1"] = Field(alias="schema")
    path: str = Field(description="relative to the artifact root; no '..', not absolute")
    elf_class: int = 64
    byte_order: str = "little"
    machine: str = "EM_X86_64"
    osabi: str = "ELFOSABI_SYSV"
    elf_type: str = "ET_DYN"
    interpreter: str | None = None
    soname: str | None = None
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    flags: int = 0
    flags_1: int = 0
    size: int = 0
    version_definitions: list[VersionDefinitionDoc] = []
    version_requirements: list[VersionRequirementDoc] = []
    symbols: list[SymbolDoc] = []


class DependencyDoc(_Open):
    name: str
    build_id: str | None = None
    version: str | None = None
    types: list[str] = ["link"]
    virtuals: list[str] = []


class ArtifactDoc(_Open):
    """One build of one package (``splicelab.artifact/1``) with its files' corpora."""

    name: str
    version: str
    build_id: str
    root: str = ""
    source: str = "directory"
    compiler: str | None = None
    platform: str | None = None
    release: str | None = None
    dependencies: list[DependencyDoc] = []
    recorded_root: str | None = None
    build_spec: str | None = None
    metadata: dict[str, Any] = {}
    files: dict[str, CorpusDoc] = {}


class ArtifactRef(_Open):
    package: str
    version: str | None = None
    hash: str | None = None
    id: str | None = None


class BinaryRef(ArtifactRef):
    file: str


class ReasonDoc(_Open):
    kind: str
    symbol: str | None = None
    version: str | None = None
    library: str | None = None
    detail: str | None = None


class VerdictDoc(_Open):
    verdict: Literal["works", "breaks", "unknown"]
    reasons: list[ReasonDoc] = []


class PredictionEntry(_Open):
    """One splice of ``predictions.json`` with each predictor's verdict."""

    binary: BinaryRef
    dependency: str
    original: ArtifactRef
    replacement: ArtifactRef
    predictors: dict[str, VerdictDoc]


class OutcomeEntry(_Open):
    """One real splice of ``outcomes.json``."""

    class_: str = Field(alias="class", pattern=r"^[a-z0-9][a-z0-9-]{0,49}$")
    program: str | None = None
    program_release: str | None = None
    library: str | None = None
    library_release: str | None = None
    mode: str | None = None
    method: str | None = None
    message: str | None = None
    binary: BinaryRef | None = None
    dependency: str | None = None
    original: ArtifactRef | None = None
    replacement: ArtifactRef | None = None
    seconds: float | None = None


# --- ms1 ---------------------------------------------------------------------------------------------


class SpecUpload(_Open):
    """``POST /ms1/specs/new/``: a spec.json document (v1-v5) and the Spack version."""

    spec: dict[str, Any]
    spack_version: str


class BuildNew(_Open):
    """``POST /ms1/builds/new/``: the spec's hash and the build environment."""

    full_hash: str
    spack_version: str
    hostname: str
    platform: str
    kernel_version: str
    host_os: str
    host_target: str
    tags: str | list[str] | None = None
    spec: dict[str, Any] | None = Field(None, description="the spec document, to create the spec if missing")


class BuildUpdate(_Open):
    build_id: int
    status: Literal["NOTRUN", "STARTED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"]


class PhaseUpdate(_Open):
    build_id: int
    phase_name: str
    status: Literal["NOTRUN", "STARTED", "RUNNING", "SUCCESS", "ERROR", "FAILED", "CANCELLED"]
    output: str | None = None


class AnalysisResultDoc(_Open):
    name: str
    install_file: str
    value: str | None = None
    json_value: Any = None
    binary_value: str | None = Field(None, description="base64")


class AnalyzeUpload(_Open):
    """``POST /ms1/analyze/builds/``: analyzer name -> results (or install_files, config_args, …)."""

    build_id: int
    metadata: dict[str, Any]


MODELS: list[type[BaseModel]] = [
    CorpusDoc,
    ArtifactDoc,
    PredictionEntry,
    OutcomeEntry,
    SpecUpload,
    BuildNew,
    BuildUpdate,
    PhaseUpdate,
    AnalyzeUpload,
    AnalysisResultDoc,
]


def components() -> dict[str, Any]:
    """JSON schemas of :data:`MODELS` (and what they refer to), for ``components/schemas``."""
    _, top = models_json_schema(
        [(m, "validation") for m in MODELS], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that reads a JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


def list_or_one(name: str) -> dict[str, Any]:
    return {"oneOf": [{"type": "array", "items": ref(name)}, ref(name)]}
