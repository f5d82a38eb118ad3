"""The server's settings, from arguments or the environment.

| setting          | environment                  | default                                     |
|------------------|------------------------------|---------------------------------------------|
| ``db_url``       | ``SPLICELAB_DB``             | SQLite file in the user's data directory    |
| ``anonymous_read`` | ``SPLICELAB_ANONYMOUS_READ`` | true (GETs need no token)                 |
| ``max_body_bytes`` | ``SPLICELAB_MAX_BODY``     | 64M (requests above get 413)                |
| ``token_ttl``    | ``SPLICELAB_TOKEN_TTL``      | 3600 seconds (lifetime of a JWT from /auth) |
| ``secret``       | ``SPLICELAB_SECRET``         | generated once and kept in the database     |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from splicelab.store.engine import default_url

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """``"64M"`` → 67108864; plain numbers are bytes."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"size {text!r}: expected a number of bytes, optionally with K, M or G")
    unit = (m.group(2) or "").lower()[:1]
    return int(m.group(1)) * _UNITS[unit]


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"boolean {text!r}: expected true/false, yes/no, on/off or 1/0")


@dataclass(frozen=True, slots=True)
class Settings:
    db_url: str = field(default_factory=default_url)
    anonymous_read: bool = True
    max_body_bytes: int = 64 * 1024**2
    token_ttl: int = 3600
    secret: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``env`` (default ``os.environ``); ``overrides`` that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        try:
            if env.get("SPLICELAB_DB"):
                values["db_url"] = env["SPLICELAB_DB"]
            if env.get("SPLICELAB_ANONYMOUS_READ"):
                values["anonymous_read"] = parse_bool(env["SPLICELAB_ANONYMOUS_READ"])
            if env.get("SPLICELAB_MAX_BODY"):
                values["max_body_bytes"] = parse_size(env["SPLICELAB_MAX_BODY"])
            if env.get("SPLICELAB_TOKEN_TTL"):
                values["token_ttl"] = int(env["SPLICELAB_TOKEN_TTL"])
        except ValueError as exc:
            raise ValueError(f"environment: {exc}") from None
        if env.get("SPLICELAB_SECRET"):
            values["secret"] = env["SPLICELAB_SECRET"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)
