"""The splice grid: binaries x replacements, each cell holding every predictor's verdict and the outcome.

Both pictures of a prediction run read this one model: the matplotlib heatmaps
(:mod:`splicelab.report.heatmap`) and the interactive HTML heatmap (:mod:`splicelab.report.html`).
A row is one binary *file* of one build (``package@version/hash7:file``), a column one replacement
build (``package@version/hash7``), as in ``matrix.csv`` (docs/formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from splicelab.predict.base import Prediction, Reason, Verdict

# matrix values (docs/formats.md, matrix.csv)
WORKS, UNTESTED, FAILS = 1, 0, -1
VERDICT_VALUE = {Verdict.WORKS: WORKS, Verdict.UNKNOWN: UNTESTED, Verdict.BREAKS: FAILS}

OK_CLASS = "ok"


SYMBOLATOR_PREDICTOR = "symbols"  # the seed's file holds the verdicts of the seed's algorithm


class ReportInputError(ValueError):
    """A malformed input document (predictions, outcomes, evaluation); the message names file and field."""


@dataclass(frozen=True, slots=True)
class Spec:
    """One build as predictions name it: package, version, build id (hash)."""

    package: str
    version: str
    hash: str
    release: str | None = None
    compiler: str | None = None

    @property
    def id(self) -> str:
        return f"{self.package}@{self.version}/{self.hash}"

    @property
    def label(self) -> str:
        return f"{self.package}@{self.version}/{self.hash[:7]}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What really happened when one splice was performed (one entry of outcomes.json).

    As in :mod:`splicelab.evaluate`: class ``ok`` is a splice that works, any other class one that
    fails, and a run whose program turned out not to load the library at all (``linked`` false) says
    nothing about the splice."""

    cls: str
    message: str = ""
    method: str | None = None
    mode: str | None = None
    linked: bool | None = None

    @property
    def works(self) -> bool | None:
        """True when it ran, False when it failed, None when the run says nothing about the splice."""
        if self.linked is False:
            return None
        return self.cls == OK_CLASS


@dataclass(frozen=True, slots=True)
class Row:
    binary: Spec
    file: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.binary.id, self.file)

    @property
    def label(self) -> str:
        return f"{self.binary.label}:{self.file}"


@dataclass(slots=True)
class Cell:
    row: int
    col: int
    dependency: str
    original: Spec | None
    predictions: dict[str, Prediction] = field(default_factory=dict)
    outcome: Outcome | None = None


@dataclass(slots=True)
class Grid:
    """Rows (binary files), columns (replacement builds) and the cells that were predicted or run."""

    rows: list[Row] = field(default_factory=list)
    cols: list[Spec] = field(default_factory=list)
    predictors: list[str] = field(default_factory=list)
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    unmatched_outcomes: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), len(self.cols))

    @property
    def packages(self) -> list[str]:
        return sorted({r.binary.package for r in self.rows})

    @property
    def has_outcomes(self) -> bool:
        return any(c.outcome is not None for c in self.cells.values())

    def row_labels(self) -> list[str]:
        return unique_labels([r.label for r in self.rows], [f"{r.binary.id}:{r.file}" for r in self.rows])

    def col_labels(self) -> list[str]:
        return unique_labels([c.label for c in self.cols], [c.id for c in self.cols])

    def values(self, predictor: str) -> np.ndarray:
        """The matrix of one predictor: 1 works, 0 untested/unknown, -1 fails (int8, rows x cols)."""
        m = np.zeros(self.shape, dtype=np.int8)
        for (i, j), cell in self.cells.items():
            p = cell.predictions.get(predictor)
            if p is not None:
                m[i, j] = VERDICT_VALUE[p.verdict]
        return m

    def subset(self, package: str) -> Grid:
        """The rows of one binary package, with only the columns that package has cells in."""
        keep_rows = [i for i, r in enumerate(self.rows) if r.binary.package == package]
        row_map = {old: new for new, old in enumerate(keep_rows)}
        used_cols = sorted({j for (i, j) in self.cells if i in row_map})
        col_map = {old: new for new, old in enumerate(used_cols)}
        sub = Grid(
            rows=[self.rows[i] for i in keep_rows],
            cols=[self.cols[j] for j in used_cols],
            predictors=[
                p
                for p in self.predictors
                if any(p in c.predictions for (i, _), c in self.cells.items() if i in row_map)
            ],
        )
        for (i, j), cell in self.cells.items():
            if i in row_map:
                ni, nj = row_map[i], col_map[j]
                sub.cells[(ni, nj)] = Cell(
                    ni, nj, cell.dependency, cell.original, cell.predictions, cell.outcome
                )
        return sub


