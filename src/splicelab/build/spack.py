"""The one adapter around the ``spack`` program: locate it, run it, and read what it prints.

Spack is found as ``$SPACK_ROOT/bin/spack`` when ``SPACK_ROOT`` is set, else as ``spack`` on ``PATH``.
Everything else in :mod:`splicelab.build` talks to Spack only through :class:`Spack`. The parsers are
plain functions over text so they can be checked against captured real output (Spack 0.23 and 1.0
print compilers differently: ``gcc@12.2.0`` under a ``-- gcc debian12-x86_64 --`` header in 0.23,
``[e]  gcc@12.2.0`` in 1.0, where compilers are packages and ``compiler find`` prints ``gcc@=12.2.0``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_HELP = (
    "Spack was not found: put `spack` on PATH or set SPACK_ROOT to a Spack checkout. To install it: "
    "`git clone --depth=2 https://github.com/spack/spack.git ~/spack && . ~/spack/share/spack/setup-env.sh` "
    "(it needs python3, a C/C++ compiler, make, patch, tar, gzip, unzip, bzip2, xz, file and git)."
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SPEC_TOKEN = re.compile(r"(?<![\w@=.+-])([A-Za-z][\w.+-]*)@=?([\w][\w.+-]*)")


class SpackNotFoundError(RuntimeError):
    """No usable ``spack`` executable; the message says what to install."""


class SpackError(RuntimeError):
    """A spack command (other than an install, whose failure is data) failed."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


# --- parsers -----------------------------------------------------------------------------------------


def parse_compiler_list(text: str) -> list[str]:
    """``spack compiler list`` → ``["gcc@12.2.0", "clang@15.0.6", ...]`` in the order printed."""
    found: dict[str, None] = {}
    for line in strip_ansi(text).splitlines():
        line = line.strip()
        if not line or line.startswith(("==>", "--")):
            continue
        for name, version in _SPEC_TOKEN.findall(line):
            found.setdefault(f"{name}@{version}", None)
    return list(found)


def parse_compiler_find(text: str) -> list[str]:
    """The compilers ``spack compiler find`` says it added (``gcc@=12.2.0`` → ``gcc@12.2.0``)."""
    found: dict[str, None] = {}
    adding = False
    for line in strip_ansi(text).splitlines():
        if line.startswith("==>"):
            adding = "Added" in line and "compiler" in line
            continue
        if adding:
            for name, version in _SPEC_TOKEN.findall(line):
                found.setdefault(f"{name}@{version}", None)
    return list(found)


def parse_versions(text: str) -> list[str]:
    """``spack versions [--safe] PKG`` → versions, newest first, as printed."""
    versions: list[str] = []
    for line in strip_ansi(text).splitlines():
        if line.startswith("==>"):
            continue
        versions.extend(tok for tok in line.split() if re.fullmatch(r"[\w][\w.+-]*", tok))
    return versions


@dataclass(frozen=True, slots=True)
class InstalledNode:
    """A ``[+] PREFIX`` line: ``name-version-hash`` at ``prefix`` (``external`` when Spack only found it)."""

    name: str
    version: str
    hash: str
    prefix: str
    external: bool = False


@dataclass(slots=True)
class InstallReport:
    """What one ``spack install`` printed, per package name."""

    installed: list[InstalledNode] = field(default_factory=list)
    phases: dict[str, list[str]] = field(default_factory=dict)  # package -> phases started, in order
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # package -> phase -> seconds
    succeeded: list[str] = field(default_factory=list)  # "name-version-hash"
    started: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # "==> Installing" (name, version, hash)
    errors: list[str] = field(default_factory=list)
    build_logs: list[str] = field(default_factory=list)

    def attempted_hash(self, package: str, version: str) -> str | None:
        """The hash of the last ``==> Installing package-version-HASH`` (also when it then failed)."""
        for name, ver, digest in reversed(self.started):
            if name == package and ver == version:
                return digest
        return None

    def node(self, package: str, version: str | None = None) -> InstalledNode | None:
        """The last installed (non-external) node of ``package`` (at ``version``)."""
        for node in reversed(self.installed):
            if node.name == package and not node.external and (version is None or node.version == version):
                return node
        return None


_ID = re.compile(r"^(?P<name>[A-Za-z0-9][\w.+-]*?)-(?P<version>[^-/]+)-(?P<hash>[a-z0-9]{32})$")
_INSTALLED = re.compile(r"^\[\+\]\s+(?P<prefix>/\S.*?)(?:\s+\(external (?P<ext>\S+)\))?\s*$")
_INSTALLING = re.compile(r"^==> Installing (?P<id>\S+) \[\d+/\d+\]")
_PHASE = re.compile(r"^==> (?P<pkg>[\w.+-]+): Executing phase: '(?P<phase>[\w-]+)'")
_SUCCESS = re.compile(r"^==> (?P<pkg>[\w.+-]+): Successfully installed (?P<id>\S+)")
_TIMING = re.compile(r"(?P<phase>[A-Za-z][\w-]*): (?P<seconds>[\d.]+)s")
_TIMING_LINE = re.compile(r"^\s+Stage: .*Total: [\d.]+s")


def split_install_id(text: str) -> tuple[str, str, str] | None:
    """``zlib-1.2.13-2fbf5tn…`` → ``("zlib", "1.2.13", "2fbf5tn…")``."""
    m = _ID.match(text)
    return (m.group("name"), m.group("version"), m.group("hash")) if m else None


