"""Path and query parameter types shared by the routers: bounded so that no client value can reach the
database in a form it refuses (ids beyond a 32-bit INTEGER, NUL characters PostgreSQL cannot store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1
NO_NUL = r"^[^\x00]*$"

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Name = Annotated[str, Path(min_length=1, max_length=255, pattern=NO_NUL)]
Filter = Annotated[str | None, Query(max_length=400, pattern=NO_NUL)]
