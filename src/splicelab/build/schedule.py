"""Fit builds into a time limit: estimate each build's duration, and cut the work into chunks.

The estimate for a job is, from the records of earlier builds (this run's state): the mean time of the
same package and compiler, else of the same package, else of all builds, else ``default`` — times a
safety ``margin``. A run starts a build only if the estimate still fits in what is left of its limit.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from splicelab.build.records import CANCELLED, BuildRecord, Job

DEFAULT_ESTIMATE = 600.0  # seconds for a build nothing is known about
MARGIN = 1.25


@dataclass(slots=True)
class DurationModel:
    by_package_compiler: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    by_package: dict[str, list[float]] = field(default_factory=dict)
    all: list[float] = field(default_factory=list)
    default: float = DEFAULT_ESTIMATE
    margin: float = MARGIN

    @classmethod
    def from_records(
        cls, records: Iterable[BuildRecord], default: float = DEFAULT_ESTIMATE, margin: float = MARGIN
    ) -> DurationModel:
        model = cls(default=default, margin=margin)
        for r in records:
            if r.status != CANCELLED and r.seconds > 0:
                model.add(r.job, r.seconds)
        return model

    def add(self, job: Job, seconds: float) -> None:
        self.by_package_compiler.setdefault((job.package, job.compiler), []).append(seconds)
        self.by_package.setdefault(job.package, []).append(seconds)
        self.all.append(seconds)

    def estimate(self, job: Job) -> float:
        for samples in (
            self.by_package_compiler.get((job.package, job.compiler)),
            self.by_package.get(job.package),
            self.all,
        ):
            if samples:
                return statistics.fmean(samples) * self.margin
        return self.default * self.margin


def fits(elapsed: float, estimate: float, limit: float | None) -> bool:
    return limit is None or elapsed + estimate <= limit


def plan_chunks(jobs: Iterable[Job], model: DurationModel, limit: float) -> list[list[Job]]:
    """Jobs packed into as few chunks of at most ``limit`` estimated seconds as first-fit-decreasing finds.

    A job whose own estimate exceeds the limit gets a chunk of its own (it may still finish).
    """
    chunks: list[list[Job]] = []
    loads: list[float] = []
    for job in sorted(jobs, key=lambda j: (-model.estimate(j), j)):
        cost = model.estimate(job)
        for i, load in enumerate(loads):
            if load + cost <= limit:
                chunks[i].append(job)
                loads[i] += cost
                break
        else:
            chunks.append([job])
            loads.append(cost)
    return [sorted(c) for c in chunks]
