"""Find the ELF files under a list of files and directories.

- Directories are walked recursively, symlinks (to files and to directories) followed; a directory reached
  a second time (a symlink loop, or two routes to one directory) is not walked again: directories are
  known by their (st_dev, st_ino).
- Each file is yielded once, by its real (st_dev, st_ino), under the first name the walk meets. Under
  each argument the walk first takes the real files and directories (depth first, names sorted), then
  the symlinks it met on the way (in that order; a linked directory is walked the same way): a library
  is found under its real name (``libz.so.1.3.1``) rather than a link to it (``libz.so.1``), and the
  order is deterministic.
- Files met while walking a directory that are not ELF (scripts, data, dangling links) are skipped
  quietly. A file named explicitly is yielded whatever it holds: reading it reports it if it is no ELF.
- Whatever cannot be walked (a missing path, an unreadable directory or file) is yielded as an entry with
  an ``error``; the walk goes on.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from splicelab.elf.structs import ELF_MAGIC

__all__ = ["WalkEntry", "WalkStats", "walk"]


@dataclass(frozen=True, slots=True)
class WalkEntry:
    """One file to read: ``path`` to open; ``relpath`` relative to the argument it was found under
    (for a file named explicitly: its own name); ``error`` when it cannot be read at all."""

    path: str
    relpath: str
    error: str | None = None


@dataclass(slots=True)
class WalkStats:
    """What a walk passed over: regular files that are not ELF, files already met under another name."""

    not_elf: int = 0
    duplicates: int = 0


def _starts_with_elf_magic(path: str) -> bool:
    """True for the ELF magic; raises OSError when the file cannot be opened."""
    with open(path, "rb") as f:
        return f.read(4) == ELF_MAGIC


def walk(paths: Iterable[str | os.PathLike[str]], stats: WalkStats | None = None) -> Iterator[WalkEntry]:
    """The ELF files under ``paths`` (files and directories), each once, in a deterministic order.

    ``stats``, when given, counts what was passed over.
    """
    stats = stats if stats is not None else WalkStats()
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    for arg in paths:
        top = os.fspath(arg)
        try:
            st = os.stat(top)
        except OSError as exc:
            yield WalkEntry(top, os.path.basename(top) or top, f"{top}: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_tree(top, st, seen_dirs, seen_files, stats)
        else:
            key = (st.st_dev, st.st_ino)
            if key in seen_files:
                stats.duplicates += 1
                continue
            seen_files.add(key)
            yield WalkEntry(top, os.path.basename(top))


def _walk_tree(
    top: str,
    st: os.stat_result,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    stats: WalkStats,
) -> Iterator[WalkEntry]:
    """Real files and directories first (depth first, sorted); then the symlinks met on the way, in the
    order met, a symlinked directory walked the same way when its turn comes."""
    links: deque[tuple[str, str, os.stat_result]] = deque()  # (path, relpath, stat of the target)
    dirs: list[tuple[str, str, os.stat_result]] = [(top, "", st)]  # a stack
    while dirs or links:
        if dirs:
            path, rel, dst = dirs.pop()
            key = (dst.st_dev, dst.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            yield from _list_dir(path, rel, dirs, links, seen_files, stats)
            continue
        path, rel, lst = links.popleft()
        if stat.S_ISDIR(lst.st_mode):
            dirs.append((path, rel, lst))
        else:
            entry = _file_entry(path, rel, lst, seen_files, stats)
            if entry is not None:
                yield entry


def _list_dir(
    directory: str,
    rel: str,
    dirs: list[tuple[str, str, os.stat_result]],
    links: deque[tuple[str, str, os.stat_result]],
    seen_files: set[tuple[int, int]],
    stats: WalkStats,
) -> Iterator[WalkEntry]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield WalkEntry(directory, rel or ".", f"{directory}: cannot list directory: {exc.strerror or exc}")
        return
    subdirs: list[tuple[str, str, os.stat_result]] = []
    for entry in entries:
        relpath = f"{rel}/{entry.name}" if rel else entry.name
        try:
            est = entry.stat()  # follows symlinks
        except OSError:
            continue  # a dangling symlink or a vanished file: nothing to read
        if not (stat.S_ISDIR(est.st_mode) or stat.S_ISREG(est.st_mode)):
            continue  # devices, FIFOs, sockets
        if entry.is_symlink():
            links.append((entry.path, relpath, est))
        elif stat.S_ISDIR(est.st_mode):
            subdirs.append((entry.path, relpath, est))
        else:
            found = _file_entry(entry.path, relpath, est, seen_files, stats)
            if found is not None:
                yield found
    dirs.extend(reversed(subdirs))  # a stack: the first subdirectory is walked next


def _file_entry(
    path: str, relpath: str, st: os.stat_result, seen_files: set[tuple[int, int]], stats: WalkStats
) -> WalkEntry | None:
    key = (st.st_dev, st.st_ino)
    if key in seen_files:
        stats.duplicates += 1
        return None
    seen_files.add(key)
    try:
        if st.st_size < 4 or not _starts_with_elf_magic(path):
            stats.not_elf += 1
            return None
    except OSError as exc:
        return WalkEntry(path, relpath, f"{path}: cannot open: {exc.strerror or exc}")
    return WalkEntry(path, relpath)
