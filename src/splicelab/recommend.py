"""Recommendations for Spack: ``can_splice`` directives and explicit splices, from evidence.

Spack (≥ 0.23) splices a dependency under an installed binary only where a recipe declares
``can_splice(target, when=…, match_variants=…)`` — declared in the *replacement's* package: "this package,
when it satisfies ``when``, can stand in for ``target``" — or where a site lists an explicit splice in
``concretizer: splice: explicit: [{target, replacement, transitive}]``. This module turns predictions
(``predictions.json``) and real outcomes (``outcomes.json``, or the corpus' ``outcomes.jsonl``) into both.

The unit of evidence is a *check*: one binary file x one dependency build (the original) x one candidate
build (the replacement), with each predictor's verdict and, when the splice was really run, its outcome.
Checks are gathered per ordered *build pair* (original → replacement); a pair is accepted when every check
passes (see :func:`check_passes`) and every binary seen loading the original was checked. Build pairs are
then summed per version pair, and version pairs grouped into ranges where the evidence is contiguous.

Binaries of a spliced install (a Spack node whose ``build_spec`` differs from itself) are not evidence for
``can_splice``: they are rewired copies of their build spec's files, built against another dependency than
the one they now load. They are checked on their own, as installed (:func:`check_spliced_installs`).

Pure functions over artifacts and records: no files, no CLI.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from splicelab import link
from splicelab.predict.base import (
    DATA_SHRUNK,
    MISSING_SONAME,
    MISSING_SYMBOL,
    MISSING_VERSION,
    Reason,
    Verdict,
)

if TYPE_CHECKING:
    from splicelab.artifact import Artifact

LOADER = "loader"
TYPE_LEVEL = ("libabigail", "abicheck")  # predictors that judge types, not just the loader's view
OK = "ok"
NOT_LINKED = "not-linked"  # the corpus' NOLINK: the program does not load the library

# spec.json "parameters" that are not variants (compiler flags, patches).
_NOT_VARIANTS = frozenset({"cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs", "patches"})

# corpus outcomes.jsonl status → outcome class of docs/formats.md
_CORPUS_STATUS = {
    "OK": "ok",
    "ABI-symbol": "undefined-symbol",
    "ABI-vernode": "missing-version",
    "SONAME": "soname-not-found",
    "GLIBC-exe": "glibc-program",
    "GLIBC-lib": "glibc-library",
    "DEP-too-old": "dependency",
    "DEP-missing": "dependency",
    "RUNTIME": "runtime-refused",
}


_DEBIAN_MODES = ("B", "C")


class RecommendInputError(ValueError):
    """A prediction or outcome record is malformed; the message names the record and the field."""


# --- versions ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """An ordering key for version strings: a Debian epoch first, then numeric parts numerically and
    alphabetic parts before numbers (``1.2.13`` < ``1.3`` < ``1.3.1`` < ``1:1.2.13.dfsg-1``)."""
    m = re.match(r"(\d+):", version)
    epoch, rest = (int(m.group(1)), version[m.end() :]) if m else (0, version)
    return epoch, tuple((1, int(t)) if t.isdigit() else (0, t) for t in _TOKEN.findall(rest))


def spec_version(version: str) -> str:
    """A version as written in a Spack spec: a Debian epoch (``1:``) would read as a range, so drop it."""
    return re.sub(r"^\d+:", "", version)


def short_hash(build_id: str) -> str:
    """A Spack DAG hash (32 base-32 characters) cut to 7, as Spack shows it; other build ids whole."""
    return build_id[:7] if len(build_id) == 32 and build_id.isalnum() else build_id


# --- inputs ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Build:
    """One build of a package, as predictions name it, completed from its artifact when known."""

    package: str
    version: str
    hash: str
    compiler: str | None = None
    release: str | None = None
    source: str | None = None
    spliced: bool = False
    build_spec: str | None = None
    variants: tuple[tuple[str, Any], ...] = ()
    store: str | None = None  # the Spack install tree (database root) it is installed in

    @property
    def id(self) -> str:
        return f"{self.package}@{self.version}/{self.hash}"

    @property
    def short_id(self) -> str:
        """``zlib@1.3.1/eem6ovn``; a Debian package's build (``<version>+<release>``) by its release."""
        if self.release and self.hash == f"{self.version}+{self.release}":
            return f"{self.package}@{self.version}/{self.release}"
        return f"{self.package}@{self.version}/{short_hash(self.hash)}"

    @property
    def variant_map(self) -> dict[str, Any]:
        return dict(self.variants)

    @property
    def spec(self) -> str:
        """The concrete spec by hash, as a Spack config names it: ``zlib@1.3.1/eem6ovn…``."""
        return f"{self.package}@{spec_version(self.version)}/{self.hash}"


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def variants_of(artifact: Artifact) -> dict[str, Any]:
    """The variants of a build: its spec.json ``parameters`` without compiler flags and patches.

    Sources keep them in ``metadata["variants"]`` or ``metadata["parameters"]``; non-Spack artifacts
    have none.
    """
    raw = artifact.metadata.get("variants")
    if not isinstance(raw, Mapping):
        raw = artifact.metadata.get("parameters")
    if not isinstance(raw, Mapping) and artifact.source == "spack":
        raw = _spec_json_parameters(artifact)
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): _hashable(v) for k, v in raw.items() if k not in _NOT_VARIANTS}