def parse_install_output(text: str) -> InstallReport:
    report = InstallReport()
    last_success: str | None = None
    lines = strip_ansi(text).splitlines()
    for i, line in enumerate(lines):
        if m := _INSTALLED.match(line):
            ident = m.group("ext") or Path(m.group("prefix")).name
            parts = split_install_id(ident)
            if parts:
                report.installed.append(
                    InstalledNode(*parts, prefix=m.group("prefix"), external=bool(m.group("ext")))
                )
        elif (m := _INSTALLING.match(line)) and (parts := split_install_id(m.group("id"))):
            report.started.append(parts)
        elif m := _PHASE.match(line):
            report.phases.setdefault(m.group("pkg"), []).append(m.group("phase"))
        elif m := _SUCCESS.match(line):
            report.succeeded.append(m.group("id"))
            last_success = m.group("pkg")
        elif _TIMING_LINE.match(line) and last_success:
            report.timings[last_success] = {
                t.group("phase").lower(): float(t.group("seconds")) for t in _TIMING.finditer(line)
            }
        elif line.startswith("==> Error: "):
            message = [line[len("==> Error: ") :].strip()]
            for more in lines[i + 1 :]:
                if not more.startswith((" ", "\t")) or not more.strip():
                    break
                message.append(more.strip())
            report.errors.append("\n".join(message))
        elif line.strip() == "See build log for details:" and i + 1 < len(lines):
            report.build_logs.append(lines[i + 1].strip())
    return report


# --- running spack ------------------------------------------------------------------------------------


def locate(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    root = env.get("SPACK_ROOT")
    if root:
        candidate = Path(root) / "bin" / "spack"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("spack", path=env.get("PATH"))
    if found:
        return Path(found)
    where = f" (SPACK_ROOT={root} has no bin/spack)" if root else ""
    raise SpackNotFoundError(INSTALL_HELP + where)


class Spack:
    """A Spack installation, driven as a program."""

    def __init__(self, executable: Path, env: Mapping[str, str] | None = None) -> None:
        self.executable = executable
        self.env = dict(os.environ if env is None else env)

    @classmethod
    def locate(cls, env: Mapping[str, str] | None = None) -> Spack:
        return cls(locate(env), env)

    def run(
        self, args: Sequence[str], *, timeout: float | None = None, log: Path | None = None
    ) -> CommandResult:
        """Run ``spack ARGS`` in its own process group; output (stdout+stderr) is kept and teed to ``log``.

        On timeout the whole group is killed; on KeyboardInterrupt too, and the interrupt goes on.
        """
        argv = (str(self.executable), *args)
        start = time.monotonic()
        chunks: list[str] = []
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            text=True,
            errors="replace",
            start_new_session=True,
        )

        def pump() -> None:
            assert proc.stdout is not None
            with contextlib.ExitStack() as stack:
                sink = stack.enter_context(open(log, "w", encoding="utf-8")) if log else None
                for line in proc.stdout:
                    chunks.append(line)
                    if sink:
                        sink.write(line)
                        sink.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill(proc)
        except BaseException:
            self._kill(proc)
            raise
        finally:
            reader.join(30)
        return CommandResult(argv, proc.returncode, "".join(chunks), time.monotonic() - start, timed_out)

    @staticmethod
    def _kill(proc: subprocess.Popen[str]) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def _checked(self, args: Sequence[str], timeout: float | None = 600) -> str:
        result = self.run(args, timeout=timeout)
        if result.returncode != 0 or result.timed_out:
            tail = "\n".join(result.output.strip().splitlines()[-5:])
            why = "timed out" if result.timed_out else f"exit code {result.returncode}"
            raise SpackError(f"`spack {' '.join(args)}` failed ({why}): {tail}")
        return result.output

    def version(self) -> str:
        return self._checked(["--version"]).strip().split()[0]

    def compilers(self) -> list[str]:
        return parse_compiler_list(self._checked(["compiler", "list"]))

    def find_compilers(self) -> list[str]:
        """``spack compiler find`` (registers what is on PATH), then every compiler Spack knows."""
        self._checked(["compiler", "find"])
        return self.compilers()

    def versions(self, package: str, *, safe: bool = True) -> list[str]:
        args = ["versions", "--safe", package] if safe else ["versions", package]
        return parse_versions(self._checked(args))

    def spec_json(self, spec: str) -> dict[str, Any]:
        """The concrete spec ``spack spec --json SPEC`` solves for (the same one ``install`` builds)."""
        text = self._checked(["spec", "--json", spec])
        start = text.find("{")
        try:
            doc = json.loads(text[start:]) if start >= 0 else None
        except json.JSONDecodeError as exc:
            raise SpackError(f"`spack spec --json {spec}` printed no JSON: {exc}") from None
        if not isinstance(doc, dict) or "spec" not in doc:
            raise SpackError(f"`spack spec --json {spec}` printed no spec")
        return doc

    def install(
        self,
        spec: str,
        *,
        extra_args: Sequence[str] = (),
        deprecated: bool = True,
        log: Path | None = None,
        timeout: float | None = None,
    ) -> tuple[CommandResult, InstallReport]:
        args = ["install", *(["--deprecated"] if deprecated else []), *extra_args, spec]
        result = self.run(args, log=log, timeout=timeout)
        return result, parse_install_output(result.output)
