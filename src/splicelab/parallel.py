"""Where the work runs: the one seam between splicelab's stages and a Dask cluster.

Every stage that scales (analyze, predict, validate) is written as a pure function over a *partition* of
its work items plus a read-only *context* (e.g. the artifact set), and hands both to an executor:

    executor = make_executor(scheduler=None, workers=None)      # in-process
    executor = make_executor(workers=4)                          # a local Dask cluster
    executor = make_executor(scheduler="tcp://10.0.0.1:8786")    # an existing Dask scheduler
    for result in executor.map_partitions(fn, items, context=ctx):
        ...

``fn(partition, context) -> list[result]`` must be a module-level function (workers import it by name).
Results come back in the order of ``items`` whatever the cluster does, so a distributed run writes the same
files as an in-process one. On Dask the context is scattered once to every worker (each worker deserialises
each corpus once), partitions stream with a bounded number in flight, and a partition whose worker dies is
recomputed elsewhere by the scheduler; each partition's result is gathered exactly once.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PartitionFn = Callable[[Sequence[Any], Any], list[Any]]
Progress = Callable[[int], None]

DEFAULT_PARTITION_SIZE = 256


def partitions(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive chunks of at most ``size`` items (the last may be shorter)."""
    if size < 1:
        raise ValueError("partition size must be at least 1")
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class Executor(Protocol):
    """Runs ``fn`` over partitions of ``items``; yields the flattened results in input order."""

    description: str

    def map_partitions(
        self,
        fn: PartitionFn,
        items: Iterable[Any],
        *,
        context: Any = None,
        partition_size: int = DEFAULT_PARTITION_SIZE,
        progress: Progress | None = None,
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """The default: everything runs here, one partition after another."""

    description = "in-process"

    def map_partitions(
        self,
        fn: PartitionFn,
        items: Iterable[Any],
        *,
        context: Any = None,
        partition_size: int = DEFAULT_PARTITION_SIZE,
        progress: Progress | None = None,
    ) -> Iterator[Any]:
        for part in partitions(items, partition_size):
            results = fn(part, context)
            if progress is not None:
                progress(len(part))
            yield from results

    def close(self) -> None:
        pass

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Partitions run as Dask tasks on a scheduler (given by address) or on a local cluster of N processes."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - distributed is a declared dependency
            raise RuntimeError("Dask distributed is not installed: pip install 'dask[distributed]'") from exc
        self._cluster = None
        if scheduler:
            self._client = Client(scheduler, timeout="30s")
            self.description = f"Dask scheduler {scheduler}"
        else:
            n = max(1, workers or 1)
            self._cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            self._client = Client(self._cluster)
            self.description = f"local Dask cluster of {n} worker processes"

    @property
    def client(self) -> Any:
        return self._client

    def _worker_count(self) -> int:
        return max(1, len(self._client.scheduler_info().get("workers", {})))

    def map_partitions(
        self,
        fn: PartitionFn,
        items: Iterable[Any],
        *,
        context: Any = None,
        partition_size: int = DEFAULT_PARTITION_SIZE,
        progress: Progress | None = None,
    ) -> Iterator[Any]:
        from distributed import as_completed

        client = self._client
        ctx = client.scatter(context, broadcast=True, hash=False) if context is not None else None
        run = uuid.uuid4().hex[:12]
        name = getattr(fn, "__name__", "partition")
        parts = enumerate(partitions(items, partition_size))
        in_flight_limit = 2 * self._worker_count() + 2

        pending: dict[Any, tuple[int, int]] = {}  # future -> (index, size)
        done: dict[int, list[Any]] = {}
        next_index = 0
        completed = as_completed()

        def submit_next() -> bool:
            try:
                index, part = next(parts)
            except StopIteration:
                return False
            fut = client.submit(fn, part, ctx, key=f"{name}-{run}-{index}", pure=False, retries=2)
            pending[fut] = (index, len(part))
            completed.add(fut)
            return True

        exhausted = False
        while len(pending) < in_flight_limit and not exhausted:
            exhausted = not submit_next()
        try:
            for fut in completed:
                index, size = pending.pop(fut)
                done[index] = fut.result()
                fut.release()
                if progress is not None:
                    progress(size)
                if not exhausted:
                    exhausted = not submit_next()
                while next_index in done:
                    yield from done.pop(next_index)
                    next_index += 1
        finally:
            for fut in list(pending):
                fut.cancel()
            if ctx is not None:
                client.cancel(ctx)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(
    scheduler: str | None = None, workers: int | None = None
) -> InProcessExecutor | DaskExecutor:
    """In-process unless a scheduler address or a number of local workers is given."""
    if scheduler or workers:
        return DaskExecutor(scheduler=scheduler, workers=workers)
    return InProcessExecutor()
