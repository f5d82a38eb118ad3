"""Run builds one by one: install with Spack, record, analyse the new prefix, upload, save the state.

One failing build does not stop the others. Before each build the runner checks that its estimated
duration still fits in the time limit; if not it stops cleanly and reports what remains (the state file
lets the next run carry on). An interrupt kills Spack, marks the build cancelled and saves the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.build.monitor import Monitor
from splicelab.build.prefix import PrefixError, build_log, read_log_file, read_phases, read_spec, tail
from splicelab.build.records import CANCELLED, FAILED, SUCCESS, BuildRecord, Job, Phase
from splicelab.build.schedule import DurationModel, fits
from splicelab.build.spack import CommandResult, InstallReport, Spack, SpackError
from splicelab.build.state import BuildState
from splicelab.sources.errors import SourceError
from splicelab.sources.spack import load_prefix


def record_install(job: Job, result: CommandResult, report: InstallReport, started: float) -> BuildRecord:
    """A build record from what ``spack install`` printed and what it left on disk."""
    node = report.node(job.package, job.version)
    succeeded = result.returncode == 0 and not result.timed_out and node is not None
    status = CANCELLED if result.timed_out else SUCCESS if succeeded else FAILED
    record = BuildRecord(job=job, status=status, seconds=round(result.seconds, 3), started=started)
    if node is not None:
        record.hash, record.prefix = node.hash, node.prefix
    else:
        record.hash = report.attempted_hash(job.package, job.version)
    if succeeded and node is not None:
        prefix = Path(node.prefix)
        try:
            record.phases = read_phases(prefix)
        except PrefixError as exc:
            record.error = str(exc)
        log = build_log(prefix)
        if log is not None:
            record.log_path = str(log)
            record.log = read_log_file(log)
    else:
        started_phases = report.phases.get(job.package, [])
        record.phases = [Phase(p, SUCCESS) for p in started_phases[:-1]]
        if started_phases:
            record.phases.append(Phase(started_phases[-1], FAILED if status == FAILED else CANCELLED))
        if result.timed_out:
            record.error = "stopped: the build ran past the time left"
        else:
            record.error = "; ".join(report.errors) or f"spack install exited with {result.returncode}"
        for candidate in report.build_logs:
            path = Path(candidate)
            if path.is_file():
                record.log_path = str(path)
                record.log = read_log_file(path)
                break
    if not record.phases:
        timings = report.timings.get(job.package, {})
        record.phases = [Phase(name, SUCCESS, secs) for name, secs in timings.items() if name != "total"]
    if not record.log:
        record.log = tail(result.output)
    return record


def analyze(record: BuildRecord) -> tuple[dict[str, Any] | None, Artifact | None, list[str]]:
    """The spec and the artifact (with the ELF corpora of its files) of a successful build's prefix."""
    if record.status != SUCCESS or not record.prefix:
        return None, None, []
    prefix = Path(record.prefix)
    problems: list[str] = []
    try:
        spec = read_spec(prefix)
    except PrefixError as exc:
        return None, None, [str(exc)]
    errors: list[SourceError] = []
    artifacts = load_prefix(prefix, errors)
    problems += [str(e) for e in errors]
    artifact = next((a for a in artifacts if record.hash is None or a.build_id == record.hash), None)
    if artifact is None and artifacts:
        artifact = artifacts[0]
    record.corpora = len(artifact.files) if artifact else 0
    return spec, artifact, problems


def upload(
    record: BuildRecord,
    spec: dict[str, Any] | None,
    artifact: Artifact | None,
    monitor: Monitor | None,
    tags: Sequence[str] = (),
) -> None:
    if monitor is None:
        return
    try:
        monitor.upload(record, spec, artifact, tags)
    except Exception as exc:  # any failure of the monitor is recorded, the run goes on
        record.uploaded, record.upload_error = False, f"{type(exc).__name__}: {exc}"
    else:
        record.uploaded, record.upload_error = True, None


