"""The HTML report: one self-contained page (inline CSS, JS and data), and its reusable pieces.

Building blocks, shared with the server's web UI:

* :func:`build_payload` - a grid (and optionally an evaluation) as a compact JSON-able dict;
* :func:`payload_script` - that dict as ``<script type="application/json">``, escaped so that no
  name in it can close the element or start markup;
* :func:`environment` - the Jinja2 environment (autoescaping on) whose ``heatmap.html`` partial draws
  the interactive heatmap from such a payload with the inline ``heatmap.js``;
* :func:`render_report` - the whole static page.

Every name reaches the page either through Jinja2's autoescaping or as JSON data that the script puts
into the DOM with ``textContent`` only, so names are always shown as text, never run as markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from splicelab.predict.base import Verdict
from splicelab.report.agreement import Agreement, agreement_matrix, counts
from splicelab.report.grid import Grid, ReportInputError, read_json
from splicelab.report.heatmap import CLUSTER_MAX, cluster

VERDICT_CODE = {Verdict.WORKS: "w", Verdict.BREAKS: "b", Verdict.UNKNOWN: "u"}
CLUSTER_CELLS_MAX = 250_000  # above this the page offers only the by-name order


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("splicelab.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset
    env.filters["percent"] = lambda x: "-" if x is None else f"{100 * float(x):.1f} %"
    return env


@cache
def asset(name: str) -> Markup:
    """An inline asset (``report.css``, ``heatmap.js``) shipped in the package, ready to embed."""
    text = resources.files("splicelab.report").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" + "script" in text.lower() or "</" + "style" in text.lower():  # pragma: no cover - our own files
        raise RuntimeError(f"asset {name} would close its element early")
    return Markup(text)


def payload_script(payload: Mapping[str, Any], element_id: str = "splicelab-data") -> Markup:
    """``<script type="application/json" id=...>`` holding ``payload``; ``<``, ``>``, ``&`` and the
    JavaScript line separators are written as ``\\uXXXX`` escapes, so the data cannot end the element."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, esc in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, esc)
    safe_id = Markup.escape(element_id)
    return Markup(f'<script type="application/json" id="{safe_id}">{text}</script>')


# --- the payload ------------------------------------------------------------------------------------------


def _orders(grid: Grid, predictor: str | None) -> dict[str, Any]:
    rows, cols = grid.row_labels(), grid.col_labels()
    by_name = {
        "rows": sorted(range(len(rows)), key=lambda i: (grid.rows[i].binary.package, rows[i])),
        "cols": sorted(range(len(cols)), key=cols.__getitem__),
    }
    orders: dict[str, Any] = {"name": by_name}
    n_rows, n_cols = grid.shape
    if predictor and n_rows * n_cols <= CLUSTER_CELLS_MAX and max(n_rows, n_cols) <= CLUSTER_MAX:
        c = cluster(grid.values(predictor))
        orders["clustered"] = {"rows": c.row_order, "cols": c.col_order, "by": predictor, "notes": c.notes}
    return orders


