"""The spack monitor protocol, end to end, against a real server process (SQLite and PostgreSQL).

``SpackStyleClient`` speaks the protocol the way spack 0.16/0.17's monitor client does: urllib, JSON
bodies posted without a JSON content type, a 401 answered by the Docker-style token dance (Basic
``user:token`` at the realm named by ``Www-Authenticate``, then ``Bearer`` the JWT it returns).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from splicelab.corpus import Corpus, to_symbolator
from splicelab.elf import is_elf, read_corpus
from splicelab.sources import load_artifacts
from test_server_harness import BACKENDS, Server, running_server, splicelab

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"
SPACK_VERSION = "1.0.2"
ENV = {
    "hostname": "builder",
    "platform": "linux",
    "kernel_version": "#1 SMP",
    "host_os": "debian12",
    "host_target": "x86_64_v3",
    "spack_version": SPACK_VERSION,
}


def prefixes(package: str) -> list[Path]:
    found = sorted((FIXTURES / "spack-1.0" / "opt").glob(f"*/{package}-*"))
    if not found:
        pytest.skip(f"fixture spack-1.0/{package} not present")
    return found


def spec_json(prefix: Path) -> dict[str, Any]:
    return json.loads((prefix / ".spack" / "spec.json").read_text())


def root_hash(prefix: Path) -> str:
    return str(spec_json(prefix)["spec"]["nodes"][0]["hash"])


def corpora(prefix: Path) -> dict[str, Corpus]:
    return {
        f.relative_to(prefix).as_posix(): read_corpus(f, f.relative_to(prefix).as_posix())
        for f in sorted(prefix.rglob("*"))
        if f.is_file() and not f.is_symlink() and ".spack" not in f.parts and is_elf(f)
    }


class SpackStyleClient:
    """The monitor protocol as spack's client speaks it (written for this test)."""

    def __init__(self, host: str, user: str, token: str) -> None:
        self.base = f"{host}/ms1"
        self.user, self.token = user, token
        self.headers: dict[str, str] = {}
        self.challenges: list[str] = []

    def request(self, endpoint: str, data: Any = None, retry: bool = True) -> Any:
        url = endpoint if endpoint.startswith("http") else f"{self.base}/{endpoint}"
        body = json.dumps(data).encode("ascii") if data is not None else None
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, data=body, headers=self.headers)
            ) as reply:
                assert reply.status in (200, 201)
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and retry and self.authenticate(exc.headers.get("Www-Authenticate")):
                return self.request(endpoint, data, retry=False)
            raise

    def authenticate(self, challenge: str | None) -> bool:
        if not challenge:
            return False
        self.challenges.append(challenge)
        fields = dict(re.findall(r'([a-zA-Z]+)="(.+?)"', challenge))
        basic = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "service": fields["service"],
            "Accept": "application/json",
        }
        with urllib.request.urlopen(urllib.request.Request(fields["realm"], headers=headers)) as reply:
            token = json.loads(reply.read()).get("token")
        if not token:
            return False
        self.headers = {"Authorization": f"Bearer {token}"}
        return True


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    with running_server(request.param, tmp_path_factory.mktemp(f"ms1-{request.param}")) as found:
        yield found


