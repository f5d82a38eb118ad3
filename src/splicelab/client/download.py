"""``splicelab download``: the seed's local analysis, made resumable.

For a package, every spec of it and of the packages it links with (the splice candidates) is fetched
over the spack monitor API, with the corpus results of each (ours, or symbolator's JSON), into a local
cache; then the builds are written as one artifacts JSON that ``splicelab predict`` reads::

    DIR/cache/<name>/<version>/<hash>/spec.json
    DIR/cache/<name>/<version>/<hash>/results/<install file>.<result name>.json
    DIR/<package>.artifacts.json          {"artifacts": [Artifact.to_dict, …]}

A result already in the cache is not fetched again; every file is written to a temporary name and
renamed, so an interrupted download leaves no half-written file and can simply be run again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from splicelab.artifact import Artifact, Dependency
from splicelab.client.ms1 import CORPUS_RESULT, CORPUS_RESULT_NAMES, Ms1Client
from splicelab.corpus import Corpus, CorpusFormatError, from_symbolator

LINK_TYPES = {"link", "run"}


@dataclass
class DownloadReport:
    specs: int = 0
    results: int = 0
    fetched: int = 0
    cached: int = 0
    artifacts: int = 0
    artifacts_file: Path | None = None
    problems: list[str] = field(default_factory=list)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent or complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _component(value: Any, what: str) -> str:
    text = str(value or "")
    if not text or "/" in text or "\\" in text or "\x00" in text or text in (".", ".."):
        raise ValueError(f"{what} {text!r} cannot be a directory name")
    return text


def _inside(base: Path, relative: str) -> Path:
    """``base/relative`` if it stays inside ``base`` (server-provided names are not trusted)."""
    if relative.startswith("/") or ".." in relative.split("/") or "\x00" in relative or not relative:
        raise ValueError(f"file name {relative!r} is absolute or climbs out of its directory")
    return base / relative


def spec_dir(cache: Path, spec: dict[str, Any]) -> Path:
    return (
        cache
        / _component(spec.get("name"), "package name")
        / _component(spec.get("version") or "unknown", "version")
        / _component(spec.get("full_hash"), "hash")
    )


class Downloader:
    def __init__(self, client: Ms1Client, dest: Path, progress: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.dest = dest
        self.cache = dest / "cache"
        self.progress = progress or (lambda _msg: None)
        self.report = DownloadReport()

    def specs_to_fetch(self, package: str) -> list[dict[str, Any]]:
        """The package's specs, and every spec of each package they link with (transitively)."""
        by_id: dict[int, dict[str, Any]] = {}
        wanted = [package]
        seen_names: set[str] = set()
        while wanted:
            name = wanted.pop()
            if name in seen_names:
                continue
            seen_names.add(name)
            for spec in self.client.specs_by_name(name):
                by_id[spec["id"]] = spec
                for dep in spec.get("dependencies") or []:
                    if not dep.get("types") or LINK_TYPES & set(dep["types"]):
                        wanted.append(dep["name"])
        return [by_id[i] for i in sorted(by_id)]

    def fetch_spec(self, spec: dict[str, Any]) -> Path:
        sdir = spec_dir(self.cache, spec)
        write_atomic(sdir / "spec.json", orjson.dumps(spec, option=orjson.OPT_INDENT_2))
        for result in self.client.spec_results(spec["id"]):
            if result.get("name") not in CORPUS_RESULT_NAMES:
                continue
            self.report.results += 1
            try:
                target = _inside(sdir / "results", f"{result['filename']}.{result['name']}.json")
            except ValueError as exc:
                self.report.problems.append(f"{spec['name']} result {result.get('id')}: {exc}")
                continue
            if target.exists():
                self.report.cached += 1
                continue
            value = self.client.download_result(result["id"])
            write_atomic(target, orjson.dumps(value))
            self.report.fetched += 1
        return sdir

    def artifact(self, spec: dict[str, Any], sdir: Path) -> Artifact | None:
        files: dict[str, Corpus] = {}
        results = sdir / "results"
        if not results.is_dir():
            return None
        for name in (CORPUS_RESULT, "symbolator-json"):  # ours first
            suffix = f".{name}.json"
            for path in sorted(results.rglob(f"*{suffix}")):
                rel = path.relative_to(results).as_posix()[: -len(suffix)]
                if rel in files:
                    continue
                try:
                    doc = orjson.loads(path.read_bytes())
                    corpus = Corpus.from_dict(doc) if name == CORPUS_RESULT else from_symbolator(doc)
                except (orjson.JSONDecodeError, CorpusFormatError) as exc:
                    self.report.problems.append(f"{path}: {exc}")
                    continue
                files[rel] = Corpus.from_dict({**corpus.to_dict(), "path": rel})
        if not files:
            return None
        compiler = spec.get("compiler") or {}
        arch = spec.get("arch") or {}
        deps = tuple(
            Dependency(
                name=d["name"],
                build_id=d.get("hash") or d.get("full_hash"),
                version=d.get("version"),
                types=tuple(d.get("types") or ("link",)),
                virtuals=tuple(d.get("virtuals") or ()),
            )
            for d in spec.get("dependencies") or []
            if not d.get("types") or LINK_TYPES & set(d["types"])
        )
        prefixes = [b["install_prefix"] for b in spec.get("builds") or [] if b.get("install_prefix")]
        return Artifact(
            name=spec["name"],
            version=spec.get("version") or "unknown",
            build_id=spec.get("hash") or spec["full_hash"],
            root=sdir,
            source="monitor",
            compiler=(
                f"{compiler['name']}@{compiler['version']}"
                if compiler.get("version")
                else compiler.get("name")
            ),
            platform="-".join(
                p for p in (arch.get("platform"), arch.get("platform_os"), arch.get("target")) if p
            )
            or None,
            dependencies=deps,
            files=files,
            build_spec=spec.get("build_spec"),
            recorded_root=prefixes[0] if prefixes else None,
            metadata={
                "monitor_spec_id": spec["id"],
                "full_hash": spec["full_hash"],
                "host": self.client.transport.host,
            },
        )

    def run(self, package: str) -> DownloadReport:
        _component(package, "package name")
        specs = self.specs_to_fetch(package)
        self.report.specs = len(specs)
        self.progress(f"{len(specs)} specs of {package} and the packages it links with")
        artifacts = []
        for n, spec in enumerate(specs, 1):
            try:
                sdir = self.fetch_spec(spec)
            except ValueError as exc:
                self.report.problems.append(f"spec {spec.get('id')}: {exc}")
                continue
            self.progress(f"[{n}/{len(specs)}] {spec['name']}@{spec.get('version')}/{spec['full_hash'][:7]}")
            artifact = self.artifact(spec, sdir)
            if artifact is not None:
                artifacts.append(artifact)
        target = self.dest / f"{package}.artifacts.json"
        doc = {"artifacts": [a.to_dict() for a in artifacts]}
        write_atomic(target, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        self.report.artifacts = len(artifacts)
        self.report.artifacts_file = target
        return self.report


def download(
    client: Ms1Client, package: str, dest: Path, progress: Callable[[str], None] | None = None
) -> DownloadReport:
    return Downloader(client, dest, progress).run(package)
