"""The seed's prediction ("symbolator" in spack-monitor / spliced), reproduced exactly.

The seed took the corpora a binary loads (the binary and its libraries), and computed the *missing*
symbols: every (corpus, name) where the corpus has ``name`` undefined and no corpus of the set defines
it. Then it swapped libraries: each corpus is known by the part of its file name before the first dot
(``libz.so.1.2.13`` → ``libz``), and every library of the replacement whose prefix is known replaces that
corpus completely. The splice is predicted to fail when the missing set after the swap has entries the
set before did not have, each entry written ``"<prefix> <name>"``.

Faithful to the seed, on purpose:

- names only: symbol versions are ignored (a removed version node goes unnoticed);
- a weak undefined symbol counts as needed like a strong one;
- "defined" means any section but UND (hidden, local and absolute symbols included);
- the baseline set is the corpora deduplicated by file name, the spliced set by prefix;
- the replacement's own dependencies are not brought along (the seed did so only for the libraries it
  found with ``ldd`` on the analysis host).

``symbols-union`` is the variant the seed proposed: the replacement's libraries are added beside the old
ones instead of replacing them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from splicelab.corpus import UNDEFINED, Corpus
from splicelab.predict.base import MISSING_SYMBOL, Prediction, Reason, Splice, Verdict
from splicelab.predict.view import loaded_objects

if TYPE_CHECKING:
    from splicelab.link import World

_REQUIRED_BY = "required by "


def prefix(path: str) -> str:
    """The seed's library key: the file name up to its first dot (``lib/libz.so.1`` → ``libz``)."""
    return os.path.basename(path).split(".")[0]


def missing_symbols(corpora: Iterable[Corpus]) -> set[tuple[str, str]]:
    """(corpus path, name) for every name undefined in a corpus and defined in none of them."""
    corpora = list(corpora)
    defined = {s.name for c in corpora for s in c.symbols if s.name and s.section != UNDEFINED}
    return {
        (c.path, s.name)
        for c in corpora
        for s in c.symbols
        if s.name and s.section == UNDEFINED and s.name not in defined
    }


@dataclass(frozen=True, slots=True)
class SeedResult:
    """``missing``: the new ``(corpus path, name)`` pairs; ``selected``: (new file, old file) swaps."""

    missing: tuple[tuple[str, str], ...]
    selected: tuple[tuple[str, str], ...]
    defined_before: dict[str, str]  # name -> soname (or file) of the swapped-out library that defined it

    @property
    def missing_strings(self) -> list[str]:
        """The seed's own notation, ``"<prefix> <name>"``, sorted and without repeats."""
        return sorted({f"{prefix(path)} {name}" for path, name in self.missing})


def seed_splice(
    baseline: Sequence[Corpus], replacements: Sequence[Corpus], *, union: bool = False
) -> SeedResult:
    """The seed's comparison of ``baseline`` (binary + libraries) with ``replacements`` swapped in."""
    by_name = {os.path.basename(c.path): c for c in baseline}
    before = missing_symbols(by_name.values())
    lookup = {prefix(name): c for name, c in by_name.items()}
    incoming = {prefix(name): c for name, c in {os.path.basename(c.path): c for c in replacements}.items()}
    swapped: dict[str, Corpus] = {}
    selected = []
    for key, new in incoming.items():
        if key in lookup:
            selected.append((new.path, lookup[key].path))
            swapped[key] = lookup[key]
            lookup[key] = new
    corpora = list(lookup.values())
    if union:
        corpora += list(swapped.values())
    after = missing_symbols(corpora)
    before_strings = {f"{prefix(p)} {n}" for p, n in before}
    new_missing = tuple(sorted((p, n) for p, n in after if f"{prefix(p)} {n}" not in before_strings))
    defined_before = {
        s.name: old.soname or old.path
        for old in swapped.values()
        for s in old.symbols
        if s.name and s.section != UNDEFINED
    }
    return SeedResult(new_missing, tuple(selected), defined_before)


def reasons(result: SeedResult) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            MISSING_SYMBOL,
            symbol=name,
            library=result.defined_before.get(name),
            detail=f"{_REQUIRED_BY}{path}",
        )
        for path, name in result.missing
    )


def missing_strings(prediction: Prediction) -> list[str]:
    """The seed's ``missing`` list (``"<prefix> <name>"``) from a symbols prediction's reasons."""
    out = set()
    for r in prediction.reasons:
        if r.kind == MISSING_SYMBOL and r.symbol and r.detail and r.detail.startswith(_REQUIRED_BY):
            out.add(f"{prefix(r.detail[len(_REQUIRED_BY) :])} {r.symbol}")
    return sorted(out)


class SymbolsPredictor:
    """The seed: predicts failure when the swap adds missing symbol names."""

    name: ClassVar[str] = "symbols"
    union: ClassVar[bool] = False

    def unavailable(self) -> str | None:
        return None

    def run(self, splice: Splice, world: World) -> SeedResult:
        baseline = [obj.corpus for obj in loaded_objects(splice, world)]
        replacements = [c for _, c in splice.replacement.libraries()]
        return seed_splice(baseline, replacements, union=self.union)

    def predict(self, splice: Splice, world: World) -> Prediction:
        result = self.run(splice, world)
        verdict = Verdict.BREAKS if result.missing else Verdict.WORKS
        return Prediction(verdict, reasons(result))


class SymbolsUnionPredictor(SymbolsPredictor):
    """The seed's proposed variant: the new library is added, the old one stays."""

    name: ClassVar[str] = "symbols-union"
    union: ClassVar[bool] = True
