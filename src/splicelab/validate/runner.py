"""Perform one splice for real: stage the replacement, run the program's smoke commands in a sandbox
through the system's own dynamic loader, check which library was really loaded, classify the outcome.

Three methods:

- ``hermetic`` — ``LOADER --inhibit-cache --library-path /.splice:DIRS PROGRAM ARGS``: the replacement
  sits in the stage directory searched first. Right for binaries without DT_RPATH (Debian's).
- ``preload`` — ``LOADER --inhibit-cache --preload '/.splice/libz.so.1 …' PROGRAM``: the preloaded
  object's soname satisfies every NEEDED entry, even under DT_RPATH (Spack's binaries).
- ``rewire`` — a copy of the program (and of its own package's libraries that carry RPATHs) gets its
  RPATH pointed at the stage with patchelf (``--force-rpath --set-rpath``), as Spack's rewiring does.

In every method ``LD_BIND_NOW=1`` and ``LC_ALL=C``, and a ``--list`` run of the same loader command
records which file each soname was loaded from: ``substituted`` tells whether the family's libraries
really came from the stage (a leak or an RPATH that wins is caught there, not assumed away).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.tools import patchelf
from splicelab.validate.classify import OK, Roles, Verdict, classify_run, worst
from splicelab.validate.sandbox import Bind, Limits, Result, Sandbox
from splicelab.validate.smoke import Command, SmokeConfig

STAGE = "/.splice"
METHODS = ("hermetic", "preload", "rewire")


@dataclass
class System:
    """A runtime to run programs on: the binds and symlinks of its root, its loader, its library dirs."""

    name: str
    binds: list[Bind]
    symlinks: dict[str, str] = field(default_factory=dict)
    loader: str = "/lib64/ld-linux-x86-64.so.2"
    library_path: list[str] = field(default_factory=list)  # searched after the stage (hermetic)
    allowed: list[Path] = field(default_factory=list)  # host paths a non-isolated run may load from


@dataclass
class Job:
    """One splice to perform: ``program`` (path inside ``system``) with ``stage`` files spliced in."""

    program: str
    system: System
    stage: Mapping[str, Path]  # file name in the stage → host file (libraries and soname links)
    family_sonames: frozenset[str]
    method: str = "hermetic"
    record: dict[str, Any] = field(default_factory=dict)  # fields copied into the outcome
    program_host: Path | None = None  # the program file on the host (rewire copies it)
    rewire_libs: Mapping[str, Path] = field(default_factory=dict)  # own libs to copy and rewire
    rewire_rpath: Sequence[str] | None = None  # rpath of rewired copies (default: stage + system dirs)


@dataclass
class Baseline:
    """The unspliced run's stdout per command (None where it failed or is not compared)."""

    stdouts: list[bytes | None]
    verdict: Verdict


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"LC_ALL": "C", "LD_BIND_NOW": "1", "PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp"}
    env.update(extra or {})
    return env