def test_spack_client_protocol_end_to_end(server: tuple[Server, str]) -> None:
    srv, token = server
    client = SpackStyleClient(srv.url, "tester", token)
    info = client.request("")
    assert info["status"] == "running" and client.challenges == []  # service info needs no token

    pigz = next(p for p in prefixes("pigz-2.8") if (p / "bin" / "pigz").exists())
    doc = spec_json(pigz)
    zlib_node = next(n for n in doc["spec"]["nodes"] if n["name"] == "zlib")

    # a spec with dependencies: the first write is challenged, the dance succeeds, the spec is created
    reply = client.request("specs/new/", {"spec": doc, "spack_version": SPACK_VERSION})
    assert len(client.challenges) == 1
    assert client.challenges[0] == (f'Bearer realm="{srv.url}/auth/token/",service="{srv.url}",scope="build"')
    assert reply["code"] == 201 and reply["data"]["created"] is True
    assert reply["data"]["spec"]["specs"]["zlib"] == zlib_node["hash"]
    again = client.request("specs/new/", {"spec": doc, "spack_version": SPACK_VERSION})
    assert (again["code"], again["data"]["created"]) == (200, False)

    # builds: get-or-create, the same id when asked again
    build = client.request("builds/new/", {**ENV, "full_hash": root_hash(pigz), "tags": "ci,e2e"})
    build_id = build["data"]["build"]["build_id"]
    assert build["code"] == 201 and build["data"]["build"]["spec_name"] == "pigz"
    assert (
        client.request("builds/new/", {**ENV, "full_hash": root_hash(pigz)})["data"]["build"]["build_id"]
        == build_id
    )
    zlib_build = client.request("builds/new/", {**ENV, "full_hash": zlib_node["hash"]})["data"]["build"][
        "build_id"
    ]

    # phases with output
    phases = {
        "configure": ("SUCCESS", "checking for gcc... gcc\n"),
        "install": ("ERROR", "make: *** [all] 2\n"),
    }
    for name, (status, output) in phases.items():
        reply = client.request(
            "builds/phases/update/",
            {"build_id": build_id, "phase_name": name, "status": status, "output": output},
        )
        assert reply["data"]["build_phase"]["status"] == status

    # analysis: spack's install manifest (absolute paths), a text result, our corpus, symbolator's JSON
    installed = f"/home/ci/spack/opt/spack/linux-debian12-x86_64_v3/gcc-12.2.0/{pigz.name}"
    head = (pigz / "bin" / "pigz").read_bytes()[:64]  # a binary value
    pigz_corpus = corpora(pigz)["bin/pigz"]
    metadata = {
        "install_files": {f"{installed}/bin/pigz": {"mode": 33261, "owner": 0, "group": 0, "type": "file"}},
        "config_args": "--prefix=/x",
        "libabigail": [{"name": "abidw-xml", "install_file": "bin/pigz", "value": "<abi-corpus/>"}],
        "checksums": [
            {"name": "head", "install_file": "bin/pigz", "binary_value": base64.b64encode(head).decode()}
        ],
        "splicelab": [
            {
                "name": "splicelab-corpus",
                "install_file": "bin/pigz",
                "json_value": json.dumps(pigz_corpus.to_dict()),
            }
        ],
    }
    reply = client.request("analyze/builds/", {"build_id": build_id, "metadata": metadata})
    assert reply["data"]["analysis"]["corpora"] == 1
    assert reply["data"]["build"]["install_prefix"] == installed  # learned from the manifest
    zlib_prefix = next(p for p in prefixes("zlib") if p.name.endswith(zlib_node["hash"]))
    (lib, zlib_corpus), *_ = corpora(zlib_prefix).items()
    symbolator = [to_symbolator(zlib_corpus, Path(lib).name)]
    client.request(
        "analyze/builds/",
        {
            "build_id": zlib_build,
            "metadata": {
                "symbolator": [{"name": "symbolator-json", "install_file": lib, "json_value": symbolator}]
            },
        },
    )

    # a failed dependency cancels the dependent's unfinished build
    reply = client.request("builds/update/", {"build_id": zlib_build, "status": "FAILED"})
    assert reply["data"]["cancelled"] == [build_id]

    # reading it all back (anonymously, as the seed's local analysis did)
    specs = httpx.get(f"{srv.url}/ms1/specs/name/pigz/").json()
    (spec,) = [s for s in specs if s["full_hash"] == root_hash(pigz)]
    assert {d["name"] for d in spec["dependencies"]} == {
        d["name"] for d in doc["spec"]["nodes"][0]["dependencies"]
    }
    results = httpx.get(f"{srv.url}/ms1/specs/{spec['id']}/attributes/").json()
    assert {(r["filename"], r["analyzer"], r["name"]) for r in results} == {
        ("bin/pigz", "checksums", "head"),
        ("bin/pigz", "libabigail", "abidw-xml"),
        ("bin/pigz", "splicelab", "splicelab-corpus"),
    }
    only = httpx.get(f"{srv.url}/ms1/specs/{spec['id']}/attributes/splicelab/").json()
    assert [r["name"] for r in only] == ["splicelab-corpus"]
    raw = {r["name"]: httpx.get(f"{srv.url}/ms1/attributes/{r['id']}/download/") for r in results}
    assert raw.pop("head").content == head
    values = {name: reply.json() for name, reply in raw.items()}
    assert Corpus.from_dict(values["splicelab-corpus"]) == pigz_corpus
    assert values["abidw-xml"] == "<abi-corpus/>"
    detail = httpx.get(f"{srv.url}/api/v1/builds/{build_id}").json()
    assert detail["status"] == "CANCELLED" and detail["tags"] == ["ci", "e2e"]
    assert {p["name"]: (p["status"], p["output"]) for p in detail["phases"]} == phases
    assert detail["config_args"] == "--prefix=/x"

    # splice contenders: the zlib libraries of comparable builds; the dependency specs of pigz's builds
    zlib_spec = next(s for s in httpx.get(f"{srv.url}/ms1/specs/name/zlib/").json() if s["builds"])
    contenders = httpx.get(f"{srv.url}/ms1/specs/{zlib_spec['id']}/splices/contenders/").json()
    assert [(c["filename"], c["name"]) for c in contenders] == [(lib, "symbolator-json")]
    corpus_result = next(r for r in results if r["name"] == "splicelab-corpus")
    dep_specs = httpx.get(f"{srv.url}/ms1/attributes/{corpus_result['id']}/splice/contenders/").json()
    assert "zlib" in {s["name"] for s in dep_specs}
    converted = httpx.get(f"{srv.url}/ms1/attributes/{contenders[0]['id']}/download/").json()
    assert converted == symbolator  # symbolator's JSON comes back as it was sent


