"""libabigail's ``abicompat`` as a predictor (the adapter is :mod:`splicelab.tools.abigail`).

Exit status 0 → works. An ABI change (bit 4, "might not be compatible") or an incompatible change
(bit 8) → breaks, as the seed read it (any report or non-zero status meant "will not work"). An error
(bit 1, 2, or a signal) → unknown. Reasons come from the report: a removed symbol is ``missing-symbol``,
a changed function or variable ``abi-change``.

Without debug info abicompat sees only the dynamic symbol table: a removed symbol is found, a changed
type or a shrunk data object is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from splicelab.predict.base import ABI_CHANGE, MISSING_SYMBOL, TOOL_ERROR, Prediction, Reason, Verdict
from splicelab.predict.pairwise import PairwisePredictor
from splicelab.tools import abigail


def verdict_of(result: abigail.Result, soname: str, consumer: str) -> Prediction:
    if result.error:
        message = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        detail = f"abicompat {consumer}: {message.splitlines()[0]}"
        return Prediction(Verdict.UNKNOWN, (Reason(TOOL_ERROR, library=soname, detail=detail),))
    if not (result.changed or result.incompatible):
        return Prediction(Verdict.WORKS)
    reasons = []
    for e in result.entries:
        if e.change == "removed":
            reasons.append(
                Reason(MISSING_SYMBOL, e.symbol, e.version, soname, f"removed (used by {consumer})")
            )
        elif e.change == "changed":
            reasons.append(Reason(ABI_CHANGE, e.symbol, e.version, soname, e.declaration or "changed"))
    if not reasons:
        reasons.append(
            Reason(ABI_CHANGE, library=soname, detail=f"abicompat exit status {result.returncode}")
        )
    return Prediction(Verdict.BREAKS, tuple(reasons))


class LibabigailPredictor(PairwisePredictor):
    name: ClassVar[str] = "libabigail"

    def unavailable(self) -> str | None:
        return abigail.unavailable()

    def tool_version(self) -> str:
        return abigail.version() or "unknown"

    def check(self, consumer: Path, old: Path, new: Path, soname: str) -> Prediction:
        return verdict_of(abigail.abicompat(consumer, old, new), soname, consumer.name)
