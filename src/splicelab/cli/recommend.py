"""``splicelab recommend``: Spack ``can_splice`` directives and explicit splices from the evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from splicelab.report.recommendations import FORMATS


@click.command()
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--predictions",
    "predictions_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Directory holding predictions.json (or the file). Default: predict ARTIFACTS in-process.",
)
@click.option(
    "--outcomes",
    "outcomes_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Real outcomes: outcomes.json of 'splicelab validate', or the corpus' outcomes.jsonl.",
)
@click.option(
    "--outcome-mode",
    type=click.Choice(["B", "C"]),
    default="C",
    show_default=True,
    help="Which mode's records of an outcomes.jsonl to use (C: system X with Y's library dropped in).",
)
@click.option("--validated-only", is_flag=True, help="Recommend only splices run for real, every run ok.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--system",
    "system_dirs",
    multiple=True,
    metavar="DIR",
    help="Also read this machine's libraries in DIR as the artifact 'system' (as 'splicelab predict').",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every view to DIR (recommendations.json, concretizer.yaml, pairs.json, spliced.json).",
)
def recommend(
    artifacts: tuple[Path, ...],
    predictions_path: Path | None,
    outcomes_path: Path | None,
    outcome_mode: str,
    validated_only: bool,
    fmt: str,
    system_dirs: tuple[str, ...],
    out_dir: Path | None,
) -> None:
    """Recommend can_splice lines (for package.py) and explicit splices (concretizer.yaml) for ARTIFACTS.

    A pair of builds (D_old -> D_new) is recommended when every dependent binary seen loading D_old
    works with D_new: by default the loader predictor says works and no type-level predictor says
    breaks (and no real run failed); with --validated-only every splice must have been run, all ok.
    Spliced installs found in ARTIFACTS are checked as installed. Unreadable inputs are reported on
    stderr, the rest is used, and the exit code is then 1.
    """
    from splicelab import recommend as core
    from splicelab.predict.engine import WorldOptions
    from splicelab.report.recommendations import RecordsError, load_records, render, write_all
    from splicelab.sources import SourceError, load_artifacts
    from splicelab.sources.system import load_system

    console = Console(stderr=True, highlight=False)
    problems: list[str] = []
    errors: list[SourceError] = []
    arts = load_artifacts(artifacts, errors)
    system = load_system(system_dirs, errors) if system_dirs else None
    if system is not None:
        arts.append(system)
    problems += [str(e) for e in errors]
    options = WorldOptions(default_dirs=system_dirs)

    if predictions_path is not None:
        try:
            records = load_records(predictions_path)
        except RecordsError as exc:
            raise click.ClickException(str(exc)) from None
        source = str(predictions_path)
    else:
        from splicelab.predict.engine import predict as run

        records = [r.to_dict() for r in run(arts, options=options)]
        source = "predictions (in-process)"

    index = None
    if outcomes_path is not None:
        try:
            raw = load_records(outcomes_path)
        except RecordsError as exc:
            raise click.ClickException(str(exc)) from None
        index, outcome_errors = core.index_outcomes(raw, mode=outcome_mode, source=str(outcomes_path))
        problems += outcome_errors
    elif validated_only:
        raise click.UsageError("--validated-only needs --outcomes FILE")

    spliced = core.check_spliced_installs(options.build(arts))
    report = core.recommend(records, arts, index, validated_only=validated_only, spliced=spliced)
    report.errors = [e.replace("predictions.json", source, 1) for e in report.errors]
    problems += report.errors

    click.echo(render(report, fmt), nl=False)
    if out_dir is not None:
        written = write_all(report, out_dir)
        console.print("wrote " + ", ".join(str(p) for p in written), markup=False, soft_wrap=True)
    for p in problems:
        console.print(f"error: {p}", markup=False, soft_wrap=True)
    console.print(
        f"{len(report.accepted)} build pairs recommended, {len(report.refused)} refused; "
        f"{len(report.recommendations)} can_splice lines, {len(report.explicit)} explicit splices; "
        f"{sum(s.status == 'broken' for s in report.spliced)} of {len(report.spliced)} spliced installs "
        "broken",
        markup=False,
    )
    if problems:
        sys.exit(1)
