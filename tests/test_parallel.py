"""The Dask seam against a real scheduler and real worker processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from splicelab.parallel import DaskExecutor, InProcessExecutor, make_executor, partitions

# Workers import the partition functions below by module name, as they import splicelab's own.
TESTS_DIR = str(Path(__file__).resolve().parent)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def square_with_pid(part: Sequence[int], context: Any) -> list[tuple[int, int]]:
    """A partition function: slow enough that a worker can be killed while it runs."""
    out = []
    for x in part:
        time.sleep(context["delay"])
        out.append((x, x * x + context["offset"]))
    return out


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """`dask scheduler` and two `dask worker` processes, as an HPC site would start them."""
    port = _free_port()
    env = {
        **os.environ,
        "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [TESTS_DIR, os.environ.get("PYTHONPATH")])),
    }
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "dask.log").open("wb")
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
        _wait_for_port(port)
        workers = [
            subprocess.Popen(
                ["dask", "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            for _ in range(2)
        ]
        procs.extend(workers)
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
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


def test_partitions_cover_items_in_order() -> None:
    parts = list(partitions(range(10), 3))
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    with pytest.raises(ValueError):
        list(partitions([1], 0))


def test_make_executor_defaults_to_in_process() -> None:
    assert isinstance(make_executor(), InProcessExecutor)


def test_scheduler_results_equal_in_process(dask_cluster: tuple[str, list[Any]]) -> None:
    address, _ = dask_cluster
    items = list(range(200))
    ctx = {"delay": 0.0, "offset": 7}
    expected = list(InProcessExecutor().map_partitions(square_with_pid, items, context=ctx, partition_size=9))
    seen = []
    with DaskExecutor(scheduler=address) as ex:
        got = list(
            ex.map_partitions(square_with_pid, items, context=ctx, partition_size=9, progress=seen.append)
        )
    assert got == expected
    assert sum(seen) == len(items)


def test_worker_killed_mid_run_every_result_once(dask_cluster: tuple[str, list[Any]]) -> None:
    address, workers = dask_cluster
    items = list(range(120))
    ctx = {"delay": 0.02, "offset": 1}
    expected = [(x, x * x + 1) for x in items]
    done = 0
    killed = threading.Event()

    def on_progress(n: int) -> None:
        nonlocal done
        done += n
        if done >= 20 and not killed.is_set():
            killed.set()
            os.killpg(workers[0].pid, signal.SIGKILL)

    with DaskExecutor(scheduler=address) as ex:
        got = list(
            ex.map_partitions(square_with_pid, items, context=ctx, partition_size=5, progress=on_progress)
        )
    assert killed.is_set(), "the worker was never killed: the test did not test anything"
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert got == expected  # complete, in order, each result exactly once


def test_local_cluster_matches_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [TESTS_DIR, os.environ.get("PYTHONPATH")])))
    items = list(range(50))
    ctx = {"delay": 0.0, "offset": 3}
    with make_executor(workers=2) as ex:
        assert isinstance(ex, DaskExecutor)
        got = list(ex.map_partitions(square_with_pid, items, context=ctx, partition_size=4))
    assert got == [(x, x * x + 3) for x in items]
