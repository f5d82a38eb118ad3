"""``splicelab run``: the main job on a Debian source package (fetch → … → report, stored for serve)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table

from splicelab import predict as registry
from splicelab.cli._options import debian_options, parallel_options, predictor_option


class _Bars:
    """The pipeline's progress as one rich bar per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, stage: str, total: int | None = None) -> None:
        self.tasks[stage] = self.progress.add_task(stage, total=total, note="")

    def total(self, stage: str, total: int) -> None:
        self.progress.update(self.tasks[stage], total=total)

    def advance(self, stage: str, n: int = 1, note: str = "") -> None:
        self.progress.update(self.tasks[stage], advance=n, note=note)

    def finish(self, stage: str, summary: str) -> None:
        task = self.tasks[stage]
        total = self.progress.tasks[task].total
        self.progress.update(task, total=total or 1, completed=total or 1, note=summary)


@click.command()
@click.argument("source_package")
@debian_options
@click.option(
    "--mode",
    type=click.Choice(["system", "interface", "both"]),
    default="both",
    show_default=True,
    help="system: mode C (release X's own system); interface: mode B (the newest release's system).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: out/SOURCE_PACKAGE).",
)
@predictor_option
@parallel_options
@click.option(
    "--db",
    "db_url",
    default=None,
    metavar="URL",
    help="Database to store the run in (default: the one 'splicelab serve' uses, $SPLICELAB_DB).",
)
@click.option("--no-validate", is_flag=True, help="Predict only: perform no splice.")
@click.option(
    "--smoke",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="TOML/YAML file with smoke commands and inputs (adds to the built-ins, as for validate).",
)
def run(
    source_package: str,
    releases: tuple[str, ...],
    cache: Path | None,
    programs: tuple[tuple[str, str], ...],
    mode: str,
    out: Path | None,
    predictors: tuple[str, ...],
    scheduler: str | None,
    workers: int | None,
    db_url: str | None,
    no_validate: bool,
    smoke: Path | None,
) -> None:
    """Fetch, predict, validate, evaluate and report every splice of a Debian SOURCE_PACKAGE's libraries.

    SOURCE_PACKAGE is a Debian source package (curl, libxml2, zlib, lz4, libpng1.6, hdf5 …): its
    shared-library packages in each release, whatever they are called there, are spliced under its
    program of every release. Exit status: 0 when the pipeline ran (failing splices are data), 1 when a
    stage had errors (each is named), 2 on usage errors.
    """
    from splicelab.parallel import make_executor
    from splicelab.pipeline import SCORE_HEADER, RunConfig, parse_modes, score_rows
    from splicelab.pipeline import run as run_pipeline
    from splicelab.validate.smoke import SmokeConfigError, load

    if smoke is not None:
        try:
            load(smoke)
        except SmokeConfigError as exc:
            raise click.UsageError(str(exc)) from None

    config = RunConfig(
        source=source_package,
        out=out or Path("out") / source_package,
        releases=releases,
        modes=parse_modes(mode),
        programs=programs,
        predictors=tuple(dict.fromkeys(predictors)) or registry.DEFAULT,
        cache=cache,
        validate=not no_validate,
        db_url=db_url,
        smoke=smoke,
    )
    console = Console(stderr=True, highlight=False)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", table_column=Column(min_width=8, no_wrap=True)),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[note]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
        console=console,
    )
    with progress, make_executor(scheduler=scheduler, workers=workers) as executor:
        result = run_pipeline(config, reporter=_Bars(progress), executor=executor)
    if result.outcomes:
        _print_scores(console, SCORE_HEADER, score_rows(result))
    for note in result.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    for err in result.errors:
        console.print(f"error: {err}", markup=False, soft_wrap=True)
    where = result.report or result.files.get("summary")
    console.print(f"report: {where}", markup=False, soft_wrap=True)
    console.print(f"summary: {result.files.get('summary')}", markup=False, soft_wrap=True)
    if result.errors:
        stages = sorted({e.stage for e in result.errors})
        console.print(f"errors in stage(s): {', '.join(stages)}", markup=False)
        sys.exit(1)


def _print_scores(console: Console, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    if not rows:
        return
    table = Table(
        title="Predictors against real outcomes (run-time failures apart)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    shown = [i for i, col in enumerate(header) if col not in ("judged", "unmatched")]
    for i in shown:
        col = header[i].replace("run-time failures", "run-time")
        justify = "left" if col in ("predictor", "mode") else "right"
        table.add_column(col, justify=justify, no_wrap=i < 2, min_width=max(len(w) for w in col.split()))
    for row in rows:
        table.add_row(*(str(row[i]) for i in shown))
    console.print(table)
