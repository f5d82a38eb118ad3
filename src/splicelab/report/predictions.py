"""Writing and reading what ``splicelab predict`` produces (docs/formats.md).

- ``predictions.json``: one entry per splice, every predictor's verdict and reasons;
- ``symbolator-predictions.json``: the seed's shape, from the ``symbols`` predictor;
- ``matrix.csv``: binaries by replacement builds, 1 works / 0 untested or unknown / -1 fails.

The seed's file (spack-monitor's ``splice_analysis_local.py``) is keyed by the binary's spec as
``name@version/hash:id`` and holds, per splice, ``missing`` (``"<library prefix> <symbol>"`` new after
the swap), ``B_insert`` (the library file swapped in), ``A_binary`` (the binary's file), ``prediction``
(true: works), ``A_id``/``B_id`` (the ids of the binary's and the library's analysis results),
``specA_id`` (the replacement spec's id) and ``specB_id`` (the binary spec's id), ``specA`` (the binary
spec as ``name@version/hash:id``) and ``specB`` (the replacement spec, same notation): the seed named them
crosswise and so does this file. The ids were spack-monitor's database keys; here they are numbers
given in a fixed order (specs by name, version, hash; files by spec id and path), the same for the same
input.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.predict.base import Prediction, Verdict
from splicelab.predict.engine import Record
from splicelab.predict.symbols import missing_strings

PREDICTIONS = "predictions.json"
SYMBOLATOR = "symbolator-predictions.json"
MATRIX = "matrix.csv"

_MATRIX_VALUE = {Verdict.WORKS.value: 1, Verdict.BREAKS.value: -1, Verdict.UNKNOWN.value: 0}


class PredictionsFormatError(ValueError):
    """A predictions.json document is malformed; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class PredictionEntry:
    """One entry of ``predictions.json`` as read back: the builds as described there, and verdicts."""

    binary: Mapping[str, Any]
    dependency: str
    original: Mapping[str, Any]
    replacement: Mapping[str, Any]
    predictors: Mapping[str, Prediction]

    @property
    def file(self) -> str:
        return str(self.binary["file"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "binary": dict(self.binary),
            "dependency": self.dependency,
            "original": dict(self.original),
            "replacement": dict(self.replacement),
            "predictors": {n: p.to_dict() for n, p in self.predictors.items()},
        }


# --- predictions.json --------------------------------------------------------------------------------


def write_predictions(entries: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write ``predictions.json`` from entry dicts (``Record.to_dict``); returns how many."""
    items = list(entries)
    with open(path, "w") as f:
        f.write("[\n")
        for i, e in enumerate(items):
            f.write(json.dumps(e, sort_keys=False))
            f.write(",\n" if i + 1 < len(items) else "\n")
        f.write("]\n")
    return len(items)


def _build(d: Any, where: str, *, file: bool = False) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise PredictionsFormatError(f"{where}: expected an object")
    for key in ("package", "version", "hash", *(("file",) if file else ())):
        if not isinstance(d.get(key), str):
            raise PredictionsFormatError(f"{where}: missing field {key!r}")
    return d


def load_predictions(path: str | Path) -> list[PredictionEntry]:
    """Read ``predictions.json``; a malformed document raises PredictionsFormatError (file and field)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionsFormatError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PredictionsFormatError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(doc, list):
        raise PredictionsFormatError(f"{path}: expected a list of predictions")
    out = []
    for i, e in enumerate(doc):
        where = f"{path}: [{i}]"
        if not isinstance(e, Mapping):
            raise PredictionsFormatError(f"{where}: expected an object")
        if not isinstance(e.get("dependency"), str):
            raise PredictionsFormatError(f"{where}: missing field 'dependency'")
        preds = e.get("predictors")
        if not isinstance(preds, Mapping):
            raise PredictionsFormatError(f"{where}: missing field 'predictors'")
        predictors = {}
        for name, p in preds.items():
            try:
                predictors[str(name)] = Prediction.from_dict(p)
            except (KeyError, TypeError, ValueError) as exc:
                raise PredictionsFormatError(f"{where}.predictors[{name!r}]: bad prediction: {exc}") from None
        out.append(
            PredictionEntry(
                binary=_build(e.get("binary"), f"{where}.binary", file=True),
                dependency=e["dependency"],
                original=_build(e.get("original"), f"{where}.original"),
                replacement=_build(e.get("replacement"), f"{where}.replacement"),
                predictors=predictors,
            )
        )
    return out


# --- matrix.csv ----------------------------------------------------------------------------------------


def _label(build: Mapping[str, Any], full: bool = False) -> str:
    h = str(build["hash"])
    return f"{build['package']}@{build['version']}/{h if full else h[:7]}"


def _order(build: Mapping[str, Any]) -> tuple[str, tuple[Any, ...], str]:
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(build["version"]).split("."))
    return (str(build["package"]), parts, str(build["hash"]))


def matrix(
    entries: Iterable[Mapping[str, Any]], predictor: str
) -> tuple[list[str], list[str], list[list[int]]]:
    """(row labels, column labels, values) of one predictor's matrix; absent cells are 0. Builds whose
    short labels collide (Debian's ``2.6-1+bullseye`` and ``2.6-1+bookworm``) are labelled in full."""
    from splicelab.report.grid import unique_labels

    rows: dict[str, tuple[Any, ...]] = {}
    cols: dict[str, tuple[Any, ...]] = {}
    short: dict[str, str] = {}
    cell: dict[tuple[str, str], int] = {}
    for e in entries:
        b, r = e["binary"], e["replacement"]
        row = f"{_label(b, full=True)}:{b['file']}"
        col = _label(r, full=True)
        short.setdefault(row, f"{_label(b)}:{b['file']}")
        short.setdefault(col, _label(r))
        rows.setdefault(row, (*_order(b), str(b["file"])))
        cols.setdefault(col, _order(r))
        p = e["predictors"].get(predictor)
        if p is not None:
            value = _MATRIX_VALUE.get(p["verdict"], 0)
            # two splices of one row and column (two dependencies with one build) keep the worse verdict
            cell[(row, col)] = min(cell.get((row, col), value), value) if value else cell.get((row, col), 0)
    row_keys = sorted(rows, key=lambda k: rows[k])
    col_keys = sorted(cols, key=lambda k: cols[k])
    return (
        unique_labels([short[k] for k in row_keys], row_keys),
        unique_labels([short[k] for k in col_keys], col_keys),
        [[cell.get((r, c), 0) for c in col_keys] for r in row_keys],
    )


def write_matrix(entries: Iterable[Mapping[str, Any]], predictor: str, path: Path) -> None:
    rows, cols, values = matrix(entries, predictor)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["binary", *cols])
        for label, vals in zip(rows, values, strict=True):
            w.writerow([label, *vals])


