"""The ELF files of one installed build: every ELF file under a root, read once, with its aliases.

An install keeps a library under its real name (``lib/libz.so.1.3.1``) and reaches it through symlinks
(``lib/libz.so.1``, ``lib/libz.so``). The corpora are keyed by the real file only, so each file counts
once; the other names go into ``aliases`` (name → real file, both relative to the root). A tree copied
without symlink support turns each symlink into a tiny text file holding the target's name; such stubs
are recognised and recorded as aliases too.

Reading is cached in-process by (device, inode, size, mtime, relative path): loading the same tree twice
(two commands in one process, a test session) parses each file once.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from splicelab.corpus import Corpus
from splicelab.elf import ELFError, is_elf, read_corpus
from splicelab.sources.errors import SourceError

# A symlink flattened into a regular file holds a file name; anything longer is real content.
_STUB_MAX = 255
_CACHE_MAX = 50_000
_cache: dict[tuple[int, int, int, int, str], Corpus] = {}


@dataclass
class Tree:
    """What :func:`read_tree` found: corpora by relative path, aliases, and per-file errors."""

    files: dict[str, Corpus] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)


def _read_cached(path: str, st: os.stat_result, relpath: str) -> Corpus:
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, relpath)
    corpus = _cache.get(key)
    if corpus is None:
        corpus = read_corpus(path, relpath)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = corpus
    return corpus


def _stub_target(path: str, size: int) -> str | None:
    """The file name a flattened symlink stub holds, or None when ``path`` is not such a stub."""
    if size == 0 or size > _STUB_MAX:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(_STUB_MAX + 1)
    except OSError:
        return None
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    if not text or "\n" in text or "\x00" in text or text in (".", ".."):
        return None
    return text


def read_tree(root: Path, *, skip_dirs: tuple[str, ...] = (".spack",), recursive: bool = True) -> Tree:
    """Every ELF file under ``root`` (not following symlinked directories, skipping ``skip_dirs``;
    only those directly in ``root`` unless ``recursive``)."""
    tree = Tree()
    links: dict[str, str] = {}  # relpath -> relpath of what it points to (maybe another link)
    top = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs) if recursive else []
        reldir = os.path.relpath(dirpath, top)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = name if reldir == "." else f"{reldir}/{name}"
            try:
                st = os.lstat(full)
            except OSError as exc:
                tree.errors.append(SourceError(f"{full}: cannot stat: {exc.strerror or exc}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(full)
                inside = os.path.relpath(target, os.path.realpath(top))
                if not inside.startswith(".."):
                    links[rel] = inside
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if is_elf(full):
                try:
                    tree.files[rel] = _read_cached(full, st, rel)
                except ELFError as exc:
                    tree.errors.append(SourceError(str(exc)))
                continue
            stub = _stub_target(full, st.st_size)
            if stub is not None:
                target_rel = os.path.normpath(os.path.join(reldir, stub)) if reldir != "." else stub
                if not target_rel.startswith(".."):
                    links[rel] = target_rel
    for rel, target in links.items():
        seen = {rel}
        while target in links and target not in seen:  # follow chains: libpng.so -> libpng16.so -> ...
            seen.add(target)
            target = links[target]
        if target in tree.files:
            tree.aliases[rel] = target
    return tree
