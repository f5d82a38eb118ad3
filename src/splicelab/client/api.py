"""A client of splicelab's ``/api/v1``: bulk uploads in batches, and lists that follow ``next``.

api = ApiClient(Transport("http://127.0.0.1:8000", user, token))
api.post_corpora(corpus_dicts)            # batched by size; safe to repeat
api.post_artifacts([a.to_dict() for a in artifacts])
api.post_predictions(json.load(open("predictions.json")))
for p in api.iterate("predictions", package="pigz", verdict="breaks"): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson

from splicelab.client.http import MonitorError, Transport

PREFIX = "/api/v1"
BATCH_BYTES = 8 * 1024**2
BATCH_ITEMS = 500


def batches(
    items: Iterable[Any], max_bytes: int = BATCH_BYTES, max_items: int = BATCH_ITEMS
) -> Iterator[bytes]:
    """JSON arrays of ``items``, each at most ``max_bytes`` (unless one item alone is larger)."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        encoded = orjson.dumps(item)
        if chunk and (size + len(encoded) + 1 > max_bytes or len(chunk) >= max_items):
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


class ApiClient:
    def __init__(self, transport: Transport, *, batch_bytes: int = BATCH_BYTES) -> None:
        self.transport = transport
        self.batch_bytes = batch_bytes

    def _post_all(
        self, endpoint: str, items: Iterable[Any], progress: Callable[[int], None] | None = None
    ) -> list[dict[str, Any]]:
        replies = []
        for body in batches(items, self.batch_bytes):
            reply = self.transport.request("POST", f"{PREFIX}/{endpoint}", content=body).json()
            if not isinstance(reply, dict):
                raise MonitorError(f"{endpoint}: unexpected reply")
            replies.append(reply)
            if progress is not None:
                progress(_count(reply))
        return replies

    def post_corpora(
        self, corpora: Iterable[Mapping[str, Any]], progress: Callable[[int], None] | None = None
    ) -> list[dict[str, Any]]:
        """Store corpora; returns ``[{"digest", "id", "path"}]`` in input order."""
        out: list[dict[str, Any]] = []
        for reply in self._post_all("corpora", corpora, progress):
            out.extend(reply["data"]["corpora"])
        return out

    def post_artifacts(
        self, artifacts: Iterable[Mapping[str, Any]], progress: Callable[[int], None] | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for reply in self._post_all("artifacts", artifacts, progress):
            out.extend(reply["data"]["artifacts"])
        return out

    def post_predictions(
        self, entries: Iterable[Mapping[str, Any]], progress: Callable[[int], None] | None = None
    ) -> int:
        return sum(int(r["data"]["stored"]) for r in self._post_all("predictions", entries, progress))

    def post_outcomes(
        self, entries: Iterable[Mapping[str, Any]], progress: Callable[[int], None] | None = None
    ) -> int:
        return sum(int(r["data"]["stored"]) for r in self._post_all("outcomes", entries, progress))

    # --- reads ---------------------------------------------------------------------------------------

    def page(self, endpoint: str, **params: Any) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        reply: dict[str, Any] = self.transport.get_json(f"{PREFIX}/{endpoint}", params=clean)
        return reply

    def iterate(self, endpoint: str, *, limit: int = 500, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page after page (following ``next``)."""
        reply = self.page(endpoint, limit=limit, **params)
        while True:
            yield from reply["items"]
            following = reply.get("next")
            if not following:
                return
            reply = self.transport.get_json(following)

    def artifact(self, artifact_id: int, files: str = "full") -> dict[str, Any]:
        reply: dict[str, Any] = self.transport.get_json(
            f"{PREFIX}/artifacts/{artifact_id}", params={"files": files}
        )
        return reply

    def corpus(self, digest: str) -> dict[str, Any]:
        reply: dict[str, Any] = self.transport.get_json(f"{PREFIX}/corpora/{digest}")
        return reply


def _count(reply: Mapping[str, Any]) -> int:
    data = reply.get("data", {})
    for key in ("corpora", "artifacts"):
        if isinstance(data.get(key), list):
            return len(data[key])
    return int(data.get("entries", data.get("stored", 0)))
