"""Validation: perform splices for real, hermetically, and classify what happened.

    from splicelab.validate import validate, debian_jobs
    for outcome in validate(debian_jobs(dset, modes=("B", "C"))):
        ...

Modules: :mod:`~splicelab.validate.sandbox` (namespaces, chroot, limits), :mod:`~.smoke` (commands and
inputs per program), :mod:`~.classify` (outcome classes from loader messages), :mod:`~.runner`
(staging, the loader command line, rewiring, baselines), :mod:`~.debian` (modes B and C between Debian
releases) and :mod:`~.spack` (splices of Spack artifacts by preload or rewire).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from splicelab.validate.classify import CLASSES
from splicelab.validate.debian import debian_jobs
from splicelab.validate.runner import Baseline, Job, Runner
from splicelab.validate.sandbox import Limits, namespaces_available
from splicelab.validate.smoke import SmokeConfig
from splicelab.validate.smoke import load as load_smoke

__all__ = ["CLASSES", "Job", "Limits", "debian_jobs", "load_smoke", "namespaces_available", "validate"]


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
) -> Iterator[dict[str, Any]]:
    """Perform each ``(job, baseline_job)``; yield one outcome record per job, in input order.

    The baseline job (the program unspliced on its own system) runs once per program; its outputs are
    what the splice's outputs must equal. ``workers`` threads run splices side by side (each process
    they start is a separate sandbox with its own user id).
    """
    smoke = smoke or load_smoke()
    pairs = list(jobs)
    local = threading.local()
    runners: list[Runner] = []
    lock = threading.Lock()
    baselines: dict[str, Baseline] = {}
    baseline_locks: dict[str, threading.Lock] = {}

    def runner() -> Runner:
        r = getattr(local, "runner", None)
        if r is None:
            r = Runner(smoke, limits=limits, timeout=timeout, isolate=isolate, verify=verify, scratch=scratch)
            local.runner = r
            with lock:
                runners.append(r)
        return r

    def baseline_for(b: Job | None) -> Baseline | None:
        if b is None:
            return None
        key = str(b.record.get("baseline_key") or (b.system.name, b.program))
        with lock:
            blk = baseline_locks.setdefault(key, threading.Lock())
        with blk:
            if key not in baselines:
                baselines[key] = runner().baseline(b)
            return baselines[key]

    def one(pair: tuple[Job, Job | None]) -> dict[str, Any]:
        job, base = pair
        bl = baseline_for(base)
        outcome = runner().run(job, bl)
        if bl is not None and bl.verdict.klass != "ok":
            outcome["baseline"] = {"class": bl.verdict.klass, "message": bl.verdict.message}
        return outcome

    try:
        if workers <= 1:
            for pair in pairs:
                out = one(pair)
                if progress:
                    progress(out)
                yield out
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for out in pool.map(one, pairs):
                    if progress:
                        progress(out)
                    yield out
    finally:
        for r in runners:
            r.close()
