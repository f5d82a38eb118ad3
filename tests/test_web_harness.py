"""Helpers for the web UI's tests and benchmark: a real monitor filled with real data, and Chromium.

* :func:`fill_from_fixture` - what a monitor holds after a real run over the Spack fixture:
  ``splicelab predict`` over both trees, ``splicelab validate`` of libpng x zlib (real outcomes,
  with the loader's messages), both sent with ``splicelab upload``; the fixture's installs sent as
  builds over the spack monitor protocol by the build runner (``finish`` with ``Ms1Monitor``: spec,
  build, phases from ``install_times.json``, corpora, status) and one failed configure reported from a
  Rocky Linux 9 builder;
* :func:`synthetic_entries` - a large predictions document (binaries x replacements) for size tests;
* :class:`Browser` - Debian's Chromium through Playwright, with console errors and dialogs recorded.

This module holds no tests; the test modules build their fixtures from it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from splicelab.build.ms1 import Ms1Monitor
from splicelab.build.records import Job
from splicelab.build.runner import finish, record_install
from splicelab.build.spack import CommandResult, parse_install_output
from splicelab.client.http import Transport
from splicelab.client.ms1 import Ms1Client
from test_server_harness import Server, splicelab

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures"
TREES = [FIXTURES / "spack-1.0" / "opt", FIXTURES / "spack-0.23" / "opt"]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROCKY = {
    "hostname": "rocky-builder",
    "platform": "linux",
    "kernel_version": "#1 SMP PREEMPT_DYNAMIC",
    "host_os": "rocky9",
    "host_target": "x86_64_v3",
}
CONFIGURE_FAILED = """\
==> Installing zlib-1.2.13-{hash} [3/3]
==> No binary for zlib-1.2.13-{hash} found: installing from source
==> No patches needed for zlib
==> zlib: Executing phase: 'edit'
==> Error: ProcessError: Command exited with status 1:
    './configure' '--prefix=/opt/spack/opt/linux-rocky9-x86_64_v3/gcc-12.2.0/zlib-1.2.13-{hash}'
