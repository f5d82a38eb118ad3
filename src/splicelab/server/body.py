"""Reading request bodies: JSON (whatever the Content-Type says: spack's client sends JSON as a
form) or, for bulk uploads, JSON lines (``application/x-ndjson``)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from splicelab.server.errors import ApiError


async def raw_body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:  # nobody is left to answer; end the request quietly
        raise ApiError(400, "client disconnected before sending the whole body") from None


def _nul_path(value: Any, where: str = "body") -> str | None:
    """Where in ``value`` a string holds a NUL character (PostgreSQL cannot store one), if anywhere."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_path(k, f"{where} key") or _nul_path(v, f"{where}[{k!r}]")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_path(v, f"{where}[{i}]")
            if found:
                return found
    return None


def loads(body: bytes, code: int, where: str = "body") -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(code, f"{where}: invalid JSON ({exc})") from None
    if b"\\u0000" in body:  # rare: look for the string that holds it
        found = _nul_path(data, where)
        if found:
            raise ApiError(code, f"{found}: NUL characters are not accepted")
    return data


async def json_body(request: Request, code: int = 400) -> Any:
    body = await raw_body(request)
    if not body.strip():
        raise ApiError(code, "body: empty; expected a JSON document")
    return loads(body, code)


async def items_body(request: Request, code: int = 422) -> list[Any]:
    """A list of documents: a JSON array, one JSON object, or JSON lines."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        body = await raw_body(request)
        items = []
        for n, line in enumerate(body.splitlines(), 1):
            if line.strip():
                items.append(loads(line, code, f"body line {n}"))
        return items
    data = await json_body(request, code)
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise ApiError(code, "body: expected a JSON array of documents (or one document)")
    return data


def require_fields(data: Any, fields: tuple[str, ...], code: int = 400) -> dict[str, Any]:
    """``data`` as a dict that has every one of ``fields`` (non-empty); else an error naming them."""
    if not isinstance(data, dict):
        raise ApiError(code, "body: expected a JSON object")
    missing = [f for f in fields if data.get(f) in (None, "", [], {})]
    if missing:
        raise ApiError(code, f"missing required field(s): {', '.join(missing)}")
    return data
