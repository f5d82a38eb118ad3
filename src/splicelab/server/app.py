"""The monitor's ASGI application.

    from splicelab.server.app import create_app
    from splicelab.server.settings import Settings
    app = create_app(Settings(db_url="sqlite:///monitor.db"))   # uvicorn.run(app, …)

On start-up (the ASGI lifespan) the database is opened and migrated to the newest schema, and the JWT
secret is loaded (or made and kept in the database). Routers: ``/auth/token/`` (auth.py), ``/ms1``
(ms1.py, spack-monitor compatible), ``/api/v1`` (api.py), the web pages (web.py: ``web.setup(app)``),
``/docs`` (an offline API reference) and ``/openapi.json``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from splicelab import __version__
from splicelab.server import api, auth, docs, errors, ms1, schemas, web
from splicelab.server.limits import BodyLimitMiddleware
from splicelab.server.settings import Settings
from splicelab.store import open_database
from splicelab.store.users import server_secret


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings.db_url)
        app.state.db = db
        app.state.secret = settings.secret or server_secret(db)
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="splicelab monitor",
        version=__version__,
        description="Builds, analyses, corpora, splice predictions and outcomes; spack-monitor compatible.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.auth_cache = {}
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(auth.router)
    app.include_router(ms1.router)
    app.include_router(api.router)
    app.include_router(docs.router)
    web.setup(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(schemas.components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The app with settings from the environment: the factory uvicorn's worker processes call."""
    return create_app(Settings.from_env())
