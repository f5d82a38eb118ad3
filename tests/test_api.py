"""``/api/v1`` against a real server process: uploads, pages and filters, idempotency, auth, limits."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from splicelab.client import ApiClient, MonitorError, Transport
from splicelab.elf import is_elf, read_corpus
from test_server_harness import BACKENDS, Server, add_user, database, running_server

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
OUTCOMES = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "outcomes.jsonl"
MAX_BODY = 2 * 1024 * 1024


def artifact_docs() -> list[dict[str, Any]]:
    """The spack-1.0 fixture's zlib and pigz prefixes as artifacts (real corpora)."""
    out = []
    for prefix in sorted((FIXTURES / "spack-1.0" / "opt").glob("*/*-*")):
        name, version, build_id = prefix.name.rsplit("-", 2)
        if name not in ("zlib", "pigz"):
            continue
        files = {
            f.relative_to(prefix).as_posix(): read_corpus(f, f.relative_to(prefix).as_posix()).to_dict()
            for f in sorted(prefix.rglob("*"))
            if f.is_file() and not f.is_symlink() and ".spack" not in f.parts and is_elf(f)
        }
        out.append(
            {
                "name": name,
                "version": version,
                "build_id": build_id,
                "root": str(prefix),
                "source": "spack",
                "files": files,
            }
        )
    if not out:
        pytest.skip("spack-1.0 fixture not present")
    return out


