"""Agreement: one predictor's verdict against the real outcome, per splice (the agreement map's categories).

The scoreboard itself (confusion matrices, accuracy, misses) is :mod:`splicelab.evaluate`'s."""

from __future__ import annotations

from enum import IntEnum

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


def counts(matrix: np.ndarray) -> dict[Agreement, int]:
    return {a: int(np.count_nonzero(matrix == int(a))) for a in Agreement}
