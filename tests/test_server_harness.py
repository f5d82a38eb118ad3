"""Helpers for the monitor's tests: real databases (SQLite files, PostgreSQL databases made per test)
and real server processes (``splicelab serve`` on a free loopback port).

PostgreSQL: ``$SPLICELAB_TEST_PG`` (default ``postgresql://splicelab:splicelab@127.0.0.1:5432/postgres``)
names a server where the role may CREATE DATABASE; every database made here gets a random name and
is dropped afterwards. Nothing is started here: ``.ci/setup`` starts PostgreSQL.

This module holds no tests; the test modules build their fixtures from it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PG_DEFAULT = "postgresql://splicelab:splicelab@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def pg_admin_url() -> str:
    return os.environ.get("SPLICELAB_TEST_PG") or PG_DEFAULT


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL. Dropped (with any leftover sessions) afterwards."""
    import psycopg
    from sqlalchemy import make_url

    admin = pg_admin_url()
    name = f"splicelab_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {admin} is not reachable ({exc}); run .ci/setup to start it")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A database URL of ``backend`` ("sqlite" or "postgresql"), empty."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'monitor.db'}"
    else:
        with postgres_database() as url:
            yield url


def splicelab(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "splicelab", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"splicelab {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def add_user_cli(db_url: str, name: str) -> str:
    """``splicelab user add NAME``; the token is the last line of its output."""
    out = splicelab("user", "add", name, "--db", db_url).stdout.strip().splitlines()
    return out[-1]


def add_user(db_url: str, name: str) -> str:
    """A user and its token, made in this process (what ``splicelab user add`` does, without the
    interpreter start-up)."""
    from splicelab.store import open_database
    from splicelab.store.users import add_user as create

    db = open_database(db_url)
    try:
        return create(db, name)[1]
    finally:
        db.dispose()


class Server:
    """``splicelab serve`` as a child process on 127.0.0.1 and a free port."""

    def __init__(self, db_url: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.workdir = workdir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> Server:
        self.starts += 1
        log = open(self.workdir / f"server-{self.port}-{self.starts}.log", "wb")  # noqa: SIM115
        argv = [sys.executable, "-m", "splicelab", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [*argv, "--db", self.db_url, "--log-level", "warning"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ms1/", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob(f"server-{self.port}-*.log"))
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing — as a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_server(
    backend: str, tmp: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[Server, str]]:
    """A server on a fresh database of ``backend`` and a user's token: ``(server, token)``."""
    with database(backend, tmp) as url:
        token = add_user(url, "tester")
        with Server(url, tmp, env) as server:
            yield server, token
