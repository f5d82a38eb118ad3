"""Scaling out: at least a million splice pairs predicted in this process and on a local Dask cluster,
through the one seam (:mod:`splicelab.parallel`) and the prediction engine.

The pairs come from real corpora, read as ``benchmarks/bench_predict.py`` reads them: the programs of
/usr/bin and the libraries of this machine, of the Spack fixture and of the Debian release trees in the
cache, one artifact per library named by its soname family, so every program (and library) is spliced
with every other library of each family its closure loads. The programs are then replicated with
distinct ids (``program:curl#7``) until there are ``--pairs`` pairs: distinct binaries whose closures
are each computed again, as at a site with many builds of the same programs.

Both runs predict the same pairs with the ``loader`` predictor and must agree on every verdict, in
order. The artifacts travel once to each worker (the engine's context); the pairs stream as small keys
in partitions of ``--partition-size``.

    python3 benchmarks/bench_scale.py [--pairs 1000000] [--workers 2] [--partition-size 4096]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence

from bench_predict import HOST_LIB_DIRS, debian_artifacts, fixture_artifacts, host_artifacts
from splicelab.artifact import Artifact
from splicelab.parallel import DaskExecutor
from splicelab.predict.engine import Group, WorldOptions, predict_groups, splice_keys


def replicate(programs: Sequence[Artifact], copies: int) -> list[Artifact]:
    """``copies`` builds of every program: the same files under distinct names and build ids."""
    return [
        Artifact(
            name=f"{a.name}#{k}" if k else a.name,
            version=a.version,
            build_id=f"{a.build_id}#{k}" if k else a.build_id,
            root=a.root,
            files=a.files,
        )
        for k in range(copies)
        for a in programs
    ]


def cpu_seconds(executor: DaskExecutor | None) -> float:
    """CPU time used so far by this process and (with a Dask executor) by every worker process."""
    own = time.process_time()
    if executor is None:
        return own
    return own + sum(executor.client.run(time.process_time).values())


def run(
    group: Group, executor: DaskExecutor | None, partition_size: int
) -> tuple[float, float, Counter[str], str]:
    """Predict every pair of ``group``: (wall seconds, CPU seconds, verdict counts, digest of the
    verdicts in order)."""
    digest = hashlib.sha256()
    verdicts: Counter[str] = Counter()
    cpu = cpu_seconds(executor)
    start = time.perf_counter()
    for record in predict_groups([group], ["loader"], executor=executor, partition_size=partition_size):
        verdict = record.predictions["loader"].verdict.value
        verdicts[verdict] += 1
        digest.update(verdict.encode())
    return time.perf_counter() - start, cpu_seconds(executor) - cpu, verdicts, digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1_000_000, help="at least this many pairs")
    ap.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    ap.add_argument("--partition-size", type=int, default=4096, help="pairs per Dask task")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    programs, libs = host_artifacts()
    libraries = [*libs, *fixture_artifacts(), *debian_artifacts()]
    options = WorldOptions(default_dirs=HOST_LIB_DIRS)
    base = [*programs, *libraries]
    per_program = len(splice_keys(base, options.build(base))) - len(
        splice_keys(libraries, options.build(libraries))
    )
    copies = max(1, math.ceil(args.pairs / max(1, per_program)))
    artifacts = [*replicate(programs, copies), *libraries]
    keys = splice_keys(artifacts, options.build(artifacts))
    group = Group(tuple(artifacts), options, tuple(keys))
    print(
        f"corpora: {len(programs)} programs x {copies} copies, {len(libraries)} libraries "
        f"({sum(len(a.files) for a in base)} ELF files); {len(keys):,} pairs; "
        f"set up in {time.perf_counter() - t0:.1f} s"
    )

    n = len(keys)
    here, here_cpu, here_verdicts, here_digest = run(group, None, args.partition_size)
    print(
        f"in-process:     {here:6.1f} s = {n / here:7,.0f} pairs/s; CPU {here_cpu:6.1f} s  "
        f"{dict(here_verdicts)}"
    )

    t0 = time.perf_counter()
    with DaskExecutor(workers=args.workers) as executor:
        started = time.perf_counter() - t0
        there, there_cpu, there_verdicts, there_digest = run(group, executor, args.partition_size)
    print(
        f"{args.workers} Dask workers: {there:6.1f} s = {n / there:7,.0f} pairs/s; CPU {there_cpu:6.1f} s "
        f"(client and workers; cluster start {started:.1f} s not counted)"
    )
    if (there_verdicts, there_digest) != (here_verdicts, here_digest):
        print("the runs disagree")
        return 1
    load = os.getloadavg()
    print(
        f"ratio: {here / there:.2f}x wall with {args.workers} workers on {os.cpu_count()} cores "
        f"(load average {load[0]:.1f}, {load[2]:.1f} over 15 min); every verdict identical, in order"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
