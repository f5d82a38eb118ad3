"""Outcomes (entries of ``outcomes.json``): what really happened when a splice was performed.

The natural key (stored as a SHA-256 in ``key``) is the binary (artifact id and file, or program and
its release), the dependency, the original and the replacement (artifact ids, or library and its
release), the mode and the method. Uploading the same outcome again updates it in place.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from splicelab.store.models import Outcome, utcnow
from splicelab.store.upsert import upsert

# The documented classes (docs/formats.md); others are accepted if they look like one (a-z, 0-9, -).
CLASSES = (
    "ok",
    "undefined-symbol",
    "missing-version",
    "soname-not-found",
    "glibc-program",
    "glibc-library",
    "dependency",
    "runtime-refused",
    "crash",
    "wrong-output",
    "timeout",
)
_CLASS = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_TEXT_FIELDS = {"program": 255, "program_release": 100, "library": 255, "library_release": 100, "mode": 20}


class OutcomeFormatError(ValueError):
    """An outcomes entry is malformed; the message names the field."""


def _ref(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise OutcomeFormatError(f"{where}: expected an object or null")
    for key in ("package", "version", "hash", "id", "file"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise OutcomeFormatError(f"{where}.{key}: expected a string")
    ref = dict(value)
    if not ref.get("id") and ref.get("package") and ref.get("hash"):
        ref["id"] = f"{ref['package']}@{ref.get('version') or ''}/{ref['hash']}"
    if len(ref.get("id") or "") > 400:
        raise OutcomeFormatError(f"{where}.id: longer than 400 characters")
    return ref


def row(entry: Any, where: str = "outcome") -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise OutcomeFormatError(f"{where}: expected an object")
    cls = entry.get("class")
    if not isinstance(cls, str) or not _CLASS.match(cls):
        raise OutcomeFormatError(
            f"{where}.class: {cls!r} is not an outcome class (e.g. {', '.join(CLASSES[:4])})"
        )
    text: dict[str, str] = {}
    for key, limit in _TEXT_FIELDS.items():
        v = entry.get(key)
        if v is not None and not isinstance(v, str):
            raise OutcomeFormatError(f"{where}.{key}: expected a string")
        if v and len(v) > limit:
            raise OutcomeFormatError(f"{where}.{key}: longer than {limit} characters")
        text[key] = v or ""
    method = entry.get("method")
    if method is not None and (not isinstance(method, str) or len(method) > 50):
        raise OutcomeFormatError(f"{where}.method: expected a string (at most 50 characters)")
    message = entry.get("message")
    if message is not None and not isinstance(message, str):
        raise OutcomeFormatError(f"{where}.message: expected a string")
    seconds = entry.get("seconds")
    if seconds is not None and (not isinstance(seconds, int | float) or isinstance(seconds, bool)):
        raise OutcomeFormatError(f"{where}.seconds: expected a number")
    dependency = entry.get("dependency")
    if dependency is not None and not isinstance(dependency, str):
        raise OutcomeFormatError(f"{where}.dependency: expected a string")
    binary = _ref(entry.get("binary"), f"{where}.binary")
    original = _ref(entry.get("original"), f"{where}.original")
    replacement = _ref(entry.get("replacement"), f"{where}.replacement")
    if not (binary and binary.get("id")) and not text["program"]:
        raise OutcomeFormatError(f"{where}: needs 'binary' (with an id or package+hash) or 'program'")
    natural = [
        binary.get("id") if binary else None,
        binary.get("file") if binary else None,
        dependency,
        original.get("id") if original else None,
        replacement.get("id") if replacement else None,
        text["program"],
        text["program_release"],
        text["library"],
        text["library_release"],
        text["mode"],
        method or "",
    ]
    doc = dict(entry)
    for name, ref in (("binary", binary), ("original", original), ("replacement", replacement)):
        if ref is not None:
            doc[name] = ref
    return {
        "key": hashlib.sha256(orjson.dumps(natural)).hexdigest(),
        **text,
        "method": method or "",
        "outcome_class": cls,
        "message": message or "",
        "binary_id": (binary or {}).get("id") or "",
        "binary_package": (binary or {}).get("package") or text["program"],
        "binary_version": (binary or {}).get("version") or "",
        "dependency": dependency or "",
        "original_id": (original or {}).get("id") or "",
        "replacement_id": (replacement or {}).get("id") or "",
        "seconds": float(seconds) if seconds is not None else None,
        "entry": doc,
        "updated_at": utcnow(),
    }


def store(session: Session, table_rows: list[dict[str, Any]]) -> int:
    if not table_rows:
        return 0
    update = [k for k in table_rows[0] if k != "key"]
    return upsert(session, Outcome, table_rows, ["key"], update=update)


def describe(o: Outcome) -> dict[str, Any]:
    return {**o.entry, "id": o.id, "class": o.outcome_class}


def search(filters: Mapping[str, str | None]) -> Select[tuple[Outcome]]:
    stmt = select(Outcome)
    columns = {
        "package": Outcome.binary_package,
        "version": Outcome.binary_version,
        "binary": Outcome.binary_id,
        "program": Outcome.program,
        "library": Outcome.library,
        "dependency": Outcome.dependency,
        "replacement": Outcome.replacement_id,
        "class": Outcome.outcome_class,
        "mode": Outcome.mode,
        "method": Outcome.method,
    }
    for name, column in columns.items():
        value = filters.get(name)
        if value:
            stmt = stmt.where(column == value)
    return stmt.order_by(Outcome.id)
