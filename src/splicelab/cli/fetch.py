"""``splicelab fetch debian``: a runtime per Debian release for source packages and their programs."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from splicelab.cli._options import debian_options


@click.group()
def fetch() -> None:
    """Fetch artifacts from a package archive."""


@fetch.command()
@click.argument("packages", nargs=-1, required=True)
@debian_options
@click.option("--mirror", default=None, help="Debian archive URI (default: the one this machine's apt uses).")
@click.option("--security", is_flag=True, help="Also <release>-updates and <release>-security.")
@click.option("--refresh", is_flag=True, help="Refresh the apt lists even if less than a day old.")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Artifacts JSON to write (default: <cache>/artifacts.json).",
)
def debian(
    packages: tuple[str, ...],
    releases: tuple[str, ...],
    cache: Path | None,
    programs: tuple[tuple[str, str], ...],
    mirror: str | None,
    security: bool,
    refresh: bool,
    out: Path | None,
) -> None:
    """Fetch Debian source PACKAGES (curl, libxml2, zlib…): their libraries, programs and runtime closure.

    Each release becomes a root of its own (<cache>/<release>/root) with its own loader and glibc.
    """
    from splicelab.sources.debian import default_cache, fetch_debian, write_artifacts

    cache = cache or default_cache() / "debian"
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("fetching", total=None)
        dset = fetch_debian(
            list(packages),
            releases,
            cache,
            list(programs) or None,
            mirror=mirror,
            security=security,
            refresh=refresh,
            progress=lambda name: bar.update(task, description=f"unpacked {name}"),
        )
    target = out or cache / "artifacts.json"
    write_artifacts(dset.artifacts, target)
    table = Table(title="Debian families")
    for col in ("source", "release", "libraries", "programs"):
        table.add_column(col)
    for source, per in sorted(dset.families.items()):
        for rel, fam in sorted(per.items()):
            libs = ", ".join(f"{n} {dset.releases[rel].packages[n]['version']}" for n in fam.libraries
                             if n in dset.releases[rel].packages)  # fmt: skip
            table.add_row(source, rel, libs, ", ".join(f"{p}:{path}" for p, path in fam.programs))
    console.print(table)
    for rel, r in dset.releases.items():
        console.print(f"{rel}: {len(r.packages)} packages in {r.root}")
    console.print(f"{len(dset.artifacts)} artifacts → {target}")
    for err in dset.errors:
        click.echo(f"error: {err}", err=True)
    if dset.errors:
        sys.exit(1)
