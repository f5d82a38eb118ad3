"""A client of the spack monitor API (``/ms1``): what spack's ``monitor.py`` does, for splicelab's own
uploaders (``splicelab upload``, the ``build`` runner) and for ``splicelab download``.

    client = Ms1Client(Transport("http://127.0.0.1:8000", user, token))
    client.new_spec(spec_json, spack_version="1.0.2")
    build_id = client.new_build(full_hash, spack_version="1.0.2", tags=["ci"])
    client.update_phase(build_id, "install", "SUCCESS", output=log_text)
    client.upload_corpora(build_id, {"lib/libz.so.1.3.1": corpus})
    client.update_build(build_id, "SUCCESS")
"""

from __future__ import annotations

import base64
import platform
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from splicelab.client.http import MonitorError, Transport
from splicelab.corpus import Corpus

CORPUS_ANALYZER = "splicelab"
CORPUS_RESULT = "splicelab-corpus"
CORPUS_RESULT_NAMES = (CORPUS_RESULT, "symbolator-json")


def host_os() -> str:
    """Spack's notion of the OS: ``debian12``, ``ubuntu22.04``, … from /etc/os-release."""
    try:
        fields = dict(
            line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
        )
    except OSError:
        return platform.system().lower()
    ident = fields.get("ID", "").strip('"')
    version = fields.get("VERSION_ID", "").strip('"')
    return f"{ident}{version}" or platform.system().lower()


def build_environment() -> dict[str, str]:
    """This machine as spack's monitor client describes it."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.system().lower(),
        "kernel_version": platform.version(),
        "host_os": host_os(),
        "host_target": platform.machine(),
    }


class Ms1Client:
    def __init__(self, transport: Transport, prefix: str = "ms1") -> None:
        self.transport = transport
        self.prefix = "/" + prefix.strip("/")

    def _url(self, endpoint: str) -> str:
        return f"{self.prefix}/{endpoint.lstrip('/')}"

    def _post(self, endpoint: str, data: Mapping[str, Any]) -> dict[str, Any]:
        reply = self.transport.post_json(self._url(endpoint), data)
        if not isinstance(reply, dict):
            raise MonitorError(f"{endpoint}: unexpected reply {str(reply)[:200]}")
        return reply

    def _get(self, endpoint: str) -> Any:
        return self.transport.get_json(self._url(endpoint))

    # --- writes --------------------------------------------------------------------------------------

    def service_info(self) -> dict[str, Any]:
        info = self._get("")
        if not isinstance(info, dict):
            raise MonitorError("service info: unexpected reply")
        return info

    def new_spec(self, spec: Mapping[str, Any], spack_version: str) -> dict[str, Any]:
        """Upload a spec document (spec.json, any version); returns ``data`` (``spec`` ids, ``created``)."""
        reply = self._post("specs/new/", {"spec": spec, "spack_version": spack_version})
        data: dict[str, Any] = reply.get("data", {})
        return data

    def new_build(
        self,
        full_hash: str,
        *,
        spack_version: str = "",
        environment: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        spec: Mapping[str, Any] | None = None,
    ) -> int:
        """The id of the build of ``full_hash`` on this machine (created if new)."""
        data: dict[str, Any] = {**(environment or build_environment()), "full_hash": full_hash}
        data["spack_version"] = spack_version
        if tags:
            data["tags"] = ",".join(tags)
        if spec is not None:
            data["spec"] = spec
        reply = self._post("builds/new/", data)
        try:
            return int(reply["data"]["build"]["build_id"])
        except (KeyError, TypeError, ValueError):
            raise MonitorError(f"builds/new/: reply without a build id: {str(reply)[:200]}") from None

    def update_build(self, build_id: int, status: str) -> dict[str, Any]:
        return self._post("builds/update/", {"build_id": build_id, "status": status})

    def update_phase(
        self, build_id: int, phase: str, status: str, output: str | None = None
    ) -> dict[str, Any]:
        return self._post(
            "builds/phases/update/",
            {"build_id": build_id, "phase_name": phase, "status": status, "output": output},
        )

    def analyze(self, build_id: int, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Upload analyzer results: ``{analyzer: [{"name", "install_file", "value"|"json_value"|…}]}``."""
        return self._post("analyze/builds/", {"build_id": build_id, "metadata": metadata})

    def upload_corpora(
        self,
        build_id: int,
        corpora: Mapping[str, Corpus | Mapping[str, Any]],
        *,
        prefix: str | None = None,
        batch: int = 200,
    ) -> int:
        """Upload the corpora of a build's files (path relative to the prefix → corpus); returns how many.

        ``prefix`` is the absolute directory the build was installed in (what its RPATHs name)."""
        items = list(corpora.items())
        if prefix:
            self.analyze(build_id, {"install_prefix": prefix})
        for start in range(0, len(items), batch):
            results = [
                {
                    "name": CORPUS_RESULT,
                    "install_file": path,
                    "json_value": c.to_dict() if isinstance(c, Corpus) else dict(c),
                }
                for path, c in items[start : start + batch]
            ]
            self.analyze(build_id, {CORPUS_ANALYZER: results})
        return len(items)

    def upload_binary_result(
        self, build_id: int, analyzer: str, name: str, install_file: str, data: bytes
    ) -> None:
        self.analyze(
            build_id,
            {
                analyzer: [
                    {
                        "name": name,
                        "install_file": install_file,
                        "binary_value": base64.b64encode(data).decode(),
                    }
                ]
            },
        )

    # --- reads ---------------------------------------------------------------------------------------

    def specs_by_name(self, name: str) -> list[dict[str, Any]]:
        return list(self._get(f"specs/name/{name}/"))

    def spec_results(self, spec_id: int, analyzer: str | None = None) -> list[dict[str, Any]]:
        if analyzer:
            return list(self._get(f"specs/{spec_id}/attributes/{analyzer}/"))
        return list(self._get(f"specs/{spec_id}/attributes/"))

    def download_result(self, result_id: int) -> Any:
        """The value of an analysis result: JSON decoded; binary results as bytes."""
        reply = self.transport.request("GET", self._url(f"attributes/{result_id}/download/"))
        if reply.headers.get("content-type", "").startswith("application/json"):
            return reply.json()
        return reply.content

    def spec_contenders(self, spec_id: int) -> list[dict[str, Any]]:
        """Corpus results of comparable builds of the spec's package (spack-monitor's splice contenders)."""
        return list(self._get(f"specs/{spec_id}/splices/contenders/"))

    def result_contenders(self, result_id: int) -> list[dict[str, Any]]:
        """Dependency specs of comparable builds of the result's spec."""
        return list(self._get(f"attributes/{result_id}/splice/contenders/"))
