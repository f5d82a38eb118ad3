"""Perform one splice for real: stage the replacement, run the program's smoke commands in a sandbox
through the system's own dynamic loader, check which library was really loaded, classify the outcome.

Three methods:

- ``hermetic`` — ``LOADER --inhibit-cache --library-path /.splice:DIRS PROGRAM ARGS``: the replacement
  sits in the stage directory searched first. Right for binaries without DT_RPATH (Debian's).
- ``preload`` — ``LOADER --inhibit-cache --preload '/.splice/libz.so.1 …' PROGRAM``: the preloaded
  object's soname satisfies every NEEDED entry, even under DT_RPATH (Spack's binaries).
- ``rewire`` — a copy of the program (and of its own package's libraries that carry RPATHs) gets its
  RPATH pointed at the stage with patchelf (``--force-rpath --set-rpath``), as Spack's rewiring does.

In every method ``LD_BIND_NOW=1`` and ``LC_ALL=C``, and the loader's own debug output of the same run
(:mod:`~splicelab.validate.loaded`) records which file each soname was loaded from: ``substituted``
tells whether the family's libraries really came from the stage (a leak or an RPATH that wins is caught
there, not assumed away).

A runner keeps one sandbox server (:class:`~splicelab.validate.sandbox.SandboxServer`) for its whole
life: each system's root is assembled once, and every run gets fresh contents in the same three
directories: the stage (read-only at ``/.splice``), the work directory (``/tmp``) and the loader's
debug output (``/.trace``). Rewired copies are made once per program and hard-linked into each stage.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.tools import patchelf
from splicelab.validate import loaded as loader_trace
from splicelab.validate.classify import OK, Roles, Verdict, classify_run, worst
from splicelab.validate.sandbox import Bind, Limits, Result, Sandbox, SandboxServer, chown_tree
from splicelab.validate.smoke import Command, SmokeConfig

STAGE = "/.splice"
TRACE = "/.trace"  # where the loader's debug output goes (writable, emptied before every run)
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


def _empty(directory: Path) -> None:
    """Remove everything in ``directory`` but keep the directory (a mount point inside the sandbox)."""
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


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
        self._tmp = tempfile.TemporaryDirectory(
            prefix="splicelab-validate-", dir=scratch, ignore_cleanup_errors=True
        )  # once a sandbox server runs, the server removes it, even if this process is killed
        self.scratch = Path(self._tmp.name)
        self._baselines: dict[tuple[str, str, str], Baseline] = {}
        self._server: SandboxServer | None = None
        self._rewired: dict[str, Path] = {}
        self.stage_dir = self.scratch / "stage"
        self.work_dir = self.scratch / "work"
        self.trace_dir = self.scratch / "trace"
        for d in (self.stage_dir, self.work_dir, self.trace_dir):
            d.mkdir(mode=0o755)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._tmp.cleanup()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building the command line ---

    def _argv(self, sb: Sandbox, job: Job, program: str, args: Sequence[str]) -> list[str]:
        loader = sb.path(job.system.loader)
        stage = sb.path(STAGE)
        argv = [loader, "--inhibit-cache"]
        if job.method == "hermetic":
            argv += ["--library-path", ":".join([stage, *(sb.path(d) for d in job.system.library_path)])]
        elif job.method == "preload":
            libs = sorted(n for n, p in job.stage.items() if _is_soname_entry(n))
            argv += ["--preload", " ".join(f"{stage}/{n}" for n in libs)]
        argv.append(sb.path(program))
        argv += list(args)
        return argv

    def _sandbox(self, system: System) -> Sandbox:
        if self._server is None:
            self._server = SandboxServer(isolate=self.isolate, scratch=self.scratch)
        binds = [*system.binds, Bind(self.stage_dir, STAGE), Bind(self.trace_dir, TRACE, writable=True)]
        return Sandbox(
            binds, self.work_dir, symlinks=system.symlinks, limits=self.limits, server=self._server
        )

    # --- running ---

    def _prepare(self, job: Job) -> str:
        """Fresh stage, work and trace directories for ``job``; the program's path as seen inside."""
        for d in (self.stage_dir, self.work_dir, self.trace_dir):
            _empty(d)
        _stage(self.stage_dir, job.stage)
        program = job.program
        if job.method == "rewire":
            program = self._rewire(job)
        self.smoke.write_inputs(self.work_dir)
        uid = self._server.uid if self._server is not None else None
        chown_tree(self.work_dir, uid)
        chown_tree(self.trace_dir, uid)
        return program

    def _rewire(self, job: Job) -> str:
        """Hard-link the rewired copies of the program and its own libraries into the stage."""
        if job.program_host is None:
            raise ValueError("rewire needs the program's host path")
        rpath = list(job.rewire_rpath) if job.rewire_rpath is not None else [STAGE, *job.system.library_path]
        if job.rewire_libs:
            rpath = [rpath[0], f"{STAGE}/own", *rpath[1:]]
        made = self._rewired_copies(job.program_host, job.program, rpath, job.rewire_libs)
        for sub in ("own", "program"):
            _stage(self.stage_dir / sub, {p.name: p for p in sorted((made / sub).iterdir())})
        return f"{STAGE}/program/{Path(job.program).name}"

    def _rewired_copies(
        self, program_host: Path, program: str, rpath: Sequence[str], libs: Mapping[str, Path]
    ) -> Path:
        """Copies with ``rpath`` (patchelf), made once per program, RPATH and set of own libraries."""
        real_libs = sorted((name, os.path.realpath(src)) for name, src in libs.items())
        key = repr((os.path.realpath(program_host), Path(program).name, list(rpath), real_libs))
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        if digest in self._rewired:
            return self._rewired[digest]
        made = self.scratch / "rewired" / digest
        (made / "own").mkdir(parents=True)
        (made / "program").mkdir()
        for name, src in real_libs:
            shutil.copy2(src, made / "own" / name)
            patchelf.rewire(made / "own" / name, rpath=rpath)
        prog = made / "program" / Path(program).name
        shutil.copy2(os.path.realpath(program_host), prog)
        patchelf.rewire(prog, rpath=rpath)
        self._rewired[digest] = made
        return made

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
        self, sb: Sandbox, job: Job, program: str, expected: Baseline | None, trace: bool = False
    ) -> tuple[Verdict, list[dict[str, Any]], list[bytes | None]]:
        roles = self._roles(sb, program, job)
        details: list[dict[str, Any]] = []
        verdicts: list[Verdict] = []
        stdouts: list[bytes | None] = []
        workdir = sb.path(sb.inside_workdir)
        env = environment(loader_trace.environment(sb.path(TRACE) + "/ld") if trace else None)
        for i, cmd in enumerate(self._commands(program)):
            out_path = sb.workdir / cmd.stdout if cmd.stdout else None
            argv = self._argv(sb, job, program, cmd.argv(workdir))
            res: Result = sb.run(argv, env=env, timeout=self.timeout, stdout_path=out_path)
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

    def baseline(self, job: Job) -> Baseline:
        """The program's run without the splice (its own system, its own libraries), cached."""
        key = (job.system.name, job.program, job.record.get("baseline_key", ""))
        if key in self._baselines:
            return self._baselines[key]
        plain = Job(
            job.program, job.system, {}, job.family_sonames, "hermetic", program_host=job.program_host
        )
        sb = self._sandbox(plain.system)
        program = self._prepare(plain)
        verdict, _details, stdouts = self._run_commands(sb, plain, program, None)
        self._baselines[key] = Baseline(stdouts, verdict)
        return self._baselines[key]

    def run(self, job: Job, baseline: Baseline | None = None) -> dict[str, Any]:
        """Perform ``job``; the outcome record of docs/formats.md (plus details)."""
        start = time.perf_counter()
        sb = self._sandbox(job.system)
        program = self._prepare(job)
        verdict, details, _ = self._run_commands(sb, job, program, baseline, trace=self.verify)
        loaded = loader_trace.read(self.trace_dir, sb.path(program)) if self.verify else {}
        isolation, note = sb.isolation, sb.note
        stage_prefixes = (sb.path(STAGE).rstrip("/") + "/", STAGE + "/")
        out: dict[str, Any] = {k: v for k, v in job.record.items() if k != "baseline_key"}
        out.update({"method": job.method, "class": verdict.klass, "message": verdict.message})
        if self.verify:
            fam = {s: p for s, p in loaded.items() if s in job.family_sonames}
            out["loaded"] = fam
            out["linked"] = bool(fam)
            out["substituted"] = bool(fam) and all(p.startswith(stage_prefixes) for p in fam.values())
            if isolation != "namespace":
                allowed = [str(p) for p in job.system.allowed] + [str(self.stage_dir)]
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
