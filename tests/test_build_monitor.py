"""Builds from the fixture install trees uploaded to a real monitor (``splicelab serve`` on loopback,
SQLite) through the ms1 protocol, then read back with the ms1 client."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from splicelab.build.ms1 import Ms1Monitor
from splicelab.build.records import FAILED, SUCCESS, Job
from splicelab.build.runner import finish, record_install
from splicelab.build.spack import parse_install_output
from splicelab.client.http import Transport
from splicelab.client.ms1 import CORPUS_ANALYZER, Ms1Client
from test_build_runner import PIGZ_PREFIX, TREE_023, elf_files, output_naming, result
from test_build_spack import SPACK_023_INSTALL_CONFIGURE_FAILED
from test_server_harness import running_server

pytestmark = pytest.mark.skipif(not TREE_023.is_dir(), reason="../shared/fixtures is not present")


def test_builds_reach_the_monitor(tmp_path: Path) -> None:
    with (
        running_server("sqlite", tmp_path) as (server, token),
        Transport(server.url, "tester", token) as transport,
    ):
        client = Ms1Client(transport)
        monitor = Ms1Monitor(client, spack_version="0.23.1")

        out = output_naming(PIGZ_PREFIX)
        ok = record_install(Job("pigz", "2.8", "gcc@12.2.0"), result(out), parse_install_output(out), 1.0)
        assert finish(ok, monitor, tags=("ci", "run-7")) == []
        assert ok.status == SUCCESS and ok.uploaded, ok.upload_error

        # a failed build: no prefix, the spec comes from elsewhere (here: the fixture's zlib spec.json)
        zlib_spec = json.loads(
            (TREE_023 / "zlib-1.2.13-qq2htmjflei7crdoq652m7rgp5wtf7dh" / ".spack" / "spec.json").read_text()
        )
        text = SPACK_023_INSTALL_CONFIGURE_FAILED.replace(
            "wy7rtpf36pyphhys3lqsxa5gkh6h2btr", "qq2htmjflei7crdoq652m7rgp5wtf7dh"
        )
        bad = record_install(
            Job("zlib", "1.2.13", "gcc@12.2.0"), result(text, 1), parse_install_output(text), 1.0
        )
        assert bad.status == FAILED and bad.hash == "qq2htmjflei7crdoq652m7rgp5wtf7dh"
        finish(bad, monitor, spec=zlib_spec)
        assert bad.uploaded, bad.upload_error

        pigz = [s for s in client.specs_by_name("pigz") if s.get("full_hash", s.get("hash")) == ok.hash]
        assert len(pigz) == 1, client.specs_by_name("pigz")
        results = client.spec_results(int(pigz[0]["id"]), CORPUS_ANALYZER)
        assert {r["filename"] for r in results} == elf_files(PIGZ_PREFIX)

        auth = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{server.url}/api/v1/builds", params={"package": "pigz"}, headers=auth).json()
        (build,) = [b for b in listed["items"] if b["spec_full_hash"] == ok.hash]
        assert build["status"] == "SUCCESS" and sorted(build["tags"]) == ["ci", "run-7"]
        recorded = json.loads((PIGZ_PREFIX / ".spack" / "install_manifest.json").read_text())
        assert build["install_prefix"] and any(k.startswith(build["install_prefix"]) for k in recorded)
        detail = httpx.get(f"{server.url}/api/v1/builds/{build['build_id']}", headers=auth).json()
        assert [(p["name"], p["status"]) for p in detail["phases"]] == [
            (p.name, "SUCCESS") for p in ok.phases
        ]
        assert detail["phases"][-1]["output"] == ok.log

        listed = httpx.get(f"{server.url}/api/v1/builds", params={"package": "zlib"}, headers=auth).json()
        (failed,) = [b for b in listed["items"] if b["spec_full_hash"] == bad.hash]
        assert failed["status"] == "FAILED"
        detail = httpx.get(f"{server.url}/api/v1/builds/{failed['build_id']}", headers=auth).json()
        assert [(p["name"], p["status"]) for p in detail["phases"]] == [("edit", "FAILED")]
