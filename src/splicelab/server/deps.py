"""FastAPI dependencies shared by the routers: the database, the settings, who is asking.

``require_user`` guards every write; ``allow_read`` guards reads and lets anonymous clients through
unless the server was started with anonymous reads off. Both are plain functions, so routers of other
modules (the web UI) can use them too: ``Depends(allow_read)``.

A proven ``Authorization`` header is remembered for :data:`AUTH_CACHE_SECONDS` (at most that long
after a user is removed or a token replaced, the old credentials still work), which spares a
database lookup on every request of a busy uploader (a JWT, too, may outlive its expiry by that much).
"""

from __future__ import annotations

import time

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from splicelab.server.auth import unauthorized, user_from_header
from splicelab.server.settings import Settings
from splicelab.store.engine import Database
from splicelab.store.models import User


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AUTH_CACHE_SECONDS = 30.0
_AUTH_CACHE_SIZE = 4096


def _lookup(request: Request, header: str) -> User | None:
    with get_db(request).session() as session:
        user = user_from_header(session, header, request.app.state.secret)
        if user is not None:
            session.expunge(user)
    return user


async def current_user(request: Request) -> User | None:
    """The user the request's ``Authorization`` header proves, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    cache: dict[str, tuple[User, float]] = request.app.state.auth_cache
    now = time.monotonic()
    hit = cache.get(header)
    if hit is not None and hit[1] > now:
        return hit[0]
    user = await run_in_threadpool(_lookup, request, header)
    if user is not None:
        if len(cache) >= _AUTH_CACHE_SIZE:
            cache.clear()
        cache[header] = (user, now + AUTH_CACHE_SECONDS)
    return user


async def require_user(request: Request) -> User:
    user = await current_user(request)
    if user is None:
        message = "this request needs a token" if "authorization" not in request.headers else "invalid token"
        raise unauthorized(request, message)
    return user


async def allow_read(request: Request) -> User | None:
    if get_settings(request).anonymous_read:
        return None
    return await require_user(request)
