"""Scaling out (issue 9): `splicelab analyze`, `predict` and `validate` on a real Dask cluster write
exactly what they write in-process, and a worker killed mid-run loses nothing.

A real `dask scheduler` and two `dask worker` processes on loopback (tests/_dask.py); the commands run
as real processes; the inputs are the Spack fixture trees and Debian release roots from the cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _dask import PYTHONPATH, Cluster, dask_processes
from splicelab.parallel import DaskExecutor
from splicelab.sources import load_artifacts
from splicelab.validate import validate
from splicelab.validate.sandbox import namespaces_available
from splicelab.validate.spack import spack_jobs
from test_debian import debian_cache
from test_server_harness import splicelab as run_cli

needs_namespaces = pytest.mark.skipif(not namespaces_available(), reason="needs mount/network namespaces")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with dask_processes(tmp_path_factory.mktemp("dask") / "dask.log", workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def trees(shared_dir: Path) -> list[Path]:
    return [shared_dir / "fixtures" / "spack-1.0" / "opt", shared_dir / "fixtures" / "spack-0.23" / "opt"]


def splicelab(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real command line, running this tree's splicelab."""
    return run_cli(*map(str, args), env={"PYTHONPATH": PYTHONPATH})


def _untimed(outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome without its wall-clock times (the only fields that differ from run to run)."""
    out = {k: v for k, v in outcome.items() if k != "seconds"}
    out["commands"] = [{k: v for k, v in c.items() if k != "seconds"} for c in outcome["commands"]]
    return out


def test_analyze_on_a_cluster_writes_the_same_file(
    cluster: Cluster, tmp_path: Path, shared_dir: Path
) -> None:
    roots = [shared_dir / "fixtures", debian_cache() / "bookworm" / "root"]
    if not roots[1].is_dir():
        pytest.skip("no Debian bookworm root in the cache (splicelab fetch debian zlib)")
    here, there, local = tmp_path / "here.jsonl", tmp_path / "there.jsonl", tmp_path / "local.jsonl"
    splicelab("analyze", *roots, "--out", here)
    splicelab("analyze", *roots, "--out", there, "--scheduler", cluster[0])
    splicelab("analyze", *roots, "--out", local, "--workers", "2")
    lines = here.read_text().splitlines()
    assert len(lines) > 256  # more than one partition: both workers had work
    assert there.read_bytes() == here.read_bytes()
    assert local.read_bytes() == here.read_bytes()


def test_predict_on_a_cluster_writes_the_same_files(
    cluster: Cluster, tmp_path: Path, trees: list[Path]
) -> None:
    splicelab("predict", *trees, "--out", tmp_path / "here")
    splicelab("predict", *trees, "--out", tmp_path / "there", "--scheduler", cluster[0])
    names = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert names == ["matrix.csv", "predictions.json", "symbolator-predictions.json"]
    assert len(json.loads((tmp_path / "here" / "predictions.json").read_text())) > 64  # several partitions
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


@needs_namespaces
def test_validate_on_a_cluster_gives_the_same_outcomes(
    cluster: Cluster, tmp_path: Path, trees: list[Path]
) -> None:
    args = ["validate", *trees, "--dependency", "zlib", "--binary", "libpng"]
    splicelab(*args, "--out", tmp_path / "here.json")
    splicelab(*args, "--out", tmp_path / "there.json", "--scheduler", cluster[0])
    here = json.loads((tmp_path / "here.json").read_text())
    there = json.loads((tmp_path / "there.json").read_text())
    assert len(here) > 8  # more than one partition
    assert {o["class"] for o in here} == {"ok", "missing-version"}  # pngfix x zlib@1.2.8 fails
    assert all(o["isolation"] == "namespace" and o["substituted"] for o in there)
    assert [_untimed(o) for o in there] == [_untimed(o) for o in here]


@pytest.fixture(scope="module")
def pigz_jobs(trees: list[Path]) -> list[Any]:
    return list(spack_jobs(load_artifacts(trees, errors=[]), "zlib", method="preload", binaries=["pigz"]))


@needs_namespaces
def test_a_worker_killed_mid_validate_loses_nothing(dask_cluster: Cluster, pigz_jobs: list[Any]) -> None:
    expected = [_untimed(o) for o in validate(pigz_jobs, workers=2)]
    address, workers = dask_cluster
    killed = threading.Event()

    def kill_after_first(_outcome: dict[str, Any]) -> None:
        if not killed.is_set():
            killed.set()
            os.killpg(workers[0].pid, signal.SIGKILL)

    with DaskExecutor(scheduler=address) as ex:
        got = [
            _untimed(o) for o in validate(pigz_jobs, executor=ex, partition_size=4, progress=kill_after_first)
        ]
    assert killed.is_set()
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert len(expected) > 40  # the kill came while most partitions were still to run
    assert got == expected  # complete, in order, each outcome exactly once
