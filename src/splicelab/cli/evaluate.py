"""``splicelab evaluate``: predictions against real outcomes, per predictor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


def _read_list(path: Path, what: str) -> list:  # type: ignore[type-arg]
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{what} {path}: {exc}") from None
    if isinstance(data, dict):
        data = data.get(what) or data.get("items") or []
    if not isinstance(data, list):
        raise click.UsageError(f"{what} {path}: expected a JSON list")
    return data


@click.command()
@click.argument("predictions", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("outcomes", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for evaluation.json (default: next to OUTCOMES).",
)
@click.option("--misses/--no-misses", default=True, show_default=True, help="List each miss on the terminal.")
def evaluate(predictions: Path, outcomes: Path, out: Path | None, misses: bool) -> None:
    """Score PREDICTIONS (predictions.json) against OUTCOMES (outcomes.json from splicelab validate)."""
    from splicelab.evaluate import EvaluationInputError
    from splicelab.evaluate import evaluate as run

    try:
        result = run(_read_list(predictions, "predictions"), _read_list(outcomes, "outcomes"))
    except EvaluationInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    target = (out or outcomes.parent) / "evaluation.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=1))
    console = Console()
    table = Table(title="Predictors against real outcomes")
    for col in ("predictor", "total", "correct", "false works", "false breaks", "unknown", "accuracy",
                "unmatched"):  # fmt: skip
        table.add_column(col, justify="right" if col != "predictor" else "left")
    for name, e in sorted(result.items()):
        acc = "-" if e["accuracy"] is None else f"{e['accuracy']:.1%}"
        table.add_row(name, str(e["total"]), str(e["correct"]), str(e["false_works"]), str(e["false_breaks"]),
                      str(e["unknown"]), acc, str(e["unmatched"]))  # fmt: skip
    console.print(table)
    if misses:
        for name, e in sorted(result.items()):
            for m in e["misses"]:
                why = "; ".join(r.get("kind", "?") for r in m["reasons"]) or "-"
                console.print(f"[bold]{name}[/] {m['verdict']} but {m['class']}: {m['binary']} ← "
                              f"{m['replacement']} [dim]({why}) {m['message'][:160]}[/]")  # fmt: skip
    console.print(f"→ {target}")