def _spec_json_parameters(artifact: Artifact) -> Mapping[str, Any] | None:
    """The ``parameters`` of the artifact's own node in its prefix's ``.spack/spec.json``, if readable."""
    try:
        doc = json.loads((Path(artifact.root) / ".spack" / "spec.json").read_text())
        nodes = doc["spec"]["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, Mapping) and node.get("hash") == artifact.build_id:
            params = node.get("parameters")
            return params if isinstance(params, Mapping) else None
    return None


def build_of(artifact: Artifact) -> Build:
    return Build(
        package=artifact.name,
        version=artifact.version,
        hash=artifact.build_id,
        compiler=artifact.compiler,
        release=artifact.release,
        source=artifact.source,
        spliced=artifact.spliced,
        build_spec=artifact.build_spec if artifact.spliced else None,
        variants=tuple(sorted(variants_of(artifact).items())),
        store=_store_of(artifact),
    )


def _store_of(artifact: Artifact) -> str | None:
    root = artifact.metadata.get("spack_root")
    return os.path.abspath(root) if isinstance(root, str) and root else None


def _field(record: Mapping[str, Any], name: str, where: str) -> Any:
    if not isinstance(record, Mapping):
        raise RecommendInputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if name not in record or record[name] is None:
        raise RecommendInputError(f"{where}: missing field {name!r}")
    return record[name]


def _ref(record: Mapping[str, Any], name: str, where: str, known: Mapping[str, Build]) -> Build:
    ref = _field(record, name, where)
    if not isinstance(ref, Mapping):
        raise RecommendInputError(f"{where}: field {name!r} must be an object")
    package = _field(ref, "package", f"{where}.{name}")
    version = _field(ref, "version", f"{where}.{name}")
    build_hash = _field(ref, "hash", f"{where}.{name}")
    build = Build(
        package=str(package),
        version=str(version),
        hash=str(build_hash),
        compiler=ref.get("compiler"),
        release=ref.get("release"),
    )
    return known.get(build.id, build)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One predictor's answer on one check."""

    verdict: Verdict
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What really happened when the splice was run."""

    cls: str
    message: str = ""
    origin: str = "outcomes.json"
    linked: bool = True  # False: the program turned out not to load the dependency at all

    @property
    def ok(self) -> bool:
        return self.cls == OK


@dataclass(slots=True)
class Check:
    """One binary file x one original dependency build x one replacement build."""

    binary: Build
    file: str
    dependency: str
    original: Build
    replacement: Build
    predictions: dict[str, Verdicts]
    outcomes: list[Outcome] = field(default_factory=list)
    executable: bool = True  # False: a shared library of the binary's build (known from its artifact)
    run_through: str | None = None  # a library's check: the program of its build that ran ok for it
    loads: bool | None = None  # whether the binary's closure loads the dependency (None: not known)

    @property
    def binary_key(self) -> str:
        return f"{self.binary.id}:{self.file}"

    @property
    def dependent(self) -> bool:
        """Whether the binary loads the original at all: what its real runs saw (``linked``) when it
        ran, else what its closure says (``loads``); unknown counts as loading."""
        if self.outcomes:
            return any(o.linked for o in self.outcomes)
        return self.loads is not False

    @property
    def validated(self) -> bool:
        """Run for real, every run ok (a library: through a program of its build that ran ok)."""
        if self.outcomes:
            return all(o.ok for o in self.outcomes)
        return not self.executable and self.run_through is not None


def checks_from_predictions(
    records: Iterable[Any], builds: Mapping[str, Build] | None = None, *, source: str = "predictions.json"
) -> tuple[list[Check], list[str]]:
    """Parse prediction records; a malformed record is skipped and named in the returned errors."""
    known = builds or {}
    checks: list[Check] = []
    errors: list[str] = []
    for i, record in enumerate(records):
        where = f"{source}[{i}]"
        try:
            binary = _ref(record, "binary", where, known)
            file = str(_field(_field(record, "binary", where), "file", f"{where}.binary"))
            dependency = str(_field(record, "dependency", where))
            original = _ref(record, "original", where, known)
            replacement = _ref(record, "replacement", where, known)
            raw = _field(record, "predictors", where)
            if not isinstance(raw, Mapping):
                raise RecommendInputError(f"{where}: field 'predictors' must be an object")
            predictions: dict[str, Verdicts] = {}
            for name, p in raw.items():
                pw = f"{where}.predictors.{name}"
                verdict = _field(p, "verdict", pw)
                try:
                    v = Verdict(verdict)
                except ValueError:
                    raise RecommendInputError(f"{pw}: field 'verdict' is {verdict!r}") from None
                try:
                    reasons = tuple(Reason.from_dict(r) for r in p.get("reasons") or ())
                except (KeyError, TypeError, AttributeError):
                    raise RecommendInputError(f"{pw}: field 'reasons' is malformed") from None
                predictions[str(name)] = Verdicts(v, reasons)
        except RecommendInputError as exc:
            errors.append(str(exc))
            continue
        check = Check(binary, file, dependency, original, replacement, predictions)
        loads = record.get("loads")  # written by recommend_debian.annotate_loads
        check.loads = loads if isinstance(loads, bool) else None
        checks.append(check)
    return checks, errors


# --- outcomes ----------------------------------------------------------------------------------------


def _family(name: str) -> str:
    """A library family's stem: libcurl4t64 → curl, zlib1g → zlib, libpng16-16 → png."""
    m = re.match(r"(?:lib)?([a-z]+)", name.lower())
    return m.group(1) if m else name.lower()


@dataclass(slots=True)
class OutcomeIndex:
    """Real outcomes, indexed for matching against checks.

    Two shapes are read: ``splicelab validate``'s outcomes.json (one record per splice, naming binary,
    original and replacement like a prediction) and the corpus' outcomes.jsonl (one record per mode,
    family, program release X and library release Y). The latter is matched on the library family,
    the program's file name and the two releases. Of records made in Debian modes (B, C) only those of
    one ``mode`` are used.
    """

    by_splice: dict[tuple[str, str | None, str, str], list[Outcome]] = field(default_factory=dict)
    by_release: dict[tuple[str, str, str, str], list[Outcome]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_splice.values()) + sum(len(v) for v in self.by_release.values())

    def find(self, check: Check) -> list[Outcome]:
        found = list(
            self.by_splice.get((check.binary.id, check.file, check.original.id, check.replacement.id), ())
        )
        found += self.by_splice.get((check.binary.id, None, check.original.id, check.replacement.id), ())
        if check.binary.release and check.replacement.release:
            key = (
                _family(check.dependency),
                PurePosixPath(check.file).name,
                check.binary.release,
                check.replacement.release,
            )
            found += self.by_release.get(key, ())
        return found


def index_outcomes(
    records: Iterable[Any], *, mode: str = "C", source: str = "outcomes"
) -> tuple[OutcomeIndex, list[str]]:
    index = OutcomeIndex()
    errors: list[str] = []
    for i, record in enumerate(records):
        where = f"{source}[{i}]"
        try:
            if isinstance(record, Mapping) and "fam" in record:  # corpus outcomes.jsonl
                if str(_field(record, "mode", where)) != mode:
                    continue
                status = str(_field(record, "status", where))
                key = (
                    _family(str(_field(record, "fam", where))),
                    PurePosixPath(str(_field(record, "exe", where))).name,
                    str(_field(record, "X", where)),
                    str(_field(record, "Y", where)),
                )
                cls = NOT_LINKED if status.startswith("NOLINK") else _CORPUS_STATUS.get(status, status)
                index.by_release.setdefault(key, []).append(
                    Outcome(
                        cls,
                        str(record.get("detail") or ""),
                        origin=f"{where} mode {mode}",
                        linked=cls != NOT_LINKED,
                    )
                )
                continue
            if isinstance(record, Mapping) and record.get("mode") in _DEBIAN_MODES and record["mode"] != mode:
                continue  # validate's Debian records come in both modes: use one
            binary = _field(record, "binary", where)
            original = _field(record, "original", where)
            replacement = _field(record, "replacement", where)
            ids = []
            for name, ref in (("binary", binary), ("original", original), ("replacement", replacement)):
                if not isinstance(ref, Mapping):
                    raise RecommendInputError(f"{where}: field {name!r} must be an object")
                if ref.get("id"):
                    ids.append(str(ref["id"]))
                else:
                    rw = f"{where}.{name}"
                    ids.append(
                        f"{_field(ref, 'package', rw)}@{_field(ref, 'version', rw)}/{_field(ref, 'hash', rw)}"
                    )
            cls = str(_field(record, "class", where))
            file = binary.get("file")
            index.by_splice.setdefault((ids[0], file, ids[1], ids[2]), []).append(
                Outcome(
                    cls,
                    str(record.get("message") or ""),
                    origin=where,
                    linked=record.get("linked") is not False,
                )
            )
        except RecommendInputError as exc:
            errors.append(str(exc))
    return index, errors


def attach_outcomes(checks: Iterable[Check], index: OutcomeIndex) -> int:
    """Give each check its real outcomes; returns how many checks got at least one."""
    n = 0
    for check in checks:
        check.outcomes = index.find(check)
        n += bool(check.outcomes)
    return n


# --- decisions ---------------------------------------------------------------------------------------


def _reasons_text(reasons: Sequence[Reason]) -> str:
    return "; ".join(str(r) for r in reasons) or "no reason given"


def check_passes(check: Check, *, validated_only: bool = False, run_through: str | None = None) -> list[str]:
    """Why this check refuses its pair (empty when it passes).

    Default (conservative): the loader predictor says ``works``, no type-level predictor (libabigail,
    abicheck) says ``breaks``, and no real outcome says otherwise. ``validated_only``: a real outcome
    decides — there must be one, and every outcome must be ``ok`` (predictions are then evidence only).
    A shared library cannot be run on its own: ``run_through`` names a program of the same build that
    ran ok with this replacement, which stands for the library's own run.
    """
    why: list[str] = []
    failed = [o for o in check.outcomes if not o.ok]
    for o in failed:
        why.append(f"ran: {o.cls}" + (f" ({o.message})" if o.message else ""))
    if validated_only:
        if not check.outcomes and not (run_through and not check.executable):
            why.append("not validated: no real outcome")
        return why
    loader = check.predictions.get(LOADER)
    if loader is None:
        why.append("no loader prediction")
    elif loader.verdict is not Verdict.WORKS:
        why.append(f"loader: {loader.verdict.value}: {_reasons_text(loader.reasons)}")
    for name in TYPE_LEVEL:
        p = check.predictions.get(name)
        if p is not None and p.verdict is Verdict.BREAKS:
            why.append(f"{name}: breaks: {_reasons_text(p.reasons)}")
    return why


@dataclass(slots=True)
class PairDecision:
    """Every check of one ordered build pair (original → replacement) and the verdict on the pair."""

    dependency: str
    original: Build
    replacement: Build
    checks: list[Check]
    refusals: list[str]

    @property
    def accepted(self) -> bool:
        return not self.refusals

    @property
    def validated(self) -> bool:
        return bool(self.checks) and all(c.validated for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "dependency": self.dependency,
            "original": self.original.id,
            "replacement": self.replacement.id,
            "accepted": self.accepted,
            "validated": self.validated,
            "binaries": sorted({c.binary_key for c in self.checks}),
            "reasons": list(self.refusals),
        }
        if self.original.release or self.replacement.release:
            d["releases"] = [self.original.release, self.replacement.release]
        return d


def decide_pairs(checks: Iterable[Check], *, validated_only: bool = False) -> list[PairDecision]:
    """Group checks by build pair and decide each pair.

    A pair is refused when any of its checks refuses it, or when a binary seen loading the original
    (in a check against any replacement) has no check against this replacement: "every dependent binary
    seen works" cannot be claimed for a binary nobody looked at. Checks on spliced binaries are left out
    (see the module docstring), and so are checks of binaries that do not load the original at all
    (:attr:`Check.dependent`): they are not dependents of it.
    """
    pairs: dict[tuple[str, str, str], list[Check]] = defaultdict(list)
    loaders: dict[str, set[str]] = defaultdict(set)  # original build id → binaries seen loading it
    for check in checks:
        if check.binary.spliced or check.original.id == check.replacement.id or not check.dependent:
            continue
        pairs[(check.dependency, check.original.id, check.replacement.id)].append(check)
        loaders[check.original.id].add(check.binary_key)
    decisions: list[PairDecision] = []
    for (dependency, _, _), group in pairs.items():
        refusals: list[str] = []
        ran_ok: dict[str, str] = {}  # binary build id → a program of it that ran ok in this pair
        for c in sorted(group, key=lambda c: c.file):
            if c.executable and c.outcomes and all(o.ok for o in c.outcomes):
                ran_ok.setdefault(c.binary.id, c.file)
        for check in sorted(group, key=lambda c: c.binary_key):
            through = ran_ok.get(check.binary.id)
            if not check.executable and not check.outcomes:
                check.run_through = through
            for why in check_passes(check, validated_only=validated_only, run_through=through):
                refusals.append(f"{check.binary.short_id}:{check.file}: {why}")
        original, replacement = group[0].original, group[0].replacement
        for missing in sorted(loaders[original.id] - {c.binary_key for c in group}):
            refusals.append(
                f"{missing}: loads {original.short_id} but was not checked with {replacement.short_id}"
            )
        decisions.append(PairDecision(dependency, original, replacement, group, refusals))
    decisions.sort(key=lambda d: (d.dependency, *_build_order(d.original), *_build_order(d.replacement)))
    return decisions


def _build_order(b: Build) -> tuple[Any, ...]:
    return (b.package, version_key(b.version), b.compiler or "", b.hash)


# --- can_splice lines --------------------------------------------------------------------------------


@dataclass(slots=True)
class Recommendation:
    """One ``can_splice`` directive for the replacement's ``package.py``, with the evidence behind it."""

    package: str  # the replacement package: where the directive goes
    target: str  # the spec it can replace, e.g. "zlib@1.2.11:1.2.13"
    when: str  # constraint on this package, e.g. "@1.3.1"
    match_variants: list[str] | None
    line: str
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "target": self.target,
            "when": self.when,
            "line": self.line,
            "evidence": self.evidence,
        }


