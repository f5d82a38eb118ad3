"""The ``loader`` predictor: would ``ld.so`` (with ``LD_BIND_NOW``) still start the binary after the splice?

It asks :meth:`splicelab.link.World.splice` for the problems the spliced closure has that the unspliced
one has not, and names each with a reason kind (docs/formats.md):

========================= ==================================================================
``missing-soname``        a NEEDED entry of the binary's closure finds no file any more
``dependency-unmet``      a NEEDED entry of the replacement finds no file in the closure
``missing-version``       a version node required from the replacement is not defined by it
``dependency-version``    the replacement requires a version node the rest lacks (``GLIBC_2.38``)
``missing-symbol``        an import binds to nothing
``symbol-moved``          ... but another library of the world, not loaded, defines it
``data-shrunk``           a copy-relocated data object has another size in the replacement
========================= ==================================================================

Verdict: ``breaks`` when there is at least one new problem, else ``works``. Problems the unspliced
closure already has (a library of the artifact set that is absent, e.g. glibc for a Spack tree read
without its system) are not the splice's doing: they do not count and are not listed; the replacement
is held to the same standard (its own need for that absent library is not counted either).
"""

from __future__ import annotations

from typing import ClassVar

from splicelab.link import (
    DATA_SIZE,
    MISSING_SONAME,
    MISSING_SYMBOL,
    MISSING_VERSION,
    LibraryFile,
    Problem,
    SpliceEffect,
    World,
)
from splicelab.predict import base
from splicelab.predict.base import Prediction, Reason, Splice, Verdict


class LoaderPredictor:
    """ld.so's own rules, emulated over the corpora: exact for what the loader checks, blind to types."""

    name: ClassVar[str] = "loader"

    def unavailable(self) -> str | None:
        return None

    def predict(self, splice: Splice, world: World) -> Prediction:
        try:
            effect = world.splice(splice.binary, splice.file, splice.dependency, splice.replacement)
        except KeyError as exc:
            return Prediction(Verdict.UNKNOWN, (Reason(base.TOOL_ERROR, detail=str(exc.args[0])),))
        if not effect.new:
            return Prediction(Verdict.WORKS)
        return Prediction(Verdict.BREAKS, tuple(reason(p, effect, splice, world) for p in effect.new))


def reason(problem: Problem, effect: SpliceEffect, splice: Splice, world: World) -> Reason:
    """The reason a problem of a spliced closure gives."""
    p = problem
    by = f"required by {p.detail[len('required by ') :]}" if p.detail.startswith("required by ") else p.detail
    if p.from_replacement:
        by = f"{by} (the replacement {splice.replacement.short_id})"
    if p.kind == MISSING_SONAME:
        kind = base.DEPENDENCY_UNMET if p.from_replacement else base.MISSING_SONAME
        return Reason(kind, library=p.library, detail=by)
    if p.kind == MISSING_VERSION:
        kind = base.DEPENDENCY_VERSION if p.from_replacement else base.MISSING_VERSION
        return Reason(kind, symbol=p.symbol, version=p.version, library=p.library, detail=by)
    if p.kind == DATA_SIZE:
        return Reason(base.DATA_SHRUNK, symbol=p.symbol, version=p.version, library=p.library, detail=by)
    if p.kind == MISSING_SYMBOL and p.symbol is not None:
        moved = _moved_to(p.symbol, p.version, effect, splice, world)
        if moved is not None:
            where = f"{moved.artifact.short_id}:{moved.relpath}" if moved.artifact is not None else moved.path
            return Reason(
                base.SYMBOL_MOVED,
                symbol=p.symbol,
                version=p.version,
                library=moved.role,
                detail=f"{by}; defined in {where}, which the closure does not load",
            )
    return Reason(base.MISSING_SYMBOL, symbol=p.symbol, version=p.version, library=p.library, detail=by)


def _moved_to(
    name: str, version: str | None, effect: SpliceEffect, splice: Splice, world: World
) -> LibraryFile | None:
    """A library of the replacement (else of another build of the same package), not loaded and with
    a soname no loaded object has, that defines the symbol."""
    loaded = {id(f) for f in effect.files}
    roles = {f.role for f in effect.files}
    best = None
    for f in world.definers(name, version):
        if id(f) in loaded or f.role in roles or f.artifact is None:
            continue
        if f.artifact is splice.replacement:
            return f
        if best is None and f.artifact.name == splice.dependency:
            best = f
    return best
