"""Predictions (entries of ``predictions.json``) in the database: one row per splice and predictor.

The natural key is (binary id, binary file, original id, replacement id, predictor): uploading the
same predictions again, or a newer run of a predictor, updates the verdict in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from splicelab.store.models import Prediction, utcnow
from splicelab.store.upsert import upsert

VERDICTS = ("works", "breaks", "unknown")
KEY = ("binary_id", "binary_file", "original_id", "replacement_id", "predictor")


class PredictionFormatError(ValueError):
    """A predictions entry is malformed; the message names the field."""


def _ref(value: Any, where: str, *, with_file: bool = False) -> dict[str, Any]:
    """An artifact reference ``{package, version, hash, id, …}``; ``id`` is derived when absent."""
    if not isinstance(value, dict):
        raise PredictionFormatError(f"{where}: expected an object")
    for key in ("package", "version", "hash", "id", "file", "release", "compiler"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise PredictionFormatError(f"{where}.{key}: expected a string")
    if not value.get("package"):
        raise PredictionFormatError(f"{where}.package: missing")
    ref = dict(value)
    if not ref.get("id"):
        if not ref.get("hash"):
            raise PredictionFormatError(f"{where}: needs 'id' or 'hash'")
        ref["id"] = f"{ref['package']}@{ref.get('version') or ''}/{ref['hash']}"
    if len(ref["id"]) > 400:
        raise PredictionFormatError(f"{where}.id: longer than 400 characters")
    if with_file and not ref.get("file"):
        raise PredictionFormatError(f"{where}.file: missing (the binary file of the splice)")
    return ref


def rows(entry: Any, where: str = "prediction") -> list[dict[str, Any]]:
    """The table rows of one predictions.json entry (one per predictor)."""
    if not isinstance(entry, dict):
        raise PredictionFormatError(f"{where}: expected an object")
    binary = _ref(entry.get("binary"), f"{where}.binary", with_file=True)
    original = _ref(entry.get("original"), f"{where}.original")
    replacement = _ref(entry.get("replacement"), f"{where}.replacement")
    dependency = entry.get("dependency") or replacement["package"]
    if not isinstance(dependency, str):
        raise PredictionFormatError(f"{where}.dependency: expected a string")
    predictors = entry.get("predictors")
    if not isinstance(predictors, dict) or not predictors:
        raise PredictionFormatError(
            f"{where}.predictors: expected an object {{predictor: {{verdict, reasons}}}}"
        )
    splice = {"binary": binary, "dependency": dependency, "original": original, "replacement": replacement}
    out = []
    now = utcnow()
    for name, p in predictors.items():
        w = f"{where}.predictors[{name!r}]"
        if not name or len(name) > 100:
            raise PredictionFormatError(f"{w}: predictor names are 1-100 characters")
        if not isinstance(p, dict):
            raise PredictionFormatError(f"{w}: expected an object")
        verdict = p.get("verdict")
        if verdict not in VERDICTS:
            raise PredictionFormatError(f"{w}.verdict: {verdict!r} is not one of {', '.join(VERDICTS)}")
        reasons = p.get("reasons", [])
        if not isinstance(reasons, list):
            raise PredictionFormatError(f"{w}.reasons: expected a list")
        for i, r in enumerate(reasons):
            if not isinstance(r, dict) or not isinstance(r.get("kind"), str):
                raise PredictionFormatError(f"{w}.reasons[{i}]: expected an object with a string 'kind'")
        out.append(
            {
                "binary_id": binary["id"],
                "binary_package": binary["package"],
                "binary_version": binary.get("version") or "",
                "binary_file": binary["file"],
                "dependency": dependency,
                "original_id": original["id"],
                "replacement_id": replacement["id"],
                "replacement_package": replacement["package"],
                "replacement_version": replacement.get("version") or "",
                "predictor": name,
                "verdict": verdict,
                "reasons": reasons,
                "splice": splice,
                "updated_at": now,
            }
        )
    return out


def store(session: Session, table_rows: list[dict[str, Any]]) -> int:
    if not table_rows:
        return 0
    update = ("verdict", "reasons", "splice", "binary_package", "binary_version", "dependency", "updated_at")
    return upsert(session, Prediction, table_rows, KEY, update=update)


def describe(p: Prediction) -> dict[str, Any]:
    s = p.splice or {}
    return {
        "id": p.id,
        "binary": s.get("binary", {"id": p.binary_id, "package": p.binary_package, "file": p.binary_file}),
        "dependency": p.dependency,
        "original": s.get("original", {"id": p.original_id}),
        "replacement": s.get("replacement", {"id": p.replacement_id, "package": p.replacement_package}),
        "predictor": p.predictor,
        "verdict": p.verdict,
        "reasons": p.reasons,
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
    }


def search(filters: Mapping[str, str | None]) -> Select[tuple[Prediction]]:
    stmt = select(Prediction)
    columns = {
        "package": Prediction.binary_package,
        "version": Prediction.binary_version,
        "binary": Prediction.binary_id,
        "file": Prediction.binary_file,
        "dependency": Prediction.dependency,
        "replacement": Prediction.replacement_id,
        "replacement_version": Prediction.replacement_version,
        "predictor": Prediction.predictor,
        "verdict": Prediction.verdict,
    }
    for name, column in columns.items():
        value = filters.get(name)
        if value:
            stmt = stmt.where(column == value)
    return stmt.order_by(Prediction.id)
