"""``splicelab visualize``: heatmaps, CSV matrices and agreement maps of a predictions file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.argument("predictions", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("out/visualize"),
    show_default=True,
    help="Directory to write <package>/ sub-directories into.",
)
@click.option(
    "--outcomes",
    type=click.Path(path_type=Path),
    default=None,
    help="outcomes.json of real splices (default: outcomes.json beside PREDICTIONS, if any).",
)
@click.option(
    "--predictor",
    "predictors",
    multiple=True,
    help="Only this predictor (repeatable; default: every predictor in the file).",
)
def visualize(predictions: Path, out: Path, outcomes: Path | None, predictors: tuple[str, ...]) -> None:
    """Clustered heatmaps (PDF, PNG, SVG), CSV matrices and agreement maps, one directory per package.

    PREDICTIONS is a predictions.json, the seed's symbolator-predictions.json, or a directory holding one.
    """
    from splicelab.report.grid import ReportInputError, find_beside, find_predictions
    from splicelab.report.heatmap import visualize as run

    console = Console(stderr=True)
    try:
        source = find_predictions(predictions)
        outcomes = find_beside(source, outcomes, "outcomes.json")
        with console.status(f"drawing {source}"):
            results = run(source, out, outcomes, predictors)
    except ReportInputError as exc:
        raise click.ClickException(str(exc)) from None
    table = Table(title=f"{source} → {out}" + (f" (outcomes: {outcomes})" if outcomes else ""))
    table.add_column("package")
    table.add_column("directory")
    table.add_column("files", justify="right")
    table.add_column("notes")
    for r in results:
        table.add_row(r.package, str(r.directory), str(len(r.files)), "; ".join(r.notes))
    Console().print(table)
    if not results:
        console.print("[yellow]no predictions: nothing drawn[/yellow]")
