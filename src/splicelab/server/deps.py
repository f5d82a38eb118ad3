"""FastAPI dependencies shared by the routers: the database, the settings, who is asking.

``require_user`` guards every write; ``allow_read`` guards reads and lets anonymous clients through
unless the server was started with anonymous reads off. Both are plain functions, so routers of other
modules (the web UI) can use them too: ``Depends(allow_read)``.
"""

from __future__ import annotations

from fastapi import Request

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


def current_user(request: Request) -> User | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    with get_db(request).session() as session:
        user = user_from_header(session, header, request.app.state.secret)
        if user is not None:
            session.expunge(user)
        return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        message = "this request needs a token" if "authorization" not in request.headers else "invalid token"
        raise unauthorized(request, message)
    return user


def allow_read(request: Request) -> User | None:
    if get_settings(request).anonymous_read:
        return None
    return require_user(request)
