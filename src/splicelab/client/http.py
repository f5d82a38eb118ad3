"""HTTP to a monitor: the token dance, JSON bodies, and retries that are safe to repeat.

Every write the monitor accepts is an upsert on a natural key, so a request whose reply never came
(connection dropped, server restarting, timeout) is simply sent again until ``retry_for`` seconds
have passed. A ``401`` carrying ``Www-Authenticate: Bearer realm=…`` starts the token dance: ``GET``
the realm with ``Basic user:token``, keep the JWT it returns, repeat the request with ``Bearer JWT``.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

RETRY_STATUS = frozenset({408, 425, 429, 502, 503, 504})
_CHALLENGE = re.compile(r'([A-Za-z]+)="([^"]*)"')


class MonitorError(RuntimeError):
    """The monitor answered with an error (``status`` and its message), or could not be reached."""

    def __init__(self, message: str, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


def parse_challenge(header: str) -> dict[str, str]:
    """``Bearer realm="…",service="…",scope="…"`` → ``{"realm": …, "service": …, "scope": …}``."""
    return {k.lower(): v for k, v in _CHALLENGE.findall(header)}


def credentials_from_env(env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``$SPLICELAB_USER``/``$SPLICELAB_TOKEN``, else spack's ``$SPACKMON_USER``/``$SPACKMON_TOKEN``."""
    env = os.environ if env is None else env
    user = env.get("SPLICELAB_USER") or env.get("SPACKMON_USER")
    token = env.get("SPLICELAB_TOKEN") or env.get("SPACKMON_TOKEN")
    return user or None, token or None


class Transport:
    """One monitor host, one set of credentials, one connection pool."""

    def __init__(
        self,
        host: str,
        user: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        retry_for: float = 90.0,
        on_retry: Callable[[str, int], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host = host.rstrip("/")
        self.user = user
        self.token = token
        self.retry_for = retry_for
        self.on_retry = on_retry
        self._jwt: str | None = None
        self.retries = 0
        self.http = httpx.Client(
            base_url=self.host, timeout=timeout, transport=transport, headers={"User-Agent": "splicelab"}
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- auth ----------------------------------------------------------------------------------------

    def authenticate(self, challenge: str) -> None:
        """Answer a ``Www-Authenticate`` challenge: trade ``user:token`` for a JWT at the realm."""
        if not self.user or not self.token:
            raise MonitorError(
                "the monitor needs a token: set SPLICELAB_USER and SPLICELAB_TOKEN "
                "(or SPACKMON_USER/SPACKMON_TOKEN), or pass --user/--token",
                401,
            )
        fields = parse_challenge(challenge)
        realm = fields.get("realm")
        if not realm:
            raise MonitorError(f"401 without a realm to authenticate at: {challenge!r}", 401)
        params = {k: fields[k] for k in ("service", "scope") if k in fields}
        reply = self._send("GET", realm, params=params, auth=httpx.BasicAuth(self.user, self.token))
        if reply.status_code != 200:
            raise MonitorError(
                f"authentication at {realm} failed: {_message(reply)}", reply.status_code, realm
            )
        token = _json(reply).get("token")
        if not isinstance(token, str) or not token:
            raise MonitorError(f"authentication at {realm} returned no token", reply.status_code, realm)
        self._jwt = token

    # --- requests ------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send once per attempt until an answer comes (or ``retry_for`` runs out)."""
        deadline = time.monotonic() + self.retry_for
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if time.monotonic() >= deadline:
                    raise MonitorError(f"{method} {url}: {type(exc).__name__}: {exc}", None, url) from exc
                self._pause(attempt, f"{type(exc).__name__} on {method} {url}")
                continue
            if reply.status_code in RETRY_STATUS and time.monotonic() < deadline:
                self._pause(attempt, f"HTTP {reply.status_code} on {method} {url}")
                continue
            return reply

    def _pause(self, attempt: int, why: str) -> None:
        self.retries += 1
        if self.on_retry is not None:
            self.on_retry(why, attempt)
        time.sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.0))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        content_type: str = "application/json",
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """``method path`` with a JSON body; raises :class:`MonitorError` on an error reply."""
        headers: dict[str, str] = {}
        body = content
        if json is not None:
            body = orjson.dumps(json)
        if body is not None:
            headers["Content-Type"] = content_type
        for _ in range(2):
            if self._jwt:
                headers["Authorization"] = f"Bearer {self._jwt}"
            reply = self._send(method, path, content=body, headers=headers, params=params)
            challenge = reply.headers.get("www-authenticate")
            if reply.status_code == 401 and challenge:
                self.authenticate(challenge)
                continue
            break
        if reply.status_code >= 400:
            raise MonitorError(
                f"{method} {path}: HTTP {reply.status_code}: {_message(reply)}", reply.status_code, path
            )
        return reply

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self.request("GET", path, params=params))

    def post_json(self, path: str, data: Any) -> Any:
        return _json(self.request("POST", path, json=data))


def _json(reply: httpx.Response) -> Any:
    try:
        return orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        raise MonitorError(f"{reply.request.url}: reply is not JSON", reply.status_code) from None


def _message(reply: httpx.Response) -> str:
    try:
        data = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return reply.text[:300] or reply.reason_phrase
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return reply.text[:300]
