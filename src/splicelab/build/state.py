"""The resume state: every job of a run, and the record of each one that finished.

Written (atomically: a temporary file, then rename) after every build, so an interrupted run — a
killed job, a CI time limit — starts again where it stopped. Cancelled builds are run again; failed ones
only with ``retry_failed``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.build.records import CANCELLED, FAILED, SUCCESS, BuildRecord, Job

SCHEMA = "splicelab.build-state/1"


class StateError(ValueError):
    """The state file is unreadable or malformed; the message names it."""


@dataclass(slots=True)
class BuildState:
    path: Path | None = None
    jobs: list[Job] = field(default_factory=list)
    records: dict[str, BuildRecord] = field(default_factory=dict)  # job key -> last record

    @classmethod
    def load(cls, path: Path) -> BuildState:
        """The state in ``path``; an empty state when the file does not exist yet."""
        if not path.exists():
            return cls(path)
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateError(f"{path}: cannot read build state: {exc}") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise StateError(f"{path}: field 'schema' is not {SCHEMA!r}")
        try:
            jobs = [Job.from_dict(j) for j in doc.get("jobs", [])]
            records = [BuildRecord.from_dict(r) for r in doc.get("records", [])]
        except ValueError as exc:
            raise StateError(f"{path}: {exc}") from None
        return cls(path, jobs, {r.job.key: r for r in records})

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "jobs": [j.to_dict() for j in self.jobs],
            "records": [self.records[j.key].to_dict() for j in self.jobs if j.key in self.records],
        }

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, self.path)

    def add_jobs(self, jobs: Iterable[Job]) -> None:
        known = {j.key for j in self.jobs}
        for job in jobs:
            if job.key not in known:
                self.jobs.append(job)
                known.add(job.key)

    def record(self, record: BuildRecord) -> None:
        self.records[record.job.key] = record
        self.save()

    def pending(self, jobs: Iterable[Job], *, retry_failed: bool = False) -> list[Job]:
        """Those of ``jobs`` still to run: never run, cancelled, or failed (when retrying)."""
        redo = {CANCELLED, FAILED} if retry_failed else {CANCELLED}
        return [j for j in jobs if j.key not in self.records or self.records[j.key].status in redo]

    def finished(self, status: str = SUCCESS) -> list[BuildRecord]:
        return [r for r in self.records.values() if r.status == status]
