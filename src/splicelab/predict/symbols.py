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
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple

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
    defined: set[str] = set().union(*(_sets(c).defined for c in corpora))
    return {(c.path, n) for c in corpora for n in _sets(c).undefined if n not in defined}


class _Names(NamedTuple):
    defined: frozenset[str]
    undefined: frozenset[str]


_names: dict[int, tuple[Corpus, _Names]] = {}
_CACHE_MAX = 100_000


def _sets(corpus: Corpus) -> _Names:
    """The names a corpus defines and leaves undefined (remembered per corpus object)."""
    hit = _names.get(id(corpus))
    if hit is not None and hit[0] is corpus:
        return hit[1]
    names = _Names(
        frozenset(s.name for s in corpus.symbols if s.name and s.section != UNDEFINED),
        frozenset(s.name for s in corpus.symbols if s.name and s.section == UNDEFINED),
    )
    if len(_names) >= _CACHE_MAX:
        _names.clear()
    _names[id(corpus)] = (corpus, names)
    return names


class _Baseline:
    """What the seed computes from the unspliced set alone, kept for every splice of one binary."""

    def __init__(self, corpora: Sequence[Corpus]) -> None:
        self.corpora = tuple(corpora)  # keeps the ids of the cache key alive
        by_name = {os.path.basename(c.path): c for c in corpora}
        self.before = frozenset(f"{prefix(p)} {n}" for p, n in missing_symbols(by_name.values()))
        self.lookup = {prefix(name): c for name, c in by_name.items()}
        self.definers: Counter[str] = Counter()
        self.users: dict[str, list[Corpus]] = {}
        for c in self.lookup.values():
            self.definers.update(_sets(c).defined)
            for n in _sets(c).undefined:
                self.users.setdefault(n, []).append(c)
        self.unresolved = [
            (c, n) for c in self.lookup.values() for n in _sets(c).undefined if not self.definers[n]
        ]


_baselines: OrderedDict[tuple[int, ...], _Baseline] = OrderedDict()
_BASELINES_MAX = 4096


def _baseline(corpora: Sequence[Corpus]) -> _Baseline:
    key = tuple(id(c) for c in corpora)
    hit = _baselines.get(key)
    if hit is not None:
        _baselines.move_to_end(key)
        return hit
    base = _baselines[key] = _Baseline(corpora)
    if len(_baselines) > _BASELINES_MAX:
        _baselines.popitem(last=False)
    return base


@dataclass(frozen=True, slots=True)
class SeedResult:
    """``missing``: the new ``(corpus path, name)`` pairs; ``selected``: (new file, old file) swaps;
    ``swapped_out``: the libraries the swap took out."""

    missing: tuple[tuple[str, str], ...]
    selected: tuple[tuple[str, str], ...]
    swapped_out: tuple[Corpus, ...]

    @property
    def missing_strings(self) -> list[str]:
        """The seed's own notation, ``"<prefix> <name>"``, sorted and without repeats."""
        return sorted({f"{prefix(path)} {name}" for path, name in self.missing})

    def defined_before(self, name: str) -> str | None:
        """The soname (or file) of the swapped-out library that defined ``name``, if one did."""
        old = next((c for c in self.swapped_out if name in _sets(c).defined), None)
        return None if old is None else old.soname or old.path


def seed_splice(
    baseline: Sequence[Corpus], replacements: Sequence[Corpus], *, union: bool = False
) -> SeedResult:
    """The seed's comparison of ``baseline`` (binary + libraries) with ``replacements`` swapped in.

    The missing set after the swap is worked out from the baseline's (cached per binary): only names a
    swapped-out library defined, and the new libraries' imports, can change it.
    """
    base = _baseline(baseline)
    by_name = {os.path.basename(c.path): c for c in replacements}
    incoming = {prefix(name): c for name, c in by_name.items()}
    swapped = {key: base.lookup[key] for key in incoming if key in base.lookup}
    selected = tuple((incoming[k].path, old.path) for k, old in swapped.items())
    added = [incoming[k] for k in swapped]
    removed = [] if union else list(swapped.values())
    gone = {id(c) for c in removed}

    def defined(name: str) -> bool:
        count = base.definers[name] - sum(name in _sets(o).defined for o in removed)
        return count > 0 or any(name in _sets(a).defined for a in added)

    after = {(c.path, n) for c, n in base.unresolved if id(c) not in gone and not defined(n)}
    for old in removed:
        for n in _sets(old).defined:
            if n in base.users and not defined(n):
                after.update((c.path, n) for c in base.users[n] if id(c) not in gone)
    for new in added:
        after.update((new.path, n) for n in _sets(new).undefined if not defined(n))
    new_missing = tuple(sorted((p, n) for p, n in after if f"{prefix(p)} {n}" not in base.before))
    return SeedResult(new_missing, selected, tuple(swapped.values()))


def reasons(result: SeedResult) -> tuple[Reason, ...]:
    return tuple(
        Reason(
            MISSING_SYMBOL,
            symbol=name,
            library=result.defined_before(name),
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
