"""Eight uploader processes at once against one real server process, on SQLite and on PostgreSQL.

Each uploader sends N builds over the spack monitor API (a spec with a shared dependency and its
build in one request, then a corpus). Clients retry on purpose: some requests are sent and the
connection dropped before the reply (then sent again), some are sent twice. A third of the way in
the server is killed with SIGKILL and started again on the same database; the clients' retries
carry on. At the end every build is there exactly once, and the database is consistent.

N is 150 here (``SPLICELAB_UPLOAD_N`` sets it); ``SPLICELAB_FULL=1`` runs the issue's 8 x 1000.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from splicelab.store import Database
from test_server_harness import BACKENDS, Server, add_user, database

WORKERS = 8
N = int(os.environ.get("SPLICELAB_UPLOAD_N") or (1000 if os.environ.get("SPLICELAB_FULL") == "1" else 150))
FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
ENV = {
    "hostname": "w",
    "platform": "linux",
    "kernel_version": "6",
    "host_os": "debian12",
    "host_target": "x86_64",
}


def base_corpus() -> dict[str, Any]:
    from splicelab.elf import is_elf, read_corpus

    for f in sorted((FIXTURES / "spack-1.0" / "opt").glob("*/zlib-1.3.1-*/lib/libz.so.*")):
        if not f.is_symlink() and is_elf(f):
            doc = read_corpus(f, "lib/libz.so").to_dict()
            doc["symbols"] = doc["symbols"][:24]  # a real corpus, trimmed: the test is about requests
            return doc
    pytest.skip("spack-1.0 fixture not present")


def spec_doc(key: str) -> dict[str, Any]:
    """A spec with one dependency shared by every uploader (so they race on the same rows)."""
    return {
        "spec": {
            "_meta": {"version": 5},
            "nodes": [
                {
                    "name": "pkg",
                    "version": key,
                    "hash": f"h{key}",
                    "dependencies": [
                        {"name": "zlib", "hash": "sharedzlib", "parameters": {"deptypes": ["link"]}}
                    ],
                },
                {"name": "zlib", "version": "1.3.1", "hash": "sharedzlib"},
            ],
        }
    }


def send_and_drop(port: int, path: str, body: bytes, token: str) -> None:
    """Send a request and hang up without reading the reply (the reply is lost; maybe the write is not)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)


def uploader(worker: int, url: str, token: str, n: int, corpus: dict[str, Any], done: Any) -> None:
    from splicelab.client import Ms1Client, Transport

    port = int(url.rsplit(":", 1)[1])
    with Transport(url, "tester", token, retry_for=180) as transport:
        client = Ms1Client(transport)
        for k in range(n):
            key = f"{worker}.{k}"
            build_request = {**ENV, "full_hash": f"h{key}", "spec": spec_doc(key), "tags": f"w{worker}"}
            if k % 7 == 3:
                # The first attempt's reply never arrives (or the server is down, being restarted).
                with contextlib.suppress(OSError):
                    send_and_drop(port, "/ms1/builds/new/", json.dumps(build_request).encode(), token)
            build_id = client.new_build(
                f"h{key}", environment=ENV, tags=[f"w{worker}"], spec=spec_doc(key), spack_version="1.0"
            )
            doc = {**corpus, "path": f"lib/lib{worker}_{k}.so", "soname": f"lib{worker}_{k}.so"}
            times = 2 if k % 10 == 5 else 1  # sent twice on purpose
            for _ in range(times):
                client.upload_corpora(build_id, {doc["path"]: doc})
            with done.get_lock():
                done.value += 1


def consistent(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.session() as s:
            if db.dialect == "sqlite":
                assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert s.execute(text("PRAGMA foreign_key_check")).fetchall() == []
            counts = {
                t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in (
                    "specs",
                    "builds",
                    "build_tags",
                    "install_files",
                    "analysis_results",
                    "artifacts",
                    "artifact_files",
                )
            }
            counts["corpora"] = s.execute(text("SELECT count(*) FROM corpora")).scalar_one()
            per_build = "SELECT count(*) AS c FROM install_files GROUP BY build_id"
            counts["per_build_max"] = s.execute(
                text(f"SELECT coalesce(max(c), 0) FROM ({per_build}) x")
            ).scalar_one()
            return counts
    finally:
        db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_uploaders_with_retries_and_a_server_crash(backend: str, tmp_path: Path) -> None:
    corpus = base_corpus()
    with database(backend, tmp_path) as url:
        token = add_user(url, "tester")
        server = Server(url, tmp_path).start()
        ctx = multiprocessing.get_context("fork")  # the uploaders need no fresh interpreter
        done = ctx.Value("i", 0)
        procs = [
            ctx.Process(target=uploader, args=(w, server.url, token, N, corpus, done)) for w in range(WORKERS)
        ]
        try:
            for p in procs:
                p.start()
            deadline = time.monotonic() + 600
            while done.value < WORKERS * N // 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert done.value < WORKERS * N, "the uploads finished before the crash could happen"
            server.kill()  # mid-upload, no clean shutdown
            time.sleep(1.0)
            server.start()
            for p in procs:
                p.join(timeout=max(1.0, deadline - time.monotonic()))
            assert [p.exitcode for p in procs] == [0] * WORKERS, server.log()[-3000:]
            assert server.starts == 2
            total = WORKERS * N
            reply = httpx.get(f"{server.url}/api/v1/builds", params={"limit": 1, "tag": "w3"}).json()
            assert reply["count"] == N
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
            server.stop()
        counts = consistent(url)
    assert counts == {
        "specs": total + 1,  # plus the shared dependency
        "builds": total,
        "build_tags": total,
        "install_files": total,
        "analysis_results": total,
        "artifacts": total,
        "artifact_files": total,
        "corpora": total,
        "per_build_max": 1,
    }
