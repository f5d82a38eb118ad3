"""The Dask seam against a real scheduler and real worker processes on loopback."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from _dask import PYTHONPATH
from splicelab.parallel import DaskExecutor, InProcessExecutor, make_executor, partitions


def square_with_pid(part: Sequence[int], context: Any) -> list[tuple[int, int]]:
    """A partition function: slow enough that a worker can be killed while it runs."""
    out = []
    for x in part:
        time.sleep(context["delay"])
        out.append((x, x * x + context["offset"]))
    return out


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
    monkeypatch.setenv("PYTHONPATH", PYTHONPATH)
    items = list(range(50))
    ctx = {"delay": 0.0, "offset": 3}
    with make_executor(workers=2) as ex:
        assert isinstance(ex, DaskExecutor)
        got = list(ex.map_partitions(square_with_pid, items, context=ctx, partition_size=4))
    assert got == [(x, x * x + 3) for x in items]
