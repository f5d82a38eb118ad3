"""A result cache for the slow predictors, keyed by what decides their answer: file contents.

External tools (abicompat, abicheck) take seconds per call, and the same (application, old library,
new library) triple comes back often: every build of a package that carries byte-identical files, every
rerun. Results are kept by the SHA-256 of the three files (plus the tool and its version), in memory and,
when a directory is given, as one small JSON file per key, so a later run starts warm.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_digests: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content, remembered by (path, inode, size, mtime)."""
    name = os.path.realpath(path)
    st = os.stat(name)
    key = (name, st.st_ino, st.st_size, st.st_mtime_ns)
    digest = _digests.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = _digests[key] = h.hexdigest()
    return digest


class ResultCache:
    """``get``/``put`` of JSON-able results under (tool, key parts)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[str, Any] = {}

    @staticmethod
    def _key(tool: str, parts: Sequence[str]) -> str:
        return hashlib.sha256("\0".join((tool, *parts)).encode()).hexdigest()

    def _file(self, tool: str, key: str) -> Path | None:
        return None if self.directory is None else self.directory / tool / key[:2] / f"{key}.json"

    def get(self, tool: str, parts: Sequence[str]) -> Any | None:
        key = self._key(tool, parts)
        if key in self._memory:
            return self._memory[key]
        path = self._file(tool, key)
        if path is not None and path.is_file():
            try:
                value = json.loads(path.read_text())
            except (OSError, ValueError):
                return None  # a damaged entry is a miss; it is rewritten on the next put
            self._memory[key] = value
            return value
        return None

    def put(self, tool: str, parts: Sequence[str], value: Any) -> None:
        key = self._key(tool, parts)
        self._memory[key] = value
        path = self._file(tool, key)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(value))
                tmp.replace(path)
            except OSError:
                pass  # a read-only or full cache directory only costs speed


# The process-wide cache the predictors use unless given another.
DEFAULT = ResultCache(os.environ.get("SPLICELAB_PREDICT_CACHE") or None)
