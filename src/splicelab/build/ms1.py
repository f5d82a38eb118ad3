"""The runner's :class:`~splicelab.build.monitor.Monitor` on a monitor server (spack-monitor's ms1).

One build goes up as spack's own monitor client sent it: the spec (``specs/new``), the build in its
build environment (``builds/new``, with the tags), each phase with its status (the log goes with the
last phase), the ELF corpora of the prefix (``analyze/builds``), then the build's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splicelab.artifact import Artifact
from splicelab.build.prefix import read_install_environment
from splicelab.build.records import CANCELLED, FAILED, SUCCESS, BuildRecord
from splicelab.client.http import MonitorError, Transport, credentials_from_env
from splicelab.client.ms1 import Ms1Client, build_environment

STATUS = {SUCCESS: "SUCCESS", FAILED: "FAILED", CANCELLED: "CANCELLED"}


class Ms1Monitor:
    def __init__(self, client: Ms1Client, spack_version: str = "") -> None:
        self.client = client
        self.spack_version = spack_version

    def upload(
        self, record: BuildRecord, spec: dict[str, Any] | None, artifact: Artifact | None, tags: Sequence[str]
    ) -> None:
        if spec is None or not record.hash:
            raise MonitorError(f"{record.job.spec}: no concrete spec to file the build under")
        recorded = read_install_environment(Path(record.prefix)) if record.prefix else {}
        spack_version = recorded.get("spack_version") or self.spack_version
        environment = build_environment()
        environment.update({k: v for k, v in recorded.items() if k in environment})
        self.client.new_spec(spec, spack_version)
        build_id = self.client.new_build(
            record.hash, spack_version=spack_version, environment=environment, tags=tags, spec=spec
        )
        for i, phase in enumerate(record.phases):
            output = record.log if i == len(record.phases) - 1 else None
            self.client.update_phase(build_id, phase.name, STATUS[phase.status], output)
        if artifact is not None and artifact.files:
            prefix = artifact.recorded_root or record.prefix
            self.client.upload_corpora(build_id, artifact.files, prefix=prefix)
        self.client.update_build(build_id, STATUS[record.status])


def connect_monitor(url: str, spack_version: str = "") -> Ms1Monitor:
    """A monitor at ``url``, with credentials from ``$SPLICELAB_USER``/``$SPLICELAB_TOKEN``
    (or spack's ``$SPACKMON_USER``/``$SPACKMON_TOKEN``)."""
    user, token = credentials_from_env()
    return Ms1Monitor(Ms1Client(Transport(url, user, token)), spack_version)
