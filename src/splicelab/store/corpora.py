"""Corpora in the database: checked, canonicalized, stored once per content digest.

Ingest is the hot path (a whole library directory is hundreds of corpora of ~100 KB each), so a
document is checked field by field in one pass over the parsed JSON instead of being turned into
:class:`splicelab.corpus.Corpus` objects; the checks name the offending field the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from splicelab.corpus import SCHEMA, CorpusFormatError
from splicelab.store.models import Corpus
from splicelab.store.paths import UnsafePathError, safe_relative_path
from splicelab.store.upsert import ids_by_key, upsert

_TOP_STR = ("byte_order", "machine", "osabi", "elf_type")
_TOP_OPT_STR = ("interpreter", "soname")
_TOP_INT = ("elf_class", "flags", "flags_1", "size")
_TOP_STR_LIST = ("needed", "rpath", "runpath")
# Exact types (``type(v) in …`` is the fast check; JSON gives no subclasses).
_STR, _INT, _BOOL, _OPT_STR = (
    frozenset({str}),
    frozenset({int}),
    frozenset({bool}),
    frozenset({str, type(None)}),
)
_SYMBOL_FIELDS: dict[str, frozenset[type]] = {
    "name": _STR,
    "type": _STR,
    "binding": _STR,
    "visibility": _STR,
    "section": _STR,
    "size": _INT,
    "default": _BOOL,
    "version": _OPT_STR,
    "library": _OPT_STR,
}


@dataclass(frozen=True, slots=True)
class PreparedCorpus:
    """A checked corpus document, ready to insert: canonical JSON text and its SHA-256."""

    digest: str
    path: str
    soname: str
    elf_type: str
    machine: str
    symbols: int
    size: int
    data: str

    def row(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "path": self.path,
            "soname": self.soname,
            "elf_type": self.elf_type,
            "machine": self.machine,
            "symbols": self.symbols,
            "size": self.size,
            "data": self.data,
        }


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no whitespace: equal documents give equal bytes."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _fail(where: str, message: str) -> CorpusFormatError:
    return CorpusFormatError(f"{where}: {message}")


def _check_str_list(value: Any, where: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "expected a list of strings")


def check_corpus(doc: Any, where: str = "corpus") -> dict[str, Any]:
    """``doc`` if it is a well-formed ``splicelab.corpus/1`` document (its ``path`` normalized)."""
    if not isinstance(doc, dict):
        raise _fail(where, "expected a JSON object")
    if doc.get("schema") != SCHEMA:
        raise _fail(f"{where}.schema", f"is {doc.get('schema')!r}, expected {SCHEMA!r}")
    try:
        doc["path"] = safe_relative_path(doc.get("path"), f"{where}.path")
    except UnsafePathError as exc:
        raise CorpusFormatError(str(exc)) from None
    for key in _TOP_STR:
        if key in doc and not isinstance(doc[key], str):
            raise _fail(f"{where}.{key}", "expected a string")
    for key in _TOP_OPT_STR:
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise _fail(f"{where}.{key}", "expected a string or null")
    for key in _TOP_INT:
        if key in doc and (not isinstance(doc[key], int) or isinstance(doc[key], bool)):
            raise _fail(f"{where}.{key}", "expected an integer")
        if key in doc and not 0 <= doc[key] < 2**63:
            raise _fail(f"{where}.{key}", "out of range")
    for key in _TOP_STR_LIST:
        if key in doc:
            _check_str_list(doc[key], f"{where}.{key}")
    vdefs = doc.get("version_definitions", [])
    if not isinstance(vdefs, list):
        raise _fail(f"{where}.version_definitions", "expected a list")
    for i, v in enumerate(vdefs):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str):
            raise _fail(f"{where}.version_definitions[{i}]", "expected an object with a string 'name'")
        if "parents" in v:
            _check_str_list(v["parents"], f"{where}.version_definitions[{i}].parents")
    vreqs = doc.get("version_requirements", [])
    if not isinstance(vreqs, list):
        raise _fail(f"{where}.version_requirements", "expected a list")
    for i, r in enumerate(vreqs):
        if not isinstance(r, dict) or not isinstance(r.get("file"), str):
            raise _fail(f"{where}.version_requirements[{i}]", "expected an object with a string 'file'")
        for key in ("versions", "weak"):
            if key in r:
                _check_str_list(r[key], f"{where}.version_requirements[{i}].{key}")
    symbols = doc.get("symbols", [])
    if not isinstance(symbols, list):
        raise _fail(f"{where}.symbols", "expected a list")
    fields_get = _SYMBOL_FIELDS.get
    for s in symbols:
        if type(s) is not dict or "name" not in s:
            break
        for key, value in s.items():
            allowed = fields_get(key)
            if allowed is not None and type(value) not in allowed:
                break
        else:
            continue
        break
    else:
        symbols = ()
    for i, s in enumerate(symbols):  # only after a bad symbol: find it and say what is wrong
        if type(s) is not dict or type(s.get("name")) is not str:
            raise _fail(f"{where}.symbols[{i}]", "expected an object with a string 'name'")
        for key, value in s.items():
            allowed = _SYMBOL_FIELDS.get(key)
            if allowed is not None and type(value) not in allowed:
                raise _fail(f"{where}.symbols[{i}].{key}", f"unexpected {type(value).__name__} value")
    if "extra" in doc and not isinstance(doc["extra"], dict):
        raise _fail(f"{where}.extra", "expected an object")
    return doc


def prepare(doc: Any, where: str = "corpus") -> PreparedCorpus:
    """Check ``doc`` and compute what the ``corpora`` row needs."""
    d = check_corpus(doc, where)
    data = canonical_json(d)
    size = d.get("size", 0)
    return PreparedCorpus(
        digest=hashlib.sha256(data).hexdigest(),
        path=d["path"],
        soname=d.get("soname") or "",
        elf_type=d.get("elf_type") or "",
        machine=d.get("machine") or "",
        symbols=len(d.get("symbols", ())),
        size=size if isinstance(size, int) else 0,
        data=data.decode("utf-8"),
    )


def store(session: Session, corpora: Sequence[PreparedCorpus]) -> tuple[dict[str, int], int]:
    """Insert the corpora not stored yet; returns ``({digest: id}, how many were new)``."""
    if not corpora:
        return {}, 0
    digests = [(c.digest,) for c in corpora]
    before = ids_by_key(session, Corpus, ["digest"], digests)
    missing = [c.row() for c in corpora if (c.digest,) not in before]
    if missing:
        upsert(session, Corpus, missing, ["digest"])
    ids = before | ids_by_key(session, Corpus, ["digest"], [d for d in digests if d not in before])
    return {k[0]: v for k, v in ids.items()}, len(ids) - len(before)


def document(corpus: Corpus) -> dict[str, Any]:
    return orjson.loads(corpus.data)  # type: ignore[no-any-return]


def documents_by_id(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = list(set(ids))
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Corpus.id, Corpus.data).where(Corpus.id.in_(wanted[start : start + 500]))
        )
        for cid, data in rows:
            out[cid] = orjson.loads(data)
    return out


def summary(corpus: Corpus) -> dict[str, Any]:
    return {
        "id": corpus.id,
        "digest": corpus.digest,
        "path": corpus.path,
        "soname": corpus.soname or None,
        "elf_type": corpus.elf_type,
        "machine": corpus.machine,
        "symbols": corpus.symbols,
        "size": corpus.size,
    }


def query(filters: Mapping[str, str | None]) -> Select[tuple[Corpus]]:
    stmt = select(Corpus)
    if filters.get("soname"):
        stmt = stmt.where(Corpus.soname == filters["soname"])
    if filters.get("path"):
        stmt = stmt.where(Corpus.path == filters["path"])
    if filters.get("elf_type"):
        stmt = stmt.where(Corpus.elf_type == filters["elf_type"])
    if filters.get("digest"):
        stmt = stmt.where(Corpus.digest == filters["digest"])
    return stmt.order_by(Corpus.id)
