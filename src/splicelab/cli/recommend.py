"""``splicelab recommend``: Spack ``can_splice`` directives and explicit splices from the evidence."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from splicelab.cli._options import debian_options, predictor_option
from splicelab.report.recommendations import FORMATS


@click.command()
@click.argument("artifacts", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--predictions",
    "predictions_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A 'splicelab run' or 'splicelab predict' output directory (its predictions.json, and "
    "outcomes.json when there is one), or a predictions file. Default: predict in-process.",
)
@click.option(
    "--debian",
    "debian_sources",
    multiple=True,
    metavar="SOURCE",
    help="A Debian source package (curl, libxml2, …): its library family across --releases, merged "
    "across renamed packages, predicted in-process (repeatable).",
)
@debian_options
@predictor_option
@click.option(
    "--outcomes",
    "outcomes_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Real outcomes: outcomes.json of 'splicelab validate' or 'run', or the corpus' outcomes.jsonl.",
)
@click.option(
    "--mode",
    "--outcome-mode",
    "mode",
    type=click.Choice(["B", "C"]),
    default="C",
    show_default=True,
    help="Debian: whose splices are the evidence, C (system X with Y's library dropped in) or B "
    "(the newest release's system); also which mode's outcome records are used.",
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
    debian_sources: tuple[str, ...],
    releases: tuple[str, ...],
    cache: Path | None,
    programs: tuple[tuple[str, str], ...],
    predictors: tuple[str, ...],
    outcomes_path: Path | None,
    mode: str,
    validated_only: bool,
    fmt: str,
    system_dirs: tuple[str, ...],
    out_dir: Path | None,
) -> None:
    """Recommend can_splice lines (for package.py) and explicit splices (concretizer.yaml) for ARTIFACTS,
    or for Debian library families (--debian SOURCE, or --predictions of a 'splicelab run').

    A pair of builds (D_old -> D_new) is recommended when every dependent binary seen loading D_old
    works with D_new: by default the loader predictor says works and no type-level predictor says
    breaks (and no real run failed); with --validated-only every splice must have been run, all ok.
    A Debian family is one package whose versions are the releases' builds, whatever its packages are
    called; its lines are in Debian terms (docs/recommend.md). Spliced installs found in ARTIFACTS are
    checked as installed. Unreadable inputs are reported on stderr, the rest is used, and the exit code
    is then 1.
    """
    from splicelab import predict as registry
    from splicelab import recommend as core
    from splicelab import recommend_debian as families
    from splicelab.predict.engine import WorldOptions
    from splicelab.report.recommendations import RecordsError, load_records, render, write_all
    from splicelab.sources import SourceError, load_artifacts
    from splicelab.sources.system import load_system

    if not (artifacts or predictions_path or debian_sources):
        raise click.UsageError("give ARTIFACTS, --predictions DIR or --debian SOURCE")
    if artifacts and debian_sources:
        raise click.UsageError("--debian predicts Debian families: give no ARTIFACTS with it")
    console = Console(stderr=True, highlight=False)
    problems: list[str] = []
    errors: list[SourceError] = []
    arts = load_artifacts(artifacts, errors)
    system = load_system(system_dirs, errors) if system_dirs else None
    if system is not None:
        arts.append(system)
    problems += [str(e) for e in errors]
    options = WorldOptions(default_dirs=system_dirs)

    records: list | None = None
    predicted = False  # predictions made here (written to --out as predictions.json)
    source = "predictions (in-process)"
    if predictions_path is not None:
        try:
            records = load_records(predictions_path)
        except RecordsError as exc:
            raise click.ClickException(str(exc)) from None
        source = str(predictions_path)
        ran = predictions_path / "outcomes.json" if predictions_path.is_dir() else None
        if outcomes_path is None and ran is not None and ran.is_file():
            outcomes_path = ran  # a 'splicelab run' directory: its own outcomes
            console.print(f"outcomes: {ran}", markup=False, soft_wrap=True)
    if debian_sources:
        records = _debian_records(
            debian_sources,
            releases,
            cache,
            programs,
            predictors,
            mode=mode,
            records=records,
            problems=problems,
        )
        predicted = predictions_path is None
    elif records is None:
        from splicelab.predict.engine import predict as run

        records = [r.to_dict() for r in run(arts, predictors or registry.DEFAULT, options=options)]
        predicted = True
    debian = any(families.is_family_record(r) for r in records)

    index = None
    if outcomes_path is not None:
        try:
            raw = load_records(outcomes_path)
        except RecordsError as exc:
            raise click.ClickException(str(exc)) from None
        index, outcome_errors = core.index_outcomes(raw, mode=mode, source=str(outcomes_path))
        problems += outcome_errors
    elif validated_only:
        raise click.UsageError(
            "--validated-only needs --outcomes FILE (or a run directory with outcomes.json)"
        )

    if debian:
        report = families.recommend_families(
            records, index, mode=mode, validated_only=validated_only, source=source
        )
    else:
        spliced = core.check_spliced_installs(options.build(arts))
        report = core.recommend(records, arts, index, validated_only=validated_only, spliced=spliced)
        report.errors = [e.replace("predictions.json", source, 1) for e in report.errors]
    problems += report.errors

    click.echo(render(report, fmt), nl=False)
    if out_dir is not None:
        written = write_all(report, out_dir, predictions=records if predicted else None)
        console.print("wrote " + ", ".join(str(p) for p in written), markup=False, soft_wrap=True)
    for p in problems:
        console.print(f"error: {p}", markup=False, soft_wrap=True)
    tail = (
        f"{len(report.not_dependents)} binaries left out (they do not load it)"
        if debian
        else f"{sum(s.status == 'broken' for s in report.spliced)} of {len(report.spliced)} spliced "
        "installs broken"
    )
    console.print(
        f"{len(report.accepted)} build pairs recommended, {len(report.refused)} refused; "
        f"{len(report.recommendations)} can_splice lines, {len(report.explicit)} explicit splices; {tail}",
        markup=False,
    )
    if problems:
        sys.exit(1)


def _debian_records(
    sources: tuple[str, ...],
    releases: tuple[str, ...],
    cache: Path | None,
    programs: tuple[tuple[str, str], ...],
    predictors: tuple[str, ...],
    *,
    mode: str,
    records: list | None,
    problems: list[str],
) -> list:
    """The families' predictions in ``mode`` (made here unless ``records`` were read), each marked
    with whether its program loads the family at all (``loads``)."""
    from splicelab import predict as registry
    from splicelab.predict.families import predict_families
    from splicelab.recommend_debian import annotate_loads, family_loads
    from splicelab.sources.debian import default_cache, fetch_debian

    dset = fetch_debian(list(sources), releases, cache or default_cache() / "debian", list(programs) or None)
    problems += dset.errors
    missing = [s for s in sources if not dset.families.get(s)]
    if missing:
        raise click.ClickException(f"no release has a shared-library package of {', '.join(missing)}")
    if records is None:
        records = [
            p.to_dict()
            for p in predict_families(
                dset, predictors or registry.DEFAULT, modes=(mode,), sources=sources, errors=problems
            )
        ]
    return annotate_loads(records, family_loads(dset, (mode,), sources))