def _pyrepr(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def can_splice_line(target: str, when: str, match_variants: Sequence[str] | None = None) -> str:
    """The directive's text: ``can_splice("zlib@1.2.13", when="@1.3.1")``."""
    args = [_pyrepr(target), f"when={_pyrepr(when)}"]
    if match_variants:
        args.append("match_variants=[" + ", ".join(_pyrepr(v) for v in match_variants) + "]")
    return f"can_splice({', '.join(args)})"


def _runs(ordered: Sequence[str], good: set[str]) -> list[tuple[str, str]]:
    """Maximal runs of consecutive ``good`` items in ``ordered``, as (first, last)."""
    runs: list[tuple[str, str]] = []
    start: str | None = None
    prev: str | None = None
    for v in ordered:
        if v in good:
            start = v if start is None else start
            prev = v
        elif start is not None and prev is not None:
            runs.append((start, prev))
            start = None
    if start is not None and prev is not None:
        runs.append((start, prev))
    return runs


def _range(first: str, last: str) -> str:
    a, b = spec_version(first), spec_version(last)
    return a if first == last else f"{a}:{b}"


def _varying_variants(builds: Iterable[Build]) -> dict[str, bool]:
    """Variant names whose values differ among these builds → whether the variant is single-valued."""
    values: dict[str, set[Any]] = defaultdict(set)
    multi: dict[str, bool] = {}
    for b in builds:
        for k, v in b.variants:
            values[k].add(v)
            multi[k] = multi.get(k, False) or isinstance(v, tuple)
    return {k: not multi[k] for k, vs in values.items() if len(vs) > 1}


def _match_variants(decisions: Iterable[PairDecision], varying: Mapping[str, bool]) -> list[str] | None:
    """The varying single-valued variants that agreed in every accepted pair: the evidence holds only
    when they match, so the directive must say so."""
    names = {k for k, single in varying.items() if single}
    for d in decisions:
        old, new = d.original.variant_map, d.replacement.variant_map
        names = {k for k in names if old.get(k) == new.get(k)}
    return sorted(names) or None


def _evidence(
    decisions: Sequence[PairDecision], all_builds: Iterable[Build], when_versions: set[str]
) -> dict:
    checks = [c for d in decisions for c in d.checks]
    predictors: dict[str, dict[str, int]] = defaultdict(lambda: {"works": 0, "breaks": 0, "unknown": 0})
    for c in checks:
        for name, p in c.predictions.items():
            predictors[name][p.verdict.value] += 1
    repl_pkg = decisions[0].replacement.package
    seen = sorted(
        {b.compiler or "?" for b in all_builds if b.package == repl_pkg and b.version in when_versions}
    )
    covered = sorted({d.replacement.compiler or "?" for d in decisions})
    validated = sum(c.validated for c in checks)
    disagreements = sorted(
        {
            f"{c.binary.short_id}:{c.file} {c.original.short_id}→{c.replacement.short_id}: {name} says breaks"
            for c in checks
            for name, p in c.predictions.items()
            if p.verdict is Verdict.BREAKS
        }
    )
    return {
        "pairs": [
            {
                "original": d.original.id,
                "replacement": d.replacement.id,
                "checks": len(d.checks),
                "validated": d.validated,
            }
            for d in decisions
        ],
        "dependents": sorted({c.binary.id for c in checks}),
        "binaries": sorted({c.binary_key for c in checks}),
        "checks": len(checks),
        "predictors": {k: predictors[k] for k in sorted(predictors)},
        "agreeing": sorted(k for k, n in predictors.items() if n["works"] == len(checks)),
        "validated": "all" if checks and validated == len(checks) else "some" if validated else "none",
        "validated_checks": validated,
        "compilers": {
            "covered": covered,
            "seen": seen,
            "partial": covered != seen,
            "dependents": sorted({c.binary.compiler or "?" for c in checks}),
        },
        "disagreements": disagreements,
    }


def _refusal_dict(d: PairDecision) -> dict[str, Any]:
    return {"original": d.original.id, "replacement": d.replacement.id, "reasons": list(d.refusals)}


def can_splice_recommendations(
    decisions: Sequence[PairDecision], builds: Iterable[Build] = ()
) -> list[Recommendation]:
    """Group accepted build pairs into ``can_splice`` directives.

    Per (target package, replacement package): a version pair (old → new) holds when it has at least one
    build pair and every build pair of it is accepted. For each replacement version the target versions
    that hold are grouped into ranges of consecutive known versions (every version seen in the artifacts
    or the predictions counts: one that is refused or was never checked inside a range splits it); then
    consecutive replacement versions with the same target ranges (and variants to match) share one
    ``when`` range, under the same rule.
    """
    all_builds: dict[str, Build] = {b.id: b for b in builds}
    for d in decisions:
        all_builds.setdefault(d.original.id, d.original)
        all_builds.setdefault(d.replacement.id, d.replacement)
    groups: dict[tuple[str, str], list[PairDecision]] = defaultdict(list)
    for d in decisions:
        groups[(d.original.package, d.replacement.package)].append(d)

    out: list[Recommendation] = []
    for (tpkg, rpkg), group in sorted(groups.items()):
        tversions = sorted({b.version for b in all_builds.values() if b.package == tpkg}, key=version_key)
        rversions = sorted({b.version for b in all_builds.values() if b.package == rpkg}, key=version_key)
        by_vpair: dict[tuple[str, str], list[PairDecision]] = defaultdict(list)
        for d in group:
            by_vpair[(d.original.version, d.replacement.version)].append(d)
        holds = {vp for vp, ds in by_vpair.items() if all(d.accepted for d in ds)}
        varying = _varying_variants(b for b in all_builds.values() if b.package in (tpkg, rpkg))

        # per replacement version: target ranges, each with its variants to match
        rows: dict[str, tuple[tuple[tuple[str, str], tuple[str, ...] | None], ...]] = {}
        for rv in rversions:
            good = {tv for tv in tversions if (tv, rv) in holds}
            cells = []
            for first, last in _runs(tversions, good):
                inside = {
                    tv for tv in tversions if version_key(first) <= version_key(tv) <= version_key(last)
                }
                ds = [d for tv in inside for d in by_vpair[(tv, rv)]]
                mv = _match_variants(ds, varying)
                cells.append(((first, last), tuple(mv) if mv else None))
            if cells:
                rows[rv] = tuple(cells)

        # consecutive replacement versions with identical rows share a `when` range
        merged: list[tuple[str, str, tuple]] = []
        for rv in rversions:
            row = rows.get(rv)
            if row is not None and merged and merged[-1][2] == row and merged[-1][1] == _prev(rversions, rv):
                merged[-1] = (merged[-1][0], rv, row)
            elif row is not None:
                merged.append((rv, rv, row))

        refused = [d for d in group if not d.accepted]
        for rfirst, rlast, row in merged:
            wversions = {v for v in rversions if version_key(rfirst) <= version_key(v) <= version_key(rlast)}
            for (tfirst, tlast), mv in row:
                tin = {v for v in tversions if version_key(tfirst) <= version_key(v) <= version_key(tlast)}
                ds = [d for tv in tin for wv in wversions for d in by_vpair.get((tv, wv), ())]
                target = f"{tpkg}@{_range(tfirst, tlast)}"
                when = f"@{_range(rfirst, rlast)}"
                match = list(mv) if mv else None
                evidence = _evidence(ds, all_builds.values(), wversions)
                evidence["match_variants"] = match
                evidence["refused"] = [
                    _refusal_dict(d)
                    for d in refused
                    if d.replacement.version in wversions or d.original.version in tin
                ]
                out.append(
                    Recommendation(rpkg, target, when, match, can_splice_line(target, when, match), evidence)
                )
    return out


def _prev(ordered: Sequence[str], item: str) -> str | None:
    i = list(ordered).index(item)
    return ordered[i - 1] if i > 0 else None


# --- explicit splices (site config) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExplicitSplice:
    """One ``concretizer: splice: explicit`` entry: every ``target`` build becomes ``replacement``."""

    target: Build
    replacement: Build
    transitive: bool
    dependents: tuple[str, ...]
    validated: bool

    def to_config(self) -> dict[str, Any]:
        return {
            "target": self.target.spec,
            "replacement": self.replacement.spec,
            "transitive": self.transitive,
        }


def explicit_splices(decisions: Iterable[PairDecision]) -> list[ExplicitSplice]:
    """One explicit splice per original build that has an accepted, newer replacement.

    Spack applies every matching entry in turn, so each target gets a single replacement: the accepted
    one of the highest version above the target's (then: the target's own compiler, then the hash, for
    a stable choice); a build of the same version is no upgrade and gets no entry. Targets and
    replacements are concrete (``name@version/hash``): the evidence is about those builds, and both must
    lie in the same install tree (a site config can only name a replacement its Spack has).
    ``transitive: true`` — the replacement keeps its own dependencies, which is the closure the loader
    predictor checked (the replacement's NEEDED resolved through its own RPATH).
    Only Spack builds get one (the site config means nothing for a Debian package).
    """
    best: dict[str, PairDecision] = {}
    for d in decisions:
        o, r = d.original, d.replacement
        if (
            not d.accepted
            or o.source not in (None, "spack")
            or r.source not in (None, "spack")
            or version_key(r.version) <= version_key(o.version)
            or (o.store is not None and r.store is not None and o.store != r.store)
        ):
            continue
        cur = best.get(d.original.id)
        if cur is None or _preference(d) > _preference(cur):
            best[d.original.id] = d
    out = [
        ExplicitSplice(
            target=d.original,
            replacement=d.replacement,
            transitive=True,
            dependents=tuple(sorted({c.binary.id for c in d.checks})),
            validated=d.validated,
        )
        for d in best.values()
    ]
    out.sort(key=lambda e: _build_order(e.target))
    return out


def _preference(d: PairDecision) -> tuple[Any, ...]:
    return (
        version_key(d.replacement.version),
        d.replacement.compiler == d.original.compiler,
        d.replacement.hash,
    )


def splice_config(splices: Iterable[ExplicitSplice]) -> dict[str, Any]:
    """The ``concretizer.yaml`` document (Spack ≥ 0.23 schema) for these explicit splices."""
    return {"concretizer": {"splice": {"explicit": [s.to_config() for s in splices]}}}


# --- spliced installs --------------------------------------------------------------------------------


@dataclass(slots=True)
class SplicedInstall:
    """A spliced Spack node checked as installed: do its binaries load what they now point at?"""

    node: Build
    build_spec: str | None
    files: list[str]
    reasons: list[str]  # what makes ld.so refuse a binary of the node
    unknown: list[str] = field(default_factory=list)  # what could not be judged
    judged: bool = True  # False: libraries absent from the artifact set hide what they would show

    @property
    def status(self) -> str:
        if self.reasons:
            return "broken"
        return OK if self.judged else "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node.id,
            "build_spec": self.build_spec,
            "status": self.status,
            "files": list(self.files),
            "reasons": list(self.reasons),
            "unknown": list(self.unknown),
        }