def finish(
    record: BuildRecord,
    monitor: Monitor | None,
    tags: Sequence[str] = (),
    spec: dict[str, Any] | None = None,
) -> list[str]:
    """Analyse a finished build's prefix (a failed one has none) and upload the build.

    The half of a build after ``spack install``. ``spec`` stands in for the prefix's spec.json when
    the build left no prefix (a failure).
    """
    found, artifact, problems = analyze(record)
    upload(record, found or spec, artifact, monitor, tags)
    return problems


@dataclass(slots=True)
class RunResult:
    records: list[BuildRecord] = field(default_factory=list)
    remaining: list[Job] = field(default_factory=list)
    stopped_for_time: bool = False
    interrupted: bool = False

    @property
    def failed(self) -> list[BuildRecord]:
        return [r for r in self.records if r.status == FAILED]


@dataclass
class Runner:
    spack: Spack
    state: BuildState
    monitor: Monitor | None = None
    tags: Sequence[str] = ()
    time_limit: float | None = None
    install_args: Sequence[str] = ()
    log_dir: Path | None = None
    retry_failed: bool = False
    echo: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic

    def run(self, jobs: Iterable[Job]) -> RunResult:
        jobs = list(jobs)
        self.state.add_jobs(jobs)
        self.state.save()
        todo = self.state.pending(jobs, retry_failed=self.retry_failed)
        skipped = len(jobs) - len(todo)
        if skipped:
            self.echo(
                f"{skipped} of {len(jobs)} builds already ran (state {self.state.path}); see --retry-failed"
            )
        model = DurationModel.from_records(self.state.records.values())
        start = self.clock()
        result = RunResult()
        for i, job in enumerate(todo):
            elapsed = self.clock() - start
            estimate = model.estimate(job)
            if not fits(elapsed, estimate, self.time_limit):
                result.stopped_for_time = True
                result.remaining = todo[i:]
                left = self._left(elapsed)
                self.echo(f"stopping: {job.spec} is estimated at {estimate:.0f}s and {left:.0f}s are left")
                break
            self.echo(f"[{i + 1}/{len(todo)}] spack install {job.spec}")
            try:
                record = self.build(job, None if self.time_limit is None else self.time_limit - elapsed)
            except KeyboardInterrupt:
                self.state.record(
                    BuildRecord(job, CANCELLED, seconds=self.clock() - start - elapsed, error="interrupted")
                )
                result.interrupted = True
                result.remaining = todo[i:]
                break
            model.add(job, record.seconds)
            result.records.append(record)
            self.echo(self._summary(record))
        return result

    def _left(self, elapsed: float) -> float:
        return float("inf") if self.time_limit is None else max(0.0, self.time_limit - elapsed)

    def build(self, job: Job, time_left: float | None = None) -> BuildRecord:
        log = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = self.log_dir / f"{job.package}-{job.version}-{job.compiler.replace('@', '-')}.log"
        started = time.time()
        result, report = self.spack.install(
            job.spec, extra_args=self.install_args, log=log, timeout=time_left
        )
        record = record_install(job, result, report, started)
        spec = None
        if self.monitor is not None and record.status != SUCCESS:
            try:  # a failed build left no spec.json; the monitor needs the spec to file the build under
                spec = self.spack.spec_json(job.spec)
            except SpackError as exc:
                self.echo(f"  warning: no spec to report the failure with: {exc}")
        for problem in finish(record, self.monitor, self.tags, spec):
            self.echo(f"  warning: {problem}")
        self.state.record(record)
        return record

    @staticmethod
    def _summary(record: BuildRecord) -> str:
        phases = ", ".join(f"{p.name}" + (f" {p.seconds:.1f}s" if p.seconds else "") for p in record.phases)
        line = f"  {record.status} in {record.seconds:.0f}s"
        if phases:
            line += f" [{phases}]"
        if record.status == SUCCESS:
            line += f"; {record.corpora} ELF files in {record.prefix}"
        elif record.error:
            line += f": {record.error.splitlines()[0][:300]}"
        if record.upload_error:
            line += f"; upload failed: {record.upload_error}"
        elif record.uploaded:
            line += "; uploaded"
        return line
