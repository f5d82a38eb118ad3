"""Agreement: one predictor's verdict against the real outcome, per splice, and the scoreboard it sums to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from splicelab.predict.base import Verdict
from splicelab.report.grid import Grid, Outcome


class Agreement(IntEnum):
    """Categories of the agreement map, in legend order (the value is the matrix code)."""

    RIGHT_WORKS = 0  # predicted works, it ran
    RIGHT_BREAKS = 1  # predicted breaks, it failed
    FALSE_WORKS = 2  # predicted works, it failed (the costly mistake)
    FALSE_BREAKS = 3  # predicted breaks, it ran
    UNDECIDED = 4  # the predictor said unknown (or nothing) about a splice that was run
    UNTESTED = 5  # no conclusive real outcome

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Agreement.RIGHT_WORKS: "right: works",
    Agreement.RIGHT_BREAKS: "right: breaks",
    Agreement.FALSE_WORKS: "false works",
    Agreement.FALSE_BREAKS: "false breaks",
    Agreement.UNDECIDED: "no verdict",
    Agreement.UNTESTED: "untested",
}


def categorize(verdict: Verdict | str | None, outcome: Outcome | None) -> Agreement:
    """The agreement category of one splice: a verdict (or None) against an outcome (or None)."""
    ran = outcome.works if outcome is not None else None
    if ran is None:
        return Agreement.UNTESTED
    v = Verdict(verdict) if verdict is not None else Verdict.UNKNOWN
    if v is Verdict.WORKS:
        return Agreement.RIGHT_WORKS if ran else Agreement.FALSE_WORKS
    if v is Verdict.BREAKS:
        return Agreement.FALSE_BREAKS if ran else Agreement.RIGHT_BREAKS
    return Agreement.UNDECIDED


def agreement_matrix(grid: Grid, predictor: str) -> np.ndarray:
    """Agreement codes (rows x cols, int8); cells without prediction nor outcome are UNTESTED."""
    m = np.full(grid.shape, int(Agreement.UNTESTED), dtype=np.int8)
    for (i, j), cell in grid.cells.items():
        p = cell.predictions.get(predictor)
        m[i, j] = int(categorize(p.verdict if p else None, cell.outcome))
    return m


@dataclass(slots=True)
class Score:
    """One predictor's scoreboard line, computed from the grid (same shape as evaluation.json)."""

    predictor: str
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {v.value: {"ok": 0, "fail": 0} for v in Verdict}
    )
    false_works: list[dict[str, Any]] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return self.confusion["works"]["ok"] + self.confusion["breaks"]["fail"]

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.confusion.values())

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "correct": self.correct,
            "false_works": self.confusion["works"]["fail"],
            "false_breaks": self.confusion["breaks"]["ok"],
            "unknown": sum(self.confusion["unknown"].values()),
            "total": self.total,
            "accuracy": self.accuracy,
            "confusion": self.confusion,
            "misses": self.false_works,
        }


def score(grid: Grid, predictor: str) -> Score:
    """Confusion matrix (verdict x ok/fail) over the splices the predictor judged that have a conclusive
    outcome."""
    s = Score(predictor)
    rows, cols = grid.row_labels(), grid.col_labels()
    for (i, j), cell in sorted(grid.cells.items()):
        if cell.outcome is None or cell.outcome.works is None:
            continue
        p = cell.predictions.get(predictor)
        if p is None:  # not a splice this predictor was asked about (e.g. the original build itself)
            continue
        verdict = p.verdict
        s.confusion[verdict.value]["ok" if cell.outcome.works else "fail"] += 1
        if verdict is Verdict.WORKS and not cell.outcome.works:
            s.false_works.append(
                {
                    "binary": rows[i],
                    "replacement": cols[j],
                    "verdict": verdict.value,
                    "class": cell.outcome.cls,
                    "reasons": [r.to_dict() for r in p.reasons],
                    "message": cell.outcome.message,
                }
            )
    return s


def counts(matrix: np.ndarray) -> dict[Agreement, int]:
    return {a: int(np.count_nonzero(matrix == int(a))) for a in Agreement}
