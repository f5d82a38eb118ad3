"""Accounts and their tokens. A token is shown once, when made; the database keeps its SHA-256.

Tokens are 256 random bits, so a plain (unsalted) SHA-256 is enough to make a stolen database useless
for logging in, and it lets a token be looked up by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from splicelab.store.engine import Database
from splicelab.store.models import Setting, User
from splicelab.store.upsert import upsert

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,149}$")
SECRET_KEY = "jwt_secret"


class UserError(ValueError):
    """A user name is invalid, taken, or unknown."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(
            f"user name {name!r}: use 1-150 letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return name


def add_user(db: Database, name: str) -> tuple[User, str]:
    """Create ``name``; returns the user and its token (the only time the token is known)."""
    check_name(name)
    token = new_token()

    def work(session: Session) -> User:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise UserError(
                f"user {name!r} exists already (use 'splicelab user token {name}' for a new token)"
            )
        user = User(name=name, token_hash=hash_token(token))
        session.add(user)
        session.flush()
        return user

    try:
        return db.write(work), token
    except IntegrityError:
        raise UserError(f"user {name!r} exists already") from None


def reset_token(db: Database, name: str) -> str:
    """Give ``name`` a new token (the old one stops working)."""
    token = new_token()

    def work(session: Session) -> None:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user {name!r}")
        user.token_hash = hash_token(token)

    db.write(work)
    return token


def remove_user(db: Database, name: str) -> None:
    def work(session: Session) -> int:
        return session.execute(delete(User).where(User.name == name)).rowcount  # type: ignore[attr-defined]

    if not db.write(work):
        raise UserError(f"no user {name!r}")


def list_users(db: Database) -> list[User]:
    with db.session() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def authenticate(session: Session, name: str, token: str) -> User | None:
    """The user ``name`` if ``token`` is its token (compared in constant time)."""
    user = user_by_name(session, name)
    if user is None or not hmac.compare_digest(user.token_hash, hash_token(token)):
        return None
    return user


def user_by_token(session: Session, token: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def server_secret(db: Database) -> str:
    """The JWT signing secret, made on first use and kept in the database (tokens survive restarts)."""

    def work(session: Session) -> str:
        upsert(session, Setting, [{"key": SECRET_KEY, "value": secrets.token_hex(32)}], ["key"])
        value = session.scalar(select(Setting.value).where(Setting.key == SECRET_KEY))
        assert value is not None
        return value

    return db.write(work)
