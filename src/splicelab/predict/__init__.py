"""Predictors: each says whether a splice works, from the files alone.

``REGISTRY`` maps a predictor's name to the module and class that implement it; the module is imported
only when the predictor is asked for, so choosing ``loader`` never imports abicheck.

=============== ============================================================================
name            what it looks at
=============== ============================================================================
loader          ld.so's own rules: sonames, symbol versions, weak symbols, copy relocations
symbols         the seed's algorithm: symbol names the swapped library set leaves undefined
symbols-union   the seed's variant: new library added beside the old one
libabigail      abicompat (abigail-tools), per library the binary's closure uses
abicheck        abicheck's application mode (``compare --used-by``)
=============== ============================================================================
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from splicelab.predict.base import Prediction, Predictor, Reason, Splice, Verdict

__all__ = [
    "DEFAULT",
    "REGISTRY",
    "Prediction",
    "Predictor",
    "Reason",
    "Splice",
    "UnknownPredictorError",
    "Verdict",
    "create",
    "names",
]

REGISTRY: dict[str, str] = {
    "loader": "splicelab.predict.loader:LoaderPredictor",
    "symbols": "splicelab.predict.symbols:SymbolsPredictor",
    "symbols-union": "splicelab.predict.symbols:SymbolsUnionPredictor",
    "libabigail": "splicelab.predict.libabigail:LibabigailPredictor",
    "abicheck": "splicelab.predict.abicheck:AbicheckPredictor",
}

# The fast ones. The type-level tools take about a second per (consumer, library) pair; ask for them.
DEFAULT: tuple[str, ...] = ("loader", "symbols")


class UnknownPredictorError(KeyError):
    def __str__(self) -> str:
        return f"unknown predictor {self.args[0]!r} (known: {', '.join(REGISTRY)})"


def names() -> list[str]:
    return list(REGISTRY)


def predictor_class(name: str) -> type[Predictor]:
    try:
        module_name, attr = REGISTRY[name].split(":")
    except KeyError:
        raise UnknownPredictorError(name) from None
    cls: type[Predictor] = getattr(importlib.import_module(module_name), attr)
    return cls


def create(selected: Iterable[str]) -> list[Predictor]:
    """One instance of each named predictor, in the order given (each name once)."""
    out: list[Predictor] = []
    seen: set[str] = set()
    for name in selected:
        if name not in seen:
            seen.add(name)
            out.append(predictor_class(name)())
    return out