def build_payload(
    grid: Grid, evaluation: Mapping[str, Any] | None = None, *, title: str = "splicelab report"
) -> dict[str, Any]:
    """Everything the page shows, compactly: rows, columns, cells (verdict letters per predictor, an
    outcome and reason references), the deduplicated reasons and outcomes, orders, summary, scoreboard."""
    predictors = list(grid.predictors)
    reasons: list[list[Any]] = []
    reason_ids: dict[tuple[Any, ...], int] = {}
    outcomes: list[list[Any]] = []
    outcome_ids: dict[tuple[Any, ...], int] = {}
    cells: list[list[Any]] = []
    for (i, j), cell in sorted(grid.cells.items()):
        letters = "".join(
            VERDICT_CODE[cell.predictions[p].verdict] if p in cell.predictions else "-" for p in predictors
        )
        refs: list[list[int]] = []
        for p in predictors:
            ids = []
            for r in cell.predictions[p].reasons if p in cell.predictions else ():
                key = (r.kind, r.symbol, r.version, r.library, r.detail)
                if key not in reason_ids:
                    reason_ids[key] = len(reasons)
                    reasons.append(list(key))
                ids.append(reason_ids[key])
            refs.append(ids)
        o = -1
        if cell.outcome is not None:
            okey = (cell.outcome.cls, cell.outcome.message, cell.outcome.method, cell.outcome.works)
            if okey not in outcome_ids:
                outcome_ids[okey] = len(outcomes)
                outcomes.append(list(okey))
            o = outcome_ids[okey]
        entry: list[Any] = [i, j, letters, o]
        if any(refs):
            entry.append(refs)
        cells.append(entry)
    default = "loader" if "loader" in predictors else (predictors[0] if predictors else None)
    return {
        "schema": "splicelab.report/1",
        "title": title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "predictors": predictors,
        "default_predictor": default,
        "packages": grid.packages,
        "rows": [
            {"label": lab, "package": r.binary.package, "id": r.binary.id, "file": r.file}
            for lab, r in zip(grid.row_labels(), grid.rows, strict=True)
        ],
        "cols": [
            {"label": lab, "package": c.package, "id": c.id}
            for lab, c in zip(grid.col_labels(), grid.cols, strict=True)
        ],
        "dependencies": sorted({c.dependency for c in grid.cells.values()}),
        "cells": cells,
        "reasons": reasons,
        "outcomes": outcomes,
        "orders": _orders(grid, default),
        "agreement": [{"code": int(a), "label": a.label} for a in Agreement],
        "summary": summary(grid),
        "scoreboard": scoreboard(grid, evaluation),
    }


def summary(grid: Grid) -> dict[str, Any]:
    per_predictor = {}
    for p in grid.predictors:
        tally = {v.value: 0 for v in Verdict}
        for cell in grid.cells.values():
            if p in cell.predictions:
                tally[cell.predictions[p].verdict.value] += 1
        per_predictor[p] = tally
    outcome_tally = {"ok": 0, "fail": 0, "inconclusive": 0}
    for cell in grid.cells.values():
        if cell.outcome is not None:
            w = cell.outcome.works
            outcome_tally["inconclusive" if w is None else ("ok" if w else "fail")] += 1
    return {
        "splices": sum(1 for c in grid.cells.values() if c.predictions),
        "binaries": len({r.binary.id for r in grid.rows}),
        "binary_files": len(grid.rows),
        "replacements": len(grid.cols),
        "packages": len(grid.packages),
        "predictors": per_predictor,
        "outcomes": outcome_tally,
        "unmatched_outcomes": grid.unmatched_outcomes,
    }


