"""abicheck's application mode as a predictor (the adapter is :mod:`splicelab.tools.abicheck`).

The verdict is abicheck's per-application one, not the whole-library exit code: BREAKING or API_BREAK
→ breaks; NO_CHANGE, COMPATIBLE, COMPATIBLE_WITH_RISK → works; no verdict → unknown. Reasons: each
symbol the application imports that the new library lacks (``missing-symbol``), each version node it
requires that is gone (``missing-version``), each other change abicheck scopes to the application
(``abi-change``), and, on any verdict, the new library's new version requirements on its own
dependencies (``dependency-version``), which abicheck rates only a risk: whether the closure provides
them is for the ``loader`` predictor to say.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from splicelab.predict.base import (
    ABI_CHANGE,
    DEPENDENCY_VERSION,
    MISSING_SYMBOL,
    MISSING_VERSION,
    TOOL_ERROR,
    Prediction,
    Reason,
    Verdict,
)
from splicelab.predict.pairwise import PairwisePredictor
from splicelab.tools import abicheck as tool


def verdict_of(result: tool.AppResult, soname: str, consumer: str) -> Prediction:
    if result.verdict is None:
        return Prediction(
            Verdict.UNKNOWN, (Reason(TOOL_ERROR, library=soname, detail=f"abicheck: {result.error}"),)
        )
    used_by = f"used by {consumer}"
    reasons = [Reason(MISSING_SYMBOL, s, None, soname, used_by) for s in result.missing_symbols]
    reasons += [Reason(MISSING_VERSION, None, v, soname, used_by) for v in result.missing_versions]
    reported = set(result.missing_symbols)
    reasons += [
        Reason(ABI_CHANGE, c.symbol, None, soname, f"{c.kind}: {c.description}" if c.description else c.kind)
        for c in result.changes
        if c.symbol not in reported
    ]
    reasons += [Reason(DEPENDENCY_VERSION, None, r.symbol, soname, r.description) for r in result.risks]
    return Prediction(Verdict.BREAKS if result.breaking else Verdict.WORKS, tuple(reasons))


class AbicheckPredictor(PairwisePredictor):
    name: ClassVar[str] = "abicheck"

    def unavailable(self) -> str | None:
        return tool.unavailable()

    def tool_version(self) -> str:
        return tool.version()

    def check(self, consumer: Path, old: Path, new: Path, soname: str) -> Prediction:
        return verdict_of(tool.check_application(consumer, old, new), soname, consumer.name)
