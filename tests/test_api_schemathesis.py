"""Property-based run of the whole OpenAPI schema (schemathesis) against a real server process: no
request, however odd, may get a 5xx. Bounded in time (``SPLICELAB_SCHEMATHESIS_SECONDS``, default 25
per backend; the data generation is seeded, so a failure can be replayed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from splicelab.client import ApiClient, Ms1Client, Transport
from test_server_harness import BACKENDS, Server, running_server

SECONDS = int(os.environ.get("SPLICELAB_SCHEMATHESIS_SECONDS", "25"))
FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with running_server(request.param, tmp_path) as found:
        yield found


def seed_data(srv: Server, token: str) -> None:
    """A spec, a build with a corpus and a prediction, so that reads find something to read."""
    import json

    from splicelab.elf import is_elf, read_corpus

    prefix = next(iter(sorted((FIXTURES / "spack-1.0" / "opt").glob("*/zlib-1.3.1-*"))), None)
    if prefix is None:
        return
    with Transport(srv.url, "tester", token) as transport:
        ms1 = Ms1Client(transport)
        spec = json.loads((prefix / ".spack" / "spec.json").read_text())
        ms1.new_spec(spec, "1.0.2")
        build_id = ms1.new_build(spec["spec"]["nodes"][0]["hash"], spack_version="1.0.2")
        files = {
            f.relative_to(prefix).as_posix(): read_corpus(f, f.relative_to(prefix).as_posix())
            for f in prefix.rglob("*.so.*")
            if not f.is_symlink() and is_elf(f)
        }
        ms1.upload_corpora(build_id, files, prefix="/opt/zlib")
        ref = {"package": "zlib", "version": "1.3.1", "hash": "h"}
        ApiClient(transport).post_predictions(
            [
                {
                    "binary": {**ref, "file": "lib/libz.so"},
                    "dependency": "zlib",
                    "original": ref,
                    "replacement": ref,
                    "predictors": {"loader": {"verdict": "works"}},
                }
            ]
        )


@pytest.mark.slow
def test_no_request_gets_a_server_error(server: tuple[Server, str], tmp_path: Path) -> None:
    srv, token = server
    seed_data(srv, token)
    st = shutil.which("schemathesis") or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis is not installed")
    args = [
        *("run", f"{srv.url}/openapi.json", "--checks", "not_a_server_error"),
        *("--header", f"Authorization: Bearer {token}", "--max-time", str(SECONDS), "--max-examples", "30"),
        *("--seed", "1", "--generation-database", "none", "--request-timeout", "60", "--no-color"),
    ]
    proc = subprocess.run(
        [st, *args],
        capture_output=True,
        text=True,
        timeout=SECONDS + 240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (
        f"{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}\n--- server log ---\n{srv.log()[-4000:]}"
    )
    assert "Internal Server Error" not in srv.log()
