"""The half of a build after ``spack install``: record, analyse, upload, resume, fit in time.

Runs over the real Spack install trees in ../shared/fixtures. The install outputs are the ones captured
from real Spack 0.23.1 (tests/test_build_spack.py); where a test needs the output to name a fixture
prefix, only that ``[+] PREFIX`` line is pointed at the fixture.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from splicelab.artifact import Artifact
from splicelab.build.records import CANCELLED, FAILED, SUCCESS, BuildRecord, Job, Phase
from splicelab.build.runner import Runner, finish, record_install
from splicelab.build.schedule import DurationModel, plan_chunks
from splicelab.build.spack import CommandResult, Spack, parse_install_output
from splicelab.build.state import BuildState, StateError
from splicelab.cli.build import match_compilers
from splicelab.elf import is_elf
from test_build_spack import SPACK_023_INSTALL_CONFIGURE_FAILED, SPACK_023_INSTALL_OK

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
TREE_023 = FIXTURES / "spack-0.23" / "opt" / "linux-debian12-x86_64_v3" / "gcc-12.2.0"
ZLIB_PREFIX = TREE_023 / "zlib-1.2.13-qq2htmjflei7crdoq652m7rgp5wtf7dh"
PIGZ_PREFIX = TREE_023 / "pigz-2.8-rfx64iuozdad7mrvry4lxv5fmugjfxez"

pytestmark = pytest.mark.skipif(not TREE_023.is_dir(), reason="../shared/fixtures is not present")


class RecordingMonitor:
    """An in-process implementation of the runner's Monitor protocol that keeps what it is sent."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[BuildRecord, dict[str, Any] | None, Artifact | None, tuple[str, ...]]] = []

    def upload(
        self, record: BuildRecord, spec: dict[str, Any] | None, artifact: Artifact | None, tags: Sequence[str]
    ) -> None:
        if self.fail:
            raise ConnectionError("monitor is down")
        self.sent.append((record, spec, artifact, tuple(tags)))


def elf_files(prefix: Path) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(prefix):
        dirnames[:] = [d for d in dirnames if d != ".spack"]
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink() and is_elf(path):
                found.add(str(path.relative_to(prefix)))
    return found


def output_naming(prefix: Path) -> str:
    lines = SPACK_023_INSTALL_OK.splitlines()
    lines[-1] = f"[+] {prefix}"
    return "\n".join(lines) + "\n"


def result(output: str, returncode: int = 0, timed_out: bool = False) -> CommandResult:
    return CommandResult(("spack", "install"), returncode, output, 41.5, timed_out)


def test_success_is_recorded_from_the_prefix() -> None:
    job = Job("zlib", "1.2.13", "gcc@12.2.0")
    out = output_naming(ZLIB_PREFIX)
    record = record_install(job, result(out), parse_install_output(out), started=1.0)
    assert record.status == SUCCESS and record.hash == "qq2htmjflei7crdoq652m7rgp5wtf7dh"
    assert record.prefix == str(ZLIB_PREFIX) and record.seconds == 41.5
    times = json.loads((ZLIB_PREFIX / ".spack" / "install_times.json").read_text())
    assert [(p.name, p.seconds) for p in record.phases] == [
        (p["name"], p["seconds"]) for p in times["phases"]
    ]
    assert all(p.status == SUCCESS for p in record.phases)
    # the fixture's build logs were removed from the export: the record keeps spack's own output
    assert record.log_path is None and record.log == out


def test_finish_analyses_and_uploads() -> None:
    monitor = RecordingMonitor()
    out = output_naming(PIGZ_PREFIX)
    job = Job("pigz", "2.8", "gcc@12.2.0")
    record = record_install(job, result(out), parse_install_output(out), started=1.0)
    problems = finish(record, monitor, tags=("ci", "run-1"))
    assert problems == []
    assert record.uploaded and record.upload_error is None
    (sent_record, spec, artifact, tags) = monitor.sent[0]
    assert sent_record is record and tags == ("ci", "run-1")
    assert spec == json.loads((PIGZ_PREFIX / ".spack" / "spec.json").read_text())
    assert artifact is not None and artifact.build_id == "rfx64iuozdad7mrvry4lxv5fmugjfxez"
    assert set(artifact.files) == elf_files(PIGZ_PREFIX) and record.corpora == len(artifact.files) > 0
    assert "bin/pigz" in artifact.files and "libz.so.1" in artifact.files["bin/pigz"].needed


