"""Validation: perform splices for real, hermetically, and classify what happened.

    from splicelab.validate import validate, debian_jobs
    for outcome in validate(debian_jobs(dset, modes=("B", "C"))):
        ...

Modules: :mod:`~splicelab.validate.sandbox` (namespaces, chroot, limits) and :mod:`~.sandbox_server`
(the helper process that holds them), :mod:`~.smoke` (commands and inputs per program),
:mod:`~.classify` (outcome classes from loader messages), :mod:`~.loaded` (which files the loader
loaded, from its debug output), :mod:`~.runner` (staging, the loader command line, rewiring,
baselines), :mod:`~.batch` (threads, shared baselines, Dask partitions), :mod:`~.debian` (modes B and C
between Debian releases) and :mod:`~.spack` (splices of Spack artifacts by preload or rewire).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from splicelab.parallel import Executor, InProcessExecutor
from splicelab.validate.batch import Batch, Settings, validate_partition
from splicelab.validate.classify import CLASSES
from splicelab.validate.debian import debian_jobs
from splicelab.validate.runner import Job
from splicelab.validate.sandbox import Limits, namespaces_available
from splicelab.validate.smoke import SmokeConfig
from splicelab.validate.smoke import load as load_smoke

__all__ = ["CLASSES", "Job", "Limits", "debian_jobs", "load_smoke", "namespaces_available", "validate"]

PARTITION_SIZE = 8


def validate(
    jobs: Iterable[tuple[Job, Job | None]],
    *,
    smoke: SmokeConfig | None = None,
    workers: int = 1,
    timeout: float = 10.0,
    limits: Limits | None = None,
    isolate: bool = True,
    verify: bool = True,
    scratch: Path | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    executor: Executor | None = None,
    partition_size: int = PARTITION_SIZE,
) -> Iterator[dict[str, Any]]:
    """Perform each ``(job, baseline_job)``; yield one outcome record per job, in input order.

    The baseline job (the program unspliced on its own system) runs once per program; its outputs are
    what the splice's outputs must equal. ``workers`` threads run splices side by side in one process
    (each with its own sandbox server and user id). With a Dask ``executor`` (``splicelab.parallel``) the
    jobs go out in partitions of ``partition_size``; each worker process performs its partitions in its
    own sandboxes, ``workers`` splices side by side, and the outcomes come back in input order.
    """
    settings = Settings(
        smoke or load_smoke(),
        limits=limits,
        timeout=timeout,
        isolate=isolate,
        verify=verify,
        scratch=scratch,
        threads=workers,
    )
    pairs = list(jobs)
    if executor is not None and not isinstance(executor, InProcessExecutor):
        outcomes = executor.map_partitions(
            validate_partition, pairs, context=settings, partition_size=partition_size
        )
        for out in outcomes:
            if progress:
                progress(out)
            yield out
        return
    batch = Batch(settings)
    try:
        for out in batch.map(pairs):
            if progress:
                progress(out)
            yield out
    finally:
        batch.close()
