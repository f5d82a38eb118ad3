"""Registry credentials: from environment variables or a docker ``config.json`` (``auths``).

Looked up in this order, first match wins:

1. ``SPLICELAB_REGISTRY_USERNAME`` / ``SPLICELAB_REGISTRY_PASSWORD`` — for every registry, or only for
   ``SPLICELAB_REGISTRY_HOST`` (``host[:port]``) when that is set too;
2. the ``auths`` of a docker config file: ``$REGISTRY_AUTH_FILE``, ``$DOCKER_CONFIG/config.json``,
   ``~/.docker/config.json``, ``$XDG_RUNTIME_DIR/containers/auth.json`` (the first that exists).

Credential helpers (``credsStore``/``credHelpers``) are not run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from splicelab.matrix.reference import DOCKER_HUB, DOCKER_HUB_API

ENV_USERNAME = "SPLICELAB_REGISTRY_USERNAME"
ENV_PASSWORD = "SPLICELAB_REGISTRY_PASSWORD"
ENV_HOST = "SPLICELAB_REGISTRY_HOST"

_HUB_ALIASES = {DOCKER_HUB, DOCKER_HUB_API, "index.docker.io"}


class CredentialsError(ValueError):
    """A credentials file or variable is malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password
        return f"Credentials(username={self.username!r}, password=***)"

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def _normalize(host: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``http://127.0.0.1:5000`` → ``127.0.0.1:5000``."""
    host = host.strip()
    for scheme in ("https://", "http://"):
        if host.startswith(scheme):
            host = host[len(scheme) :]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_ALIASES else host


def default_config_paths(env: Mapping[str, str]) -> list[Path]:
    paths: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("DOCKER_CONFIG"):
        paths.append(Path(env["DOCKER_CONFIG"]) / "config.json")
    home = env.get("HOME")
    if home:
        paths.append(Path(home) / ".docker" / "config.json")
    if env.get("XDG_RUNTIME_DIR"):
        paths.append(Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    return paths


def _parse_auths(path: Path) -> dict[str, Credentials]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CredentialsError(f"{path}: cannot read docker config: {exc}") from None
    auths = doc.get("auths", {}) if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        raise CredentialsError(f"{path}: field 'auths' must be an object")
    found: dict[str, Credentials] = {}
    for host, entry in auths.items():
        if not isinstance(entry, dict):
            raise CredentialsError(f"{path}: auths[{host!r}] must be an object")
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, TypeError):
                raise CredentialsError(
                    f"{path}: auths[{host!r}].auth is not base64 of 'user:password'"
                ) from None
            if not sep:
                raise CredentialsError(f"{path}: auths[{host!r}].auth is not base64 of 'user:password'")
        elif entry.get("username") is not None:
            user, password = str(entry["username"]), str(entry.get("password", ""))
        else:
            continue  # identitytoken-only entries need a credential helper flow
        found[_normalize(host)] = Credentials(user, password)
    return found


class CredentialStore:
    """Answers "which credentials for this registry host?"."""

    def __init__(self, by_host: Mapping[str, Credentials] | None = None, default: Credentials | None = None):
        self._by_host = {_normalize(h): c for h, c in (by_host or {}).items()}
        self._default = default

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> CredentialStore:
        env = os.environ if env is None else env
        by_host: dict[str, Credentials] = {}
        for path in default_config_paths(env):
            if path.is_file():
                by_host = _parse_auths(path)
                break
        default = None
        user = env.get(ENV_USERNAME)
        if user:
            if ENV_PASSWORD not in env:
                raise CredentialsError(f"{ENV_USERNAME} is set but {ENV_PASSWORD} is not")
            creds = Credentials(user, env[ENV_PASSWORD])
            if env.get(ENV_HOST):
                by_host[_normalize(env[ENV_HOST])] = creds
            else:
                default = creds
        return cls(by_host, default)

    def lookup(self, host: str) -> Credentials | None:
        return self._default or self._by_host.get(_normalize(host))
