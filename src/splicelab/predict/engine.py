"""The prediction engine: artifacts and predictor names in, one record per splice out.

``predict(artifacts, names)`` is a pure function of its inputs. It builds the link world, enumerates the
splices (every binary, every dependency its closure loads, every other build of that dependency, see
``splicelab.splices``), sorts them, and runs the predictors on each, yielding :class:`Record` objects
in that order.

``predict_groups(groups, names)`` predicts explicit splices in several worlds at once (each
:class:`Group`: its artifacts, its ld.so configuration, its splice keys), as the Debian families need
(one world per system release, see ``splicelab.predict.families``).

The work runs through the ``splicelab.parallel`` seam: the splices travel as small index tuples, the
artifacts once as the partition context, and each worker builds its world and predictors once per run.
Workers send back predictions only; the records are assembled here, so a Dask run yields exactly what an
in-process run yields.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from splicelab import predict as registry
from splicelab.artifact import Artifact
from splicelab.link import World
from splicelab.parallel import Executor, InProcessExecutor
from splicelab.predict.base import Prediction, Splice
from splicelab.sources.system import NAME as SYSTEM

# (binary index, file, dependency, original index, replacement index): a splice by position.
SpliceKey = tuple[int, str, str, int, int]


@dataclass(frozen=True, slots=True)
class WorldOptions:
    """How ``ld.so`` is configured for every binary (see :class:`splicelab.link.World`)."""

    default_dirs: tuple[str, ...] = ()
    path_map: tuple[tuple[str, str], ...] = ()
    ld_library_path: tuple[str, ...] = ()

    def build(self, artifacts: Sequence[Artifact]) -> World:
        return World(
            artifacts,
            default_dirs=self.default_dirs,
            path_map=dict(self.path_map) or None,
            ld_library_path=self.ld_library_path,
        )


@dataclass(frozen=True, slots=True)
class Record:
    """One splice and what each predictor said about it."""

    splice: Splice
    predictions: Mapping[str, Prediction]

    def to_dict(self) -> dict[str, Any]:
        """The ``predictions.json`` entry (docs/formats.md)."""
        s = self.splice
        binary = s.binary.describe()
        binary.update({"file": s.file, "release": s.binary.release, "compiler": s.binary.compiler})
        return {
            "binary": binary,
            "dependency": s.dependency,
            "original": s.original.describe(),
            "replacement": s.replacement.describe(),
            "predictors": {name: p.to_dict() for name, p in self.predictions.items()},
        }


@dataclass
class _Context:
    """What every partition needs; the world and predictors are built once where it is unpickled."""

    artifacts: tuple[Artifact, ...]
    names: tuple[str, ...]
    options: WorldOptions
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _built: tuple[World, list[Any]] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "artifacts": self.artifacts,
            "names": self.names,
            "options": self.options,
            "token": self.token,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _built=None)

    def built(self) -> tuple[World, list[Any]]:
        if self._built is None:
            self._built = (self.options.build(self.artifacts), registry.create(self.names))
        return self._built

    def splice(self, key: SpliceKey) -> Splice:
        b, file, dependency, o, r = key
        a = self.artifacts
        return Splice(binary=a[b], file=file, dependency=dependency, original=a[o], replacement=a[r])


def predict_partition(keys: Sequence[SpliceKey], context: _Context) -> list[dict[str, Prediction]]:
    """The predictions for a partition of splices (module level: Dask workers import it by name)."""
    world, predictors = context.built()
    out = []
    for key in keys:
        splice = context.splice(key)
        out.append({p.name: p.predict(splice, world) for p in predictors})
    return out


@dataclass
class _Groups:
    """Several worlds at once (one context each): splices travel as ``(group index, SpliceKey)``."""

    groups: tuple[_Context, ...]


def predict_group_partition(
    keys: Sequence[tuple[int, SpliceKey]], context: _Groups
) -> list[dict[str, Prediction]]:
    """The predictions for a partition of splices drawn from several groups (module level, for Dask)."""
    out: list[dict[str, Prediction]] = []
    for group, key in keys:
        out += predict_partition([key], context.groups[group])
    return out


def splice_keys(artifacts: Sequence[Artifact], world: World) -> list[SpliceKey]:
    """Every splice ``splicelab.splices`` enumerates (in its deterministic order), as position keys."""
    from splicelab.splices import enumerate_splices

    position = {id(a): i for i, a in enumerate(artifacts)}
    binaries = [a for a in artifacts if a.source != SYSTEM]  # the host's libraries only serve closures
    return [
        (position[id(s.binary)], s.file, s.dependency, position[id(s.original)], position[id(s.replacement)])
        for s in enumerate_splices(world, binaries)
    ]


def predict(
    artifacts: Iterable[Artifact],
    predictors: Sequence[str] = registry.DEFAULT,
    *,
    options: WorldOptions | None = None,
    executor: Executor | None = None,
    keys: Sequence[SpliceKey] | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    partition_size: int = 64,
) -> Iterator[Record]:
    """One :class:`Record` per splice of ``artifacts``, in a deterministic order.

    ``keys`` restricts the run to given splices; ``total`` is told how many there are before the first
    record, ``progress`` how many are done as partitions finish. ``partition_size`` splices travel to a
    worker as one task: raise it for millions of splices on a cluster, where each task has a fixed cost.
    """
    for name in predictors:
        registry.predictor_class(name)  # unknown names fail before any work
    context = _Context(tuple(artifacts), tuple(dict.fromkeys(predictors)), options or WorldOptions())
    if keys is None:
        world, _ = context.built()
        keys = splice_keys(context.artifacts, world)
    if total is not None:
        total(len(keys))
    runner = executor if executor is not None else InProcessExecutor()
    results = runner.map_partitions(
        predict_partition, keys, context=context, partition_size=partition_size, progress=progress
    )
    for key, predictions in zip(keys, results, strict=True):
        yield Record(context.splice(key), predictions)


@dataclass(frozen=True, slots=True)
class Group:
    """Splices to predict in one world: its artifacts, how ld.so is configured, and the splices (keys
    into ``artifacts``)."""

    artifacts: tuple[Artifact, ...]
    options: WorldOptions
    keys: tuple[SpliceKey, ...]


def predict_groups(
    groups: Sequence[Group],
    predictors: Sequence[str] = registry.DEFAULT,
    *,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    partition_size: int = 16,
) -> Iterator[Record]:
    """:func:`predict` for explicit splices in several worlds at once (e.g. one per system release),
    one :class:`Record` per key, groups in the order given. All groups go to the executor together, so
    small groups still spread over the workers."""
    for name in predictors:
        registry.predictor_class(name)
    names = tuple(dict.fromkeys(predictors))
    context = _Groups(tuple(_Context(g.artifacts, names, g.options) for g in groups))
    keys = [(i, key) for i, g in enumerate(groups) for key in g.keys]
    if total is not None:
        total(len(keys))
    runner = executor if executor is not None else InProcessExecutor()
    results = runner.map_partitions(
        predict_group_partition, keys, context=context, partition_size=partition_size, progress=progress
    )
    for (i, key), predictions in zip(keys, results, strict=True):
        yield Record(context.groups[i].splice(key), predictions)
