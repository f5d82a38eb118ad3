"""A small lab for loader tests: build libraries and programs for real, read them as artifacts, run them
with the host's real ``ld.so`` (``LD_BIND_NOW=1``), and predict the same splice with the emulation."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conftest import Compiler
from splicelab.artifact import Artifact
from splicelab.elf import read_corpus
from splicelab.link import World
from splicelab.predict.base import Prediction, Splice
from splicelab.predict.loader import LoaderPredictor
from splicelab.sources.files import read_tree

SYSTEM_DIR = "/lib/x86_64-linux-gnu"
SYSTEM_FILES = ("libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2")


def system_artifact() -> Artifact:
    """The host's C library as an artifact of its own: the runs below use it, so the world does too."""
    files = {}
    for name in SYSTEM_FILES:
        rel = f"{SYSTEM_DIR.lstrip('/')}/{name}"
        files[rel] = read_corpus(os.path.join(SYSTEM_DIR, name), rel)
    return Artifact(
        name="glibc", version="host", build_id="host", root=Path("/"), source="directory", files=files
    )


def artifact(root: Path, name: str, version: str, build_id: str | None = None) -> Artifact:
    tree = read_tree(root)
    metadata = {"aliases": dict(tree.aliases)} if tree.aliases else {}
    return Artifact(
        name=name,
        version=version,
        build_id=build_id or f"{name}-{version}",
        root=root,
        files=tree.files,
        metadata=metadata,
    )


@dataclass(frozen=True)
class Run:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


def run(program: Path, ld_library_path: Sequence[Path | str] = ()) -> Run:
    """Run ``program`` with the host's loader, binding every symbol at start (LD_BIND_NOW)."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_BIND_NOW": "1"}
    if ld_library_path:
        env["LD_LIBRARY_PATH"] = ":".join(str(p) for p in ld_library_path)
    proc = subprocess.run([str(program)], capture_output=True, text=True, env=env, timeout=30)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Lab:
    """Packages built under ``cc.workdir/<name>-<version>/``; one program package ``app``."""

    cc: Compiler
    packages: dict[tuple[str, str], Path] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.cc.workdir

    def prefix(self, name: str, version: str) -> Path:
        p = self.root / f"{name}-{version}"
        self.packages[(name, version)] = p
        return p

    def lib(
        self,
        name: str,
        version: str,
        code: str,
        *,
        soname: str = "libfoo.so.1",
        file: str | None = None,
        script: str | None = None,
        libs: Sequence[Path | str] = (),
        flags: Sequence[str] = (),
        subdir: str = "lib",
    ) -> Path:
        self.prefix(name, version)
        out = f"{name}-{version}/{subdir}/{file or soname}"
        return self.cc.shared(out, code, soname=soname, version_script=script, libs=libs, flags=flags)

    def exe(
        self, code: str, *, libs: Sequence[Path] = (), flags: Sequence[str] = (), name: str = "app"
    ) -> Path:
        self.prefix("app", "1")
        return self.cc.executable(f"app-1/bin/{name}", code, libs=libs, flags=flags)

    def artifacts(self) -> list[Artifact]:
        return [artifact(p, n, v) for (n, v), p in sorted(self.packages.items())]

    def world(self, ld_library_path: Sequence[Path | str] = (), *, system: bool = True) -> World:
        arts = self.artifacts()
        if system:
            arts.append(system_artifact())
        return World(
            arts,
            default_dirs=[SYSTEM_DIR] if system else [],
            ld_library_path=[str(p) for p in ld_library_path],
        )


def get(world: World, name: str, version: str) -> Artifact:
    return next(a for a in world.artifacts if a.name == name and a.version == version)


def predict(world: World, dependency: str, old: str, new: str, file: str = "bin/app") -> Prediction:
    """The loader predictor's answer for app x (dependency old → new); checks that the incremental
    path and the full reload of the spliced closure agree on the problems."""
    app = get(world, "app", "1")
    original, replacement = get(world, dependency, old), get(world, dependency, new)
    fast = world.splice(app, file, dependency, replacement)
    slow = world.splice_slow(app, file, dependency, replacement)
    assert [p.key for p in fast.new] == [p.key for p in slow.new], (fast, slow)
    return LoaderPredictor().predict(Splice(app, file, dependency, original, replacement), world)


def kinds(prediction: Prediction) -> set[str]:
    return {r.kind for r in prediction.reasons}
