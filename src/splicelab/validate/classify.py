"""Outcome classes, read from what really happened: the dynamic loader's own messages, exit codes,
signals, timeouts and output differences.

The loader says *which* object lacks *what* and *who* needed it; whether that object is the program,
the spliced-in library or something else decides the class:

- ``NAME: cannot open shared object file`` → ``soname-not-found`` when NAME is a soname the program
  expects from the replaced family, else ``dependency`` (the replacement needs a library the system
  lacks);
- ``A: version `V' not found (required by B)`` → a glibc version (A is libc/libm/ld.so…) needed by the
  program → ``glibc-program``, by the replacement → ``glibc-library``; a node the *replacement* lacks →
  ``missing-version``; any other library lacking a node the replacement needs (``OPENSSL_3.2.0``) →
  ``dependency``;
- ``symbol lookup error: B: undefined symbol: S`` (and the ``relocation error`` form) →
  ``undefined-symbol``, or ``dependency`` when B is the replacement itself;
- a signal → ``crash``; the time limit → ``timeout``; a non-zero exit without a loader message →
  ``runtime-refused``; exit 0 with output unlike the unspliced run's → ``wrong-output``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

OK = "ok"
UNDEFINED_SYMBOL = "undefined-symbol"
MISSING_VERSION = "missing-version"
SONAME_NOT_FOUND = "soname-not-found"
GLIBC_PROGRAM = "glibc-program"
GLIBC_LIBRARY = "glibc-library"
DEPENDENCY = "dependency"
RUNTIME_REFUSED = "runtime-refused"
CRASH = "crash"
WRONG_OUTPUT = "wrong-output"
TIMEOUT = "timeout"

CLASSES = (OK, UNDEFINED_SYMBOL, MISSING_VERSION, SONAME_NOT_FOUND, GLIBC_PROGRAM, GLIBC_LIBRARY, DEPENDENCY,
           RUNTIME_REFUSED, CRASH, WRONG_OUTPUT, TIMEOUT)  # fmt: skip
FAILURES = frozenset(CLASSES) - {OK}
LOAD_FAILURES = frozenset({UNDEFINED_SYMBOL, MISSING_VERSION, SONAME_NOT_FOUND, GLIBC_PROGRAM, GLIBC_LIBRARY,
                           DEPENDENCY})  # fmt: skip

_MISSING_FILE = re.compile(r"error while loading shared libraries: ([^:\s]+): cannot open shared object file")
_LOAD_OTHER = re.compile(r"error while loading shared libraries: ([^:\s]+): (.+)")
_VERSION = re.compile(
    r"(?P<lib>/?[^\s:]+): version `(?P<version>[^']+)' not found \(required by (?P<by>[^)]+)\)"
)
_UNDEFINED = re.compile(r"symbol lookup error: (?P<by>[^:]+): undefined symbol: (?P<symbol>[^,\s]+)")
_RELOC = re.compile(
    r"relocation error: (?P<by>[^:]+): symbol (?P<symbol>[^,\s]+), version (?P<version>\S+)"
    r" not defined in file (?P<lib>\S+) with link time reference"
)
_GLIBC_LIBS = re.compile(
    r"^(libc|libm|libpthread|libdl|librt|libresolv|libutil|libmvec|libanl|ld-linux[^/]*)\.so"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    klass: str
    message: str = ""
    symbol: str | None = None
    version: str | None = None
    library: str | None = None


@dataclass(frozen=True, slots=True)
class Roles:
    """Who is who in a run: predicates on the paths the loader prints (as seen by the program)."""

    is_program: Callable[[str], bool]
    is_replacement: Callable[[str], bool]
    family_sonames: frozenset[str]


def _is_glibc(path: str) -> bool:
    return bool(_GLIBC_LIBS.match(os.path.basename(path)))


def loader_error(stderr: str, roles: Roles) -> Verdict | None:
    """The class of a loader failure in ``stderr``, or None when the loader did not complain."""
    line = next((ln for ln in stderr.splitlines() if _is_loader_line(ln)), None)
    if line is None:
        return None
    m = _MISSING_FILE.search(line)
    if m:
        name = m.group(1)
        klass = SONAME_NOT_FOUND if os.path.basename(name) in roles.family_sonames else DEPENDENCY
        return Verdict(klass, line.strip(), library=name)
    m = _VERSION.search(line)
    if m:
        lib, version, by = m.group("lib"), m.group("version"), m.group("by")
        if version.startswith("GLIBC_") and _is_glibc(lib):
            if roles.is_program(by):
                klass = GLIBC_PROGRAM
            elif roles.is_replacement(by):
                klass = GLIBC_LIBRARY
            else:
                klass = DEPENDENCY
        elif roles.is_replacement(lib):
            klass = MISSING_VERSION
        else:
            klass = DEPENDENCY
        return Verdict(klass, line.strip(), version=version, library=lib)
    m = _UNDEFINED.search(line) or _RELOC.search(line)
    if m:
        by = m.group("by")
        klass = DEPENDENCY if roles.is_replacement(by) else UNDEFINED_SYMBOL
        version = m.groupdict().get("version")
        return Verdict(klass, line.strip(), symbol=m.group("symbol"), version=version, library=by)
    m = _LOAD_OTHER.search(line)
    if m:
        name = m.group(1)
        klass = SONAME_NOT_FOUND if os.path.basename(name) in roles.family_sonames else DEPENDENCY
        return Verdict(klass, line.strip(), library=name)
    return None


def _is_loader_line(line: str) -> bool:
    return (
        "error while loading shared libraries" in line
        or ("version `" in line and "not found (required by" in line)
        or "symbol lookup error" in line
        or ("relocation error" in line and "with link time reference" in line)
    )


def classify_run(
    returncode: int,
    stderr: str,
    *,
    timed_out: bool,
    roles: Roles,
    expected_stdout: bytes | None = None,
    stdout: bytes = b"",
    check_exit: bool = True,
) -> Verdict:
    """The class of one command's run (loader messages first, then signals, exit code and output)."""
    if timed_out:
        return Verdict(TIMEOUT, "time limit reached")
    if returncode != 0:
        v = loader_error(stderr, roles)
        if v is not None:
            return v
        if returncode < 0:
            return Verdict(CRASH, f"killed by signal {-returncode} {_signame(-returncode)}".strip())
        if check_exit:
            tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
            return Verdict(RUNTIME_REFUSED, f"exit {returncode}" + (f": {tail[0]}" if tail else ""))
    if expected_stdout is not None and stdout != expected_stdout:
        return Verdict(
            WRONG_OUTPUT,
            f"stdout differs from the unspliced run ({len(stdout)} vs {len(expected_stdout)} bytes)",
        )
    return Verdict(OK)


def _signame(sig: int) -> str:
    import signal

    try:
        return signal.Signals(sig).name
    except ValueError:
        return ""


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The first failing verdict of a command sequence, else ok."""
    for v in verdicts:
        if v.klass != OK:
            return v
    return Verdict(OK)
