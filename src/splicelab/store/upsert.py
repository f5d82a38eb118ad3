"""Race-free "insert or keep" / "insert or update" on a natural key, for SQLite and PostgreSQL.

Both backends support ``INSERT … ON CONFLICT``; under concurrent writers it is the database, not a
SELECT-then-INSERT in Python, that decides which of two identical requests creates the row.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import inspect, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from splicelab.store.models import Base

M = TypeVar("M", bound=Base)

# Rows per executemany call (SQLAlchemy batches them into multi-row INSERTs itself).
CHUNK = 500


def _dedupe(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key (the last wins), in key order: the same order in every transaction, so that two
    concurrent batches lock rows in the same sequence and cannot deadlock."""
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        by_key[tuple(row[k] for k in keys)] = dict(row)
    return [by_key[k] for k in sorted(by_key, key=lambda t: tuple(str(x) for x in t))]


def upsert(
    session: Session,
    model: type[Base],
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> int:
    """Insert ``rows``; on a conflict on ``keys`` keep the row (``update`` empty) or overwrite ``update``.

    Every row must carry the same columns. The statement's shape depends only on the model, the keys
    and the updated columns, so it is compiled once and then served from SQLAlchemy's cache; the rows
    go as one executemany. Returns the number of distinct rows sent.
    """
    unique = _dedupe(rows, keys)
    if not unique:
        return 0
    names = _column_names(model)
    stmt = _statement(session.get_bind().dialect.name, model, tuple(keys), tuple(update))
    for start in range(0, len(unique), CHUNK):
        chunk = [{names[k]: v for k, v in row.items()} for row in unique[start : start + CHUNK]]
        session.execute(stmt, chunk)
    return len(unique)


@functools.cache
def _statement(
    dialect: str, model: type[Base], keys: tuple[str, ...], update: tuple[str, ...], returning: bool = False
) -> Any:
    names = _column_names(model)
    table = model.__table__
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    index = [names[k] for k in keys]
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=index, set_={names[c]: stmt.excluded[names[c]] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=index)
    # RETURNING tells whether a row was written (DO NOTHING returns none); drivers' rowcount does not.
    return stmt.returning(*table.primary_key.columns) if returning else stmt


@functools.cache
def _column_names(model: type[Base]) -> dict[str, str]:
    """Attribute name -> column name (they differ where a column name is a reserved word)."""
    return {attr: col.name for attr, col in inspect(model).columns.items()}


def ids_by_key(
    session: Session, model: type[Base], keys: Sequence[str], values: Iterable[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    """``{key tuple: id}`` for the rows of ``model`` whose ``keys`` are among ``values``."""
    wanted = list(dict.fromkeys(values))
    out: dict[tuple[Any, ...], int] = {}
    cols = [getattr(model, k) for k in keys]
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        cond = cols[0].in_([v[0] for v in chunk]) if len(keys) == 1 else tuple_(*cols).in_(chunk)
        for row in session.execute(select(model.id, *cols).where(cond)):  # type: ignore[attr-defined]
            out[tuple(row[1:])] = row[0]
    return out


def get_or_create(
    session: Session,
    model: type[M],
    key: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
    update: Sequence[str] = (),
) -> tuple[M, bool]:
    """The row of ``model`` with ``key`` and whether this call created it (from ``key | values`` when
    missing); ``update`` names the columns of ``values`` that overwrite an existing row."""
    query = select(model).filter_by(**key).execution_options(populate_existing=True)
    if not update:  # the common case, a row that exists: one SELECT
        found = session.scalars(query).one_or_none()
        if found is not None:
            return found, False
    names = _column_names(model)
    stmt = _statement(session.get_bind().dialect.name, model, tuple(key), tuple(update), returning=True)
    row = {names[k]: v for k, v in {**key, **(values or {})}.items()}
    written = session.execute(stmt, row).first() is not None
    return session.scalars(query).one(), written and not update
