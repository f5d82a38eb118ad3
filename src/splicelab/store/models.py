"""The monitor's tables (SQLAlchemy 2 declarative models).

Two families live side by side:

* the spack-monitor family (``ms1``): build environments, specs and their dependencies, builds with
  tags and phases, install files and the analysis results attached to them;
* splicelab's own family (``/api/v1``): artifacts and their files, corpora (one row per distinct
  corpus document, shared by content digest), predictions and outcomes.

Every table that a client writes has a natural unique key, so that a client that retries a request
(after a dropped connection, a timeout, a server restart) updates the row it already wrote instead of
adding a second one. Columns that take part in a unique key are NOT NULL (SQL treats NULLs as
distinct, which would defeat the key); "absent" is stored as ``""`` there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names are explicit so that migrations are portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

BUILD_STATUSES = ("NOTRUN", "STARTED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED")
PHASE_STATUSES = ("NOTRUN", "STARTED", "RUNNING", "SUCCESS", "ERROR", "FAILED", "CANCELLED")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class Setting(Base):
    """Server-wide values kept in the database (the JWT signing secret)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """An account that may write. Only a SHA-256 of its token is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- spack-monitor family ---------------------------------------------------------------------------


class BuildEnvironment(Base):
    __tablename__ = "build_environments"
    __table_args__ = (UniqueConstraint("hostname", "platform", "kernel_version", "host_os", "host_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(100))
    kernel_version: Mapped[str] = mapped_column(String(255))
    host_os: Mapped[str] = mapped_column(String(100))
    host_target: Mapped[str] = mapped_column(String(100))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hostname": self.hostname,
            "platform": self.platform,
            "kernel_version": self.kernel_version,
            "host_os": self.host_os,
            "host_target": self.host_target,
        }


class Spec(Base):
    """One concrete Spack spec (one node of a spec.json), identified by its hash.

    ``full_hash`` is the identifying hash: the v2 ``full_hash`` when the node has one, otherwise the
    DAG ``hash`` (spec.json v3+ dropped ``full_hash``). Dependency nodes named only by their hash in a
    parent's spec.json are created as stubs (``version`` empty) and filled in when their own node
    arrives.
    """

    __tablename__ = "specs"
    __table_args__ = (Index("ix_specs_name_version", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_hash: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255), default="")
    hash: Mapped[str] = mapped_column(String(100), default="")
    build_hash: Mapped[str] = mapped_column(String(100), default="")
    package_hash: Mapped[str] = mapped_column(String(255), default="")
    spack_version: Mapped[str] = mapped_column(String(100), default="")
    namespace: Mapped[str] = mapped_column(String(255), default="")
    platform: Mapped[str] = mapped_column(String(100), default="")
    platform_os: Mapped[str] = mapped_column(String(100), default="")
    target: Mapped[str] = mapped_column(String(100), default="")
    compiler_name: Mapped[str] = mapped_column(String(100), default="")
    compiler_version: Mapped[str] = mapped_column(String(100), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    build_spec: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    dependencies: Mapped[list[SpecDependency]] = relationship(
        foreign_keys="SpecDependency.spec_id", back_populates="spec", lazy="selectin"
    )

    @property
    def compiler(self) -> str | None:
        if not self.compiler_name:
            return None
        return (
            f"{self.compiler_name}@{self.compiler_version}" if self.compiler_version else self.compiler_name
        )


class SpecDependency(Base):
    __tablename__ = "spec_dependencies"
    __table_args__ = (UniqueConstraint("spec_id", "dependency_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("specs.id", ondelete="CASCADE"), index=True)
    dependency_id: Mapped[int] = mapped_column(ForeignKey("specs.id", ondelete="CASCADE"), index=True)
    types: Mapped[list[Any]] = mapped_column(default=list)
    virtuals: Mapped[list[Any]] = mapped_column(default=list)

    spec: Mapped[Spec] = relationship(foreign_keys=[spec_id], back_populates="dependencies")
    dependency: Mapped[Spec] = relationship(foreign_keys=[dependency_id], lazy="joined")


class Build(Base):
    """One build of a spec in a build environment."""

    __tablename__ = "builds"
    __table_args__ = (UniqueConstraint("spec_id", "environment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("specs.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("build_environments.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="NOTRUN")
    config_args: Mapped[str | None] = mapped_column(Text, nullable=True)
    install_prefix: Mapped[str] = mapped_column(String(1000), default="")
    envars: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    spec: Mapped[Spec] = relationship(lazy="joined")
    environment: Mapped[BuildEnvironment] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(lazy="joined")
    tags: Mapped[list[BuildTag]] = relationship(lazy="selectin", order_by="BuildTag.tag")
    phases: Mapped[list[BuildPhase]] = relationship(lazy="select", order_by="BuildPhase.id")


class BuildTag(Base):
    __tablename__ = "build_tags"

    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class BuildPhase(Base):
    __tablename__ = "build_phases"
    __table_args__ = (UniqueConstraint("build_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class InstallFile(Base):
    """A file a build installed, by its path relative to the install prefix."""

    __tablename__ = "install_files"
    __table_args__ = (UniqueConstraint("build_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(1000))
    ftype: Mapped[str] = mapped_column(String(50), default="")
    mode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner: Mapped[int | None] = mapped_column(Integer, nullable=True)
    group: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hash: Mapped[str] = mapped_column(String(255), default="")

    build: Mapped[Build] = relationship(lazy="joined")


class AnalysisResult(Base):
    """One analyzer's result for one install file (spack-monitor's ``Attribute``).

    A result that is a corpus (``splicelab.corpus/1`` or symbolator's JSON) is also kept as a
    :class:`Corpus` row; ``corpus_id`` points to it (and ``json_value`` stays empty for our own
    corpora, which are served from the corpus row).
    """

    __tablename__ = "analysis_results"
    __table_args__ = (UniqueConstraint("install_file_id", "analyzer", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    install_file_id: Mapped[int] = mapped_column(
        ForeignKey("install_files.id", ondelete="CASCADE"), index=True
    )
    analyzer: Mapped[str] = mapped_column(String(150), index=True)
    name: Mapped[str] = mapped_column(String(150))
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    json_value: Mapped[Any | None] = mapped_column(NullableJSON, nullable=True)
    binary_value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    corpus_id: Mapped[int | None] = mapped_column(ForeignKey("corpora.id"), nullable=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    install_file: Mapped[InstallFile] = relationship(lazy="joined")


# --- splicelab family -------------------------------------------------------------------------------


class Corpus(Base):
    """One distinct corpus document (``splicelab.corpus/1``), stored once per content digest.

    ``data`` is the document's canonical JSON text (sorted keys, no spaces): the digest is its SHA-256.
    """

    __tablename__ = "corpora"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    soname: Mapped[str] = mapped_column(String(255), default="", index=True)
    elf_type: Mapped[str] = mapped_column(String(20), default="")
    machine: Mapped[str] = mapped_column(String(50), default="")
    symbols: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Artifact(Base):
    """One build of one package as splicelab sees it (``splicelab.artifact/1``)."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("name", "version", "build_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str] = mapped_column(String(255))
    build_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(50), default="directory")
    compiler: Mapped[str | None] = mapped_column(String(100), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(100), nullable=True)
    release: Mapped[str | None] = mapped_column(String(100), nullable=True)
    root: Mapped[str] = mapped_column(String(1000), default="")
    recorded_root: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    build_spec: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dependencies: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    spack_build_id: Mapped[int | None] = mapped_column(
        ForeignKey("builds.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def ident(self) -> str:
        return f"{self.name}@{self.version}/{self.build_id}"


class ArtifactFile(Base):
    __tablename__ = "artifact_files"

    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    corpus_id: Mapped[int] = mapped_column(ForeignKey("corpora.id"), index=True)


class Prediction(Base):
    """One predictor's verdict on one splice (an entry of predictions.json, per predictor)."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("binary_id", "binary_file", "original_id", "replacement_id", "predictor"),
        Index("ix_predictions_binary", "binary_package", "binary_version"),
        Index("ix_predictions_replacement", "replacement_package", "replacement_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    binary_id: Mapped[str] = mapped_column(String(400))
    binary_package: Mapped[str] = mapped_column(String(255))
    binary_version: Mapped[str] = mapped_column(String(255), default="")
    binary_file: Mapped[str] = mapped_column(String(1000))
    dependency: Mapped[str] = mapped_column(String(255), index=True)
    original_id: Mapped[str] = mapped_column(String(400))
    replacement_id: Mapped[str] = mapped_column(String(400))
    replacement_package: Mapped[str] = mapped_column(String(255))
    replacement_version: Mapped[str] = mapped_column(String(255), default="")
    predictor: Mapped[str] = mapped_column(String(100), index=True)
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    splice: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Outcome(Base):
    """What really happened when one splice was performed (an entry of outcomes.json).

    ``key`` is a digest of the entry's natural key (binary, file, original, replacement, mode, method;
    program/library releases when no artifact ids are given).
    """

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    program: Mapped[str] = mapped_column(String(255), default="", index=True)
    program_release: Mapped[str] = mapped_column(String(100), default="")
    library: Mapped[str] = mapped_column(String(255), default="")
    library_release: Mapped[str] = mapped_column(String(100), default="")
    mode: Mapped[str] = mapped_column(String(20), default="")
    method: Mapped[str] = mapped_column(String(50), default="")
    outcome_class: Mapped[str] = mapped_column("class", String(50), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    binary_id: Mapped[str] = mapped_column(String(400), default="")
    binary_package: Mapped[str] = mapped_column(String(255), default="", index=True)
    binary_version: Mapped[str] = mapped_column(String(255), default="")
    dependency: Mapped[str] = mapped_column(String(255), default="")
    original_id: Mapped[str] = mapped_column(String(400), default="")
    replacement_id: Mapped[str] = mapped_column(String(400), default="")
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    entry: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
