"""Corpora ingested per second by the monitor's bulk endpoint (``POST /api/v1/corpora``).

Real corpora: every ELF file of a system library directory (default /usr/lib/x86_64-linux-gnu),
read with ``splicelab.elf.read_corpus``. A real server process (``splicelab serve``) on SQLite and on
PostgreSQL (a database made for the run and dropped after), spoken to over loopback HTTP by the
splicelab client, in batches of ``--batch-mb``.

    python benchmarks/bench_ingest.py                      # both backends
    python benchmarks/bench_ingest.py --backend sqlite --copies 4

``--copies K`` uploads every corpus K times under K different paths (K x as many distinct corpora).
Each backend is measured twice: into an empty database (every corpus new) and again (every corpus
already there). PostgreSQL: ``$SPLICELAB_TEST_PG`` (default postgresql://splicelab:splicelab@
127.0.0.1:5432/postgres) must allow CREATE DATABASE. Target: >= 500 corpora/s on SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from splicelab.client import ApiClient, Transport
from splicelab.elf import ELFError, is_elf, read_corpus

PG_DEFAULT = "postgresql://splicelab:splicelab@127.0.0.1:5432/postgres"


def read_corpora(directory: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(directory.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            if is_elf(path):
                out.append(read_corpus(path, path.name).to_dict())
        except (ELFError, OSError):
            continue
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import psycopg
    from sqlalchemy import make_url

    admin = os.environ.get("SPLICELAB_TEST_PG") or PG_DEFAULT
    name = f"splicelab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def server(url: str, tmp: Path, workers: int) -> Iterator[tuple[str, str]]:
    from splicelab.store import open_database
    from splicelab.store.users import add_user

    db = open_database(url)
    token = add_user(db, "bench")[1]
    db.dispose()
    port = free_port()
    log = open(tmp / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "splicelab", "serve", "--port", str(port), "--db", url),
            *("--max-body", "256M", "--workers", str(workers)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/ms1/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def upload(base: str, token: str, corpora: list[dict[str, Any]], batch_mb: float, streams: int) -> float:
    """Seconds to store ``corpora`` with ``streams`` concurrent uploaders."""
    parts = [corpora[i::streams] for i in range(streams)]

    def send(part: list[dict[str, Any]]) -> int:
        with Transport(base, "bench", token) as transport:
            return len(ApiClient(transport, batch_bytes=int(batch_mb * 1024**2)).post_corpora(part))

    start = time.perf_counter()
    with ThreadPoolExecutor(streams) as pool:
        stored = sum(pool.map(send, parts))
    seconds = time.perf_counter() - start
    assert stored == len(corpora), (stored, len(corpora))
    return seconds


def run(
    backend: str, corpora: list[dict[str, Any]], batch_mb: float, streams: int, workers: int
) -> dict[str, Any]:
    mb = sum(len(json.dumps(c)) for c in corpora) / 1e6
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(database(backend, tmp))
        base, token = stack.enter_context(server(url, tmp, workers))
        first = upload(base, token, corpora, batch_mb, streams)
        again = upload(base, token, corpora, batch_mb, streams)
        count = httpx.get(f"{base}/api/v1/corpora", params={"limit": 1}).json()["count"]
    return {
        "backend": backend,
        "workers": workers,
        "corpora": len(corpora),
        "stored": count,
        "megabytes": round(mb, 1),
        "new_per_second": round(len(corpora) / first, 1),
        "new_mb_per_second": round(mb / first, 1),
        "existing_per_second": round(len(corpora) / again, 1),
        "seconds": round(first, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--dir", type=Path, default=Path("/usr/lib/x86_64-linux-gnu"))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--batch-mb", type=float, default=2.0)
    parser.add_argument("--streams", type=int, default=4, help="concurrent uploading clients")
    parser.add_argument("--workers", type=int, default=1, help="server processes (splicelab serve --workers)")
    args = parser.parse_args()

    base = read_corpora(args.dir)
    corpora = [{**c, "path": f"copy{k}/{c['path']}"} for k in range(args.copies) for c in base]
    print(f"{len(corpora)} corpora from {args.dir} ({args.copies} cop{'y' if args.copies == 1 else 'ies'})")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(b, corpora, args.batch_mb, args.streams, args.workers) for b in backends]
    for r in results:
        print(
            f"{r['backend']:>10} ({r['workers']} workers): {r['new_per_second']:8.1f} corpora/s new "
            f"({r['new_mb_per_second']} MB/s), {r['existing_per_second']:8.1f} corpora/s already stored; "
            f"{r['stored']} stored"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
