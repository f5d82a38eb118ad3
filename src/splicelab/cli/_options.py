"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def parallel_options(fn: F) -> F:
    """``--scheduler ADDRESS`` / ``--workers N``: where the stage's work runs (see splicelab.parallel)."""
    fn = click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Run on a local Dask cluster of N worker processes.",
    )(fn)
    fn = click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        envvar="SPLICELAB_SCHEDULER",
        help="Run on an existing Dask scheduler (tcp://host:8786). Default: in-process.",
    )(fn)
    return fn
