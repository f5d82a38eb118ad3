"""A real Dask cluster on loopback for the tests: a `dask scheduler` process and `dask worker` processes,
started as an HPC site would start them. The ``dask_cluster`` fixture (conftest.py) is built from it.

This module holds no tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from test_server_harness import free_port

# Workers import the tests' own partition functions by module name, as they import splicelab's; both
# from this tree (whatever splicelab happens to be installed).
TESTS_DIR = str(Path(__file__).resolve().parent)
SRC_DIR = str(Path(__file__).resolve().parent.parent / "src")
PYTHONPATH = os.pathsep.join(filter(None, [SRC_DIR, TESTS_DIR, os.environ.get("PYTHONPATH")]))

Cluster = tuple[str, list["subprocess.Popen[bytes]"]]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def dask_processes(log_path: Path, workers: int = 2) -> Iterator[Cluster]:
    """The scheduler's address and the worker processes (each in its own process group, nanny and all);
    everything is stopped afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
        "PYTHONPATH": PYTHONPATH,
    }
    procs: list[subprocess.Popen[bytes]] = []
    log = log_path.open("wb")
    sched = subprocess.Popen(
        ["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    procs.append(sched)
    address = f"tcp://127.0.0.1:{port}"
    try:
        wait_for_port(port)
        started = [
            subprocess.Popen(
                ["dask", "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            for _ in range(workers)
        ]
        procs.extend(started)
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, started
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        log.close()
