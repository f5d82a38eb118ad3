"""``splicelab serve``: run the monitor (API, spack-monitor endpoints, web pages)."""

from __future__ import annotations

import os

import click

from splicelab.server.settings import Settings, parse_size


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--db", "db_url", default=None, help="Database URL or SQLite file [default: $SPLICELAB_DB or ~data]."
)
@click.option(
    "--anonymous-read/--no-anonymous-read",
    default=None,
    help="Let clients without a token read [default: $SPLICELAB_ANONYMOUS_READ or yes].",
)
@click.option(
    "--max-body", default=None, help="Largest request body, e.g. 64M [default: $SPLICELAB_MAX_BODY or 64M]."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (more use more cores; SQLite and PostgreSQL both take concurrent writers).",
)
@click.option(
    "--log-level", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning"])
)
def serve(
    host: str,
    port: int,
    db_url: str | None,
    anonymous_read: bool | None,
    max_body: str | None,
    workers: int,
    log_level: str,
) -> None:
    """Serve the monitor: /ms1 (spack monitor), /api/v1, /auth/token/, /docs, and web pages.

    The database is created and migrated to the newest schema on start.
    """
    import uvicorn

    from splicelab.server.app import create_app

    try:
        settings = Settings.from_env(
            db_url=db_url,
            anonymous_read=anonymous_read,
            max_body_bytes=parse_size(max_body) if max_body else None,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"splicelab monitor on http://{host}:{port} (database {_redact(settings.db_url)})", err=True)
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5
        )
        return
    # Each worker process builds its own app from the environment.
    os.environ["SPLICELAB_DB"] = settings.db_url
    os.environ["SPLICELAB_ANONYMOUS_READ"] = "true" if settings.anonymous_read else "false"
    os.environ["SPLICELAB_MAX_BODY"] = str(settings.max_body_bytes)
    uvicorn.run(
        "splicelab.server.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )


def _redact(url: str) -> str:
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True) if "://" in url else url
    except Exception:
        return url
