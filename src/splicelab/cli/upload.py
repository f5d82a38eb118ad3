"""``splicelab upload``: send corpora, artifacts, predictions and outcomes to a monitor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def monitor_options(func: F) -> F:
    func = click.option(
        "--token",
        envvar="SPLICELAB_TOKEN",
        default=None,
        help="Token [env SPLICELAB_TOKEN or SPACKMON_TOKEN].",
    )(func)
    func = click.option(
        "--user",
        envvar="SPLICELAB_USER",
        default=None,
        help="User name [env SPLICELAB_USER or SPACKMON_USER].",
    )(func)
    func = click.option(
        "--host",
        envvar="SPLICELAB_MONITOR",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="Monitor URL [env SPLICELAB_MONITOR].",
    )(func)
    return func


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@monitor_options
@click.option(
    "--retry-for", default=90.0, show_default=True, help="Seconds to keep retrying a failed request."
)
def upload(paths: tuple[Path, ...], host: str, user: str | None, token: str | None, retry_for: float) -> None:
    """Upload PATHS to the monitor: analyze JSONL (corpora), artifacts JSON, predictions.json,
    outcomes.json, or whole run directories (every .json/.jsonl below).

    Safe to run again: the monitor stores each document once (requests that fail are retried).
    """
    from splicelab.client import MonitorError, connect
    from splicelab.client.upload import collect, summary_line
    from splicelab.client.upload import upload as send

    collected = collect(paths)
    for problem in collected.skipped:
        click.echo(f"skipped: {problem}", err=True)
    _, api = connect(host, user, token, retry_for=retry_for)
    try:
        report = send(api, collected)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        api.transport.close()
    click.echo(summary_line(report))
    if not collected.files:
        raise SystemExit(1)
