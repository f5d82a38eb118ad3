"""Shared test fixtures.

``cc`` compiles real C code with a real compiler (gcc-12, gcc-11, clang) into shared libraries and
executables inside the test's temporary directory. No ELF file used by a test is faked.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from _dask import Cluster, dask_processes

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO / ".." / "shared").resolve()
FIXTURES = SHARED / "fixtures"
CORPUS = SHARED / "corpus"

COMPILERS = [c for c in ("gcc-12", "gcc-11", "clang") if shutil.which(c)]


class CompileError(RuntimeError):
    pass


@dataclass
class Compiler:
    """Builds C sources into ELF files under ``workdir`` with one compiler."""

    command: str
    workdir: Path

    def _run(self, args: Sequence[str]) -> None:
        proc = subprocess.run([self.command, *args], capture_output=True, text=True, cwd=self.workdir)
        if proc.returncode != 0:
            raise CompileError(f"{self.command} {' '.join(args)}\n{proc.stderr}")

    def _source(self, name: str, code: str) -> Path:
        src = self.workdir / name
        src.write_text(textwrap.dedent(code))
        return src

    def shared(
        self,
        out: str,
        code: str,
        *,
        soname: str | None = None,
        version_script: str | None = None,
        libs: Sequence[str | Path] = (),
        flags: Sequence[str] = (),
    ) -> Path:
        """Compile ``code`` into the shared library ``out`` (relative to the work dir)."""
        target = self.workdir / out
        target.parent.mkdir(parents=True, exist_ok=True)
        src = self._source(target.name.split(".so")[0] + f"-{abs(hash(code)) % 10**8}.c", code)
        args = ["-shared", "-fPIC", "-O1", "-o", str(target), str(src)]
        if soname:
            args.append(f"-Wl,-soname,{soname}")
        if version_script is not None:
            vs = self.workdir / (target.name + ".map")
            vs.write_text(textwrap.dedent(version_script))
            args.append(f"-Wl,--version-script,{vs}")
        args += [str(x) for x in libs]
        args += list(flags)
        self._run(args)
        return target

    def executable(
        self,
        out: str,
        code: str,
        *,
        libs: Sequence[str | Path] = (),
        flags: Sequence[str] = (),
    ) -> Path:
        target = self.workdir / out
        target.parent.mkdir(parents=True, exist_ok=True)
        src = self._source(target.name + f"-{abs(hash(code)) % 10**8}.c", code)
        args = ["-O1", "-o", str(target), str(src), *[str(x) for x in libs], *flags]
        self._run(args)
        return target


@pytest.fixture(params=COMPILERS)
def cc(request: pytest.FixtureRequest, tmp_path: Path) -> Compiler:
    """A real C compiler (parametrized over gcc-12, gcc-11 and clang where installed)."""
    return Compiler(request.param, tmp_path)


@pytest.fixture
def gcc(tmp_path: Path) -> Compiler:
    """The default gcc only, for tests that need one compiler."""
    return Compiler("gcc-12" if shutil.which("gcc-12") else "gcc", tmp_path)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present next to the repository")
    return SHARED


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A real `dask scheduler` and two `dask worker` processes on loopback: (address, worker processes)."""
    with dask_processes(tmp_path / "dask.log", workers=2) as cluster:
        yield cluster
