"""Artifact: one build of one package, and the files (corpora) it installed.

Sources (``splicelab.sources``: a Spack install tree, a Debian release, a plain directory) produce
artifacts; the loader emulation and the predictors consume them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splicelab.corpus import Corpus

SCHEMA = "splicelab.artifact/1"


@dataclass(frozen=True, slots=True)
class Dependency:
    """An edge to another artifact: its package name and build id, and Spack's dependency types."""

    name: str
    build_id: str | None = None
    version: str | None = None
    types: tuple[str, ...] = ("link",)
    virtuals: tuple[str, ...] = ()


@dataclass(slots=True)
class Artifact:
    """One build of one package.

    ``build_id`` identifies the build among builds of the same name and version: the Spack DAG hash, a
    Debian ``version+release``, or a directory's declared id. ``root`` is where its files lie *now*;
    ``recorded_root`` is where they were installed (what RPATHs name), when that differs (a moved
    Spack tree, a relocated binary cache).
    """

    name: str
    version: str
    build_id: str
    root: Path
    source: str = "directory"  # "spack" | "debian" | "directory" | "monitor"
    compiler: str | None = None
    platform: str | None = None
    release: str | None = None  # e.g. a Debian release
    dependencies: tuple[Dependency, ...] = ()
    files: dict[str, Corpus] = field(default_factory=dict)  # path relative to root -> corpus
    recorded_root: str | None = None
    build_spec: str | None = None  # Spack: the build id this spliced node was built as
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}/{self.build_id}"

    @property
    def short_id(self) -> str:
        return f"{self.name}@{self.version}/{self.build_id[:7]}"

    @property
    def spliced(self) -> bool:
        return self.build_spec is not None and self.build_spec != self.build_id

    def libraries(self) -> list[tuple[str, Corpus]]:
        return [(p, c) for p, c in sorted(self.files.items()) if c.elf_type == "ET_DYN" and c.soname]

    def executables(self) -> list[tuple[str, Corpus]]:
        return [(p, c) for p, c in sorted(self.files.items()) if c.is_executable]

    def describe(self) -> dict[str, Any]:
        """The identifying part, as written into predictions and outcomes."""
        d: dict[str, Any] = {
            "package": self.name,
            "version": self.version,
            "hash": self.build_id,
            "id": self.id,
        }
        if self.release:
            d["release"] = self.release
        if self.compiler:
            d["compiler"] = self.compiler
        return d

    def to_dict(self, with_files: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "name": self.name,
            "version": self.version,
            "build_id": self.build_id,
            "root": str(self.root),
            "source": self.source,
            "compiler": self.compiler,
            "platform": self.platform,
            "release": self.release,
            "dependencies": [
                {
                    "name": dep.name,
                    "build_id": dep.build_id,
                    "version": dep.version,
                    "types": list(dep.types),
                    "virtuals": list(dep.virtuals),
                }
                for dep in self.dependencies
            ],
            "recorded_root": self.recorded_root,
            "build_spec": self.build_spec,
            "metadata": self.metadata,
        }
        if with_files:
            d["files"] = {p: c.to_dict() for p, c in sorted(self.files.items())}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Artifact:
        for key in ("name", "version", "build_id", "root"):
            if key not in d:
                raise ValueError(f"artifact: missing field {key!r}")
        return cls(
            name=d["name"],
            version=str(d["version"]),
            build_id=str(d["build_id"]),
            root=Path(d["root"]),
            source=d.get("source", "directory"),
            compiler=d.get("compiler"),
            platform=d.get("platform"),
            release=d.get("release"),
            dependencies=tuple(
                Dependency(
                    name=x["name"],
                    build_id=x.get("build_id"),
                    version=x.get("version"),
                    types=tuple(x.get("types", ("link",))),
                    virtuals=tuple(x.get("virtuals", ())),
                )
                for x in d.get("dependencies", ())
            ),
            files={p: Corpus.from_dict(c) for p, c in d.get("files", {}).items()},
            recorded_root=d.get("recorded_root"),
            build_spec=d.get("build_spec"),
            metadata=dict(d.get("metadata", {})),
        )