def unique_labels(short: Sequence[str], full: Sequence[str]) -> list[str]:
    """Short labels, falling back to the full one where two short labels collide."""
    counts: dict[str, int] = {}
    for s in short:
        counts[s] = counts.get(s, 0) + 1
    return [s if counts[s] == 1 else f for s, f in zip(short, full, strict=True)]


# --- reading --------------------------------------------------------------------------------------------


def _spec(d: Any, where: str) -> Spec:
    if not isinstance(d, Mapping):
        raise ReportInputError(f"{where}: expected an object with package, version, hash")
    for key in ("package", "version", "hash"):
        if not isinstance(d.get(key), str | int | float) or d.get(key) == "":
            raise ReportInputError(f"{where}: missing field {key!r}")
    return Spec(
        package=str(d["package"]),
        version=str(d["version"]),
        hash=str(d["hash"]),
        release=d.get("release"),
        compiler=d.get("compiler"),
    )


def parse_spec_id(text: str, where: str) -> Spec:
    """``name@version/hash`` (optionally ``:suffix``) → Spec."""
    base = text.split(":", 1)[0]
    if "@" not in base or "/" not in base.split("@", 1)[1]:
        raise ReportInputError(f"{where}: {text!r} is not name@version/hash")
    name, rest = base.split("@", 1)
    version, build = rest.split("/", 1)
    return Spec(package=name, version=version, hash=build)


def _prediction(d: Any, where: str) -> Prediction:
    if isinstance(d, Prediction):
        return d
    if not isinstance(d, Mapping):
        raise ReportInputError(f"{where}: expected an object with 'verdict' and 'reasons'")
    try:
        verdict = Verdict(d.get("verdict"))
    except ValueError:
        raise ReportInputError(
            f"{where}.verdict: {d.get('verdict')!r} is not one of works, breaks, unknown"
        ) from None
    reasons = d.get("reasons") or []
    if not isinstance(reasons, list):
        raise ReportInputError(f"{where}.reasons: expected a list")
    out: list[Reason] = []
    for k, r in enumerate(reasons):
        if not isinstance(r, Mapping) or "kind" not in r:
            raise ReportInputError(f"{where}.reasons[{k}]: expected an object with 'kind'")
        out.append(Reason.from_dict(r))
    return Prediction(verdict, tuple(out))


def normalize_symbolator(doc: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """The seed's ``symbolator-predictions.json`` (binary spec → list of results) as our entries.

    The binary is the key (``name@version/hash``, an optional ``:id`` suffix dropped) and ``A_binary``
    its file; the replacement is ``specB`` when that names a spec (``name@version/hash``), else
    ``specA``. ``prediction`` true/false becomes works/breaks (null: unknown); ``missing`` (``"<library>
    <symbol>"``) becomes missing-symbol reasons. The verdicts are the ``symbols`` predictor's.
    """
    entries: list[dict[str, Any]] = []
    for key, results in doc.items():
        binary = parse_spec_id(str(key), f"{where}: key")
        if not isinstance(results, list):
            raise ReportInputError(f"{where}[{key!r}]: expected a list of results")
        for k, res in enumerate(results):
            at = f"{where}[{key!r}][{k}]"
            if not isinstance(res, Mapping):
                raise ReportInputError(f"{at}: expected an object")
            repl_text = None
            for name in ("specB", "specA"):
                value = res.get(name)
                if isinstance(value, str) and "@" in value and "/" in value:
                    repl_text = value
                    break
            if repl_text is None:
                raise ReportInputError(f"{at}: neither 'specB' nor 'specA' names a spec (name@version/hash)")
            repl = parse_spec_id(repl_text, f"{at}.specB")
            if "prediction" not in res:
                raise ReportInputError(f"{at}: missing field 'prediction'")
            pred = res["prediction"]
            verdict = "unknown" if pred is None else ("works" if pred else "breaks")
            reasons = []
            for m in res.get("missing") or []:
                lib, _, sym = str(m).partition(" ")
                reasons.append(
                    {"kind": "missing-symbol", "symbol": sym or lib, "library": lib if sym else None}
                )
            entries.append(
                {
                    "binary": {
                        "package": binary.package,
                        "version": binary.version,
                        "hash": binary.hash,
                        "id": binary.id,
                        "file": str(res.get("A_binary") or "?"),
                    },
                    "dependency": repl.package,
                    "replacement": {
                        "package": repl.package,
                        "version": repl.version,
                        "hash": repl.hash,
                        "id": repl.id,
                    },
                    "predictors": {SYMBOLATOR_PREDICTOR: {"verdict": verdict, "reasons": reasons}},
                }
            )
    return entries


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReportInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"{path}: not JSON: {exc}") from None


