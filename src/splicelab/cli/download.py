"""``splicelab download``: a package's builds and their analysis results, for local prediction."""

from __future__ import annotations

from pathlib import Path

import click

from splicelab.cli.upload import monitor_options


def _default_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("splicelab")) / "monitor"


@click.command()
@click.argument("package")
@click.option(
    "--dir",
    "dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to keep the cache and the artifacts JSON [default: the user cache dir, monitor/].",
)
@monitor_options
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def download(
    package: str, dest: Path | None, host: str, user: str | None, token: str | None, quiet: bool
) -> None:
    """Download every build of PACKAGE and of the packages it links with, with their corpora, from the
    monitor (spack monitor API); write DIR/PACKAGE.artifacts.json for ``splicelab predict``.

    Resumable: results already in DIR are not fetched again.
    """
    from splicelab.client import MonitorError, connect
    from splicelab.client.download import download as fetch

    dest = dest or _default_dir()
    ms1, _ = connect(host, user, token)

    def progress(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    try:
        report = fetch(ms1, package, dest, progress)
    except MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PACKAGE") from None
    finally:
        ms1.transport.close()
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    click.echo(
        f"{report.specs} specs, {report.results} results ({report.fetched} fetched, {report.cached} cached), "
        f"{report.artifacts} artifacts"
    )
    click.echo(str(report.artifacts_file))