_PROBLEM_REASON = {
    link.MISSING_SONAME: MISSING_SONAME,
    link.MISSING_VERSION: MISSING_VERSION,
    link.MISSING_SYMBOL: MISSING_SYMBOL,
    link.DATA_SIZE: DATA_SHRUNK,
}


def _problem_reason(problem: link.Problem, closure: link.Closure) -> Reason:
    """The loader predictor's reason for a problem of an installed closure, naming the build that the
    library involved comes from."""
    detail = problem.detail
    if problem.library:
        obj = closure.find(problem.library)
        if obj is not None and obj.artifact is not None:
            detail = f"{detail}; {problem.library} is {obj.artifact.short_id}:{obj.relpath}"
    return Reason(
        _PROBLEM_REASON.get(problem.kind, problem.kind),
        symbol=problem.symbol,
        version=problem.version,
        library=problem.library,
        detail=detail,
    )


def _provided_names(world: link.World) -> set[str]:
    names: set[str] = set()
    for a in world.artifacts:
        for rel, corpus in a.files.items():
            names.add(PurePosixPath(rel).name)
            if corpus.soname:
                names.add(corpus.soname)
        aliases = a.metadata.get("aliases")
        if isinstance(aliases, Mapping):
            names.update(PurePosixPath(str(k)).name for k in aliases)
    return names


