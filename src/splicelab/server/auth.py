"""Authentication: the Docker-registry-style token dance that spack's monitor client speaks.

1. A request that needs a user and has none gets ``401`` with
   ``Www-Authenticate: Bearer realm="http://HOST/auth/token/",service="http://HOST",scope="build"``.
2. The client sends ``GET /auth/token/`` with ``Authorization: Basic base64(user:token)``.
3. The reply ``{"token": JWT, "expires_in", "issued_at"}`` gives a short-lived JWT (HS256).
4. The client repeats its request with ``Authorization: Bearer JWT``.

A user's own token is also accepted directly as ``Authorization: Bearer TOKEN`` (for curl and scripts).
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from splicelab.server.errors import ApiError
from splicelab.store import users as user_store
from splicelab.store.models import User

router = APIRouter(tags=["auth"])

ALGORITHM = "HS256"


def service_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def realm_url(request: Request) -> str:
    return f"{service_url(request)}/auth/token/"


def challenge(request: Request, scope: str = "build") -> str:
    return f'Bearer realm="{realm_url(request)}",service="{service_url(request)}",scope="{scope}"'


def unauthorized(request: Request, message: str = "this request needs a token") -> ApiError:
    return ApiError(401, message, {"Www-Authenticate": challenge(request)})


def issue(secret: str, username: str, realm: str, scopes: list[str], ttl: int) -> dict[str, Any]:
    now = int(time.time())
    payload = {
        "iss": realm,
        "sub": username,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "access": [{"type": "build", "actions": scopes}],
    }
    return {
        "token": jwt.encode(payload, secret, algorithm=ALGORITHM),
        "expires_in": ttl,
        "issued_at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def subject(secret: str, token: str) -> str | None:
    """The user name a valid, unexpired JWT was issued to."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    sub = payload.get("sub")
    return sub if isinstance(sub, str) else None


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, token = decoded.partition(":")
    return (name, token) if sep and name and token else None


def bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def user_from_header(session: Session, header: str | None, secret: str) -> User | None:
    """The user an ``Authorization`` header proves (Bearer JWT or Bearer user token), or None."""
    if not header:
        return None
    token = bearer(header)
    if token is None:
        return None
    if token.count(".") == 2:
        name = subject(secret, token)
        return user_store.user_by_name(session, name) if name else None
    return user_store.user_by_token(session, token)


@router.get("/auth/token/", summary="Exchange Basic user:token for a JWT (the Docker-style token flow)")
def get_token(request: Request, service: str | None = None, scope: str = "build") -> dict[str, Any]:
    credentials = basic_credentials(request.headers.get("authorization", ""))
    if credentials is None:
        raise ApiError(401, "send Authorization: Basic base64(user:token)")
    db = request.app.state.db
    with db.session() as session:
        user = user_store.authenticate(session, *credentials)
        if user is None:
            raise ApiError(403, "unknown user or wrong token")
        name = user.name
    scopes = [s for s in scope.split(",") if s] or ["build"]
    return issue(
        request.app.state.secret, name, realm_url(request), scopes, request.app.state.settings.token_ttl
    )
