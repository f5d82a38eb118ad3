"""``splicelab report``: one static HTML page with the heatmap, the scoreboard and a summary."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console


@click.command()
@click.argument("predictions", type=click.Path(path_type=Path))
@click.option(
    "--outcomes",
    type=click.Path(path_type=Path),
    default=None,
    help="outcomes.json of real splices (default: outcomes.json beside PREDICTIONS, if any).",
)
@click.option(
    "--evaluation",
    type=click.Path(path_type=Path),
    default=None,
    help="evaluation.json for the scoreboard (default: evaluation.json beside PREDICTIONS, if any;"
    " else computed from the outcomes).",
)
@click.option("--predictor", "predictors", multiple=True, help="Only this predictor (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The HTML file to write.")
def report(
    predictions: Path, outcomes: Path | None, evaluation: Path | None, predictors: tuple[str, ...], out: Path
) -> None:
    """A self-contained HTML report (no server, no external assets) of PREDICTIONS.

    PREDICTIONS is a predictions.json, the seed's symbolator-predictions.json, or a directory holding one.
    """
    from splicelab.report.grid import ReportInputError, find_beside, find_predictions
    from splicelab.report.html import write_report

    try:
        source = find_predictions(predictions)
        outcomes = find_beside(source, outcomes, "outcomes.json")
        evaluation = find_beside(source, evaluation, "evaluation.json")
        path = write_report(source, out, outcomes, evaluation, predictors)
    except ReportInputError as exc:
        raise click.ClickException(str(exc)) from None
    used = ", ".join(str(p) for p in (source, outcomes, evaluation) if p is not None)
    Console().print(f"wrote [bold]{path}[/bold] ({path.stat().st_size // 1024} KiB) from {used}")
