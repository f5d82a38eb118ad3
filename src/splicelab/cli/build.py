"""``splicelab build``: build every version of a package with every compiler through Spack, record it."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

import click

from splicelab.build.records import FAILED, Job
from splicelab.build.schedule import DurationModel, plan_chunks
from splicelab.build.spack import Spack, SpackError, SpackNotFoundError
from splicelab.build.state import BuildState, StateError
from splicelab.matrix.labels import ALL, format_compilers

EXIT_FAILED = 1
EXIT_NO_SPACK = 2
EXIT_OUT_OF_TIME = 3
EXIT_INTERRUPTED = 130


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


_ALIASES = {"clang": "llvm", "llvm": "clang"}  # Spack 1.0 names clang as the package llvm


def match_compilers(requested: list[str], found: list[str]) -> tuple[list[str], list[str]]:
    """``(matched, unknown)``: ``gcc`` matches every gcc, ``gcc@12`` matches ``gcc@12.2.0``."""
    if not requested or ALL in requested:
        return list(found), []
    matched: dict[str, None] = {}
    unknown = []
    for want in requested:
        name, _, version = want.partition("@")
        hits = []
        for have in found:
            hname, _, hversion = have.partition("@")
            if hname not in (name, _ALIASES.get(name)):
                continue
            if not version or hversion == version or hversion.startswith(version + "."):
                hits.append(have)
        if hits:
            matched.update(dict.fromkeys(hits))
        else:
            unknown.append(want)
    return list(matched), unknown


def _raise_on_term(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command()
@click.argument("package", required=False)
@click.option(
    "--versions", multiple=True, help="Versions (comma-separated); default: `spack versions --safe`."
)
@click.option("--compilers", multiple=True, help="Compilers (comma-separated) or 'all' (default).")
@click.option("--variants", default="", help="Extra spec text for every build, e.g. '+shared cflags=-O2'.")
@click.option("--monitor", "monitor_url", help="Monitor server URL (ms1 protocol) to upload builds to.")
@click.option("--tag", "tags", multiple=True, help="Tag for the uploaded builds (repeatable).")
@click.option(
    "--time-limit", type=float, help="Seconds this run may take; stops before a build that won't fit."
)
@click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), help="Resume state file."
)
@click.option(
    "--install-arg", "install_args", multiple=True, help="Extra `spack install` argument (repeatable)."
)
@click.option(
    "--log-dir", type=click.Path(file_okay=False, path_type=Path), help="Keep each install's output here."
)
@click.option("--retry-failed", is_flag=True, help="Run builds again that failed in an earlier run.")
@click.option("--plan", is_flag=True, help="Print the builds cut into --time-limit chunks (JSON) and stop.")
@click.option(
    "--list-compilers", is_flag=True, help="Find compilers, print them as the image label (a|b|), stop."
)
def build(
    package: str | None,
    versions: tuple[str, ...],
    compilers: tuple[str, ...],
    variants: str,
    monitor_url: str | None,
    tags: tuple[str, ...],
    time_limit: float | None,
    state_path: Path | None,
    install_args: tuple[str, ...],
    log_dir: Path | None,
    retry_failed: bool,
    plan: bool,
    list_compilers: bool,
) -> None:
    """Build PACKAGE: each version x compiler with `spack install`, recorded, analysed, uploaded."""
    options = dict(locals())
    previous = signal.signal(signal.SIGTERM, _raise_on_term)  # a killed job stops Spack and saves state
    try:
        _build(**options)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _build(
    package: str | None,
    versions: tuple[str, ...],
    compilers: tuple[str, ...],
    variants: str,
    monitor_url: str | None,
    tags: tuple[str, ...],
    time_limit: float | None,
    state_path: Path | None,
    install_args: tuple[str, ...],
    log_dir: Path | None,
    retry_failed: bool,
    plan: bool,
    list_compilers: bool,
) -> None:
    try:
        spack = Spack.locate()
    except SpackNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_NO_SPACK)
    try:
        found = spack.find_compilers()
    except SpackError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if list_compilers:
        click.echo(format_compilers(found))
        return
    if not package:
        raise click.UsageError("PACKAGE is required (unless --list-compilers)")
    chosen, unknown = match_compilers(_split(compilers), found)
    for want in unknown:
        click.echo(
            f"error: compiler {want!r} is not known to Spack (found: {', '.join(found) or 'none'})", err=True
        )
    if not chosen:
        click.echo("error: no compiler to build with", err=True)
        sys.exit(EXIT_FAILED)
    try:
        wanted_versions = _split(versions) or spack.versions(package, safe=True)
    except SpackError as exc:
        click.echo(f"error: {package}: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    if not wanted_versions:
        click.echo(f"error: Spack knows no versions of {package!r}", err=True)
        sys.exit(EXIT_FAILED)
    jobs = [Job(package, v, c, variants) for v in wanted_versions for c in chosen]
    try:
        state = BuildState.load(state_path) if state_path else BuildState()
    except StateError as exc:
        raise click.UsageError(str(exc)) from None

    if plan:
        if time_limit is None:
            raise click.UsageError("--plan needs --time-limit")
        model = DurationModel.from_records(state.records.values())
        todo = state.pending(jobs, retry_failed=retry_failed)
        chunks = plan_chunks(todo, model, time_limit)
        doc = [
            {"estimate": sum(model.estimate(j) for j in c), "jobs": [j.to_dict() for j in c]} for c in chunks
        ]
        click.echo(json.dumps(doc, indent=1))
        return

    from splicelab.build.runner import Runner  # imports the ELF reader and the sources

    monitor = None
    if monitor_url:
        from splicelab.build.ms1 import connect_monitor

        monitor = connect_monitor(monitor_url, spack_version=spack.version())
    runner = Runner(
        spack,
        state,
        monitor=monitor,
        tags=tags,
        time_limit=time_limit,
        install_args=install_args,
        log_dir=log_dir,
        retry_failed=retry_failed,
        echo=click.echo,
    )
    result = runner.run(jobs)
    done = [r for r in state.finished() if r.job in jobs]
    failed = [r for r in state.records.values() if r.status == FAILED and r.job in jobs]
    click.echo(f"{len(done)} built, {len(failed)} failed, {len(result.remaining)} remaining")
    for record in failed:
        click.echo(f"  failed: {record.job.spec}: {(record.error or '').splitlines()[0][:200]}", err=True)
    if result.remaining:
        hint = f" (run again with --state {state_path} to continue)" if state_path else ""
        click.echo(f"remaining{hint}:")
        for job in result.remaining:
            click.echo(f"  {job.spec}")
    if result.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if result.stopped_for_time:
        sys.exit(EXIT_OUT_OF_TIME)
    if failed or unknown:
        sys.exit(EXIT_FAILED)
