"""``splicelab predict``: every splice of the given builds, judged by the chosen predictors."""

from __future__ import annotations

import sys
import time
import warnings
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from splicelab import predict as registry
from splicelab.cli._options import parallel_options, predictor_option
from splicelab.parallel import make_executor


@click.command()
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for predictions.json, symbolator-predictions.json and matrix.csv.",
)
@predictor_option
@click.option("--all-predictors", is_flag=True, help="Run every predictor, the slow type-level ones too.")
@click.option(
    "--matrix-predictor",
    type=click.Choice(registry.names()),
    default=None,
    help="Whose verdicts fill matrix.csv. Default: loader if it ran, else the first predictor.",
)
@click.option(
    "--system",
    "system_dirs",
    multiple=True,
    metavar="DIR",
    help="Also read this machine's libraries in DIR (e.g. /lib/x86_64-linux-gnu) as the artifact "
    "'system', searched last like ld.so's default directories. Repeatable.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SPLICELAB_PREDICT_CACHE",
    default=None,
    help="Keep the slow predictors' results here across runs (env SPLICELAB_PREDICT_CACHE).",
)
@parallel_options
def predict(
    artifacts: tuple[Path, ...],
    out: Path,
    predictors: tuple[str, ...],
    all_predictors: bool,
    matrix_predictor: str | None,
    system_dirs: tuple[str, ...],
    cache_dir: Path | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Predict whether each binary of ARTIFACTS... works with every other build of each library it loads.

    ARTIFACTS are Spack install roots (the folder holding .spack-db/, or the prefixes), Spack prefixes,
    artifact directories (with splicelab.toml) or artifacts JSON files. Inputs that cannot be read are
    reported on stderr and the rest is predicted; the exit code is then 1.
    """
    from splicelab.predict import cache
    from splicelab.predict.engine import WorldOptions
    from splicelab.predict.engine import predict as run
    from splicelab.report.predictions import write_all
    from splicelab.sources import SourceError, load_artifacts
    from splicelab.sources.system import load_system

    console = Console(stderr=True, highlight=False)
    names = registry.names() if all_predictors else list(predictors or registry.DEFAULT)
    if cache_dir is not None:
        cache.DEFAULT.directory = cache_dir
    started = time.perf_counter()
    errors: list[SourceError] = []
    with console.status("reading artifacts…", spinner="dots") if console.is_terminal else nullcontext():
        arts = load_artifacts(artifacts, errors)
        system = load_system(system_dirs, errors) if system_dirs else None
        if system is not None:
            arts.append(system)
    for err in errors:
        console.print(f"error: {err}", markup=False, soft_wrap=True)
    console.print(f"{len(arts)} builds, {sum(len(a.files) for a in arts)} ELF files", markup=False)

    progress = Progress(
        TextColumn("predict"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        with progress, make_executor(scheduler=scheduler, workers=workers) as executor:
            task = progress.add_task("predict", total=None)
            for record in run(
                arts,
                names,
                options=WorldOptions(default_dirs=system_dirs),
                executor=executor,
                total=lambda n: progress.update(task, total=n),
                progress=lambda n: progress.advance(task, n),
            ):
                records.append(record)
    for w in dict.fromkeys(str(w.message) for w in caught):
        console.print(f"warning: {w}", markup=False, soft_wrap=True)
    paths = write_all(records, out, matrix_predictor=matrix_predictor)
    for name in names:
        counts = Counter(r.predictions[name].verdict.value for r in records if name in r.predictions)
        summary = ", ".join(f"{counts[v]} {v}" for v in ("works", "breaks", "unknown") if counts[v])
        console.print(f"{name}: {summary or 'no splices'}", markup=False)
    console.print(
        f"{len(records)} splices in {time.perf_counter() - started:.1f}s → "
        + ", ".join(str(p) for p in paths.values()),
        markup=False,
        soft_wrap=True,
    )
    if errors:
        sys.exit(1)