def prediction_entries(data: Any, where: str) -> list[Any]:
    """predictions.json content (a list) or symbolator-predictions.json content (an object) -> entries."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        return normalize_symbolator(data, where)
    raise ReportInputError(f"{where}: expected a list of predictions (or symbolator's object)")


def read_predictions(path: Path) -> tuple[Any, list[Mapping[str, Any]]]:
    """(the document as read, its entries as dicts): predictions.json is checked field by field by
    :func:`splicelab.report.predictions.load_predictions`; symbolator's file is converted."""
    from splicelab.report.predictions import PredictionsFormatError, load_predictions

    data = read_json(path)
    if isinstance(data, list):
        try:
            loaded = load_predictions(path)
        except PredictionsFormatError as exc:
            raise ReportInputError(str(exc)) from None
        return data, [
            {
                "binary": e.binary,
                "dependency": e.dependency,
                "original": e.original,
                "replacement": e.replacement,
                "predictors": e.predictors,
            }
            for e in loaded
        ]
    return data, prediction_entries(data, str(path))


def build_grid(
    entries: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]] = (),
    *,
    where: str = "predictions",
    outcomes_where: str = "outcomes",
) -> Grid:
    """Gather prediction entries (docs/formats.md) and outcome entries into one grid."""
    grid = Grid()
    row_index: dict[tuple[str, str], int] = {}
    col_index: dict[str, int] = {}
    predictors: dict[str, None] = {}

    def row_of(binary: Spec, file: str) -> int:
        key = (binary.id, file)
        if key not in row_index:
            row_index[key] = len(grid.rows)
            grid.rows.append(Row(binary, file))
        return row_index[key]

    def col_of(spec: Spec) -> int:
        if spec.id not in col_index:
            col_index[spec.id] = len(grid.cols)
            grid.cols.append(spec)
        return col_index[spec.id]

    for k, e in enumerate(entries):
        at = f"{where}[{k}]"
        if not isinstance(e, Mapping):
            raise ReportInputError(f"{at}: expected an object")
        binary = _spec(e.get("binary"), f"{at}.binary")
        file = e["binary"].get("file")
        if not isinstance(file, str) or not file:
            raise ReportInputError(f"{at}.binary: missing field 'file'")
        repl = _spec(e.get("replacement"), f"{at}.replacement")
        original = _spec(e["original"], f"{at}.original") if e.get("original") is not None else None
        preds = e.get("predictors")
        if not isinstance(preds, Mapping):
            raise ReportInputError(f"{at}: missing object 'predictors'")
        i, j = row_of(binary, file), col_of(repl)
        cell = grid.cells.get((i, j))
        if cell is None:
            cell = grid.cells[(i, j)] = Cell(i, j, str(e.get("dependency") or repl.package), original)
        for name, p in preds.items():
            predictors.setdefault(str(name), None)
            new = _prediction(p, f"{at}.predictors.{name}")
            old = cell.predictions.get(str(name))
            # two entries for one cell (should not happen): keep the more pessimistic verdict
            if old is None or VERDICT_VALUE[new.verdict] < VERDICT_VALUE[old.verdict]:
                cell.predictions[str(name)] = new
    grid.predictors = list(predictors)
    _attach_outcomes(grid, row_index, col_index, outcomes, outcomes_where)
    return grid


