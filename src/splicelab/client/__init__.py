"""Clients of a monitor: the spack monitor protocol (``/ms1``) and splicelab's ``/api/v1``.

    from splicelab.client import connect
    ms1, api = connect("http://127.0.0.1:8000", user, token)   # one Transport, shared

``Transport`` does the token dance and retries; every request it repeats is safe to repeat because
the monitor stores everything as upserts on natural keys.
"""

from __future__ import annotations

import os

from splicelab.client.api import ApiClient
from splicelab.client.http import MonitorError, Transport, credentials_from_env
from splicelab.client.ms1 import Ms1Client, build_environment

DEFAULT_HOST = "http://127.0.0.1:8000"


def default_host() -> str:
    return os.environ.get("SPLICELAB_MONITOR", DEFAULT_HOST)


def connect(
    host: str | None = None, user: str | None = None, token: str | None = None, **options: float
) -> tuple[Ms1Client, ApiClient]:
    """Clients for ``host`` (default ``$SPLICELAB_MONITOR``); credentials default to the environment."""
    env_user, env_token = credentials_from_env()
    transport = Transport(host or default_host(), user or env_user, token or env_token, **options)
    return Ms1Client(transport), ApiClient(transport)


__all__ = [
    "ApiClient",
    "MonitorError",
    "Ms1Client",
    "Transport",
    "build_environment",
    "connect",
    "credentials_from_env",
    "default_host",
]
