"""The shape every type-level tool shares: one check per (consumer, old library, new library).

A tool like abicompat compares one application with one library pair. For a splice, the pairs are the
replaced dependency's libraries that the binary's closure loads, each checked for every object of the
closure that links it directly: for ``pngfix`` with zlib that is ``libpng16.so.16`` (which imports
``inflateValidate@ZLIB_1.2.9``), not only ``pngfix``. The splice breaks if any check breaks, is unknown
if none breaks and one cannot tell, and works otherwise.

Checks are cached by the three files' contents (see :mod:`splicelab.predict.cache`). A missing tool is
reported once, as a warning, and every splice gets ``unknown`` with a ``tool-unavailable`` reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from splicelab.predict.base import TOOL_ERROR, TOOL_UNAVAILABLE, Prediction, Reason, Splice, Verdict
from splicelab.predict.cache import DEFAULT, ResultCache, file_digest
from splicelab.predict.view import library_pairs

if TYPE_CHECKING:
    from splicelab.link import World


def combine(results: Iterable[Prediction]) -> Prediction:
    """Breaks if any breaks (with those reasons), else unknown if any is, else works."""
    results = list(results)
    for verdict in (Verdict.BREAKS, Verdict.UNKNOWN):
        chosen = [r for r in results if r.verdict == verdict]
        if chosen:
            return Prediction(verdict, tuple(dict.fromkeys(x for r in chosen for x in r.reasons)))
    return Prediction(Verdict.WORKS, tuple(dict.fromkeys(x for r in results for x in r.reasons)))


class PairwisePredictor:
    """Subclasses set ``name``, and implement ``unavailable``, ``tool_version`` and ``check``."""

    name: ClassVar[str]

    def __init__(self, cache: ResultCache | None = None) -> None:
        self.cache = cache if cache is not None else DEFAULT
        self._warned = False
        self._version: str | None = None

    def unavailable(self) -> str | None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def tool_version(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def check(self, consumer: Path, old: Path, new: Path, soname: str) -> Prediction:  # pragma: no cover
        raise NotImplementedError

    def cached_check(self, consumer: Path, old: Path, new: Path, soname: str) -> Prediction:
        if self._version is None:
            self._version = self.tool_version()
        try:
            parts = (self._version, soname, file_digest(consumer), file_digest(old), file_digest(new))
        except OSError as exc:
            return Prediction(
                Verdict.UNKNOWN, (Reason(TOOL_ERROR, library=soname, detail=f"cannot read: {exc}"),)
            )
        hit = self.cache.get(self.name, parts)
        if hit is not None:
            return Prediction.from_dict(hit)
        result = self.check(consumer, old, new, soname)
        self.cache.put(self.name, parts, result.to_dict())
        return result

    def predict(self, splice: Splice, world: World) -> Prediction:
        why = self.unavailable()
        if why is not None:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"predictor {self.name}: {why}; its verdicts are 'unknown'", RuntimeWarning, stacklevel=2
                )
            return Prediction(Verdict.UNKNOWN, (Reason(TOOL_UNAVAILABLE, detail=why),))
        pairs = library_pairs(splice, world)
        if not pairs:
            detail = f"{splice.file} loads no library of {splice.original.short_id}"
            return Prediction(Verdict.UNKNOWN, (Reason(TOOL_ERROR, detail=detail),))
        results = []
        for pair in pairs:
            if pair.new_path is None:
                detail = (
                    f"{splice.replacement.short_id} has no library to compare with {pair.old.corpus.path}"
                )
                results.append(
                    Prediction(Verdict.UNKNOWN, (Reason(TOOL_ERROR, library=pair.soname, detail=detail),))
                )
                continue
            for consumer in pair.consumers:
                results.append(self.cached_check(consumer.path, pair.old.path, pair.new_path, pair.soname))
        if not results:
            detail = (
                f"nothing in the closure of {splice.file} links {', '.join(p.soname for p in pairs)} directly"
            )
            return Prediction(Verdict.UNKNOWN, (Reason(TOOL_ERROR, detail=detail),))
        return combine(results)