def check_spliced_installs(world: link.World) -> list[SplicedInstall]:
    """Every spliced node of the world, checked as installed.

    Each binary file of the spliced prefix is loaded the way ``ld.so`` would load it there (its RPATHs,
    rewired by Spack, mapped onto where the tree lies now) and its closure's problems are what the loader
    predictor counts: a NEEDED not found, a version node missing, an import bound to nothing, a copied
    data object of another size. A library that no artifact of the world provides at all (glibc, when
    the system's libraries were not given) cannot be judged: its absence, and the problems the build
    spec's own closure shows as well, are listed as unknown rather than as breakage.
    """
    from splicelab.splices import binary_files

    provided = _provided_names(world)
    by_hash = {a.build_id: a for a in world.artifacts}
    out: list[SplicedInstall] = []
    for a in sorted(world.artifacts, key=lambda x: (x.name, version_key(x.version), x.build_id)):
        if not a.spliced:
            continue
        built_as = by_hash.get(a.build_spec or "")
        files = binary_files(a)
        reasons: list[str] = []
        unknown: list[str] = []
        for file in files:
            closure = world.closure(a, file)
            absent = sorted({m.name for m in closure.missing} - provided)
            baseline: set[tuple[Any, ...]] = set()
            if absent and built_as is not None and file in built_as.files:
                baseline = {p.key for p in world.closure(built_as, file).problems()}
            file_unknown = False
            for problem in closure.problems():
                absent_lib = problem.kind == link.MISSING_SONAME and problem.library in absent
                if absent_lib or (absent and problem.key in baseline):
                    file_unknown = True
                else:
                    reasons.append(f"{file}: {_problem_reason(problem, closure)}")
            if file_unknown:
                unknown.append(
                    f"{file}: {', '.join(absent)} not in the artifact set (give the system's libraries)"
                )
        # with its build spec at hand, what both closures lack is not the splice's doing (as the loader
        # predictor counts a splice's new problems only); without it, absent libraries leave it open
        judged = not unknown or built_as is not None
        out.append(SplicedInstall(build_of(a), a.build_spec, files, reasons, unknown, judged))
    return out


