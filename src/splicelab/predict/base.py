"""The predictor protocol: a splice in, a verdict with reasons out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from splicelab.artifact import Artifact
    from splicelab.link import World


class Verdict(StrEnum):
    WORKS = "works"
    BREAKS = "breaks"
    UNKNOWN = "unknown"


# Reason kinds (docs/formats.md lists their meaning).
MISSING_SONAME = "missing-soname"
MISSING_SYMBOL = "missing-symbol"
MISSING_VERSION = "missing-version"
DEPENDENCY_UNMET = "dependency-unmet"
DEPENDENCY_VERSION = "dependency-version"
DATA_SHRUNK = "data-shrunk"
SYMBOL_MOVED = "symbol-moved"
ABI_CHANGE = "abi-change"
TOOL_UNAVAILABLE = "tool-unavailable"
TOOL_ERROR = "tool-error"


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence: what is wrong, with which symbol, version and library."""

    kind: str
    symbol: str | None = None
    version: str | None = None
    library: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "symbol": self.symbol,
            "version": self.version,
            "library": self.library,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reason:
        return cls(
            kind=str(d["kind"]),
            symbol=d.get("symbol"),
            version=d.get("version"),
            library=d.get("library"),
            detail=d.get("detail"),
        )

    def __str__(self) -> str:
        what = self.symbol or ""
        if self.version:
            what += f"@{self.version}"
        where = f" in {self.library}" if self.library else ""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.kind}: {what}{where}{extra}".replace(":  in", ": in")


@dataclass(frozen=True, slots=True)
class Prediction:
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "reasons": [r.to_dict() for r in self.reasons]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prediction:
        return cls(Verdict(d["verdict"]), tuple(Reason.from_dict(r) for r in d.get("reasons", ())))


@dataclass(frozen=True, slots=True)
class Splice:
    """Binary file ``file`` of artifact ``binary``, with every file of ``original`` (an artifact of package
    ``dependency`` that the binary loads) replaced by the files of ``replacement``."""

    binary: Artifact
    file: str
    dependency: str
    original: Artifact
    replacement: Artifact

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.binary.id, self.file, self.original.id, self.replacement.id)


@runtime_checkable
class Predictor(Protocol):
    """Each predictor module defines one class following this protocol."""

    name: ClassVar[str]

    def unavailable(self) -> str | None:
        """None when usable; otherwise why not (e.g. "abicompat not found: apt-get install abigail-tools")."""
        ...

    def predict(self, splice: Splice, world: World) -> Prediction: ...
