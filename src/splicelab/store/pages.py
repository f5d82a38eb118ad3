"""One page of a query's rows, and how many rows there are in all (limit/offset pagination)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def page(session: Session, stmt: Select[Any], limit: int, offset: int) -> Page[Any]:
    """Rows ``offset … offset+limit`` of ``stmt`` (which must have a total ORDER BY) and the total count."""
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(limit).offset(offset)).unique()) if total > offset else []
    return Page(items=items, total=total, limit=limit, offset=offset)