def _attach_outcomes(
    grid: Grid,
    row_index: Mapping[tuple[str, str], int],
    col_index: Mapping[str, int],
    outcomes: Iterable[Mapping[str, Any]],
    where: str,
) -> None:
    rows_by_binary: dict[str, list[int]] = {}
    for (bid, _file), i in row_index.items():
        rows_by_binary.setdefault(bid, []).append(i)
    for k, o in enumerate(outcomes):
        at = f"{where}[{k}]"
        if not isinstance(o, Mapping):
            raise ReportInputError(f"{at}: expected an object")
        cls = o.get("class")
        if not isinstance(cls, str):
            raise ReportInputError(f"{at}: missing field 'class'")
        binary = _spec(o.get("binary"), f"{at}.binary")
        repl = _spec(o.get("replacement"), f"{at}.replacement")
        file = o["binary"].get("file")
        j = col_index.get(repl.id)
        if file is not None:
            rows = [row_index[(binary.id, file)]] if (binary.id, file) in row_index else []
        else:  # an outcome for the whole build: every file of it
            rows = rows_by_binary.get(binary.id, [])
        if j is None or not rows:
            grid.unmatched_outcomes += 1
            continue
        new = Outcome(
            cls,
            str(o.get("message") or ""),
            o.get("method"),
            None if o.get("mode") is None else str(o.get("mode")),
            o.get("linked") if isinstance(o.get("linked"), bool) else None,
        )
        for i in rows:
            cell = grid.cells.get((i, j))
            if cell is None:
                cell = grid.cells[(i, j)] = Cell(i, j, str(o.get("dependency") or repl.package), None)
            cell.outcome = _stronger(cell.outcome, new)


def _stronger(old: Outcome | None, new: Outcome) -> Outcome:
    """Of two runs of one splice: the conclusive one, then the one in the program's own system (mode C),
    then the first (the choice :mod:`splicelab.evaluate` makes)."""
    if old is None:
        return new
    if (old.works is None) != (new.works is None):
        return old if new.works is None else new
    if new.mode == "C" and old.mode != "C":
        return new
    return old


def read_outcomes(path: Path | None) -> list[Mapping[str, Any]]:
    if path is None:
        return []
    data = read_json(path)
    if not isinstance(data, list):
        raise ReportInputError(f"{path}: expected a list of outcomes")
    return data


def load_grid(predictions: Path, outcomes: Path | None = None) -> Grid:
    """Read a predictions file (ours or symbolator's) and optionally outcomes.json into a grid."""
    _, entries = read_predictions(predictions)
    return build_grid(entries, read_outcomes(outcomes), where=str(predictions), outcomes_where=str(outcomes))


def split_by_package(data: Any, where: str = "predictions") -> dict[str, Any]:
    """The input document cut into one document per binary package, each in the input's own shape."""
    parts: dict[str, Any] = {}
    if isinstance(data, Mapping):  # symbolator: keys are the binaries' specs
        for key, value in data.items():
            package = parse_spec_id(str(key), f"{where}: key").package
            parts.setdefault(package, {})[key] = value
        return parts
    for k, e in enumerate(prediction_entries(data, where)):
        binary = e.get("binary") if isinstance(e, Mapping) else None
        if not isinstance(binary, Mapping) or not binary.get("package"):
            raise ReportInputError(f"{where}[{k}].binary: missing field 'package'")
        parts.setdefault(str(binary["package"]), []).append(e)
    return parts


PREDICTION_FILES = ("predictions.json", "symbolator-predictions.json")


def find_predictions(path: Path) -> Path:
    """A predictions file, or the first of predictions.json / symbolator-predictions.json in a directory."""
    path = Path(path)
    if path.is_dir():
        for name in PREDICTION_FILES:
            if (path / name).is_file():
                return path / name
        raise ReportInputError(f"{path}: holds neither {' nor '.join(PREDICTION_FILES)}")
    if not path.exists():
        raise ReportInputError(f"{path}: no such file")
    return path


def find_beside(predictions: Path, given: Path | None, name: str) -> Path | None:
    """``given`` if set, else ``name`` next to the predictions file when it exists there."""
    if given is not None:
        return given
    candidate = Path(predictions).parent / name
    return candidate if candidate.is_file() else None
