"""Splices between Debian releases (from :func:`splicelab.sources.debian.fetch_debian`), in two modes.

- **C** — system X with Y's library dropped in: release X's own loader, glibc and libraries; only the
  family's library comes from Y. What a splice does to a real installation.
- **B** — pure interface: the newest release's loader and glibc, the newest build of every other
  library (older releases' library directories searched after the newest's, for sonames it no longer
  ships); only the family's library comes from Y, the program from X.

The family's libraries of the system are *hidden* when Y does not provide their sonames (sid's
``libxml2.so.16`` replacing ``libxml2.so.2``): the system's library directory is replaced, inside the
sandbox, by a view without those names, so the loader reports the missing soname instead of quietly
loading the original.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from splicelab.sources.debian import DebianSet, release_key
from splicelab.sources.families import LIBDIR, MODES, family_splices, library_files
from splicelab.validate.runner import Job, System, root_system
from splicelab.validate.sandbox import Bind


def library_view(root: Path, hide: Iterable[str]) -> tuple[Path, list[str]] | None:
    """A copy of the root's multiarch library directory without the names in ``hide`` (hard links).

    Returns the view and its subdirectories (left empty: bind the originals onto them), or None when
    nothing needs hiding. Views are kept under ``<release>/views/`` and rebuilt when the root changes.
    """
    libdir = root / LIBDIR
    hidden = sorted(n for n in set(hide) if os.path.lexists(libdir / n))
    if not hidden:
        return None
    stamp = (root.parent / "root.json").stat().st_mtime_ns if (root.parent / "root.json").exists() else 0
    key = hashlib.sha256(f"{stamp}:{':'.join(hidden)}".encode()).hexdigest()[:16]
    view = root.parent / "views" / key
    subdirs = []
    if not view.is_dir():
        tmp = view.with_name(key + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True)
        for entry in os.scandir(libdir):
            if entry.name in hidden:
                continue
            dst = tmp / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), dst)
            elif entry.is_dir():
                dst.mkdir()
            else:
                try:
                    os.link(entry.path, dst)
                except OSError:
                    import shutil

                    shutil.copy2(entry.path, dst)
        try:
            tmp.rename(view)
        except OSError:  # another process made it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    for entry in os.scandir(libdir):
        if entry.is_dir(follow_symlinks=False):
            subdirs.append(entry.name)
    return view, sorted(subdirs)


def _with_view(system: System, root: Path, hide: Iterable[str]) -> System:
    v = library_view(root, hide)
    if v is None:
        return system
    view, subdirs = v
    binds = list(system.binds)
    binds.append(Bind(view, "/" + LIBDIR))
    binds += [Bind(root / LIBDIR / s, f"/{LIBDIR}/{s}") for s in subdirs]
    return System(system.name + "-view", binds, dict(system.symlinks), system.loader,
                  list(system.library_path), [*system.allowed, view])  # fmt: skip


def mode_c_system(dset: DebianSet, release: str, hide: Iterable[str] = ()) -> System:
    root = dset.releases[release].root
    system = root_system(release, root)
    system.library_path = [f"/{LIBDIR}", "/usr/lib"]
    return _with_view(system, root, hide)


def mode_b_system(dset: DebianSet, hide: Iterable[str] = ()) -> System:
    """The newest release's root, older releases' library dirs searched after its own."""
    order = sorted(dset.releases, key=release_key, reverse=True)
    newest = order[0]
    system = mode_c_system(dset, newest, hide)
    system.name = f"B:{newest}"
    hide = list(hide)
    for rel in order[1:]:
        root = dset.releases[rel].root
        v = library_view(root, hide)
        src = v[0] if v is not None else root / LIBDIR
        system.binds.append(Bind(src, f"/.fallback/{rel}"))
        system.library_path.append(f"/.fallback/{rel}")
        system.allowed.append(src)
    return system


def debian_jobs(
    dset: DebianSet,
    modes: Sequence[str] = MODES,
    sources: Sequence[str] | None = None,
    method: str = "hermetic",
) -> Iterator[tuple[Job, Job]]:
    """Every (program release X, library release Y, mode) splice, with the native baseline job.

    Yields ``(job, baseline_job)``; the baseline is the program on its own release, unspliced.
    """
    baselines: dict[tuple[str, str], Job] = {}
    for s in family_splices(dset, modes, sources):
        p_art, p_path, x = s.program, s.path, s.record["program_release"]
        baseline = baselines.get((s.source, x))
        if baseline is None:
            baseline = baselines[(s.source, x)] = Job(
                "/" + p_path,
                mode_c_system(dset, x),
                {},
                s.family_sonames,
                "hermetic",
                record={"baseline_key": p_art.id},
                program_host=p_art.root / p_path,
            )
        stage: dict[str, Path] = {}
        for a in s.libraries:
            stage.update(library_files(a))
        hide = s.family_sonames - set(stage)
        if s.mode == "C":
            system = mode_c_system(dset, x, hide)
            program = "/" + p_path
        else:
            system = mode_b_system(dset, hide)
            program = f"/.program/{os.path.basename(p_path)}"
            system.binds.append(Bind(p_art.root / p_path, program))
        record = {**s.record, "baseline_key": p_art.id}
        yield (
            Job(program, system, stage, s.family_sonames, method, record=record,
                program_host=p_art.root / p_path),
            baseline,
        )  # fmt: skip