def scoreboard(grid: Grid, evaluation: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One line per predictor of ``evaluation`` (evaluation.json, :func:`splicelab.evaluate.evaluate`),
    with the agreement map's tallies when the grid holds outcomes."""
    if evaluation is None:
        return []
    lines = []
    for name, ev in evaluation.items():
        line = _evaluation_line(str(name), ev)
        if grid.has_outcomes and name in grid.predictors:
            tally = counts(agreement_matrix(grid, str(name)))
            line["agreement"] = {a.label: tally[a] for a in Agreement}
        lines.append(line)
    return lines


def _evaluation_line(name: str, ev: Any) -> dict[str, Any]:
    where = f"evaluation[{name!r}]"
    if not isinstance(ev, Mapping):
        raise ReportInputError(f"{where}: expected an object")
    confusion = ev.get("confusion")
    if not isinstance(confusion, Mapping):
        raise ReportInputError(f"{where}: missing object 'confusion'")
    table: dict[str, dict[str, int]] = {}
    for verdict in ("works", "breaks", "unknown"):
        row = confusion.get(verdict, {}) or {}
        if not isinstance(row, Mapping):
            raise ReportInputError(f"{where}.confusion.{verdict}: expected an object with ok, fail")
        try:
            table[verdict] = {"ok": int(row.get("ok", 0)), "fail": int(row.get("fail", 0))}
        except (TypeError, ValueError):
            raise ReportInputError(f"{where}.confusion.{verdict}: ok and fail must be numbers") from None
    misses = ev.get("misses") or []
    if not isinstance(misses, list):
        raise ReportInputError(f"{where}.misses: expected a list")
    false_works = [
        {
            "binary": str(m.get("binary", "")),
            "replacement": str(m.get("replacement", "")),
            "class": str(m.get("class", "")),
            "message": str(m.get("message", "") or ""),
            "reasons": m.get("reasons") or [],
        }
        for m in misses
        if isinstance(m, Mapping) and m.get("verdict") == "works"
    ]
    total = sum(v for row in table.values() for v in row.values())
    correct = table["works"]["ok"] + table["breaks"]["fail"]
    accuracy = ev.get("accuracy", correct / total if total else None)
    decided = ev.get("decided_accuracy")
    return {
        "predictor": name,
        "confusion": table,
        "decided_accuracy": None if decided is None else float(decided),
        "unmatched": int(ev.get("unmatched", 0) or 0),
        "correct": int(ev.get("correct", correct)),
        "total": int(ev.get("total", total)),
        "accuracy": None if accuracy is None else float(accuracy),
        "false_works": false_works,
        "false_breaks": int(ev.get("false_breaks", table["breaks"]["ok"])),
        "unknown": int(ev.get("unknown", sum(table["unknown"].values()))),
        "agreement": None,
    }


# --- the page ---------------------------------------------------------------------------------------------


def render_report(
    grid: Grid, evaluation: Mapping[str, Any] | None = None, *, title: str = "splicelab report"
) -> str:
    payload = build_payload(grid, evaluation, title=title)
    boards = {line["predictor"]: line for line in payload["scoreboard"]}
    return (
        environment()
        .get_template("report.html")
        .render(p=payload, boards=boards, data=payload_script(payload))
    )


def load_evaluation(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise ReportInputError(f"{path}: expected an object keyed by predictor name")
    try:
        for name, ev in data.items():
            _evaluation_line(str(name), ev)
    except ReportInputError as exc:
        raise ReportInputError(f"{path}: {exc}") from None
    return dict(data)


def write_report(
    predictions: Path,
    out: Path,
    outcomes: Path | None = None,
    evaluation: Path | None = None,
    predictors: Sequence[str] = (),
) -> Path:
    """``splicelab report``: read the inputs, write one self-contained HTML file. Without an
    evaluation.json the scoreboard is computed from the outcomes by :func:`splicelab.evaluate.evaluate`."""
    from splicelab.evaluate import EvaluationInputError, evaluate
    from splicelab.report.grid import build_grid, read_outcomes, read_predictions

    data, entries = read_predictions(predictions)
    outs = read_outcomes(outcomes)
    grid = build_grid(entries, outs, where=str(predictions), outcomes_where=str(outcomes))
    if predictors:
        missing = [p for p in predictors if p not in grid.predictors]
        if missing:
            raise ReportInputError(f"{predictions}: no predictor named {', '.join(missing)}")
        grid.predictors = [p for p in grid.predictors if p in predictors]
    ev: dict[str, Any] | None = None
    if evaluation is not None:
        ev = load_evaluation(evaluation)
    elif outs:
        try:
            ev = evaluate(data if isinstance(data, list) else entries, outs)
        except EvaluationInputError as exc:
            raise ReportInputError(f"{predictions} / {outcomes}: {exc}") from None
    if ev is not None and predictors:
        ev = {k: v for k, v in ev.items() if k in predictors}
    title = f"splicelab report: {predictions.name}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(grid, ev, title=title), encoding="utf-8")
    return out
