"""Where the database is and how to talk to it: URLs, engines, sessions, transactions.

* ``sqlite:///path`` (or a bare file path): WAL journal, a busy timeout, foreign keys on, and write
  transactions opened with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the lock instead
  of failing with "database is locked" when a reader tries to upgrade.
* ``postgresql://…`` / ``postgres://…``: the psycopg 3 driver.

The default database is an SQLite file in the user's data directory, or ``$SPLICELAB_DB``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

ENV_DB = "SPLICELAB_DB"
SQLITE_BUSY_TIMEOUT_MS = 60_000

T = TypeVar("T")


def default_url() -> str:
    """``$SPLICELAB_DB``, else ``sqlite:///<user data dir>/splicelab.db``."""
    env = os.environ.get(ENV_DB)
    if env:
        return env
    return f"sqlite:///{Path(platformdirs.user_data_dir('splicelab')) / 'splicelab.db'}"


def normalize_url(url: str | URL) -> URL:
    """Accept what a user types and return the URL SQLAlchemy needs (driver made explicit)."""
    if isinstance(url, str):
        text = url.strip()
        if not text:
            raise ValueError("database URL is empty")
        if "://" not in text:  # a bare path
            text = f"sqlite:///{Path(text).expanduser().resolve()}"
        parsed = make_url(text)
    else:
        parsed = url
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    raise ValueError(f"database URL: unsupported backend {backend!r} (use sqlite:/// or postgresql://)")


def _sqlite_file(url: URL) -> Path | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        path = _sqlite_file(u)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            u,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            pool_size=8,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping (a round trip per checkout): a connection found dead fails its transaction, which
    # Database.write runs again on a fresh one.
    return create_engine(u, echo=echo, pool_size=8, max_overflow=16, pool_recycle=3600)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin: see _on_begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("splicelab_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _transient(exc: DBAPIError) -> bool:
    """A failure worth retrying the whole transaction for (deadlock, serialization, lock timeout)."""
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if code in ("40001", "40P01", "55P03"):
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


class Database:
    """An engine plus the two ways the code uses it: read sessions and retried write transactions."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self.dialect = self.engine.dialect.name
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(splicelab_write=True), expire_on_commit=False
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; closing it ends its transaction, and loaded objects stay readable."""
        with self._read() as session:
            yield session

    def write(self, work: Callable[[Session], T], *, attempts: int = 6) -> T:
        """Run ``work`` in one transaction and commit; rerun it on deadlocks and lock timeouts.

        ``work`` must be safe to run again from scratch (every write here is an upsert on a natural key).
        """
        for attempt in range(1, attempts + 1):
            session = self._write()
            try:
                result = work(session)
                session.commit()
                return result
            except DBAPIError as exc:
                session.rollback()
                if attempt == attempts or not _transient(exc):
                    raise
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()
