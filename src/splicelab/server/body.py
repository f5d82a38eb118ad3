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


async def json_body(request: Request, code: int = 400) -> Any:
    body = await raw_body(request)
    if not body.strip():
        raise ApiError(code, "body: empty; expected a JSON document")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(code, f"body: invalid JSON ({exc})") from None


async def items_body(request: Request, code: int = 422) -> list[Any]:
    """A list of documents: a JSON array, one JSON object, or JSON lines."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        body = await raw_body(request)
        items = []
        for n, line in enumerate(body.splitlines(), 1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ApiError(code, f"body line {n}: invalid JSON ({exc})") from None
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
