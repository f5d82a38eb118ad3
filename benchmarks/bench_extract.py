"""How fast is the dynamic view read? splicelab.elf against readelf and pyelftools, on the same files.

Every ELF file under the given directories (default /usr/lib/x86_64-linux-gnu) is read by

* splicelab: ``splicelab.elf.read_corpus`` (a complete Corpus per file);
* readelf, one process per file: ``readelf --dyn-syms -d -V -W FILE`` (text to a pipe, not parsed);
* readelf batched: the same with ``--batch`` files per process (text not parsed);
* pyelftools: header, PT_INTERP, dynamic tags, .dynsym with versions (the same content as a Corpus).

Each tool runs over the files after one untimed pass that warms the page cache (splicelab best of three,
the others once). Printed: wall and CPU seconds (this process plus its readelf children), and per CPU
second files/s, MB/s and symbols/s (symbols: splicelab's count of the same files), and how many times
faster splicelab is. CPU time keeps the ratios honest on a machine busy with other work.

    python benchmarks/bench_extract.py                       # /usr/lib/x86_64-linux-gnu, all tools
    python benchmarks/bench_extract.py DIR... --sample 300   # every k-th file, 300 files
    python benchmarks/bench_extract.py --skip-pyelftools     # pyelftools takes minutes on big trees
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from splicelab.elf import ELFError, read_corpus
from splicelab.walk import walk

READELF_ARGS = ["--dyn-syms", "-d", "-V", "-W"]


def run_splicelab(files: Sequence[str]) -> int:
    symbols = 0
    for path in files:
        with contextlib.suppress(ELFError):
            symbols += len(read_corpus(path).symbols)
    return symbols


def run_readelf_each(files: Sequence[str]) -> int:
    readelf = shutil.which("readelf") or "readelf"
    for path in files:
        subprocess.run([readelf, *READELF_ARGS, path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return 0


def run_readelf_batched(files: Sequence[str], batch: int) -> int:
    readelf = shutil.which("readelf") or "readelf"
    for i in range(0, len(files), batch):
        subprocess.run(
            [readelf, *READELF_ARGS, *files[i : i + batch]], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    return 0


def run_pyelftools(files: Sequence[str]) -> int:
    from elftools.common.exceptions import ELFError as PyELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection
    from elftools.elf.sections import SymbolTableSection

    symbols = 0
    for path in files:
        try:
            with open(path, "rb") as f:
                elf = ELFFile(f)
                view: dict[str, Any] = {"header": dict(elf.header), "interp": None, "tags": []}
                for seg in elf.iter_segments():
                    if seg["p_type"] == "PT_INTERP":
                        view["interp"] = seg.get_interp_name()
                versions: dict[int, str] = {}
                versym = dynsym = None
                for sec in elf.iter_sections():
                    if isinstance(sec, DynamicSection):
                        view["tags"] = [(t.entry.d_tag, t.entry.d_val) for t in sec.iter_tags()]
                    elif isinstance(sec, GNUVerDefSection):
                        for vd, aux in sec.iter_versions():
                            versions[vd["vd_ndx"]] = next(iter(aux)).name
                    elif isinstance(sec, GNUVerNeedSection):
                        for _vn, auxes in sec.iter_versions():
                            for a in auxes:
                                versions[a["vna_other"]] = a.name
                    elif isinstance(sec, GNUVerSymSection):
                        versym = sec
                    elif isinstance(sec, SymbolTableSection) and sec["sh_type"] == "SHT_DYNSYM":
                        dynsym = sec
                if dynsym is not None:
                    out = []
                    for i, sym in enumerate(dynsym.iter_symbols()):
                        ndx = versym.get_symbol(i)["ndx"] if versym is not None else 0
                        version = versions.get(ndx & 0x7FFF) if isinstance(ndx, int) else None
                        out.append(
                            (
                                sym.name,
                                sym["st_info"]["type"],
                                sym["st_info"]["bind"],
                                sym["st_other"]["visibility"],
                                sym["st_size"],
                                sym["st_shndx"],
                                version,
                            )
                        )
                    symbols += max(0, len(out) - 1)
        except (PyELFError, ValueError, KeyError):
            pass
    return symbols


def _cpu() -> float:
    """CPU seconds of this process and its finished children (readelf runs as children)."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], int], repeat: int = 1) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, result) of the best of ``repeat`` runs (by CPU time)."""
    best: tuple[float, float, int] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        n = fn()
        run = (time.perf_counter() - wall, _cpu() - cpu, n)
        if best is None or run[1] < best[1]:
            best = run
    assert best is not None
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("roots", nargs="*", default=["/usr/lib/x86_64-linux-gnu"])
    parser.add_argument("--sample", type=int, default=0, help="use every k-th file, about N files in all")
    parser.add_argument("--batch", type=int, default=200, help="files per readelf call when batched")
    parser.add_argument("--skip-pyelftools", action="store_true")
    parser.add_argument("--skip-readelf-each", action="store_true")
    args = parser.parse_args(argv)

    files = [e.path for e in walk(args.roots) if e.error is None]
    if args.sample and len(files) > args.sample:
        step = len(files) / args.sample
        files = [files[int(i * step)] for i in range(args.sample)]
    if not files:
        print("no ELF files found", file=sys.stderr)
        return 1
    size = 0
    for path in files:
        with open(path, "rb") as f:
            size += len(f.read())  # also warms the page cache for every tool alike
    mb = size / 1e6

    wall, cpu, symbols = timed(lambda: run_splicelab(files), repeat=3)
    runs: list[tuple[str, float, float]] = [("splicelab.elf", wall, cpu)]
    print(
        f"{len(files):,} ELF files, {mb:,.1f} MB, {symbols:,} dynamic symbols under {', '.join(args.roots)}"
    )
    if shutil.which("readelf"):
        label = f"readelf batched ({args.batch}/call)"
        runs.append((label, *timed(lambda: run_readelf_batched(files, args.batch))[:2]))
        if not args.skip_readelf_each:
            runs.append(("readelf per file", *timed(lambda: run_readelf_each(files))[:2]))
    if not args.skip_pyelftools:
        runs.append(("pyelftools", *timed(lambda: run_pyelftools(files))[:2]))

    print("rates per CPU second (this process + its readelf children), so a busy machine skews them less")
    print(
        f"{'tool':<28} {'wall s':>8} {'CPU s':>8} {'files/s':>9} {'MB/s':>8} {'symbols/s':>11}"
        f" {'splicelab':>10}"
    )
    for name, w, c in runs:
        ratio = "" if name == "splicelab.elf" else f"{c / cpu:,.1f}x"
        print(
            f"{name:<28} {w:>8.2f} {c:>8.2f} {len(files) / c:>9,.0f} {mb / c:>8,.1f} {symbols / c:>11,.0f}"
            f" {ratio:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