# --- the whole report --------------------------------------------------------------------------------


@dataclass(slots=True)
class Recommendations:
    recommendations: list[Recommendation]
    decisions: list[PairDecision]
    explicit: list[ExplicitSplice]
    spliced: list[SplicedInstall]
    validated_only: bool = False
    errors: list[str] = field(default_factory=list)
    not_dependents: list[str] = field(default_factory=list)  # binaries left out: they do not load it
    families: dict[str, dict[str, Any]] = field(default_factory=dict)  # Debian families (recommend_debian)

    @property
    def accepted(self) -> list[PairDecision]:
        return [d for d in self.decisions if d.accepted]

    @property
    def refused(self) -> list[PairDecision]:
        return [d for d in self.decisions if not d.accepted]

    def config(self) -> dict[str, Any]:
        return splice_config(self.explicit)


def recommend(
    predictions: Iterable[Any],
    artifacts: Iterable[Artifact] = (),
    outcomes: OutcomeIndex | None = None,
    *,
    validated_only: bool = False,
    spliced: Sequence[SplicedInstall] = (),
) -> Recommendations:
    """Everything at once: parse, attach outcomes, decide build pairs, group, pick explicit splices."""
    artifacts = list(artifacts)
    builds = {b.id: b for b in (build_of(a) for a in artifacts)}
    checks, errors = checks_from_predictions(predictions, builds)
    libraries = {(a.id, rel) for a in artifacts for rel, c in a.files.items() if not c.is_executable}
    for check in checks:
        check.executable = (check.binary.id, check.file) not in libraries
    if outcomes is not None:
        attach_outcomes(checks, outcomes)
    return recommend_checks(
        checks, builds.values(), validated_only=validated_only, spliced=spliced, errors=errors
    )


def recommend_checks(
    checks: Sequence[Check],
    builds: Iterable[Build] = (),
    *,
    validated_only: bool = False,
    spliced: Sequence[SplicedInstall] = (),
    errors: Sequence[str] = (),
) -> Recommendations:
    """Decide build pairs from checks (outcomes attached), group them, pick explicit splices."""
    decisions = decide_pairs(checks, validated_only=validated_only)
    not_dependents = sorted(
        {
            f"{c.binary.short_id}:{c.file} does not load {c.dependency} ({c.original.short_id})"
            for c in checks
            if not c.dependent
        }
    )
    return Recommendations(
        recommendations=can_splice_recommendations(decisions, builds),
        decisions=decisions,
        explicit=explicit_splices(decisions),
        spliced=list(spliced),
        validated_only=validated_only,
        errors=list(errors),
        not_dependents=not_dependents,
    )