"""


def require_fixture() -> None:
    if not all(t.is_dir() for t in TREES):
        pytest.skip("the Spack fixture trees (../shared/fixtures) are not present")


@dataclass
class Site:
    """A running monitor and what was put in it."""

    server: Server
    token: str
    work: Path
    user: str = "tester"
    predictions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    builds: dict[str, int] = field(default_factory=dict)  # prefix name (or "failed") -> build id
    extra: dict[str, Any] = field(default_factory=dict)  # other documents a test module sent

    @property
    def url(self) -> str:
        return self.server.url


def install_output(prefix: Path) -> str:
    """What ``spack install`` prints when it builds ``prefix`` (the runner parses this)."""
    ident = prefix.name
    name = ident.rsplit("-", 2)[0]
    return (
        f"==> Installing {ident} [1/1]\n"
        f"==> No binary for {ident} found: installing from source\n"
        f"==> {name}: Executing phase: 'build'\n"
        f"==> {name}: Successfully installed {ident}\n"
        f"[+] {prefix}\n"
    )


def upload_fixture_builds(site: Site, packages: tuple[str, ...] = ("pigz", "libpng", "zlib")) -> None:
    prefixes = sorted(
        f.parent.parent
        for tree in TREES
        for pattern in ("*/*/.spack/spec.json", "*/*/*/.spack/spec.json")
        for f in tree.glob(pattern)
    )
    with Transport(site.url, site.user, site.token) as transport:
        client = Ms1Client(transport)
        for prefix in prefixes:
            name, version, _hash = prefix.name.rsplit("-", 2)
            if name not in packages:
                continue
            spec = json.loads((prefix / ".spack" / "spec.json").read_text())
            node = spec["spec"]["nodes"][0]
            spack = json.loads((prefix / ".spack" / "install_environment.json").read_text())["spack_version"]
            monitor = Ms1Monitor(client, spack_version=spack)
            out = install_output(prefix)
            record = record_install(
                Job(name, version, str(node.get("compiler", {}).get("name", "gcc"))),
                CommandResult(("spack", "install"), 0, out, 12.5, False),
                parse_install_output(out),
                1.0,
            )
            problems = finish(record, monitor, tags=("fixture",))
            assert record.uploaded, (record.upload_error, problems)
            site.builds[prefix.name] = client.new_build(record.hash, environment=_recorded_env(prefix))
        # a failed build from another builder: configure failed, the spec taken from the fixture
        zlib = next(p for p in prefixes if p.name.startswith("zlib-1.2.13-"))
        spec = json.loads((zlib / ".spack" / "spec.json").read_text())
        full_hash = spec["spec"]["nodes"][0]["hash"]
        client.new_spec(spec, "0.23.1")
        build_id = client.new_build(full_hash, spack_version="0.23.1", environment=ROCKY, tags=("rocky",))
        client.update_phase(build_id, "stage", "SUCCESS", None)
        client.update_phase(build_id, "edit", "FAILED", CONFIGURE_FAILED.format(hash=full_hash))
        client.update_build(build_id, "FAILED")
        site.builds["failed"] = build_id


def _recorded_env(prefix: Path) -> dict[str, str]:
    from splicelab.client.ms1 import build_environment

    env = build_environment()
    recorded = json.loads((prefix / ".spack" / "install_environment.json").read_text())
    env.update({k: v for k, v in recorded.items() if k in env})
    return env


def fill_from_fixture(site: Site) -> None:
    """Real predictions, real outcomes (libpng x zlib), real builds: see the module's docstring.
    The validation runs while the builds are uploaded."""
    require_fixture()
    run = site.work / "run"
    run.mkdir(parents=True, exist_ok=True)
    outcomes = run / "outcomes.json"
    validate = [*map(str, TREES), "--dependency", "zlib", "--binary", "libpng", "--out", str(outcomes)]
    with subprocess.Popen(
        [sys.executable, "-m", "splicelab", "validate", *validate],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        splicelab("predict", *map(str, TREES), "--out", str(run))
        upload_fixture_builds(site)
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, log
    env = {"SPLICELAB_USER": site.user, "SPLICELAB_TOKEN": site.token}
    files = (str(run / "predictions.json"), str(outcomes))
    splicelab("upload", *files, "--host", site.url, "--retry-for", "10", env=env)
    site.predictions = json.loads((run / "predictions.json").read_text())
    site.outcomes = json.loads(outcomes.read_text())


def post(site: Site, kind: str, entries: list[dict[str, Any]]) -> int:
    """Send documents with the API client (``kind``: predictions or outcomes)."""
    from splicelab.client import ApiClient

    with Transport(site.url, site.user, site.token) as transport:
        api = ApiClient(transport)
        return api.post_predictions(entries) if kind == "predictions" else api.post_outcomes(entries)


def ref(package: str, version: str, hash: str) -> dict[str, str]:
    return {"package": package, "version": version, "hash": hash, "id": f"{package}@{version}/{hash}"}


def synthetic_entries(
    n_rows: int, n_cols: int, package: str = "bigpkg", seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n_rows binaries x n_cols replacements of ``libdep`` (loader and symbols verdicts, a block
    pattern with noise, missing symbols as reasons) and outcomes for every 7th splice."""
    rng = random.Random(seed)
    entries, outcomes = [], []
    original = ref("libdep", "1.0", "o" * 32)
    for i in range(n_rows):
        binary = {**ref(package, f"1.{i}", f"{i:07d}" + "b" * 25), "file": "bin/tool"}
        for j in range(n_cols):
            repl = ref("libdep", f"2.{j}", f"{j:07d}" + "r" * 25)
            broken = j % 5 == 0 or (i % 4 == 0 and j % 3 == 0)
            preds = {}
            for name, noise in (("loader", 0.01), ("symbols", 0.2)):
                if broken != (rng.random() < noise):
                    reason = {"kind": "missing-symbol", "symbol": f"dep_{j}", "version": f"DEP_2.{j}"}
                    preds[name] = {"verdict": "breaks", "reasons": [{**reason, "library": "libdep.so.2"}]}
                else:
                    preds[name] = {"verdict": "works", "reasons": []}
            entries.append(
                {
                    "binary": binary,
                    "dependency": "libdep",
                    "original": original,
                    "replacement": repl,
                    "predictors": preds,
                }
            )
            if (i * n_cols + j) % 7 == 0:
                outcomes.append(
                    {
                        "binary": binary,
                        "dependency": "libdep",
                        "original": original,
                        "replacement": repl,
                        "mode": "spack",
                        "method": "preload",
                        "class": "undefined-symbol" if broken else "ok",
                        "message": f"bin/tool: symbol lookup error: undefined symbol: dep_{j}"
                        if broken
                        else "",
                    }
                )
    return entries, outcomes


# --- Chromium ---------------------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash .ci/setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Browser:
    """One page in Chromium with its console errors, dialogs and failed responses recorded."""

    def __init__(self, browser: Any, width: int = 1400, height: int = 950) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.statuses: dict[str, int] = {}
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("response", lambda r: self.statuses.__setitem__(r.url, r.status))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)

    def open(self, url: str) -> int:
        reply = self.page.goto(url)
        assert reply is not None
        return int(reply.status)

    def wait_heatmap(self) -> None:
        self.page.wait_for_function(
            "() => { const h = document.getElementById('heatmap'); return h && h.dataset.drawn; }",
            timeout=60_000,
        )

    def cell(self, row_label: str, col_label: str) -> dict[str, float]:
        pos = self.page.evaluate(
            "([r, c]) => { const h = window.splicelabHeatmap; const f = h.find(r, c);"
            " return f && h.reveal(f.row, f.col); }",
            [row_label, col_label],
        )
        assert pos is not None, f"no cell {row_label} x {col_label} on the page"
        return dict(pos)

    def shot(self, name: str, full: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=full)
        return path

    def close(self) -> None:
        self.page.close()
