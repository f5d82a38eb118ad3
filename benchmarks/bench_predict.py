"""How fast are the predictors? Pairs per second of ``loader`` and of the seed's ``symbols``.

The pairs come from real corpora: every program in /usr/bin x every library its closure loads x every
other library of the same soname family (``libz.so.1`` → ``libz``) found on this machine or in
../shared/fixtures (the Spack trees), and in the Debian release trees ``splicelab fetch debian`` left in
its cache (or .cache/debian) when present. Each library file is an artifact of its own, named by its
family, so :func:`splicelab.splices.enumerate_splices` yields exactly those pairs. Then the pair list is
repeated up to ``--pairs`` (default one million) and
run on ``--workers`` processes (default: every core), each forked with the warm world.

    python benchmarks/bench_predict.py                 # the full run
    python benchmarks/bench_predict.py --pairs 200000 --workers 1

The older ``spliced`` tool took 0.5-0.9 s per pair.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.corpus import Corpus
from splicelab.link import World
from splicelab.predict.base import Predictor, Splice
from splicelab.predict.loader import LoaderPredictor
from splicelab.sources.files import read_tree
from splicelab.splices import enumerate_splices

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO / ".." / "shared").resolve()
HOST_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib")
HOST_BIN = "/usr/bin"


def family(corpus: Corpus, relpath: str) -> str:
    """``libz.so.1`` → ``libz``: the name a library keeps across versions."""
    name = corpus.soname or os.path.basename(relpath)
    return name.split(".so")[0]


def split_libraries(
    root: Path,
    files: dict[str, Corpus],
    aliases: dict[str, str],
    *,
    version: str,
    build: str,
    recorded: str | None,
) -> list[Artifact]:
    """One artifact per shared library of ``files``, named by its family."""
    out = []
    for rel, c in sorted(files.items()):
        if not c.is_library:
            continue
        own = {a: t for a, t in aliases.items() if t == rel}
        out.append(
            Artifact(
                name=family(c, rel),
                version=version,
                build_id=f"{build}:{rel}",
                root=root,
                files={rel: c},
                recorded_root=recorded,
                metadata={"aliases": own},
            )
        )
    return out


def host_artifacts() -> tuple[list[Artifact], list[Artifact]]:
    """(programs of /usr/bin, libraries of the host's library directories)."""
    libs: list[Artifact] = []
    for d in HOST_LIB_DIRS:
        tree = read_tree(Path(d), skip_dirs=(), recursive=False)
        rel = d.lstrip("/")
        files = {f"{rel}/{p}": c for p, c in tree.files.items()}
        aliases = {f"{rel}/{a}": f"{rel}/{t}" for a, t in tree.aliases.items()}
        libs += split_libraries(Path("/"), files, aliases, version="host", build="host", recorded=None)
    tree = read_tree(Path(HOST_BIN), skip_dirs=(), recursive=False)
    programs = [
        Artifact(
            name=f"program:{p}",
            version="host",
            build_id=f"host:{p}",
            root=Path("/"),
            files={f"usr/bin/{p}": c},
        )
        for p, c in sorted(tree.files.items())
        if c.is_executable and c.needed
    ]
    return programs, libs


def fixture_artifacts() -> list[Artifact]:
    """The Spack fixture trees' libraries, one artifact per library, named by family."""
    from splicelab.sources.spack import load_root

    out: list[Artifact] = []
    for tree in ("spack-1.0", "spack-0.23"):
        root = SHARED / "fixtures" / tree / "opt"
        if not root.is_dir():
            continue
        errors: list[Any] = []
        for a in load_root(root, errors):
            aliases = dict(a.metadata.get("aliases", {}))
            out += split_libraries(
                a.root, a.files, aliases, version=a.version, build=a.build_id, recorded=a.recorded_root
            )
    return out


def debian_roots() -> list[Path]:
    """Release roots fetched by ``splicelab fetch debian`` (its cache, or .cache/debian here)."""
    from splicelab.sources.debian import default_cache

    roots = []
    for base in (REPO / ".cache" / "debian", default_cache() / "debian"):
        if base.is_dir():
            roots += [p / "root" for p in sorted(base.iterdir()) if (p / "root").is_dir()]
    return roots


def debian_artifacts() -> list[Artifact]:
    """Libraries of the Debian release trees (when any are present), one artifact per library."""
    out: list[Artifact] = []
    for root in debian_roots():
        release = root.parent.name
        d = "usr/lib/x86_64-linux-gnu"
        if (root / d).is_dir():
            tree = read_tree(root / d, skip_dirs=(), recursive=False)
            files = {f"{d}/{p}": c for p, c in tree.files.items()}
            aliases = {f"{d}/{a}": f"{d}/{t}" for a, t in tree.aliases.items()}
            out += split_libraries(root, files, aliases, version=release, build=release, recorded=None)
    return out


# --- the timed loops ---------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _worker(args: tuple[int, int, int]) -> tuple[int, float, Counter[str]]:
    """Run pairs ``start, start + step, ...`` (``count`` of them) of the repeated list."""
    start, step, count = args
    world: World = _STATE["world"]
    pairs: Sequence[Splice] = _STATE["pairs"]
    predictor: Predictor = _STATE["predictor"]
    n = len(pairs)
    verdicts: Counter[str] = Counter()
    t = time.process_time()
    i = start
    for _ in range(count):
        verdicts[predictor.predict(pairs[i % n], world).verdict.value] += 1
        i += step
    return count, time.process_time() - t, verdicts


def timed(
    predictor: Predictor, world: World, pairs: Sequence[Splice], limit: float | None = None
) -> tuple[int, float]:
    """One pass over ``pairs`` (stopping after ``limit`` seconds): (pairs done, seconds)."""
    t = time.perf_counter()
    done = 0
    for s in pairs:
        predictor.predict(s, world)
        done += 1
        if limit is not None and done % 64 == 0 and time.perf_counter() - t > limit:
            break
    return done, time.perf_counter() - t


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1_000_000, help="pairs for the scaled loader run")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the scaled run")
    ap.add_argument("--symbols-seconds", type=float, default=60.0, help="time budget of the symbols pass")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    programs, libs = host_artifacts()
    fixtures = fixture_artifacts()
    debian = debian_artifacts()
    t_read = time.perf_counter() - t0
    n_files = sum(len(a.files) for a in (*programs, *libs, *fixtures, *debian))
    print(
        f"corpora: {n_files} files read in {t_read:.1f} s "
        f"({len(programs)} programs, {len(libs)} host libraries, {len(fixtures)} fixture libraries, "
        f"{len(debian)} Debian libraries)"
    )

    t0 = time.perf_counter()
    world = World([*programs, *libs, *fixtures, *debian], default_dirs=HOST_LIB_DIRS)
    t_world = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = list(enumerate_splices(world, programs))
    t_enum = time.perf_counter() - t0
    if not pairs:
        print("no pairs: nothing to measure")
        return 1
    families = Counter(s.dependency for s in pairs)
    print(f"world: {t_world:.2f} s; enumeration (closures of {len(programs)} programs): {t_enum:.2f} s")
    print(
        f"pairs: {len(pairs)} distinct, {len(families)} families (top: "
        + ", ".join(f"{f} {n}" for f, n in families.most_common(6))
        + ")"
    )

    loader = LoaderPredictor()
    done, cold = timed(loader, world, pairs)
    # the world is read-only from here: keep the collector off its millions of objects (and the forked
    # workers from copying every page the collector would touch)
    gc.freeze()
    verdicts = Counter(loader.predict(s, world).verdict.value for s in pairs)
    # best of three warm passes: the machine's other load only ever adds time
    done, warm = min((timed(loader, world, pairs) for _ in range(3)), key=lambda r: r[1])
    fast = sum(1 for s in pairs if world.splice(s.binary, s.file, s.dependency, s.replacement).fast)
    sample = random.Random(0).sample(pairs, min(300, len(pairs)))
    agree = sum(
        [p.key for p in world.splice(s.binary, s.file, s.dependency, s.replacement).new]
        == [p.key for p in world.splice_slow(s.binary, s.file, s.dependency, s.replacement).new]
        for s in sample
    )
    print(f"incremental vs full reload of the spliced closure: {agree}/{len(sample)} sampled pairs agree")
    print(
        f"loader, one core (CPU time): cold {cold / done * 1e6:.1f} us/pair (closures and baselines built), "
        f"warm (best of 3) {warm / done * 1e6:.1f} us/pair = {done / warm:,.0f} pairs/s; "
        f"incremental path {fast / len(pairs):.0%}; verdicts {dict(verdicts)}"
    )

    symbols_rate = None
    try:
        from splicelab.predict.symbols import SymbolsPredictor
    except ImportError:
        print("symbols: splicelab.predict.symbols not present, column skipped")
    else:
        sym = SymbolsPredictor()
        n, secs = timed(sym, world, pairs, limit=args.symbols_seconds)
        symbols_rate = n / secs
        print(
            f"symbols (seed), one core: {secs / n * 1e6:.1f} us/pair = {symbols_rate:,.0f} pairs/s "
            f"({n} of {len(pairs)} pairs)"
        )

    # scaled: the pair list repeated up to --pairs, on --workers forked processes sharing the warm world
    total, workers = args.pairs, max(1, args.workers)
    _STATE.update(world=world, pairs=pairs, predictor=loader)
    shares = [(w, workers, total // workers + (1 if w < total % workers else 0)) for w in range(workers)]
    t0 = time.perf_counter()
    if workers == 1:
        results = [_worker(shares[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_worker, shares)
    wall = time.perf_counter() - t0
    counted = sum(r[0] for r in results)
    busy = sum(r[1] for r in results)
    scaled = Counter[str]()
    for r in results:
        scaled.update(r[2])
    load = os.getloadavg()[0]
    print(
        f"loader, scaled: {counted:,} pairs on {workers} process(es), {os.cpu_count()} cores on this machine "
        f"(load average {load:.1f}): {wall:.1f} s wall = {counted / wall:,.0f} pairs/s; "
        f"{busy / counted * 1e6:.1f} us CPU/pair per process; verdicts {dict(scaled)}"
    )
    print()
    print("| predictor | us/pair (one core) | pairs/s (one core) |")
    print("|---|---|---|")
    print(f"| loader | {warm / done * 1e6:.1f} | {done / warm:,.0f} |")
    if symbols_rate is not None:
        print(f"| symbols (seed) | {1e6 / symbols_rate:.1f} | {symbols_rate:,.0f} |")
    print("| spliced (older tool, reported) | 500000-900000 | 1-2 |")
    print(
        f"\n1 M-pair target (< 60 s on 2 cores): {counted:,} pairs took {wall:.1f} s wall on {workers} "
        f"process(es); their CPU time, {busy:.1f} s, is {busy / workers:.1f} s per process on idle cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