def test_monitor_failure_is_recorded_not_raised() -> None:
    out = output_naming(ZLIB_PREFIX)
    record = record_install(Job("zlib", "1.2.13", "gcc@12.2.0"), result(out), parse_install_output(out), 1.0)
    finish(record, RecordingMonitor(fail=True))
    assert not record.uploaded and record.upload_error == "ConnectionError: monitor is down"
    assert record.corpora == len(elf_files(ZLIB_PREFIX))


STAGE_LOG = "/opt/spack-live/stage/0.23/root/spack-stage-zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr/spack-build-out.txt"  # noqa: E501

# the end of that build log, as Spack 0.23.1 wrote it
BUILD_LOG_TAIL = """\
==> zlib: Executing phase: 'edit'
==> [2026-11-25-15:35:28.912378] './configure' '--prefix=/opt/spack-live/0.23/opt/linux-debian12-x86_64_v4/gcc-11.3.0/zlib-1.2.13-wy7rtpf36pyphhys3lqsxa5gkh6h2btr'
[spack cc] ERROR: Compiler 'gcc@=11.3.0' does not have a C++ compiler configured.
Compiler error reporting is too harsh for ./configure (perhaps remove -Werror).
** ./configure aborting.
"""  # noqa: E501


@pytest.mark.parametrize("log_kept", [True, False])
def test_failure_record(tmp_path: Path, log_kept: bool) -> None:
    job = Job("zlib", "1.2.13", "gcc@11.3.0")
    log = tmp_path / "spack-build-out.txt"
    if log_kept:
        log.write_text(BUILD_LOG_TAIL)
    out = SPACK_023_INSTALL_CONFIGURE_FAILED.replace(STAGE_LOG, str(log))
    record = record_install(job, result(out, returncode=1), parse_install_output(out), started=1.0)
    assert record.status == FAILED and record.prefix is None
    assert [(p.name, p.status) for p in record.phases] == [("edit", FAILED)]
    assert (
        record.error is not None and record.error.startswith("ProcessError") and "./configure" in record.error
    )
    if log_kept:
        assert record.log_path == str(log) and "does not have a C++ compiler" in record.log
    else:
        assert record.log_path is None and record.log == out  # the stage went away: spack's output
    monitor = RecordingMonitor()
    assert finish(record, monitor) == []
    assert monitor.sent == [(record, None, None, ())]  # the failure is reported, with nothing to analyse


def test_timeout_is_cancelled() -> None:
    job = Job("zlib", "1.2.13", "gcc@11.3.0")
    out = SPACK_023_INSTALL_CONFIGURE_FAILED.split("==> Error")[0]
    record = record_install(job, result(out, returncode=-15, timed_out=True), parse_install_output(out), 1.0)
    assert record.status == CANCELLED and record.phases == [Phase("edit", CANCELLED)]


def test_state_round_trip_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    jobs = [Job("zlib", v, c) for v in ("1.3.1", "1.2.13") for c in ("gcc@12.2.0", "clang@15.0.6")]
    state = BuildState.load(path)
    state.add_jobs(jobs)
    state.record(
        BuildRecord(jobs[0], SUCCESS, seconds=40, hash="h" * 32, phases=[Phase("build", SUCCESS, 9.5)])
    )
    state.record(BuildRecord(jobs[1], FAILED, seconds=20, error="ProcessError"))
    state.record(BuildRecord(jobs[2], CANCELLED, seconds=5, error="interrupted"))
    again = BuildState.load(path)
    assert again.jobs == jobs
    assert again.records[jobs[0].key].phases == [Phase("build", SUCCESS, 9.5)]
    assert again.pending(jobs) == [jobs[2], jobs[3]]
    assert again.pending(jobs, retry_failed=True) == [jobs[1], jobs[2], jobs[3]]


