"""``splicelab matrix`` against real registries on loopback.

Each registry is the Debian ``docker-registry`` (CNCF distribution) started by the test with its own
config file; images are OCI layouts written here in Python and pushed with ``skopeo copy``. Three
registries: anonymous, htpasswd (basic auth) and token auth (a small JWT token server of the test's own,
its signing certificate trusted by the registry).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from click.testing import CliRunner

from splicelab.cli import main
from splicelab.matrix import RegistryClient, RegistryError
from splicelab.matrix.client import Platform
from splicelab.matrix.credentials import Credentials, CredentialStore
from test_server_harness import free_port

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
pytestmark = [
    pytest.mark.skipif(not Path(REGISTRY).exists(), reason="docker-registry is not installed"),
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed"),
]

USER, PASSWORD = "builder", "s3cret-pass"
LABEL = "org.spack.compilers"


# --- OCI layouts, written byte by byte ------------------------------------------------------------


def _put_blob(layout: Path, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}


def _image_manifest(layout: Path, arch: str, labels: dict[str, str] | None, payload: str) -> dict[str, Any]:
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = payload.encode()
        info = tarfile.TarInfo("etc/splicelab-test.txt")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    layer = _put_blob(layout, gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip")
    config: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    }
    if labels is not None:
        config["config"]["Labels"] = labels
    config_desc = _put_blob(layout, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer],
    }
    return _put_blob(
        layout,
        json.dumps(manifest).encode(),
        "application/vnd.oci.image.manifest.v1+json",
        platform={"architecture": arch, "os": "linux"},
    )


def write_layout(layout: Path, tag: str, platforms: dict[str, dict[str, str] | None]) -> None:
    """An OCI layout holding one image (one platform) or an image index (several)."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    manifests = [_image_manifest(layout, arch, labels, f"{tag}/{arch}") for arch, labels in platforms.items()]
    if len(manifests) == 1:
        top = manifests[0]
    else:
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
        top = _put_blob(layout, json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")
    top = {k: v for k, v in top.items() if k != "platform"}
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "index.json").write_text(
        json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [top]}
        )
    )


