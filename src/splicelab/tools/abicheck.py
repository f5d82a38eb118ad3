"""Adapter for the abicheck package (0.7): its Python API in application mode.

``abicheck compare OLD NEW --used-by APP`` is, in Python, ``run_compare(OLD, NEW)`` (the whole-library
diff) followed by ``scope_diff_to_app(diff, APP, OLD, NEW)`` (what APP itself imports). The library-wide
verdict counts any removed export; the application's verdict is the one that answers "does APP still
work", so that is the one returned. New version requirements of the library on *its* dependencies
(``GLIBC_2.38``, ``OPENSSL_3.2.0``) never change the application's verdict: abicheck reports them only as
a risk of the whole-library diff (``symbol_version_required_added``), returned here as ``risks``.

The library diff of one (OLD, NEW) pair is kept in memory for the next application.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

BREAKING = frozenset({"BREAKING", "API_BREAK"})
_RISK_KINDS = frozenset({"symbol_version_required_added"})


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    symbol: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class AppResult:
    """abicheck's verdict for one application: NO_CHANGE, COMPATIBLE, COMPATIBLE_WITH_RISK, API_BREAK,
    BREAKING, or ``None`` with ``error`` set when abicheck could not decide."""

    verdict: str | None
    missing_symbols: tuple[str, ...] = ()
    missing_versions: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()  # what breaks the application
    risks: tuple[Change, ...] = ()  # library-wide risks (new version requirements)
    library_verdict: str | None = None
    error: str | None = field(default=None)

    @property
    def breaking(self) -> bool:
        return self.verdict in BREAKING


def unavailable() -> str | None:
    if importlib.util.find_spec("abicheck") is None:
        return "the abicheck package is not installed (pip install 'splicelab[abicheck]')"
    return None


def version() -> str:
    import abicheck

    return str(getattr(abicheck, "__version__", "unknown"))


@contextlib.contextmanager
def _quiet() -> Any:
    """abicheck notes ("no headers provided") go to its loggers and stderr; keep them out of ours."""
    logger = logging.getLogger("abicheck")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


@lru_cache(maxsize=512)
def _library_diff(old: str, new: str) -> Any:
    from abicheck.service import run_compare

    with _quiet():
        return run_compare(old_input=Path(old), new_input=Path(new))


def _value(x: Any) -> str:
    return str(getattr(x, "value", x))


def check_application(app: Path, old: Path, new: Path) -> AppResult:
    """abicheck's application-mode verdict for ``app`` when ``old`` is replaced by ``new``."""
    try:
        from abicheck.workflows.consumer_scope import scope_diff_to_app

        result = _library_diff(str(old), str(new))
        with _quiet():
            scoped = scope_diff_to_app(result.diff, Path(app), Path(old), Path(new))
    except Exception as exc:  # abicheck raises its own error types for unreadable or odd inputs
        return AppResult(None, error=f"{type(exc).__name__}: {exc}")
    if getattr(scoped, "unreadable", False):
        return AppResult(None, error=str(getattr(scoped, "unreadable_reason", None) or "unreadable input"))
    changes = tuple(
        Change(_value(c.kind), getattr(c, "symbol", None), getattr(c, "description", None))
        for c in scoped.breaking_for_app
    )
    risks = tuple(
        Change(_value(c.kind), getattr(c, "symbol", None), getattr(c, "description", None))
        for c in result.diff.changes
        if _value(c.kind) in _RISK_KINDS
    )
    return AppResult(
        verdict=_value(scoped.verdict),
        missing_symbols=tuple(scoped.missing_symbols),
        missing_versions=tuple(scoped.missing_versions),
        changes=changes,
        risks=risks,
        library_verdict=_value(result.diff.verdict),
    )