def _stage(directory: Path, files: Mapping[str, Path]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        dst = directory / name
        if os.path.lexists(dst):
            continue
        real = Path(os.path.realpath(src))
        try:
            os.link(real, dst)
        except OSError:
            shutil.copy2(real, dst)


class Runner:
    """Runs jobs; keeps baselines (unspliced runs) per program and system."""

    def __init__(
        self,
        smoke: SmokeConfig,
        *,
        limits: Limits | None = None,
        timeout: float = 10.0,
        isolate: bool = True,
        verify: bool = True,
        scratch: Path | None = None,
    ) -> None:
        self.smoke = smoke
        self.limits = limits or Limits()
        self.timeout = timeout
        self.isolate = isolate
        self.verify = verify
        self._tmp = tempfile.TemporaryDirectory(prefix="splicelab-validate-", dir=scratch)
        self.scratch = Path(self._tmp.name)
        self._baselines: dict[tuple[str, str, str], Baseline] = {}
        self._count = 0

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building the command line ---

    def _argv(
        self, sb: Sandbox, job: Job, program: str, args: Sequence[str], listing: bool = False
    ) -> list[str]:
        loader = sb.path(job.system.loader)
        stage = sb.path(STAGE)
        argv = [loader]
        if listing:
            argv.append("--list")
        argv.append("--inhibit-cache")
        if job.method == "hermetic":
            argv += ["--library-path", ":".join([stage, *(sb.path(d) for d in job.system.library_path)])]
        elif job.method == "preload":
            libs = sorted(n for n, p in job.stage.items() if _is_soname_entry(n))
            argv += ["--preload", " ".join(f"{stage}/{n}" for n in libs)]
        argv.append(sb.path(program))
        argv += list(args)
        return argv

    def _sandbox(self, system: System, workdir: Path, stage_dir: Path) -> Sandbox:
        binds = [*system.binds, Bind(stage_dir, STAGE)]
        return Sandbox(binds, workdir, symlinks=system.symlinks, limits=self.limits, isolate=self.isolate)

    # --- running ---

    def _prepare(self, job: Job, tag: str) -> tuple[Path, Path, str]:
        self._count += 1
        base = self.scratch / f"{tag}{self._count}"
        stage_dir = base / "stage"
        _stage(stage_dir, job.stage)
        program = job.program
        if job.method == "rewire":
            program = self._rewire(job, stage_dir)
        return base, stage_dir, program

    def _rewire(self, job: Job, stage_dir: Path) -> str:
        if job.program_host is None:
            raise ValueError("rewire needs the program's host path")
        own = stage_dir / "own"
        own.mkdir(exist_ok=True)
        rpath = list(job.rewire_rpath) if job.rewire_rpath is not None else [STAGE, *job.system.library_path]
        if job.rewire_libs:
            rpath = [rpath[0], f"{STAGE}/own", *rpath[1:]]
        for name, src in job.rewire_libs.items():
            dst = own / name
            shutil.copy2(os.path.realpath(src), dst)
            patchelf.rewire(dst, rpath=rpath)
        prog = stage_dir / "program" / Path(job.program).name
        prog.parent.mkdir(exist_ok=True)
        shutil.copy2(os.path.realpath(job.program_host), prog)
        patchelf.rewire(prog, rpath=rpath)
        return f"{STAGE}/program/{prog.name}"

    def _roles(self, sb: Sandbox, program: str, job: Job) -> Roles:
        stage = sb.path(STAGE).rstrip("/") + "/"
        prog = sb.path(program)
        prog_name = os.path.basename(program)

        def is_program(p: str) -> bool:
            return p in (prog, program) or os.path.basename(p) == prog_name

        def is_replacement(p: str) -> bool:
            for pre in (stage, STAGE + "/"):
                if p.startswith(pre):
                    return not p[len(pre) :].startswith(("own/", "program/"))
            return False

        return Roles(is_program, is_replacement, job.family_sonames)

    def _commands(self, program: str) -> tuple[Command, ...]:
        return self.smoke.commands(program)

    def _run_commands(
        self, sb: Sandbox, job: Job, program: str, expected: Baseline | None
    ) -> tuple[Verdict, list[dict[str, Any]], list[bytes | None]]:
        roles = self._roles(sb, program, job)
        details: list[dict[str, Any]] = []
        verdicts: list[Verdict] = []
        stdouts: list[bytes | None] = []
        workdir = sb.path(sb.inside_workdir)
        for i, cmd in enumerate(self._commands(program)):
            out_path = sb.workdir / cmd.stdout if cmd.stdout else None
            argv = self._argv(sb, job, program, cmd.argv(workdir))
            res: Result = sb.run(argv, env=environment(), timeout=self.timeout, stdout_path=out_path)
            want = None
            if expected is not None and cmd.compare and cmd.stdout is None and i < len(expected.stdouts):
                want = expected.stdouts[i]
            v = classify_run(
                res.returncode,
                res.stderr.decode(errors="replace"),
                timed_out=res.timed_out,
                roles=roles,
                expected_stdout=want,
                stdout=res.stdout,
                check_exit=cmd.check_exit,
            )
            details.append({"args": list(cmd.args), "returncode": res.returncode, "class": v.klass,
                            "seconds": round(res.seconds, 4)})  # fmt: skip
            stdouts.append(res.stdout if cmd.compare and cmd.stdout is None and v.klass == OK else None)
            verdicts.append(v)
            if v.klass != OK:
                if v.message == "" or v.klass in ("runtime-refused",):
                    details[-1]["stderr"] = res.stderr.decode(errors="replace")[-400:]
                break
        return worst(verdicts), details, stdouts

    def _listing(self, sb: Sandbox, job: Job, program: str) -> dict[str, str]:
        res = sb.run(self._argv(sb, job, program, [], listing=True), env=environment(), timeout=self.timeout)
        loaded: dict[str, str] = {}
        for line in res.stdout.decode(errors="replace").splitlines():
            m = re.match(r"\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", line)
            if m:
                loaded[m.group(1)] = m.group(2)
                continue
            m = re.match(r"\s*(/\S+) \(0x[0-9a-f]+\)$", line)  # preloaded objects, the loader itself
            if m:
                loaded.setdefault(os.path.basename(m.group(1)), m.group(1))
        return loaded

    def baseline(self, job: Job) -> Baseline:
        """The program's run without the splice (its own system, its own libraries), cached."""
        key = (job.system.name, job.program, job.record.get("baseline_key", ""))
        if key in self._baselines:
            return self._baselines[key]
        plain = Job(
            job.program, job.system, {}, job.family_sonames, "hermetic", program_host=job.program_host
        )
        base, stage_dir, program = self._prepare(plain, "b")
        work = base / "work"
        work.mkdir(parents=True)
        self.smoke.write_inputs(work)
        with self._sandbox(plain.system, work, stage_dir) as sb:
            sb.prepare_workdir()
            verdict, _details, stdouts = self._run_commands(sb, plain, program, None)
        shutil.rmtree(base, ignore_errors=True)
        self._baselines[key] = Baseline(stdouts, verdict)
        return self._baselines[key]

    def run(self, job: Job, baseline: Baseline | None = None) -> dict[str, Any]:
        """Perform ``job``; the outcome record of docs/formats.md (plus details)."""
        start = time.perf_counter()
        base, stage_dir, program = self._prepare(job, "s")
        work = base / "work"
        work.mkdir(parents=True)
        self.smoke.write_inputs(work)
        with self._sandbox(job.system, work, stage_dir) as sb:
            sb.prepare_workdir()
            verdict, details, _ = self._run_commands(sb, job, program, baseline)
            loaded = self._listing(sb, job, program) if self.verify else {}
            isolation, note = sb.isolation, sb.note
            stage_prefixes = (sb.path(STAGE).rstrip("/") + "/", STAGE + "/")
        shutil.rmtree(base, ignore_errors=True)
        out: dict[str, Any] = {k: v for k, v in job.record.items() if k != "baseline_key"}
        out.update({"method": job.method, "class": verdict.klass, "message": verdict.message})
        if self.verify:
            fam = {s: p for s, p in loaded.items() if s in job.family_sonames}
            out["loaded"] = fam
            out["linked"] = bool(fam)
            out["substituted"] = bool(fam) and all(p.startswith(stage_prefixes) for p in fam.values())
            if isolation != "namespace":
                allowed = [str(p) for p in job.system.allowed] + [str(stage_dir)]
                out["leaks"] = sorted(
                    p for p in loaded.values() if p.startswith("/") and not p.startswith(tuple(allowed))
                )
        if verdict.symbol:
            out["symbol"] = verdict.symbol
        if verdict.version:
            out["version"] = verdict.version
        out["isolation"] = isolation
        if note:
            out["isolation_note"] = note
        out["commands"] = details
        out["seconds"] = round(time.perf_counter() - start, 4)
        return out


def _is_soname_entry(name: str) -> bool:
    return ".so" in name and not name.endswith(".so")


def root_system(name: str, root: Path, *, loader: str = "/lib64/ld-linux-x86-64.so.2") -> System:
    """A system made of a whole root directory (a Debian release root): its top-level dirs and links."""
    binds: list[Bind] = []
    links: dict[str, str] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name in ("tmp", "dev", "proc"):
            continue
        if entry.is_symlink():
            links["/" + entry.name] = os.readlink(entry.path)
        elif entry.is_dir():
            binds.append(Bind(Path(entry.path), "/" + entry.name))
    return System(name, binds, links, loader=loader, allowed=[root])


def host_system(extra: Sequence[Bind] = ()) -> System:
    """This machine's own runtime (read-only) plus ``extra`` binds (e.g. a moved Spack tree)."""
    binds: list[Bind] = []
    links: dict[str, str] = {}
    for name in ("usr", "etc", "lib", "lib64", "lib32", "libx32", "bin", "sbin", "opt"):
        path = Path("/") / name
        if path.is_symlink():
            links["/" + name] = os.readlink(path)
        elif path.is_dir() and name != "opt":
            binds.append(Bind(path, "/" + name))
    binds += list(extra)
    allowed = [Path("/usr"), Path("/lib"), Path("/lib64"), *[b.source for b in extra]]
    return System("host", binds, links, allowed=allowed)