# --- servers ----------------------------------------------------------------------------------------


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    proc: subprocess.Popen[bytes]
    creds: str | None = None  # user:password for pushing
    log: Path | None = None

    def push(self, tmp: Path, name: str, tag: str, platforms: dict[str, dict[str, str] | None]) -> str:
        layout = tmp / f"layout-{uuid.uuid4().hex[:8]}"
        write_layout(layout, tag, platforms)
        policy = tmp / "policy.json"
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        cmd = ["skopeo", "--policy", str(policy), "copy", "--all", "--dest-tls-verify=false"]
        if self.creds:
            cmd += ["--dest-creds", self.creds]
        image = f"{self.host}/{name}:{tag}"
        proc = subprocess.run(
            [*cmd, f"oci:{layout}:{tag}", f"docker://{image}"], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"skopeo copy failed: {proc.stderr}\nregistry log: {self.tail()}"
        return image

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log and self.log.exists() else ""


def start_registry(workdir: Path, auth: dict[str, Any] | None = None, creds: str | None = None) -> Registry:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    if auth:
        config["auth"] = auth
    cfg = workdir / "config.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    log = workdir / "registry.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([REGISTRY, "serve", str(cfg)], stdout=out, stderr=subprocess.STDOUT)
    registry = Registry(f"127.0.0.1:{port}", proc, creds, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {registry.tail()}")
        try:
            httpx.get(f"http://{registry.host}/v2/", timeout=1)
            return registry
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"docker-registry did not start: {registry.tail()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TokenServer:
    """Docker token authentication: GET /token?service=…&scope=… → {"token": JWT}.

    Anonymous callers get pull access to ``public/*`` only; ``USER``/``PASSWORD`` get pull and push to
    everything; anything else is refused with 401.
    """

    def __init__(self, workdir: Path, service: str, issuer: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.key_path, self.cert_path = workdir / "token.key", workdir / "token.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=splicelab-token", "-keyout", str(self.key_path), "-out", str(self.cert_path)],
            check=True, capture_output=True,
        )  # fmt: skip
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert_path), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self.x5c = base64.b64encode(der).decode()
        self.key = self.key_path.read_bytes()
        self.service, self.issuer = service, issuer
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if (user, password) != (USER, PASSWORD):
                        return self._send(401, {"details": "bad credentials"})
                server.requests.append({"user": user, "scope": query.get("scope", [])})
                if url.path != "/token" or query.get("service") != [server.service]:
                    return self._send(400, {"details": "bad request"})
                access = []
                for scope in query.get("scope", []):
                    kind, name, actions = scope.split(":")
                    if user is None and not name.startswith("public/"):
                        return self._send(401, {"details": "authentication required"})
                    wanted = actions.split(",")
                    granted = wanted if user else [a for a in wanted if a == "pull"]
                    access.append({"type": kind, "name": name, "actions": granted})
                now = int(time.time())
                claims = {
                    "iss": server.issuer, "sub": user or "", "aud": server.service, "exp": now + 300,
                    "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access,
                }  # fmt: skip
                token = jwt.encode(claims, server.key, algorithm="RS256", headers={"x5c": [server.x5c]})
                self._send(200, {"token": token, "access_token": token, "expires_in": 300})

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Images:
    anon: Registry
    basic: Registry
    token: Registry
    tokens: TokenServer
    labelled: str
    unlabelled: str
    empty_label: str
    multi: str
    basic_image: str
    token_private: str
    token_public: str


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    tmp = tmp_path_factory.mktemp("registries")
    procs: list[subprocess.Popen[bytes]] = []
    tokens = None
    try:
        anon = start_registry(tmp / "anon")
        procs.append(anon.proc)
        htpasswd = tmp / "htpasswd"
        digest = subprocess.run(
            ["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
        ).stdout
        htpasswd.write_text(digest)
        basic = start_registry(
            tmp / "basic",
            {"htpasswd": {"realm": "splicelab-test", "path": str(htpasswd)}},
            f"{USER}:{PASSWORD}",
        )
        procs.append(basic.proc)
        tokens = TokenServer(tmp / "tokens", service="splicelab-registry", issuer="splicelab-test-issuer")
        token_auth = {
            "token": {
                "realm": tokens.realm,
                "service": tokens.service,
                "issuer": tokens.issuer,
                "rootcertbundle": str(tokens.cert_path),
            }
        }
        token = start_registry(tmp / "token", token_auth, f"{USER}:{PASSWORD}")
        procs.append(token.proc)
        compilers = {LABEL: "gcc@11.4.0|gcc@12.3.0|clang@14.0.0|"}
        yield Images(
            anon=anon,
            basic=basic,
            token=token,
            tokens=tokens,
            labelled=anon.push(tmp, "spack/ubuntu-jammy", "latest", {"amd64": compilers}),
            unlabelled=anon.push(tmp, "plain/debian", "12", {"amd64": None}),
            empty_label=anon.push(tmp, "spack/empty", "v1", {"amd64": {LABEL: "|"}}),
            multi=anon.push(
                tmp,
                "spack/multi",
                "2024",
                {"amd64": {LABEL: "gcc@12.2.0|"}, "arm64": {LABEL: "gcc@10.5.0|clang@15.0.7"}},
            ),
            basic_image=basic.push(tmp, "private/rocky", "9", {"amd64": {LABEL: "gcc@11.4.1|"}}),
            token_private=token.push(
                tmp, "team/debian", "bookworm", {"amd64": {LABEL: "gcc@12.2.0|clang@15.0.6|"}}
            ),
            token_public=token.push(tmp, "public/ubuntu", "jammy", {"amd64": {LABEL: "gcc@11.4.0|"}}),
        )
    finally:
        for proc in procs:
            stop(proc)
        if tokens:
            tokens.close()


def run_matrix(args: list[str], env: dict[str, str] | None = None) -> Any:
    runner = CliRunner()
    base = {"SPLICELAB_REGISTRY_USERNAME": None, "SPLICELAB_REGISTRY_PASSWORD": None, "GITHUB_OUTPUT": None}
    return runner.invoke(
        main, ["matrix", "--insecure", *args], env={**base, **(env or {})}, catch_exceptions=False
    )


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No docker config of the machine's user leaks into a test."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


# --- anonymous registry -----------------------------------------------------------------------------


def test_labelled_image_gives_one_job_per_compiler(images: Images, isolated_home: Path) -> None:
    result = run_matrix([images.labelled])
    assert result.exit_code == 0, result.output
    matrix = json.loads(result.stdout)
    assert matrix == [
        [images.labelled, "gcc@11.4.0"],
        [images.labelled, "gcc@12.3.0"],
        [images.labelled, "clang@14.0.0"],
    ]


def test_unlabelled_and_empty_label_give_all(images: Images, isolated_home: Path) -> None:
    result = run_matrix([images.unlabelled, images.empty_label])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [[images.unlabelled, "all"], [images.empty_label, "all"]]


def test_index_resolves_to_the_chosen_platform(images: Images, isolated_home: Path) -> None:
    amd = run_matrix([images.multi])
    assert json.loads(amd.stdout) == [[images.multi, "gcc@12.2.0"]]
    arm = run_matrix(["--platform", "linux/arm64", images.multi])
    assert json.loads(arm.stdout) == [[images.multi, "gcc@10.5.0"], [images.multi, "clang@15.0.7"]]
    missing = run_matrix(["--platform", "linux/s390x", images.multi])
    assert missing.exit_code == 1
    assert "linux/s390x" in missing.stderr and "linux/arm64" in missing.stderr


def test_digest_reference_is_verified(images: Images, isolated_home: Path) -> None:
    with RegistryClient(insecure=True) as client:
        config = client.image_config(images.labelled)
        by_digest = f"{images.labelled.rsplit(':', 1)[0]}@{config.manifest_digest}"
        again = client.image_config(by_digest)
    assert again.config_digest == config.config_digest
    assert again.labels[LABEL] == "gcc@11.4.0|gcc@12.3.0|clang@14.0.0|"
    assert config.platform == "linux/amd64"


def test_missing_image_is_named_and_others_still_reported(images: Images, isolated_home: Path) -> None:
    missing = f"{images.anon.host}/spack/nope:latest"
    result = run_matrix([images.labelled, missing, images.unlabelled])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        [images.labelled, "gcc@11.4.0"],
        [images.labelled, "gcc@12.3.0"],
        [images.labelled, "clang@14.0.0"],
        [images.unlabelled, "all"],
    ]
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and missing in error_lines[0] and "not found" in error_lines[0]
    assert f"{images.labelled}: gcc@11.4.0" in result.stderr
    assert "1 of 3 images failed" in result.stderr


