"""``splicelab validate``: perform splices for real, hermetically, and classify the outcomes."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from splicelab.cli._options import parallel_options


@click.command()
@click.argument("artifacts", nargs=-1, type=click.Path(path_type=Path))
@click.option("--debian", "debian", multiple=True, metavar="PACKAGE",
              help="Debian source package to splice across releases.")  # fmt: skip
@click.option("--releases", default="bullseye,bookworm,trixie,sid", show_default=True)
@click.option(
    "--modes", default="B,C", show_default=True, help="Debian modes: B (pure interface), C (system X)."
)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Debian cache directory (as for 'fetch debian').")  # fmt: skip
@click.option("--dependency", "-d", default=None, help="For ARTIFACTS: the library package to swap (zlib).")
@click.option("--binary", "binaries", multiple=True, help="For ARTIFACTS: only these binaries' packages.")
@click.option(
    "--method",
    type=click.Choice(["auto", "hermetic", "preload", "rewire"]),
    default="auto",
    show_default=True,
    help="auto: hermetic for Debian, preload for ARTIFACTS (DT_RPATH).",
)
@click.option("--smoke", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="TOML/YAML file with smoke commands and inputs (adds to the built-ins).")  # fmt: skip
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per command.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Splices run side by side in each process (here, or in each Dask worker).")  # fmt: skip
@click.option(
    "--no-isolation", is_flag=True, help="Do not use namespaces/chroot (leaks are then only detected)."
)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("outcomes.json"),
              show_default=True, help="outcomes.json to write.")  # fmt: skip
@parallel_options
def validate(
    artifacts: tuple[Path, ...],
    debian: tuple[str, ...],
    releases: str,
    modes: str,
    cache: Path | None,
    dependency: str | None,
    binaries: tuple[str, ...],
    method: str,
    smoke: Path | None,
    timeout: float,
    jobs: int,
    no_isolation: bool,
    out: Path,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Perform every splice for real and classify what happened.

    Either --debian PACKAGE... (each program release X with each library release Y, modes B and C), or
    ARTIFACTS (Spack install roots, prefixes, artifacts JSON) with --dependency: every binary that links
    it, with every build of it. Inputs that cannot be read are reported and the rest is validated; the
    exit code is then 1. With --scheduler or --workers the splices run on Dask workers (which must see
    the same paths), each in its own sandboxes; the outcomes are the same, in the same order.
    """
    from splicelab.parallel import make_executor
    from splicelab.validate import validate as run
    from splicelab.validate.sandbox import namespaces_available
    from splicelab.validate.smoke import SmokeConfigError, load

    if not debian and not artifacts:
        raise click.UsageError("give --debian PACKAGE... or ARTIFACTS with --dependency")
    if artifacts and not dependency:
        raise click.UsageError("ARTIFACTS need --dependency (the library to swap)")
    try:
        config = load(smoke)
    except SmokeConfigError as exc:
        raise click.UsageError(str(exc)) from None
    console = Console(stderr=True)
    errors: list[str] = []
    pairs: list[Any] = []
    if debian:
        from splicelab.sources.debian import default_cache, fetch_debian
        from splicelab.validate.debian import debian_jobs

        rels = [r.strip() for r in releases.split(",") if r.strip()]
        with console.status("fetching Debian releases"):
            dset = fetch_debian(list(debian), rels, cache or default_cache() / "debian")
        errors += dset.errors
        mode_list = [m.strip().upper() for m in modes.split(",") if m.strip()]
        bad = [m for m in mode_list if m not in ("B", "C")]
        if bad:
            raise click.UsageError(f"--modes: unknown mode(s) {', '.join(bad)} (B or C)")
        m = "hermetic" if method == "auto" else method
        pairs += list(debian_jobs(dset, mode_list, method=m))
    if artifacts:
        from splicelab.sources import SourceError, load_artifacts
        from splicelab.validate.spack import spack_jobs

        errs: list[SourceError] = []
        arts = load_artifacts(list(artifacts), errors=errs)
        errors += [str(e) for e in errs]
        m = "preload" if method == "auto" else method
        pairs += list(spack_jobs(arts, dependency or "", method=m, binaries=binaries or None))
    if not namespaces_available() and not no_isolation:
        console.print(
            "[yellow]warning:[/] namespaces unavailable: running unisolated, leaks are only detected"
        )
    outcomes: list[dict[str, Any]] = []
    with Progress(TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as bar:  # fmt: skip
        task = bar.add_task("splices", total=len(pairs))
        with make_executor(scheduler=scheduler, workers=workers) as executor:
            for o in run(pairs, smoke=config, workers=jobs, timeout=timeout, isolate=not no_isolation,
                         executor=executor):  # fmt: skip
                outcomes.append(o)
                bar.advance(task)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outcomes, indent=1))
    counts = Counter(o["class"] for o in outcomes)
    table = Table(title=f"{len(outcomes)} splices")
    table.add_column("class")
    table.add_column("count", justify="right")
    for k, v in counts.most_common():
        table.add_row(k, str(v))
    console.print(table)
    console.print(f"→ {out}")
    for e in errors:
        click.echo(f"error: {e}", err=True)
    if errors:
        sys.exit(1)
