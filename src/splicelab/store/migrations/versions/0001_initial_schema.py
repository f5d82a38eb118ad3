"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 15:41:36.560866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "build_environments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("kernel_version", sa.String(length=255), nullable=False),
        sa.Column("host_os", sa.String(length=100), nullable=False),
        sa.Column("host_target", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_environments")),
        sa.UniqueConstraint(
            "hostname",
            "platform",
            "kernel_version",
            "host_os",
            "host_target",
            name=op.f("uq_build_environments_hostname"),
        ),
    )
    op.create_table(
        "corpora",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("soname", sa.String(length=255), nullable=False),
        sa.Column("elf_type", sa.String(length=20), nullable=False),
        sa.Column("machine", sa.String(length=50), nullable=False),
        sa.Column("symbols", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corpora")),
        sa.UniqueConstraint("digest", name=op.f("uq_corpora_digest")),
    )
    with op.batch_alter_table("corpora", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_corpora_soname"), ["soname"], unique=False)

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("program", sa.String(length=255), nullable=False),
        sa.Column("program_release", sa.String(length=100), nullable=False),
        sa.Column("library", sa.String(length=255), nullable=False),
        sa.Column("library_release", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=50), nullable=False),
        sa.Column("class", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("binary_id", sa.String(length=400), nullable=False),
        sa.Column("binary_package", sa.String(length=255), nullable=False),
        sa.Column("binary_version", sa.String(length=255), nullable=False),
        sa.Column("dependency", sa.String(length=255), nullable=False),
        sa.Column("original_id", sa.String(length=400), nullable=False),
        sa.Column("replacement_id", sa.String(length=400), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column(
            "entry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("key", name=op.f("uq_outcomes_key")),
    )
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcomes_binary_package"), ["binary_package"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_class"), ["class"], unique=False)
        batch_op.create_index(batch_op.f("ix_outcomes_program"), ["program"], unique=False)

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binary_id", sa.String(length=400), nullable=False),
        sa.Column("binary_package", sa.String(length=255), nullable=False),
        sa.Column("binary_version", sa.String(length=255), nullable=False),
        sa.Column("binary_file", sa.String(length=1000), nullable=False),
        sa.Column("dependency", sa.String(length=255), nullable=False),
        sa.Column("original_id", sa.String(length=400), nullable=False),
        sa.Column("replacement_id", sa.String(length=400), nullable=False),
        sa.Column("replacement_package", sa.String(length=255), nullable=False),
        sa.Column("replacement_version", sa.String(length=255), nullable=False),
        sa.Column("predictor", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "splice",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint(
            "binary_id",
            "binary_file",
            "original_id",
            "replacement_id",
            "predictor",
            name=op.f("uq_predictions_binary_id"),
        ),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index("ix_predictions_binary", ["binary_package", "binary_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_predictions_dependency"), ["dependency"], unique=False)
        batch_op.create_index(batch_op.f("ix_predictions_predictor"), ["predictor"], unique=False)
        batch_op.create_index(
            "ix_predictions_replacement", ["replacement_package", "replacement_version"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_predictions_verdict"), ["verdict"], unique=False)

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "specs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_hash", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("hash", sa.String(length=100), nullable=False),
        sa.Column("build_hash", sa.String(length=100), nullable=False),
        sa.Column("package_hash", sa.String(length=255), nullable=False),
        sa.Column("spack_version", sa.String(length=100), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("platform_os", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("compiler_name", sa.String(length=100), nullable=False),
        sa.Column("compiler_version", sa.String(length=100), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("build_spec", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_specs")),
        sa.UniqueConstraint("full_hash", name=op.f("uq_specs_full_hash")),
    )
    with op.batch_alter_table("specs", schema=None) as batch_op:
        batch_op.create_index("ix_specs_name_version", ["name", "version"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_users_token_hash")),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spec_id", sa.Integer(), nullable=False),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("config_args", sa.Text(), nullable=True),
        sa.Column("install_prefix", sa.String(length=1000), nullable=False),
        sa.Column(
            "envars",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["build_environments.id"],
            name=op.f("fk_builds_environment_id_build_environments"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_builds_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["specs.id"], name=op.f("fk_builds_spec_id_specs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sa.UniqueConstraint("spec_id", "environment_id", name=op.f("uq_builds_spec_id")),
    )
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_builds_environment_id"), ["environment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_builds_spec_id"), ["spec_id"], unique=False)

    op.create_table(
        "spec_dependencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spec_id", sa.Integer(), nullable=False),
        sa.Column("dependency_id", sa.Integer(), nullable=False),
        sa.Column(
            "types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "virtuals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dependency_id"],
            ["specs.id"],
            name=op.f("fk_spec_dependencies_dependency_id_specs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spec_id"], ["specs.id"], name=op.f("fk_spec_dependencies_spec_id_specs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spec_dependencies")),
        sa.UniqueConstraint("spec_id", "dependency_id", name=op.f("uq_spec_dependencies_spec_id")),
    )
    with op.batch_alter_table("spec_dependencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spec_dependencies_dependency_id"), ["dependency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_spec_dependencies_spec_id"), ["spec_id"], unique=False)

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("build_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("compiler", sa.String(length=100), nullable=True),
        sa.Column("platform", sa.String(length=100), nullable=True),
        sa.Column("release", sa.String(length=100), nullable=True),
        sa.Column("root", sa.String(length=1000), nullable=False),
        sa.Column("recorded_root", sa.String(length=1000), nullable=True),
        sa.Column("build_spec", sa.String(length=255), nullable=True),
        sa.Column(
            "dependencies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("spack_build_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spack_build_id"],
            ["builds.id"],
            name=op.f("fk_artifacts_spack_build_id_builds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.UniqueConstraint("name", "version", "build_id", name=op.f("uq_artifacts_name")),
    )
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifacts_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_artifacts_spack_build_id"), ["spack_build_id"], unique=False)

    op.create_table(
        "build_phases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_build_phases_build_id_builds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_build_phases")),
        sa.UniqueConstraint("build_id", "name", name=op.f("uq_build_phases_build_id")),
    )
    with op.batch_alter_table("build_phases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_build_phases_build_id"), ["build_id"], unique=False)

    op.create_table(
        "build_tags",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_build_tags_build_id_builds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("build_id", "tag", name=op.f("pk_build_tags")),
    )
    with op.batch_alter_table("build_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_build_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "install_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("ftype", sa.String(length=50), nullable=False),
        sa.Column("mode", sa.Integer(), nullable=True),
        sa.Column("owner", sa.Integer(), nullable=True),
        sa.Column("group", sa.Integer(), nullable=True),
        sa.Column("hash", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_install_files_build_id_builds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_install_files")),
        sa.UniqueConstraint("build_id", "name", name=op.f("uq_install_files_build_id")),
    )
    with op.batch_alter_table("install_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_install_files_build_id"), ["build_id"], unique=False)

    op.create_table(
        "analysis_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("install_file_id", sa.Integer(), nullable=False),
        sa.Column("analyzer", sa.String(length=150), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column(
            "json_value",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("binary_value", sa.LargeBinary(), nullable=True),
        sa.Column("corpus_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["corpus_id"], ["corpora.id"], name=op.f("fk_analysis_results_corpus_id_corpora")
        ),
        sa.ForeignKeyConstraint(
            ["install_file_id"],
            ["install_files.id"],
            name=op.f("fk_analysis_results_install_file_id_install_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_results")),
        sa.UniqueConstraint(
            "install_file_id", "analyzer", "name", name=op.f("uq_analysis_results_install_file_id")
        ),
    )
    with op.batch_alter_table("analysis_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_results_analyzer"), ["analyzer"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_results_corpus_id"), ["corpus_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_analysis_results_install_file_id"), ["install_file_id"], unique=False
        )

    op.create_table(
        "artifact_files",
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("corpus_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifacts.id"],
            name=op.f("fk_artifact_files_artifact_id_artifacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corpus_id"], ["corpora.id"], name=op.f("fk_artifact_files_corpus_id_corpora")
        ),
        sa.PrimaryKeyConstraint("artifact_id", "path", name=op.f("pk_artifact_files")),
    )
    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artifact_files_corpus_id"), ["corpus_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("artifact_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifact_files_corpus_id"))

    op.drop_table("artifact_files")
    with op.batch_alter_table("analysis_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analysis_results_install_file_id"))
        batch_op.drop_index(batch_op.f("ix_analysis_results_corpus_id"))
        batch_op.drop_index(batch_op.f("ix_analysis_results_analyzer"))

    op.drop_table("analysis_results")
    with op.batch_alter_table("install_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_install_files_build_id"))

    op.drop_table("install_files")
    with op.batch_alter_table("build_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_build_tags_tag"))

    op.drop_table("build_tags")
    with op.batch_alter_table("build_phases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_build_phases_build_id"))

    op.drop_table("build_phases")
    with op.batch_alter_table("artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artifacts_spack_build_id"))
        batch_op.drop_index(batch_op.f("ix_artifacts_name"))

    op.drop_table("artifacts")
    with op.batch_alter_table("spec_dependencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spec_dependencies_spec_id"))
        batch_op.drop_index(batch_op.f("ix_spec_dependencies_dependency_id"))

    op.drop_table("spec_dependencies")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_builds_spec_id"))
        batch_op.drop_index(batch_op.f("ix_builds_environment_id"))

    op.drop_table("builds")
    op.drop_table("users")
    with op.batch_alter_table("specs", schema=None) as batch_op:
        batch_op.drop_index("ix_specs_name_version")

    op.drop_table("specs")
    op.drop_table("settings")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_verdict"))
        batch_op.drop_index("ix_predictions_replacement")
        batch_op.drop_index(batch_op.f("ix_predictions_predictor"))
        batch_op.drop_index(batch_op.f("ix_predictions_dependency"))
        batch_op.drop_index("ix_predictions_binary")

    op.drop_table("predictions")
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcomes_program"))
        batch_op.drop_index(batch_op.f("ix_outcomes_class"))
        batch_op.drop_index(batch_op.f("ix_outcomes_binary_package"))

    op.drop_table("outcomes")
    with op.batch_alter_table("corpora", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corpora_soname"))

    op.drop_table("corpora")
    op.drop_table("build_environments")