def test_registry_down(isolated_home: Path) -> None:
    image = f"127.0.0.1:{free_port()}/spack/ubuntu:latest"
    result = run_matrix([image])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == []
    assert image in result.stderr and "unreachable" in result.stderr


def test_github_output_and_legacy_set_output(images: Images, isolated_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "github_output"
    out.write_text("earlier=1\n")
    listing = tmp_path / "images.txt"
    listing.write_text(f"# build images\n{images.labelled}\n\n{images.unlabelled}  # no label\n")
    result = run_matrix(
        ["--images", str(listing), "--github-output", "--legacy-set-output"], env={"GITHUB_OUTPUT": str(out)}
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1"
    name, _, value = lines[1].partition("=")
    assert name == "containers" and json.loads(value) == json.loads(result.stdout.splitlines()[0])
    include = json.loads(lines[2].partition("=")[2])
    assert {"image": images.unlabelled, "compiler": "all"} in include and len(include) == 4
    assert result.stdout.splitlines()[1] == f"::set-output name=containers::{value}"


def test_github_output_needs_the_variable(images: Images, isolated_home: Path) -> None:
    result = CliRunner().invoke(
        main, ["matrix", "--github-output", images.labelled], env={"GITHUB_OUTPUT": None}
    )
    assert result.exit_code == 2 and "GITHUB_OUTPUT" in result.output


def test_plain_http_only_with_insecure(images: Images, isolated_home: Path) -> None:
    result = CliRunner().invoke(main, ["matrix", images.labelled])
    assert result.exit_code == 1
    assert images.labelled in result.stderr and f"https://{images.anon.host}" in result.stderr


# --- basic auth (htpasswd) --------------------------------------------------------------------------


def test_basic_auth_refused_without_credentials(images: Images, isolated_home: Path) -> None:
    result = run_matrix([images.basic_image])
    assert result.exit_code == 1
    assert images.basic_image in result.stderr and "basic auth" in result.stderr


def test_basic_auth_from_environment(images: Images, isolated_home: Path) -> None:
    env = {"SPLICELAB_REGISTRY_USERNAME": USER, "SPLICELAB_REGISTRY_PASSWORD": PASSWORD}
    result = run_matrix([images.basic_image], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [[images.basic_image, "gcc@11.4.1"]]
    wrong = run_matrix([images.basic_image], env={**env, "SPLICELAB_REGISTRY_PASSWORD": "nope"})
    assert wrong.exit_code == 1 and "refused" in wrong.stderr


def test_basic_auth_from_docker_config(images: Images, isolated_home: Path) -> None:
    config_dir = isolated_home / "dockercfg"
    config_dir.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config_dir / "config.json").write_text(
        json.dumps({"auths": {f"http://{images.basic.host}": {"auth": auth}}})
    )
    result = run_matrix([images.basic_image], env={"DOCKER_CONFIG": str(config_dir)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [[images.basic_image, "gcc@11.4.1"]]


# --- bearer tokens ------------------------------------------------------------------------------------


def test_bearer_anonymous_pull(images: Images, isolated_home: Path) -> None:
    before = len(images.tokens.requests)
    result = run_matrix([images.token_public])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [[images.token_public, "gcc@11.4.0"]]
    asked = images.tokens.requests[before:]
    assert asked and all(r["user"] is None for r in asked)
    assert ["repository:public/ubuntu:pull"] in [r["scope"] for r in asked]


def test_bearer_with_credentials(images: Images, isolated_home: Path) -> None:
    anonymous = run_matrix([images.token_private])
    assert anonymous.exit_code == 1
    assert images.token_private in anonymous.stderr and "401" in anonymous.stderr
    env = {"SPLICELAB_REGISTRY_USERNAME": USER, "SPLICELAB_REGISTRY_PASSWORD": PASSWORD}
    before = len(images.tokens.requests)
    result = run_matrix([images.token_private], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        [images.token_private, "gcc@12.2.0"],
        [images.token_private, "clang@15.0.6"],
    ]
    # one token for the repository, reused for the manifest and the config blob
    assert [r["user"] for r in images.tokens.requests[before:]] == [USER]


def test_token_scoped_to_host(images: Images, isolated_home: Path) -> None:
    creds = CredentialStore({images.basic.host: Credentials(USER, PASSWORD)})
    with RegistryClient(insecure=True, credentials=creds) as client:
        assert client.image_config(images.basic_image).labels[LABEL] == "gcc@11.4.1|"
        with pytest.raises(RegistryError) as info:
            client.image_config(images.token_private)
    assert info.value.image == images.token_private


def test_platform_parse() -> None:
    assert Platform.parse("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    with pytest.raises(ValueError, match="OS/ARCH"):
        Platform.parse("amd64")
