"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
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


def predictor_option(fn: F) -> F:
    """``-p/--predictor NAME`` (repeatable): the predictors to run (registry names)."""
    from splicelab import predict as registry

    return click.option(
        "--predictor",
        "-p",
        "predictors",
        multiple=True,
        type=click.Choice(registry.names()),
        help=f"A predictor to run (repeatable). Default: {', '.join(registry.DEFAULT)}.",
    )(fn)


def _releases(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    releases = tuple(r.strip() for r in value.split(",") if r.strip())
    if not releases:
        raise click.BadParameter("no release given")
    return releases


def _programs(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    out = []
    for p in values:
        pkg, sep, path = p.partition(":")
        if not sep or not pkg or not path:
            raise click.BadParameter(f"{p!r}: expected PACKAGE:PATH, e.g. curl:usr/bin/curl")
        out.append((pkg, path.lstrip("/")))
    return tuple(out)


def debian_options(fn: F) -> F:
    """``--releases R,...`` (parsed to a tuple), ``--cache DIR`` and ``--program PACKAGE:PATH`` (repeatable,
    parsed to ``(package, path)`` pairs): where Debian families come from."""
    fn = click.option(
        "--program",
        "programs",
        multiple=True,
        metavar="PACKAGE:PATH",
        callback=_programs,
        help="A program package and the program's path in it (usr/bin/curl). Repeatable. "
        "Default: the corpus program, else a binary package that links the library.",
    )(fn)
    fn = click.option(
        "--cache",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Debian cache directory (default: $SPLICELAB_CACHE/debian or ~/.cache/splicelab/debian).",
    )(fn)
    fn = click.option(
        "--releases",
        default="bullseye,bookworm,trixie,sid",
        show_default=True,
        callback=_releases,
        help="Comma-separated Debian releases.",
    )(fn)
    return fn
