"""Many splices at once: runners side by side in threads, baselines shared, partitions for the Dask seam.

A :class:`Batch` lends each running splice a :class:`~splicelab.validate.runner.Runner` (each with its
own sandbox server and user id) and takes it back afterwards, so a thread pool of N threads keeps at
most N runners whose sandbox roots are assembled once and reused. The baseline of each program (its
unspliced run) is performed once per batch, whichever thread needs it first.

:func:`validate_partition` is the ``splicelab.parallel`` partition function: on a Dask worker, the
partitions of one run share one batch (so roots and baselines are reused across partitions); it is closed
when the worker starts another run's partition while none of this run's is running, or when it exits.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.validate.runner import Baseline, Job, Runner
from splicelab.validate.sandbox import Limits
from splicelab.validate.smoke import SmokeConfig

Pair = tuple[Job, Job | None]


@dataclass(frozen=True)
class Settings:
    """How every splice of one run is performed (the read-only context of each partition)."""

    smoke: SmokeConfig
    limits: Limits | None = None
    timeout: float = 10.0
    isolate: bool = True
    verify: bool = True
    scratch: Path | None = None
    threads: int = 1  # splices side by side in one process
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


class Batch:
    """Performs pairs ``(job, baseline_job)``; thread-safe; close it to stop its sandbox servers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._idle: list[Runner] = []
        self._all: list[Runner] = []
        self._baselines: dict[str, Baseline] = {}
        self._baseline_locks: dict[str, threading.Lock] = {}

    def _checkout(self) -> Runner:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        s = self.settings
        runner = Runner(
            s.smoke, limits=s.limits, timeout=s.timeout, isolate=s.isolate, verify=s.verify, scratch=s.scratch
        )
        with self._lock:
            self._all.append(runner)
        return runner

    def _checkin(self, runner: Runner) -> None:
        with self._lock:
            self._idle.append(runner)

    def _baseline(self, job: Job | None, runner: Runner) -> Baseline | None:
        if job is None:
            return None
        key = str(job.record.get("baseline_key") or (job.system.name, job.program))
        with self._lock:
            lock = self._baseline_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._baselines:
                self._baselines[key] = runner.baseline(job)
            return self._baselines[key]

    def one(self, pair: Pair) -> dict[str, Any]:
        """The outcome of one splice (with the baseline's class when the unspliced run failed)."""
        job, base = pair
        runner = self._checkout()
        try:
            bl = self._baseline(base, runner)
            outcome = runner.run(job, bl)
        finally:
            self._checkin(runner)
        if bl is not None and bl.verdict.klass != "ok":
            outcome["baseline"] = {"class": bl.verdict.klass, "message": bl.verdict.message}
        return outcome

    def map(self, pairs: Iterable[Pair]) -> Iterator[dict[str, Any]]:
        """Outcomes in the order of ``pairs``, ``settings.threads`` splices side by side."""
        if self.settings.threads <= 1:
            for pair in pairs:
                yield self.one(pair)
            return
        with ThreadPoolExecutor(max_workers=self.settings.threads) as pool:
            yield from pool.map(self.one, pairs)

    def close(self) -> None:
        with self._lock:
            runners, self._all, self._idle = self._all, [], []
        for r in runners:
            r.close()


_worker_lock = threading.Lock()
_worker_batches: dict[str, tuple[Batch, list[int]]] = {}  # run token -> (batch, [partitions running])


def _enter_worker_batch(settings: Settings) -> Batch:
    """This process's batch for the run ``settings`` belongs to; idle batches of other runs are closed."""
    with _worker_lock:
        entry = _worker_batches.get(settings.token)
        if entry is None:
            for token, (old, running) in list(_worker_batches.items()):
                if running[0] == 0:
                    del _worker_batches[token]
                    old.close()
            entry = _worker_batches[settings.token] = (Batch(settings), [0])
        entry[1][0] += 1
        return entry[0]


def _leave_worker_batch(settings: Settings) -> None:
    with _worker_lock:
        entry = _worker_batches.get(settings.token)
        if entry is not None:
            entry[1][0] -= 1


@atexit.register
def _close_worker_batches() -> None:
    with _worker_lock:
        for token in list(_worker_batches):
            _worker_batches.pop(token)[0].close()


def validate_partition(pairs: Sequence[Pair], settings: Settings) -> list[dict[str, Any]]:
    """``splicelab.parallel`` partition function: the outcomes of a partition of pairs, in order."""
    batch = _enter_worker_batch(settings)
    try:
        return list(batch.map(pairs))
    finally:
        _leave_worker_batch(settings)
