"""Analyze files: each path in, one result out (its corpus, or the reason it could not be read).

``analyze_files`` is a pure function of its input: no global state, results in input order, so it can
run as is over partitions of a file list on a Dask cluster (``analyze_partition`` is the
``splicelab.parallel`` seam) and give the same output as a run in this process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from splicelab.corpus import Corpus
from splicelab.elf import ELFError, read_corpus
from splicelab.walk import WalkEntry

__all__ = ["AnalyzeOptions", "FileResult", "Summary", "analyze_file", "analyze_files", "analyze_partition"]


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """How results are labelled: ``relative`` records paths relative to the directory argument."""

    relative: bool = False


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's outcome: ``corpus`` when it was read, else ``error`` (one line naming the file)."""

    path: str
    corpus: Corpus | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.corpus is not None


def analyze_file(entry: WalkEntry | str, options: AnalyzeOptions | None = None) -> FileResult:
    """Read one file (a walk entry or a plain path)."""
    if isinstance(entry, str):
        entry = WalkEntry(entry, entry)
    if entry.error is not None:
        return FileResult(entry.path, error=entry.error)
    label = entry.relpath if options is not None and options.relative else entry.path
    try:
        return FileResult(entry.path, corpus=read_corpus(entry.path, label))
    except ELFError as exc:
        return FileResult(entry.path, error=str(exc))


def analyze_files(
    entries: Iterable[WalkEntry | str], options: AnalyzeOptions | None = None
) -> Iterator[FileResult]:
    """One result per entry, in the order given."""
    for entry in entries:
        yield analyze_file(entry, options)


def analyze_partition(
    partition: Sequence[WalkEntry | str], context: AnalyzeOptions | None
) -> list[FileResult]:
    """``splicelab.parallel`` partition function: ``analyze_files`` over one partition."""
    return list(analyze_files(partition, context))


@dataclass(slots=True)
class Summary:
    """Running totals over results: files seen, ELF files read, errors, symbols, bytes, seconds."""

    files: int = 0
    elf: int = 0
    errors: int = 0
    symbols: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def add(self, result: FileResult) -> None:
        self.files += 1
        if result.corpus is not None:
            self.elf += 1
            self.symbols += len(result.corpus.symbols)
            self.bytes += result.corpus.size
        else:
            self.errors += 1

    def line(self) -> str:
        mb = self.bytes / 1e6
        rate = f", {self.files / self.seconds:,.0f} files/s" if self.seconds > 0 else ""
        return (
            f"{self.files:,} files, {self.elf:,} ELF, {self.errors:,} errors, {self.symbols:,} symbols, "
            f"{mb:,.1f} MB in {self.seconds:.2f} s{rate}"
        )