def prediction_docs(artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pigz x zlib pair, with two predictors (the shape of predictions.json)."""

    def ref(a: dict[str, Any]) -> dict[str, Any]:
        return {"package": a["name"], "version": a["version"], "hash": a["build_id"]}

    pigz = [a for a in artifacts if a["name"] == "pigz"]
    zlib = [a for a in artifacts if a["name"] == "zlib"]
    entries = []
    for i, p in enumerate(pigz):
        for j, z in enumerate(zlib):
            verdict = "works" if (i + j) % 3 else "breaks"
            entries.append(
                {
                    "binary": {**ref(p), "file": "bin/pigz"},
                    "dependency": "zlib",
                    "original": ref(zlib[0]),
                    "replacement": ref(z),
                    "predictors": {
                        "loader": {"verdict": verdict, "reasons": []},
                        "symbols": {"verdict": "works", "reasons": []},
                    },
                }
            )
    return entries


def outcome_docs() -> list[dict[str, Any]]:
    """The real splice corpus's outcomes, in outcomes.json's shape."""
    if not OUTCOMES.exists():
        pytest.skip("shared splice corpus not present")
    out = []
    for line in OUTCOMES.read_text().splitlines():
        row = json.loads(line)
        cls = {"OK": "ok", "ABI-symbol": "undefined-symbol"}.get(row["status"], row["status"].lower())
        out.append(
            {
                "program": row["exe"],
                "program_release": row["X"],
                "library": row["fam"],
                "library_release": row["Y"],
                "mode": row["mode"],
                "method": "hermetic",
                "class": "".join(c if c.isalnum() else "-" for c in cls).strip("-"),
                "message": row["detail"],
            }
        )
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp(f"api-{request.param}")
    with running_server(request.param, tmp, {"SPLICELAB_MAX_BODY": str(MAX_BODY)}) as found:
        yield found


@pytest.fixture(scope="module")
def api(server: tuple[Server, str]) -> Iterator[ApiClient]:
    srv, token = server
    with Transport(srv.url, "tester", token) as transport:
        yield ApiClient(transport, batch_bytes=MAX_BODY // 2)


@pytest.fixture(scope="module")
def loaded(api: ApiClient) -> dict[str, list[dict[str, Any]]]:
    artifacts = artifact_docs()
    predictions = prediction_docs(artifacts)
    outcomes = outcome_docs()
    api.post_artifacts(artifacts)
    api.post_predictions(predictions)
    api.post_outcomes(outcomes)
    return {"artifacts": artifacts, "predictions": predictions, "outcomes": outcomes}


def counts(api: ApiClient) -> dict[str, int]:
    return {e: api.page(e, limit=1)["count"] for e in ("artifacts", "corpora", "predictions", "outcomes")}


def test_uploads_read_back_through_pages_and_filters(api: ApiClient, loaded: dict[str, list[Any]]) -> None:
    artifacts = loaded["artifacts"]
    listed = list(api.iterate("artifacts", limit=4))  # several pages, following "next"
    assert sorted((a["name"], a["build_id"]) for a in listed) == sorted(
        (a["name"], a["build_id"]) for a in artifacts
    )
    first = api.page("artifacts", limit=4)
    assert first["next"] and "offset=4" in first["next"] and first["count"] == len(artifacts)
    zlib = api.page("artifacts", package="zlib", limit=1000)
    assert {a["build_id"] for a in zlib["items"]} == {a["build_id"] for a in artifacts if a["name"] == "zlib"}
    one = api.artifact(zlib["items"][0]["id"])
    source = next(a for a in artifacts if a["build_id"] == one["build_id"])
    assert one["files"] == source["files"]  # corpora come back exactly
    digests = api.artifact(one["id"], files="digests")["files"]
    assert {path: api.corpus(d) for path, d in digests.items()} == source["files"]
    distinct = {json.dumps(c, sort_keys=True) for a in artifacts for c in a["files"].values()}
    assert api.page("corpora", limit=1)["count"] == len(distinct)

    loader = list(api.iterate("predictions", predictor="loader", limit=7))
    assert len(loader) == len(loaded["predictions"])
    breaks = api.page("predictions", verdict="breaks", predictor="loader", limit=1000)["items"]
    expected = [e for e in loaded["predictions"] if e["predictors"]["loader"]["verdict"] == "breaks"]
    assert len(breaks) == len(expected) > 0
    assert all(b["verdict"] == "breaks" and b["replacement"]["package"] == "zlib" for b in breaks)

    outcomes = loaded["outcomes"]
    undefined = api.page("outcomes", **{"class": "undefined-symbol"}, limit=1000)
    assert undefined["count"] == sum(1 for o in outcomes if o["class"] == "undefined-symbol") > 0
    curl_b = api.page("outcomes", program="curl", mode="B", limit=1000)["items"]
    assert {(o["program_release"], o["library_release"]) for o in curl_b} == {
        (o["program_release"], o["library_release"])
        for o in outcomes
        if o["program"] == "curl" and o["mode"] == "B"
    }


def test_repeated_uploads_store_nothing_twice(api: ApiClient, loaded: dict[str, list[Any]]) -> None:
    before = counts(api)
    api.post_artifacts(loaded["artifacts"])
    api.post_predictions(loaded["predictions"])
    api.post_outcomes(loaded["outcomes"])
    api.post_corpora([c for a in loaded["artifacts"] for c in a["files"].values()])
    assert counts(api) == before


@pytest.mark.parametrize(
    ("endpoint", "mutate", "field"),
    [
        ("corpora", lambda docs: docs[2]["symbols"][0].pop("name"), "corpora[2].symbols[0]"),
        ("corpora", lambda docs: docs[1].__setitem__("path", "../../x"), "corpora[1].path"),
        (
            "artifacts",
            lambda docs: docs[0]["files"].update({"/etc/passwd": docs[0]["files"]["bin/pigz"]}),
            "absolute path",
        ),
        (
            "artifacts",
            lambda docs: docs[0]["files"].update({"a/../../b": docs[0]["files"]["bin/pigz"]}),
            "'..'",
        ),
        ("artifacts", lambda docs: docs[0].__setitem__("name", "../pigz"), "artifacts[0].name"),
        ("predictions", lambda docs: docs[3]["binary"].pop("file"), "predictions[3].binary.file"),
        ("outcomes", lambda docs: docs[4].__setitem__("class", "Not A Class"), "outcomes[4].class"),
    ],
)
def test_bad_documents_are_refused_naming_the_field_and_nothing_is_stored(
    server: tuple[Server, str], loaded: dict[str, list[Any]], endpoint: str, mutate: Any, field: str
) -> None:
    srv, token = server
    if endpoint == "corpora":
        docs = [json.loads(json.dumps(c)) for a in loaded["artifacts"] for c in a["files"].values()][:5]
        for d in docs:
            d["path"] = "new/" + d["path"]  # new corpora, had they been stored
    elif endpoint == "artifacts":
        docs = [json.loads(json.dumps(a)) for a in loaded["artifacts"] if a["name"] == "pigz"][:2]
        for d in docs:
            d["build_id"] += "-new"
    else:
        docs = json.loads(json.dumps(loaded[endpoint][:6]))
        for d in docs:
            d["dependency"] = "brand-new"
    mutate(docs)
    before = httpx.get(f"{srv.url}/api/v1/{endpoint}?limit=1").json()["count"]
    reply = httpx.post(
        f"{srv.url}/api/v1/{endpoint}", json=docs, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 422
    assert field in reply.json()["message"]
    assert httpx.get(f"{srv.url}/api/v1/{endpoint}?limit=1").json()["count"] == before


def test_writes_without_a_token_get_401_with_a_challenge(server: tuple[Server, str]) -> None:
    srv, _ = server
    for endpoint in ("corpora", "artifacts", "predictions", "outcomes"):
        reply = httpx.post(f"{srv.url}/api/v1/{endpoint}", json=[])
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"].startswith(f'Bearer realm="{srv.url}/auth/token/"')
        assert reply.json()["code"] == 401
        bad = httpx.post(f"{srv.url}/api/v1/{endpoint}", json=[], headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401


def test_oversized_bodies_get_413_before_being_read(server: tuple[Server, str]) -> None:
    srv, token = server
    auth = {"Authorization": f"Bearer {token}"}
    big = b"[" + b" " * (MAX_BODY + 10) + b"]"
    reply = httpx.post(f"{srv.url}/api/v1/corpora", content=big, headers=auth)
    assert reply.status_code == 413 and "limit" in reply.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"["
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536
        yield b"]"

    streamed = httpx.post(f"{srv.url}/api/v1/corpora", content=chunks(), headers=auth)
    assert streamed.status_code == 413

    # A declared length of 10 GB with no body at all: an answer can only come if nothing is read.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/corpora HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: {10 * 1024**3}\r\n\r\n".encode()
        )
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")
    assert httpx.get(f"{srv.url}/ms1/").status_code == 200


def test_docs_are_served_without_external_assets(server: tuple[Server, str]) -> None:
    srv, _ = server
    schema = httpx.get(f"{srv.url}/openapi.json").json()
    assert {"CorpusDoc", "ArtifactDoc", "PredictionEntry", "OutcomeEntry", "BuildNew"} <= set(
        schema["components"]["schemas"]
    )
    page = httpx.get(f"{srv.url}/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path in schema["paths"]:
        assert path in page.text
    assert "<script" not in page.text and "https://" not in page.text  # nothing to fetch from a CDN
    index = httpx.get(f"{srv.url}/")
    assert index.status_code == 200


def test_client_retries_through_a_dropped_connection_and_reports_errors(server: tuple[Server, str]) -> None:
    srv, token = server
    calls = {"n": 0}

    class Flaky(httpx.HTTPTransport):
        """Drops the connection of every other request after it reached the server."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            calls["n"] += 1
            response = super().handle_request(request)
            if calls["n"] % 2 == 1:
                response.close()
                raise httpx.RemoteProtocolError("connection dropped", request=request)
            return response

    entry = {"program": "flaky", "mode": "C", "method": "hermetic", "class": "ok", "message": "retried"}
    with Transport(srv.url, "tester", token, transport=Flaky()) as transport:
        client = ApiClient(transport)
        for i in range(4):
            assert client.post_outcomes([{**entry, "program_release": str(i)}]) == 1
        assert transport.retries >= 4
    assert httpx.get(f"{srv.url}/api/v1/outcomes", params={"program": "flaky"}).json()["count"] == 4
    with Transport(srv.url, "tester", "wrong", retry_for=1) as transport, pytest.raises(MonitorError) as err:
        ApiClient(transport).post_outcomes([entry])
    assert err.value.status == 403


def test_anonymous_reads_can_be_switched_off(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url:
        token = add_user(url, "reader")
        with Server(url, tmp_path, {"SPLICELAB_ANONYMOUS_READ": "false"}) as srv:
            assert httpx.get(f"{srv.url}/ms1/").status_code == 200  # service info stays open
            for path in ("/api/v1/artifacts", "/ms1/specs/name/zlib/", "/"):
                assert httpx.get(f"{srv.url}{path}").status_code == 401
                assert (
                    httpx.get(f"{srv.url}{path}", headers={"Authorization": f"Bearer {token}"}).status_code
                    == 200
                )
            with Transport(srv.url, "reader", token) as transport:  # via the token dance
                assert ApiClient(transport).page("outcomes")["count"] == 0
