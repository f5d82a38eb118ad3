"""Bring a database to the newest schema (Alembic ``upgrade head``), from the installed package.

Safe to call from several processes at once: on PostgreSQL an advisory lock, on SQLite an immediate
(write-locking) transaction serializes the upgrades; the later ones find nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from splicelab.store.engine import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK = 0x5B11CE1AB  # any constant shared by every splicelab process


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config()
    with db.engine.execution_options(splicelab_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