def test_bad_state_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"schema": "splicelab.build-state/1", "records": [{"job": {}, "status": "success"}]}')
    with pytest.raises(StateError, match=str(path)):
        BuildState.load(path)
    path.write_text("{not json")
    with pytest.raises(StateError, match="cannot read build state"):
        BuildState.load(path)


def test_runner_stops_before_a_build_that_would_not_fit(tmp_path: Path) -> None:
    state = BuildState.load(tmp_path / "state.json")
    done = Job("zlib", "1.3.1", "gcc@12.2.0")
    state.add_jobs([done])
    state.record(BuildRecord(done, SUCCESS, seconds=100.0))
    jobs = [done, Job("zlib", "1.2.13", "gcc@12.2.0"), Job("zlib", "1.2.11", "gcc@12.2.0")]
    lines: list[str] = []
    # Spack is never started: the first pending build (estimated 125 s from the record) does not fit in 60 s
    runner = Runner(Spack(tmp_path / "no-spack-here"), state, time_limit=60, echo=lines.append)
    outcome = runner.run(jobs)
    assert outcome.stopped_for_time and outcome.records == []
    assert outcome.remaining == jobs[1:]
    assert any("1 of 3 builds already ran" in line for line in lines) and any(
        "estimated at 125s" in line for line in lines
    )
    assert [j.key for j in BuildState.load(tmp_path / "state.json").jobs] == [j.key for j in jobs]


def test_duration_model_and_chunks() -> None:
    model = DurationModel(default=100, margin=1.0)
    model.add(Job("zlib", "1.3.1", "gcc@12.2.0"), 40)
    model.add(Job("zlib", "1.3.1", "clang@15.0.6"), 20)
    assert model.estimate(Job("zlib", "1.2.8", "gcc@12.2.0")) == 40
    assert model.estimate(Job("zlib", "1.2.8", "gcc@11.3.0")) == 30
    assert model.estimate(Job("pigz", "2.8", "gcc@11.3.0")) == 30
    assert DurationModel(default=100, margin=1.0).estimate(Job("pigz", "2.8", "gcc")) == 100
    jobs = [Job("zlib", v, c) for v in ("1.3.1", "1.2.13", "1.2.11") for c in ("gcc@12.2.0", "clang@15.0.6")]
    chunks = plan_chunks(jobs, model, limit=70)
    assert sorted(j for c in chunks for j in c) == sorted(jobs)
    assert all(sum(model.estimate(j) for j in c) <= 70 for c in chunks)
    assert len(chunks) == 3  # 3 x 40 + 3 x 20 = 180 s; 70 s chunks hold 40 + 20 each
    assert plan_chunks([Job("big", "1", "gcc")], DurationModel(default=500, margin=1.0), limit=70) == [
        [Job("big", "1", "gcc")]
    ]


def test_match_compilers() -> None:
    found = ["gcc@12.2.0", "gcc@11.3.0", "llvm@15.0.6"]
    assert match_compilers(["all"], found) == (found, [])
    assert match_compilers([], found) == (found, [])
    assert match_compilers(["gcc@12"], found) == (["gcc@12.2.0"], [])
    assert match_compilers(["gcc", "clang@15.0.6", "intel@2021"], found) == (
        ["gcc@12.2.0", "gcc@11.3.0", "llvm@15.0.6"],
        ["intel@2021"],
    )


def test_job_spec() -> None:
    assert Job("zlib", "1.2.13", "gcc@12.2.0").spec == "zlib@=1.2.13 %gcc@12.2.0"
    assert Job("zlib", "1.2.13", "gcc@12.2.0", "+pic").spec == "zlib@=1.2.13 +pic %gcc@12.2.0"
