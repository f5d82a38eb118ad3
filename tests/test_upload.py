"""``splicelab user``, ``splicelab upload`` on a real run directory, against a real server process."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from splicelab.sources import load_artifacts, write_artifacts_json
from test_server_harness import Server, add_user_cli, database, splicelab

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
TREE = SHARED / "fixtures" / "spack-1.0" / "opt"


def outcomes_json(path: Path) -> list[dict[str, Any]]:
    """The real splice corpus's outcomes written as outcomes.json."""
    rows = [json.loads(line) for line in (SHARED / "corpus" / "outcomes.jsonl").read_text().splitlines()]
    entries = [
        {
            "program": r["exe"],
            "program_release": r["X"],
            "library": r["fam"],
            "library_release": r["Y"],
            "mode": r["mode"],
            "method": "hermetic",
            "class": "ok" if r["status"] == "OK" else "undefined-symbol",
            "message": r["detail"],
        }
        for r in rows
    ]
    path.write_text(json.dumps(entries))
    return entries


def test_user_cli_prints_the_token_last(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        token = add_user_cli(url, "ci")
        again = splicelab("user", "add", "ci", "--db", url, check=False)
        assert again.returncode != 0 and "exists" in again.stderr
        assert "ci" in splicelab("user", "list", "--db", url).stdout
        # $SPLICELAB_DB stands for --db
        other = splicelab("user", "add", "other", env={"SPLICELAB_DB": url}).stdout.strip().splitlines()[-1]
        with Server(url, tmp_path) as srv:
            assert httpx.get(f"{srv.url}/auth/token/", auth=("ci", token)).status_code == 200
            assert httpx.get(f"{srv.url}/auth/token/", auth=("other", other)).status_code == 200
            new = splicelab("user", "token", "ci", "--db", url).stdout.strip().splitlines()[-1]
            assert httpx.get(f"{srv.url}/auth/token/", auth=("ci", token)).status_code == 403
            assert httpx.get(f"{srv.url}/auth/token/", auth=("ci", new)).status_code == 200


def test_the_default_database_is_made_in_the_user_data_dir(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "SPLICELAB_DB": ""}
    splicelab("user", "add", "someone", env=env)
    assert "someone" in splicelab("user", "list", env=env).stdout
    assert (tmp_path / "data" / "splicelab" / "splicelab.db").is_file()


def test_upload_a_run_directory_twice_stores_it_once(tmp_path: Path) -> None:
    if not TREE.is_dir():
        pytest.skip("spack-1.0 fixture not present")
    run = tmp_path / "run"
    splicelab("predict", str(TREE), "-o", str(run), "-p", "loader")
    zlib = sorted(TREE.glob("*/zlib-*"))
    splicelab("analyze", *map(str, zlib), "-o", str(run / "corpora.jsonl"))
    artifacts = load_artifacts([TREE])
    write_artifacts_json(artifacts, run / "artifacts.json")
    outcomes = outcomes_json(run / "outcomes.json")
    (run / "notes.json").write_text('{"hello": "world"}')  # not ours: reported, skipped

    predictions = json.loads((run / "predictions.json").read_text())
    corpora = [json.loads(line) for line in (run / "corpora.jsonl").read_text().splitlines()]
    assert predictions and corpora

    with database("sqlite", tmp_path) as url:
        token = add_user_cli(url, "ci")
        with Server(url, tmp_path) as srv:
            env = {"SPLICELAB_MONITOR": srv.url, "SPLICELAB_USER": "ci", "SPLICELAB_TOKEN": token}
            first = splicelab("upload", str(run), env=env)
            assert "notes.json" in first.stderr

            def count(endpoint: str, **params: str) -> int:
                return int(
                    httpx.get(f"{srv.url}/api/v1/{endpoint}", params={"limit": 1, **params}).json()["count"]
                )

            stored = {e: count(e) for e in ("artifacts", "corpora", "predictions", "outcomes")}
            assert stored["artifacts"] == len(artifacts)
            assert stored["predictions"] == sum(len(p["predictors"]) for p in predictions)
            assert stored["outcomes"] == len(outcomes)
            file_corpora = {
                json.dumps(c.to_dict(), sort_keys=True) for a in artifacts for c in a.files.values()
            }
            assert stored["corpora"] >= len(file_corpora)
            verdicts = Counter(p["predictors"]["loader"]["verdict"] for p in predictions)
            for verdict, n in verdicts.items():
                assert count("predictions", verdict=verdict) == n
            # the analyze corpora (absolute paths) went up relative to /
            for c in corpora:
                assert count("corpora", path=c["path"].lstrip("/")) == 1

            second = splicelab("upload", str(run), env=env)
            assert second.stdout == first.stdout
            assert {e: count(e) for e in stored} == stored

            no_token = splicelab(
                "upload", str(run / "outcomes.json"), env={**env, "SPLICELAB_TOKEN": ""}, check=False
            )
            assert no_token.returncode != 0 and "token" in no_token.stderr
