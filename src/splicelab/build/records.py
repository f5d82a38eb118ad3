"""What one build was: its job (package, version, compiler), status, phases, timing and log.

A :class:`BuildRecord` is written to the resume state after every build and uploaded to the monitor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SUCCESS = "success"
FAILED = "failed"
CANCELLED = "cancelled"  # interrupted or out of time: to be run again
STATUSES = (SUCCESS, FAILED, CANCELLED)


@dataclass(frozen=True, slots=True, order=True)
class Job:
    """One ``spack install``: a version of a package built with one compiler."""

    package: str
    version: str
    compiler: str
    variants: str = ""  # extra spec text, e.g. "+shared cflags=-O2"

    @property
    def spec(self) -> str:
        parts = [f"{self.package}@={self.version}", f"%{self.compiler}"]
        if self.variants:
            parts.insert(1, self.variants)
        return " ".join(parts)

    @property
    def key(self) -> str:
        return f"{self.package}@{self.version}%{self.compiler}" + (
            f" {self.variants}" if self.variants else ""
        )

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Job:
        try:
            return cls(str(d["package"]), str(d["version"]), str(d["compiler"]), str(d.get("variants", "")))
        except KeyError as exc:
            raise ValueError(f"job: missing field {exc.args[0]!r}") from None


@dataclass(slots=True)
class Phase:
    name: str
    status: str  # success | failed
    seconds: float | None = None


@dataclass(slots=True)
class BuildRecord:
    job: Job
    status: str
    seconds: float = 0.0
    hash: str | None = None
    prefix: str | None = None
    phases: list[Phase] = field(default_factory=list)
    log: str = ""  # the tail of the build log (or of spack's output when there is no build log)
    log_path: str | None = None
    error: str | None = None
    started: float | None = None  # epoch seconds
    corpora: int = 0  # ELF files analysed in the prefix
    uploaded: bool = False
    upload_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["job"] = self.job.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BuildRecord:
        if d.get("status") not in STATUSES:
            raise ValueError(
                f"build record: field 'status' is {d.get('status')!r}, expected one of {STATUSES}"
            )
        try:
            return cls(
                job=Job.from_dict(d["job"]),
                status=str(d["status"]),
                seconds=float(d.get("seconds", 0.0)),
                hash=d.get("hash"),
                prefix=d.get("prefix"),
                phases=[
                    Phase(str(p["name"]), str(p["status"]), p.get("seconds")) for p in d.get("phases", [])
                ],
                log=str(d.get("log", "")),
                log_path=d.get("log_path"),
                error=d.get("error"),
                started=d.get("started"),
                corpora=int(d.get("corpora", 0)),
                uploaded=bool(d.get("uploaded", False)),
                upload_error=d.get("upload_error"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"build record: bad field: {exc}") from None
