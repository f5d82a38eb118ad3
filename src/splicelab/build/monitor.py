"""Where finished builds go: a monitor server (spack-monitor's ms1 protocol) or nowhere.

The runner knows only :class:`Monitor`: one call per finished build with its record, the prefix's spec
and the artifact (with its ELF corpora) analysed from the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from splicelab.artifact import Artifact
from splicelab.build.records import BuildRecord


class Monitor(Protocol):
    def upload(
        self, record: BuildRecord, spec: dict[str, Any] | None, artifact: Artifact | None, tags: Sequence[str]
    ) -> None:
        """Send one build; raise on failure (the runner records the error and goes on)."""
        ...