# --- symbolator-predictions.json ---------------------------------------------------------------------


def _spec_key(a: Artifact) -> tuple[str, str, str, str]:
    return (a.name, a.version, a.build_id, a.source)


def symbolator_document(
    records: Sequence[Record], predictor: str = "symbols"
) -> dict[str, list[dict[str, Any]]]:
    """The seed's ``symbolator-predictions.json`` content from in-memory records."""
    specs: dict[tuple[str, str, str, str], Artifact] = {}
    for rec in records:
        for a in (rec.splice.binary, rec.splice.replacement):
            specs.setdefault(_spec_key(a), a)
    spec_id = {k: i + 1 for i, k in enumerate(sorted(specs))}
    inserted: dict[int, str] = {}  # id(record) -> the replacement library swapped in
    files: set[tuple[int, str]] = set()
    for rec in records:
        s = rec.splice
        files.add((spec_id[_spec_key(s.binary)], s.file))
        libs = [p for p, _ in s.replacement.libraries()]
        if libs:
            inserted[id(rec)] = libs[0]
            files.add((spec_id[_spec_key(s.replacement)], libs[0]))
    file_id = {k: i + 1 for i, k in enumerate(sorted(files))}

    def spec_text(a: Artifact) -> str:
        return f"{a.name}@{a.version}/{a.build_id}:{spec_id[_spec_key(a)]}"

    doc: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        p = rec.predictions.get(predictor)
        if p is None:
            continue
        s = rec.splice
        a_id, b_id = spec_id[_spec_key(s.binary)], spec_id[_spec_key(s.replacement)]
        lib = inserted.get(id(rec))
        doc.setdefault(spec_text(s.binary), []).append(
            {
                "missing": missing_strings(p),
                "B_insert": lib,
                "A_binary": s.file,
                "prediction": None if p.verdict == Verdict.UNKNOWN else p.verdict == Verdict.WORKS,
                "A_id": file_id[(a_id, s.file)],
                "B_id": file_id[(b_id, lib)] if lib else None,
                "specA_id": b_id,
                "specB_id": a_id,
                "specA": spec_text(s.binary),
                "specB": spec_text(s.replacement),
            }
        )
    return doc


def write_all(
    records: Sequence[Record], out: Path, *, matrix_predictor: str | None = None
) -> dict[str, Path]:
    """Write the three files into ``out``; returns their paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    entries = [r.to_dict() for r in records]
    names = list(dict.fromkeys(n for r in records for n in r.predictions))
    chosen = matrix_predictor or ("loader" if "loader" in names else (names[0] if names else "loader"))
    paths = {"predictions": out / PREDICTIONS, "matrix": out / MATRIX}
    write_predictions(entries, paths["predictions"])
    write_matrix(entries, chosen, paths["matrix"])
    if "symbols" in names:
        paths["symbolator"] = out / SYMBOLATOR
        paths["symbolator"].write_text(json.dumps(symbolator_document(records), indent=1) + "\n")
    return paths
