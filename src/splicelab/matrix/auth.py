"""The registry's authentication dance as an ``httpx.Auth`` flow.

A request goes out as is (or with a token cached for its repository). On ``401`` the
``Www-Authenticate`` challenge decides: ``Basic`` → retry with the user's credentials; ``Bearer
realm=…,service=…,scope=…`` → ask the realm for a token (with the credentials, if any, else anonymously)
and retry with ``Authorization: Bearer <token>`` (Docker's token authentication specification).
Credentials are never sent over plain HTTP to a host that is not on loopback.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field

import httpx

from splicelab.matrix.credentials import Credentials, CredentialStore
from splicelab.matrix.reference import is_loopback_host

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+)/(?:manifests|blobs|tags)/")


class AuthError(RuntimeError):
    """The registry refused us or its token service misbehaved; the message says which."""


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower-case: "basic" or "bearer"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull"`` → Challenge."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


def _may_send_secrets(url: httpx.URL) -> bool:
    return url.scheme == "https" or is_loopback_host(url.host)


class RegistryAuth(httpx.Auth):
    """Anonymous, basic and bearer-token authentication against one or more registries."""

    requires_response_body = True

    def __init__(self, credentials: CredentialStore | None = None) -> None:
        self._credentials = credentials or CredentialStore()
        self._headers: dict[tuple[str, str], str] = {}  # (host:port, repository) -> Authorization

    @staticmethod
    def _key(url: httpx.URL) -> tuple[str, str]:
        host = url.netloc.decode("ascii")
        match = _REPO_PATH.match(url.path)
        return host, match.group("name") if match else ""

    def _creds_for(self, url: httpx.URL) -> Credentials | None:
        return self._credentials.lookup(url.netloc.decode("ascii"))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self._key(request.url)
        cached = self._headers.get(key)
        if cached:
            request.headers["Authorization"] = cached
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None:
            return
        creds = self._creds_for(request.url)
        if challenge.scheme == "basic":
            if creds is None:
                raise AuthError(f"{key[0]} requires a username and password (basic auth); none configured")
            if not _may_send_secrets(request.url):
                raise AuthError(f"{key[0]}: refusing to send a password over plain HTTP off loopback")
            header = creds.basic_header()
        elif challenge.scheme == "bearer":
            token = yield from self._fetch_token(challenge, request.url, creds, key)
            header = f"Bearer {token}"
        else:
            raise AuthError(f"{key[0]}: unsupported authentication scheme {challenge.scheme!r}")
        if header == cached:
            raise AuthError(f"{key[0]}: credentials rejected (401 Unauthorized)")
        self._headers[key] = header
        request.headers["Authorization"] = header
        response = yield request
        if response.status_code == 401:
            self._headers.pop(key, None)
            who = f"user {creds.username!r}" if creds else "anonymous access"
            raise AuthError(f"{key[0]}: {who} was refused (401 Unauthorized)")

    def _fetch_token(
        self, challenge: Challenge, url: httpx.URL, creds: Credentials | None, key: tuple[str, str]
    ) -> Generator[httpx.Request, httpx.Response, str]:
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthError(f"{key[0]}: Bearer challenge without a realm")
        realm_url = httpx.URL(realm)
        params: dict[str, str] = {}
        if "service" in challenge.params:
            params["service"] = challenge.params["service"]
        scope = challenge.params.get("scope") or (f"repository:{key[1]}:pull" if key[1] else "")
        if scope:
            params["scope"] = scope
        headers = {}
        if creds is not None:
            if not _may_send_secrets(realm_url):
                raise AuthError(f"{realm}: refusing to send a password over plain HTTP off loopback")
            headers["Authorization"] = creds.basic_header()
        response = yield httpx.Request("GET", realm_url, params=params, headers=headers)
        if response.status_code != 200:
            raise AuthError(f"token service {realm} answered {response.status_code} for scope {scope!r}")
        try:
            body = response.json()
        except ValueError:
            raise AuthError(f"token service {realm} did not answer JSON") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"token service {realm} answered without a 'token'")
        return token
