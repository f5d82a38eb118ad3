"""What Spack leaves in an install prefix about the build: ``<prefix>/.spack/``.

- ``spec.json`` — the concrete spec (read by :mod:`splicelab.sources.spack`);
- ``install_times.json`` — ``{"total", "phases": [{"name", "seconds", "count"}], "name", "hash"}``
  (Spack ≥ 0.19);
- ``spack-build-out.txt`` — the build log (``spack-build-out.txt.gz`` when Spack compressed it);
- ``spack-build-env.txt`` — the build environment.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from splicelab.build.records import SUCCESS, Phase

META = ".spack"
TIMES = "install_times.json"
BUILD_LOGS = ("spack-build-out.txt", "spack-build-out.txt.gz")
LOG_TAIL = 64 * 1024


class PrefixError(ValueError):
    """A file in ``.spack/`` is malformed; the message names it."""


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PrefixError(f"{path}: {exc}") from None


def read_phases(prefix: Path) -> list[Phase]:
    """The phases Spack timed for this install (``install_times.json``), all successful; ``[]`` if absent."""
    path = prefix / META / TIMES
    if not path.is_file():
        return []
    doc = read_json(path)
    phases = doc.get("phases") if isinstance(doc, dict) else None
    if not isinstance(phases, list):
        raise PrefixError(f"{path}: field 'phases' must be a list")
    out = []
    for i, p in enumerate(phases):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise PrefixError(f"{path}: phases[{i}] has no 'name'")
        seconds = p.get("seconds")
        out.append(Phase(p["name"], SUCCESS, float(seconds) if isinstance(seconds, int | float) else None))
    return out


def tail(text: str, limit: int = LOG_TAIL) -> str:
    return text if len(text) <= limit else text[-limit:]


def read_log_file(path: Path, limit: int = LOG_TAIL) -> str:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return tail(data.decode("utf-8", "replace"), limit)


def build_log(prefix: Path) -> Path | None:
    for name in BUILD_LOGS:
        path = prefix / META / name
        if path.is_file():
            return path
    return None


def read_spec(prefix: Path) -> dict[str, Any]:
    path = prefix / META / "spec.json"
    doc = read_json(path)
    if not isinstance(doc, dict) or "spec" not in doc:
        raise PrefixError(f"{path}: not a Spack spec (no 'spec' field)")
    return doc


def read_install_environment(prefix: Path) -> dict[str, str]:
    """``install_environment.json``: where the build ran (``host_os``, ``platform``, ``host_target``,
    ``hostname``, ``spack_version``, ``kernel_version``); ``{}`` when absent (Spack < 0.21)."""
    path = prefix / META / "install_environment.json"
    if not path.is_file():
        return {}
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise PrefixError(f"{path}: expected a JSON object")
    return {str(k): str(v) for k, v in doc.items() if isinstance(v, str | int | float)}
