"""What the web pages show about splices, read from the store's predictions and outcomes.

The rows of the ``predictions`` table (one per splice and predictor) are put back together into
entries of ``predictions.json`` and the ``outcomes`` rows into entries of ``outcomes.json``
(docs/formats.md), so that the pages reuse the file-based code as it is:

* :func:`package_grid` - a package's splices as :class:`splicelab.report.grid.Grid` (the interactive
  heatmap's model, drawn with ``splicelab.report.html``);
* :func:`splice_choices` and :func:`splice_detail` - the splice page: binary A, dependency D and
  replacement D' to choose from, then every predictor's verdict with its reasons and the real outcomes;
* :func:`scoreboard` - the predictors scored against the real outcomes with
  :func:`splicelab.evaluate.evaluate`, as ``splicelab evaluate`` scores files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from splicelab.evaluate import evaluate
from splicelab.predict.base import Prediction as PredictionObject
from splicelab.report.grid import Grid, build_grid
from splicelab.server.views import version_key
from splicelab.store.models import Outcome, Prediction

ROLES = ("binary", "dependency")
MAX_GRID_SPLICES = 250_000  # a heatmap page draws at most this many splices


# --- rows back into documents -----------------------------------------------------------------------------


def _hash_of(ident: str) -> str:
    return ident.rsplit("/", 1)[-1] if ident else ""


def _ref(package: str, version: str, ident: str, **extra: Any) -> dict[str, Any]:
    """An artifact reference as predictions.json has it (``hash`` from the id when not stored)."""
    return {
        "package": package,
        "version": version or "?",
        "hash": _hash_of(ident) or "?",
        "id": ident,
        **extra,
    }


def _outcome_ref(ref: Any) -> dict[str, Any] | None:
    if not isinstance(ref, Mapping) or not ref.get("package") or not ref.get("id"):
        return None
    out = dict(ref)
    out["version"] = str(out.get("version") or "?")
    out["hash"] = str(out.get("hash") or _hash_of(str(out["id"])) or "?")
    return out


_T = Prediction.__table__.c
# Core columns (no ORM rows) and the reasons as JSON text, parsed only where there are any: a
# heatmap page reads hundreds of thousands of these rows.
_COLUMNS = (
    _T.binary_id,
    _T.binary_package,
    _T.binary_version,
    _T.binary_file,
    _T.dependency,
    _T.original_id,
    _T.replacement_id,
    _T.replacement_package,
    _T.replacement_version,
    _T.predictor,
    _T.verdict,
    cast(_T.reasons, Text),
)
_NO_REASONS = ("[]", "", None)


def prediction_entries(
    session: Session, *where: ColumnElement[bool], as_objects: bool = False
) -> list[dict[str, Any]]:
    """The predictions.json entries of the rows matching ``where``, in upload order.

    With ``as_objects`` each predictor's verdict is a :class:`splicelab.predict.base.Prediction`
    (what :func:`~splicelab.report.grid.build_grid` takes as it is), one object for equal verdicts
    with equal reasons (most splices "work" for no reason: they share one)."""
    entries: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    shared: dict[tuple[str, str | None], PredictionObject] = {}
    refs: dict[tuple[str, ...], dict[str, Any]] = {}  # one reference per artifact (and file)

    def ref(package: str, version: str, ident: str, file: str | None = None) -> dict[str, Any]:
        key = (package, version, ident, file or "")
        found = refs.get(key)
        if found is None:
            found = refs[key] = _ref(package, version, ident, **({"file": file} if file is not None else {}))
        return found

    stmt = select(*_COLUMNS).where(*where).order_by(_T.id)
    for row in session.connection().execute(stmt).all():
        bid, bpkg, bver, bfile, dep, oid, rid, rpkg, rver, predictor, verdict, reasons = row
        key = (bid, bfile, oid, rid)
        e = entries.get(key)
        if e is None:
            opkg, _, rest = oid.partition("@")
            e = entries[key] = {
                "binary": ref(bpkg, bver, bid, bfile),
                "dependency": dep,
                "original": ref(opkg, rest.rsplit("/", 1)[0], oid) if oid else None,
                "replacement": ref(rpkg, rver, rid),
                "predictors": {},
            }
        if as_objects:
            p = shared.get((verdict, reasons))
            if p is None:
                parsed = [] if reasons in _NO_REASONS else orjson.loads(reasons) or []
                p = shared[(verdict, reasons)] = PredictionObject.from_dict(
                    {"verdict": verdict, "reasons": parsed}
                )
            e["predictors"][predictor] = p
        else:
            parsed = [] if reasons in _NO_REASONS else orjson.loads(reasons)
            e["predictors"][predictor] = {"verdict": verdict, "reasons": parsed or []}
    return list(entries.values())


def outcome_entries(session: Session, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """The outcomes.json entries (with artifact references) of the rows matching ``where``."""
    out = []
    for cls, entry in session.execute(
        select(Outcome.outcome_class, Outcome.entry).where(*where).order_by(Outcome.id)
    ):
        doc = dict(entry or {})
        binary, replacement = _outcome_ref(doc.get("binary")), _outcome_ref(doc.get("replacement"))
        if binary is None or replacement is None:  # a Debian program without artifact ids
            continue
        doc.update(binary=binary, replacement=replacement, original=_outcome_ref(doc.get("original")))
        doc["class"] = cls
        out.append(doc)
    return out


def data_stamp(session: Session) -> tuple[Any, ...]:
    """Changes whenever predictions or outcomes are written: their counts and newest write times."""
    p = session.execute(select(func.count(Prediction.id), func.max(Prediction.updated_at))).one()
    o = session.execute(select(func.count(Outcome.id), func.max(Outcome.updated_at))).one()
    return (*p, *o)


# --- the heatmap ------------------------------------------------------------------------------------------


def _filters(package: str, role: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    if role == "dependency":
        return Prediction.dependency == package, Outcome.dependency == package
    return Prediction.binary_package == package, Outcome.binary_package == package


def count_splices(session: Session, package: str, role: str) -> int:
    where, _ = _filters(package, role)
    splices = (
        select(
            Prediction.binary_id, Prediction.binary_file, Prediction.original_id, Prediction.replacement_id
        )
        .where(where)
        .distinct()
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(splices)) or 0


def package_grid(session: Session, package: str, role: str = "binary") -> Grid:
    """The splices of ``package`` as a grid: its binaries x replacements (``role="binary"``), or every
    binary whose dependency ``package`` was swapped x the replacements (``role="dependency"``)."""
    p_where, o_where = _filters(package, role)
    return build_grid(
        prediction_entries(session, p_where, as_objects=True),
        outcome_entries(session, o_where),
        where=f"database predictions of {package}",
        outcomes_where=f"database outcomes of {package}",
    )


def default_role(session: Session, package: str) -> str:
    has_binaries = session.scalar(select(Prediction.id).where(Prediction.binary_package == package).limit(1))
    return "binary" if has_binaries is not None else "dependency"


# --- the splice page --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(slots=True)
class ReplacementRow:
    id: str
    label: str
    verdicts: dict[str, str]
    outcome: str | None


@dataclass(slots=True)
class SpliceChoices:
    """What can be chosen on the splice page, and what is chosen (None: not yet)."""

    binaries: list[Option] = field(default_factory=list)
    binary: str | None = None
    files: list[str] = field(default_factory=list)
    file: str | None = None
    dependencies: list[str] = field(default_factory=list)
    dependency: str | None = None
    predictors: list[str] = field(default_factory=list)
    replacements: list[ReplacementRow] = field(default_factory=list)
    replacement: str | None = None
    consumers: list[str] = field(default_factory=list)  # packages whose binaries had this one swapped in

    @property
    def complete(self) -> bool:
        return None not in (self.binary, self.file, self.dependency, self.replacement)


def label_of(ident: str, package: str, version: str) -> str:
    h = _hash_of(ident)
    return f"{package}@{version}/{h[:7]}" if h else ident


def _pick(wanted: str | None, options: list[str]) -> str | None:
    if wanted in options:
        return wanted
    return options[0] if len(options) == 1 else None


def splice_choices(
    session: Session,
    package: str,
    binary: str | None,
    file: str | None,
    dependency: str | None,
    replacement: str | None,
) -> SpliceChoices:
    """The options of every selector given the ones chosen so far; a selector with one option is chosen."""
    c = SpliceChoices()
    first_rows = (
        select(func.min(Prediction.id))
        .where(Prediction.binary_package == package)
        .group_by(Prediction.binary_id)
    )
    found = []
    for bid, bver, splice in session.execute(
        select(Prediction.binary_id, Prediction.binary_version, Prediction.splice).where(
            Prediction.id.in_(first_rows)
        )
    ):
        compiler = ((splice or {}).get("binary") or {}).get("compiler")
        text = label_of(bid, package, bver) + (f" ({compiler})" if compiler else "")
        found.append((version_key(bver), text, Option(bid, text)))
    c.binaries = [o for *_, o in sorted(found, key=lambda t: (t[0], t[1]), reverse=True)]
    c.binary = _pick(binary, [o.value for o in c.binaries])
    if not c.binaries:
        c.consumers = sorted(
            session.scalars(
                select(Prediction.binary_package).where(Prediction.dependency == package).distinct()
            )
        )
    if c.binary is None:
        return c
    c.files = sorted(
        session.scalars(select(Prediction.binary_file).where(Prediction.binary_id == c.binary).distinct())
    )
    c.file = _pick(file, c.files)
    if c.file is None:
        return c
    c.dependencies = sorted(
        session.scalars(
            select(Prediction.dependency)
            .where(Prediction.binary_id == c.binary, Prediction.binary_file == c.file)
            .distinct()
        )
    )
    if dependency is None and replacement:  # a link from the heatmap names only the replacement
        dependency = session.scalar(
            select(Prediction.dependency)
            .where(
                Prediction.binary_id == c.binary,
                Prediction.binary_file == c.file,
                Prediction.replacement_id == replacement,
            )
            .limit(1)
        )
    c.dependency = _pick(dependency, c.dependencies)
    if c.dependency is None:
        return c
    rows: dict[str, ReplacementRow] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    predictors: dict[str, None] = {}
    for rid, rpkg, rver, predictor, verdict in session.execute(
        select(
            Prediction.replacement_id,
            Prediction.replacement_package,
            Prediction.replacement_version,
            Prediction.predictor,
            Prediction.verdict,
        )
        .where(
            Prediction.binary_id == c.binary,
            Prediction.binary_file == c.file,
            Prediction.dependency == c.dependency,
        )
        .order_by(Prediction.id)
    ):
        if rid not in rows:
            rows[rid] = ReplacementRow(rid, label_of(rid, rpkg, rver), {}, None)
            keys[rid] = (rpkg, version_key(rver), rid)
        rows[rid].verdicts[predictor] = verdict
        predictors.setdefault(predictor, None)
    for o in _outcomes_of(session, c.binary, c.file, c.dependency, None):
        row = rows.get(str((o.get("replacement") or {}).get("id")))
        if row is not None and (row.outcome is None or row.outcome == "ok"):
            row.outcome = str(o.get("class"))
    c.predictors = list(predictors)
    c.replacements = sorted(rows.values(), key=lambda r: keys[r.id], reverse=True)
    c.replacement = _pick(replacement, list(rows))
    return c


@dataclass(slots=True)
class PredictorVerdict:
    predictor: str
    verdict: str
    reasons: list[dict[str, Any]]


@dataclass(slots=True)
class SpliceDetail:
    binary: dict[str, Any]
    dependency: str
    original: dict[str, Any] | None
    replacement: dict[str, Any]
    verdicts: list[PredictorVerdict]
    outcomes: list[dict[str, Any]]


def _outcomes_of(
    session: Session, binary: str, file: str, dependency: str, replacement: str | None
) -> list[dict[str, Any]]:
    where = [Outcome.binary_id == binary]
    if replacement is not None:
        where.append(Outcome.replacement_id == replacement)
    found = []
    for o in session.scalars(select(Outcome.entry).where(*where).order_by(Outcome.id)):
        b = o.get("binary") or {}
        if b.get("file") not in (None, file):
            continue
        if o.get("dependency") not in (None, "", dependency):
            continue
        found.append(o)
    return found


def splice_detail(session: Session, choices: SpliceChoices) -> SpliceDetail | None:
    if not choices.complete:
        return None
    rows = list(
        session.scalars(
            select(Prediction)
            .where(
                Prediction.binary_id == choices.binary,
                Prediction.binary_file == choices.file,
                Prediction.dependency == choices.dependency,
                Prediction.replacement_id == choices.replacement,
            )
            .order_by(Prediction.predictor)
        )
    )
    if not rows:
        return None
    splice = rows[0].splice or {}
    assert choices.binary and choices.file and choices.dependency and choices.replacement
    return SpliceDetail(
        binary={**(splice.get("binary") or {}), "id": choices.binary, "file": choices.file},
        dependency=choices.dependency,
        original=splice.get("original"),
        replacement={**(splice.get("replacement") or {}), "id": choices.replacement},
        verdicts=[PredictorVerdict(p.predictor, p.verdict, list(p.reasons or [])) for p in rows],
        outcomes=_outcomes_of(session, choices.binary, choices.file, choices.dependency, choices.replacement),
    )


# --- the scoreboard ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Scoreboard:
    lines: dict[str, dict[str, Any]]  # evaluate()'s object, each miss with the link to its splice
    splices: int
    outcomes: int
    packages: list[str]


def scoreboard(session: Session, package: str | None = None) -> Scoreboard:
    p_where = [Prediction.binary_package == package] if package else []
    o_where = [Outcome.binary_package == package] if package else []
    entries = prediction_entries(session, *p_where)
    outcomes = outcome_entries(session, *o_where)
    lines = evaluate(entries, outcomes) if outcomes else {}
    where = {(f"{e['binary']['id']}:{e['binary']['file']}", e["replacement"]["id"]): e for e in entries}
    for line in lines.values():
        for miss in line["misses"]:
            e = where.get((miss["binary"], miss["replacement"]))
            miss["splice"] = e
    packages = sorted(session.scalars(select(Prediction.binary_package).distinct()))
    return Scoreboard(
        lines=dict(sorted(lines.items())), splices=len(entries), outcomes=len(outcomes), packages=packages
    )


def splice_params(entry: Mapping[str, Any]) -> dict[str, str]:
    """The splice page's query of an entry (binary, file, dependency, replacement)."""
    return {
        "binary": str(entry["binary"]["id"]),
        "file": str(entry["binary"].get("file") or ""),
        "dependency": str(entry.get("dependency") or ""),
        "replacement": str(entry["replacement"]["id"]),
    }
