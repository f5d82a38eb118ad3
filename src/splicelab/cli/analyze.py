"""``splicelab analyze``: the corpus (dynamic view) of every ELF file under the given paths."""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from typing import IO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from splicelab.analyze import AnalyzeOptions, FileResult, Summary, analyze_partition
from splicelab.cli._options import parallel_options
from splicelab.corpus import to_symbolator
from splicelab.parallel import make_executor
from splicelab.walk import WalkStats, walk


class _Writer:
    """Streams results out: JSON lines (ours) or one JSON list (symbolator's shape)."""

    def __init__(self, stream: IO[str], fmt: str) -> None:
        self.stream = stream
        self.fmt = fmt
        self.count = 0
        if fmt == "symbolator":
            stream.write("[")

    def write(self, result: FileResult) -> None:
        corpus = result.corpus
        if corpus is None:
            return
        if self.fmt == "symbolator":
            doc = to_symbolator(corpus, corpus.name)
            self.stream.write(("\n" if self.count == 0 else ",\n") + json.dumps(doc, separators=(",", ":")))
        else:
            self.stream.write(json.dumps(corpus.to_dict(), separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if self.fmt == "symbolator":
            self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=str),
    default=None,
    help="Write here instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ours", "symbolator"]),
    default="ours",
    show_default=True,
    help="ours: JSON lines of splicelab.corpus/1; symbolator: one JSON list as symbolator wrote it.",
)
@click.option(
    "--relative", is_flag=True, help="Record each path relative to the directory argument it was found under."
)
@parallel_options
def analyze(
    paths: tuple[str, ...],
    out: str | None,
    fmt: str,
    relative: bool,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Read the dynamic view of every ELF file under PATH... (files or directories).

    Directories are walked recursively (symlinks followed, each file once; files that are not ELF are
    skipped). Each file that cannot be read is reported on stderr; the exit code is then 1.
    """
    console = Console(stderr=True, highlight=False)
    started = time.perf_counter()
    stats = WalkStats()
    with console.status("finding ELF files…", spinner="dots") if console.is_terminal else nullcontext():
        entries = list(walk(paths, stats))

    try:
        stream: IO[str] = open(out, "w", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise click.UsageError(f"--out {out}: {exc.strerror or exc}") from None

    summary = Summary()
    writer = _Writer(stream, fmt)
    progress = Progress(
        TextColumn("analyze"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    try:
        with progress, make_executor(scheduler=scheduler, workers=workers) as executor:
            task = progress.add_task("analyze", total=len(entries))
            results = executor.map_partitions(
                analyze_partition,
                entries,
                context=AnalyzeOptions(relative=relative),
                progress=lambda n: progress.advance(task, n),
            )
            for result in results:
                summary.add(result)
                if result.error is not None:
                    progress.console.print(f"error: {result.error}", markup=False, soft_wrap=True)
                writer.write(result)
    finally:
        writer.close()
        if out:
            stream.close()
    summary.seconds = time.perf_counter() - started
    skipped = f" ({stats.not_elf:,} files that are not ELF skipped)" if stats.not_elf else ""
    console.print(f"analyzed {summary.line()}{skipped}", markup=False, soft_wrap=True)
    if summary.errors:
        sys.exit(1)