def test_bad_analysis_input_is_refused_and_nothing_is_stored(server: tuple[Server, str]) -> None:
    srv, token = server
    client = SpackStyleClient(srv.url, "tester", token)
    zlib = prefixes("zlib-1.2.13")[0]
    client.request("specs/new/", {"spec": spec_json(zlib), "spack_version": SPACK_VERSION})
    build_id = client.request("builds/new/", {**ENV, "full_hash": root_hash(zlib)})["data"]["build"][
        "build_id"
    ]
    before = httpx.get(f"{srv.url}/api/v1/builds/{build_id}").json()["results"]
    for name, field in [("../../etc/passwd", "install_file"), ("/etc/passwd", "install_file")]:
        good = {"name": "ok", "install_file": "lib/ok.so", "value": "1"}
        bad = {"name": "x", "install_file": name, "value": "v"}
        with pytest.raises(urllib.error.HTTPError) as err:
            client.request("analyze/builds/", {"build_id": build_id, "metadata": {"a": [good, bad]}})
        assert err.value.code == 400
        assert field in json.loads(err.value.read())["message"]
    assert httpx.get(f"{srv.url}/api/v1/builds/{build_id}").json()["results"] == before
    for data, field in [
        ({"build_id": build_id, "status": "DONE"}, "status"),
        ({"status": "SUCCESS"}, "build id"),
        ({"build_id": 10**9, "status": "SUCCESS"}, "build_id"),
    ]:
        with pytest.raises(urllib.error.HTTPError) as err:
            client.request("builds/update/", data)
        assert err.value.code in (400, 404) and field in json.loads(err.value.read())["message"]
    with pytest.raises(urllib.error.HTTPError) as err:
        client.request("builds/new/", {**ENV, "hostname": "", "full_hash": root_hash(zlib)})
    assert err.value.code == 400 and "hostname" in json.loads(err.value.read())["message"]


def test_writes_need_a_valid_token(server: tuple[Server, str]) -> None:
    srv, token = server
    reply = httpx.post(f"{srv.url}/ms1/builds/update/", json={"build_id": 1, "status": "SUCCESS"})
    assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith('Bearer realm="')
    bad = httpx.get(f"{srv.url}/auth/token/", auth=("tester", token + "x"))
    assert bad.status_code == 403
    assert httpx.get(f"{srv.url}/auth/token/").status_code == 401
    forged = httpx.post(
        f"{srv.url}/ms1/builds/update/",
        json={"build_id": 1, "status": "SUCCESS"},
        headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0ZXIifQ.c2lnbmF0dXJl"},
    )
    assert forged.status_code == 401
    good = httpx.get(f"{srv.url}/auth/token/", auth=("tester", token)).json()
    assert good["expires_in"] > 0 and good["token"].count(".") == 2


def test_download_writes_artifacts_that_sources_load_and_predict_reads(
    server: tuple[Server, str], tmp_path: Path
) -> None:
    """Builds go up as the build runner sends them; ``splicelab download`` brings them back as artifacts."""
    from splicelab.client import Ms1Client, Transport

    srv, token = server
    uploaded: dict[str, dict[str, Corpus]] = {}
    with Transport(srv.url, "tester", token) as transport:
        client = Ms1Client(transport)
        for prefix in [*prefixes("pigz-2.8")[:2], *prefixes("zlib-1.3.1"), *prefixes("zlib-1.2.11")]:
            client.new_spec(spec_json(prefix), SPACK_VERSION)
            build_id = client.new_build(root_hash(prefix), spack_version=SPACK_VERSION, environment=ENV)
            files = corpora(prefix)
            recorded = str(prefix).replace(str(FIXTURES), "/opt/fixture")
            client.upload_corpora(build_id, files, prefix=recorded)
            client.update_build(build_id, "SUCCESS")
            uploaded[root_hash(prefix)] = files
    env = {"SPLICELAB_MONITOR": srv.url, "SPLICELAB_USER": "tester", "SPLICELAB_TOKEN": token}
    out = splicelab("download", "pigz", "--dir", str(tmp_path / "dl"), "-q", env=env).stdout.splitlines()
    artifacts_file = Path(out[-1])
    loaded = {a.build_id: a for a in load_artifacts([artifacts_file])}
    for build_hash, files in uploaded.items():
        assert loaded[build_hash].files == files
        assert loaded[build_hash].recorded_root and loaded[build_hash].recorded_root.endswith(build_hash)
    assert {a.source for a in loaded.values()} == {"monitor"}
    again = splicelab("download", "pigz", "--dir", str(tmp_path / "dl"), "-q", env=env).stdout
    assert "0 fetched" in again  # resumable: nothing fetched twice
    assert not list((tmp_path / "dl").rglob("*.part"))

    predicted = tmp_path / "predicted"
    splicelab("predict", str(artifacts_file), "-o", str(predicted), "-p", "loader")
    entries = json.loads((predicted / "predictions.json").read_text())
    pigz_ids = {a.build_id for a in loaded.values() if a.name == "pigz"}
    assert entries and {e["binary"]["hash"] for e in entries} <= pigz_ids
    assert {e["replacement"]["package"] for e in entries} == {"zlib"}
