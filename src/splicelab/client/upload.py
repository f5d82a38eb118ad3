"""What ``splicelab upload`` sends: the files of a run, recognized by their content.

* ``*.jsonl`` from ``splicelab analyze`` (one corpus per line) and symbolator's JSON → corpora;
* an artifacts JSON (``{"artifacts": [...]}`` or a list of ``Artifact.to_dict``) → artifacts;
* ``predictions.json`` → predictions; ``outcomes.json`` → outcomes;
* a directory → every ``.json`` / ``.jsonl`` below it (a whole run directory).

Files that are none of these are reported and skipped. Corpora whose ``path`` is absolute (``analyze``
of a system directory) are sent relative to ``/``. Everything is sent in batches that the server
stores as upserts: running the same upload twice stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from splicelab.artifact import SCHEMA as ARTIFACT_SCHEMA
from splicelab.client.api import ApiClient
from splicelab.corpus import SCHEMA as CORPUS_SCHEMA
from splicelab.corpus import CorpusFormatError, read_symbolator

KINDS = ("artifacts", "corpora", "predictions", "outcomes")


@dataclass
class Collected:
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def add(self, kind: str, doc: dict[str, Any]) -> None:
        self.documents[kind].append(doc)


@dataclass
class UploadReport:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    new_corpora: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)


def sniff(doc: Any) -> str | None:
    """Which kind of document ``doc`` is (one of :data:`KINDS`), or None."""
    if not isinstance(doc, dict):
        return None
    if doc.get("schema") == CORPUS_SCHEMA:
        return "corpora"
    if doc.get("schema") == ARTIFACT_SCHEMA or {"name", "version", "build_id"} <= doc.keys():
        return "artifacts"
    if "predictors" in doc and "binary" in doc:
        return "predictions"
    if "class" in doc and ("binary" in doc or "program" in doc):
        return "outcomes"
    return None


def _relative_corpus(doc: dict[str, Any]) -> dict[str, Any]:
    path = doc.get("path")
    if isinstance(path, str) and path.startswith("/"):
        doc = {**doc, "path": path.lstrip("/")}
    return doc


def _add_documents(docs: Iterable[Any], where: Path, out: Collected) -> None:
    unknown = 0
    for doc in docs:
        kind = sniff(doc)
        if kind is None:
            unknown += 1
            continue
        out.add(kind, _relative_corpus(doc) if kind == "corpora" else doc)
    if unknown:
        out.skipped.append(f"{where}: {unknown} document(s) of no known kind")


def read_file(path: Path, out: Collected) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        out.skipped.append(f"{path}: cannot read: {exc}")
        return
    if path.suffix == ".jsonl":
        docs = []
        for n, line in enumerate(data.splitlines(), 1):
            if line.strip():
                try:
                    docs.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    out.skipped.append(f"{path}:{n}: invalid JSON: {exc}")
                    return
        out.files.append(path)
        _add_documents(docs, path, out)
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        out.skipped.append(f"{path}: invalid JSON: {exc}")
        return
    if isinstance(doc, dict) and isinstance(doc.get("artifacts"), list):
        out.files.append(path)
        _add_documents(doc["artifacts"], path, out)
        return
    items = doc if isinstance(doc, list) else [doc]
    if items and isinstance(items[0], dict) and "corpus" in items[0] and sniff(items[0]) is None:
        try:  # symbolator's corpus list
            corpora = read_symbolator(items)
        except CorpusFormatError as exc:
            out.skipped.append(f"{path}: {exc}")
            return
        out.files.append(path)
        _add_documents((c.to_dict() for c in corpora), path, out)
        return
    if not any(sniff(d) for d in items):
        out.skipped.append(f"{path}: not corpora, artifacts, predictions or outcomes")
        return
    out.files.append(path)
    _add_documents(items, path, out)


def collect(paths: Iterable[Path]) -> Collected:
    out = Collected()
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix in (".json", ".jsonl"):
                    read_file(child, out)
        elif path.is_file():
            read_file(path, out)
        else:
            out.skipped.append(f"{path}: no such file or directory")
    return out


def upload(
    api: ApiClient, collected: Collected, progress: Callable[[str, int], None] | None = None
) -> UploadReport:
    """Send ``collected``: artifacts first (they carry corpora), then corpora, predictions, outcomes."""
    report = UploadReport(files=len(collected.files), skipped=list(collected.skipped))
    docs = collected.documents

    def tick(kind: str) -> Callable[[int], None] | None:
        return None if progress is None else (lambda n: progress(kind, n))

    if docs["artifacts"]:
        stored = api.post_artifacts(docs["artifacts"], tick("artifacts"))
        report.counts["artifacts"] = len(stored)
    if docs["corpora"]:
        stored = api.post_corpora(docs["corpora"], tick("corpora"))
        report.counts["corpora"] = len({c["digest"] for c in stored})
    if docs["predictions"]:
        report.counts["predictions"] = api.post_predictions(docs["predictions"], tick("predictions"))
    if docs["outcomes"]:
        report.counts["outcomes"] = api.post_outcomes(docs["outcomes"], tick("outcomes"))
    return report


def summary_line(report: UploadReport) -> str:
    parts = [f"{report.counts[k]} {k}" for k in KINDS if report.counts[k]]
    return f"uploaded {', '.join(parts) or 'nothing'} from {report.files} file(s)"
