"""Enumerate splices: every binary file x every dependency its closure loads x every other build of it.

A *binary file* is an executable, or a library with imports, of some artifact. Its dependencies are the
packages whose files its unspliced link closure (:meth:`splicelab.link.World.closure`) actually loads —
not the package metadata, which can name libraries the binary never links. For each such package D and
each other artifact named D in the world, one :class:`~splicelab.predict.base.Splice`.

The order is deterministic (artifacts by name, version, build id; files by path; dependencies by name;
replacements by version and build id) and the enumeration is a generator: a big world yields millions
of splices, which stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from splicelab.artifact import Artifact
from splicelab.corpus import Corpus
from splicelab.link import World
from splicelab.predict.base import Splice


def _artifact_order(a: Artifact) -> tuple[str, str, str, str]:
    return (a.name, a.version, a.build_id, str(a.root))


def is_binary(corpus: Corpus) -> bool:
    """Executables, and libraries that import something: the files a splice can break."""
    if corpus.elf_type not in ("ET_EXEC", "ET_DYN"):
        return False
    if corpus.is_executable:
        return True
    return any(True for _ in corpus.imports) or bool(corpus.needed)


def binary_files(artifact: Artifact) -> list[str]:
    """The relative paths of ``artifact``'s binary files, sorted."""
    return [rel for rel, c in sorted(artifact.files.items()) if is_binary(c)]


def loaded_dependencies(world: World, artifact: Artifact, file: str) -> dict[str, list[Artifact]]:
    """Package name → the artifacts of that package the closure of ``file`` loads (other than the
    binary's own package), in load order."""
    out: dict[str, list[Artifact]] = {}
    for obj in world.closure(artifact, file).objects[1:]:
        a = obj.artifact
        if a is None or a is artifact or a.name == artifact.name:
            continue
        seen = out.setdefault(a.name, [])
        if all(x is not a for x in seen):
            seen.append(a)
    return out


def enumerate_splices(
    world: World,
    binaries: Iterable[Artifact] | None = None,
    *,
    dependencies: Iterable[str] | None = None,
) -> Iterator[Splice]:
    """Every splice of ``binaries`` (default: every artifact of the world), optionally only of the
    given dependency package names."""
    wanted = set(dependencies) if dependencies is not None else None
    pool = sorted(binaries if binaries is not None else world.artifacts, key=_artifact_order)
    for artifact in pool:
        for file in binary_files(artifact):
            loaded = loaded_dependencies(world, artifact, file)
            for dep in sorted(loaded):
                if wanted is not None and dep not in wanted:
                    continue
                originals = loaded[dep]
                original = originals[0]
                for replacement in sorted(world.named(dep), key=_artifact_order):
                    if any(replacement is o for o in originals):
                        continue
                    yield Splice(artifact, file, dep, original, replacement)
