"""Read an image's configuration from a registry through the OCI distribution API.

``GET /v2/<name>/manifests/<ref>`` (an image manifest, or an index / manifest list that is resolved to
the manifest of one platform, linux/amd64 unless told otherwise) → ``GET /v2/<name>/blobs/<config
digest>`` → the config JSON, whose ``config.Labels`` the matrix reads. Every document fetched by digest
is checked against that digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from splicelab.matrix.auth import AuthError, RegistryAuth
from splicelab.matrix.credentials import CredentialStore
from splicelab.matrix.reference import ImageReference, ReferenceError, parse_reference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
MAX_DOCUMENT = 4 * 1024 * 1024  # manifests and configs larger than this are refused


class RegistryError(RuntimeError):
    """Reading one image failed; ``image`` names it, the message says why."""

    def __init__(self, image: str, message: str) -> None:
        super().__init__(f"{image}: {message}")
        self.image = image
        self.reason = message


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64`` or ``linux/arm64/v8``."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r}: expected OS/ARCH or OS/ARCH/VARIANT")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, desc: dict[str, Any]) -> bool:
        if desc.get("os") != self.os or desc.get("architecture") != self.architecture:
            return False
        return self.variant is None or desc.get("variant") == self.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What the matrix needs from one image."""

    image: str  # as the user wrote it
    reference: ImageReference
    manifest_digest: str
    config_digest: str
    labels: dict[str, str] = field(default_factory=dict)
    platform: str | None = None


def _verify(image: str, what: str, body: bytes, digest: str) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return  # an algorithm we do not know: cannot check, the registry vouches for it
    actual = hashlib.new(algorithm, body).hexdigest()
    if actual != expected.lower():
        raise RegistryError(image, f"{what} does not match its digest {digest} (got {algorithm}:{actual})")


class RegistryClient:
    """A small synchronous client for the parts of the distribution API the matrix uses."""

    def __init__(
        self,
        *,
        insecure: bool = False,
        platform: Platform | None = None,
        credentials: CredentialStore | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.insecure = insecure
        self.platform = platform or Platform()
        self._http = httpx.Client(
            auth=RegistryAuth(credentials),
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": "splicelab-matrix"},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def base_url(self, ref: ImageReference) -> str:
        scheme = "http" if self.insecure and ref.is_loopback else "https"
        return f"{scheme}://{ref.api_host}"

    def _get(self, image: str, url: str, accept: str) -> httpx.Response:
        try:
            response = self._http.get(url, headers={"Accept": accept})
        except AuthError as exc:
            raise RegistryError(image, str(exc)) from None
        except httpx.ConnectError as exc:
            raise RegistryError(image, f"registry unreachable at {url}: {exc}") from None
        except httpx.TimeoutException:
            raise RegistryError(image, f"registry timed out at {url}") from None
        except httpx.HTTPError as exc:
            raise RegistryError(image, f"request to {url} failed: {exc}") from None
        if response.status_code == 404:
            raise RegistryError(image, f"not found in the registry ({url})")
        if response.status_code == 401:
            raise RegistryError(image, f"unauthorized ({url}); configure registry credentials")
        if response.status_code != 200:
            detail = _error_detail(response)
            raise RegistryError(image, f"registry answered {response.status_code} for {url}{detail}")
        if len(response.content) > MAX_DOCUMENT:
            raise RegistryError(image, f"{url}: document larger than {MAX_DOCUMENT} bytes")
        return response

    def _json(self, image: str, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            doc = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(image, f"{what} is not JSON") from None
        if not isinstance(doc, dict):
            raise RegistryError(image, f"{what} is not a JSON object")
        return doc

    def manifest(self, image: str, ref: ImageReference, reference: str) -> tuple[str, dict[str, Any]]:
        """The manifest (or index) ``reference`` names: ``(digest, document)``."""
        url = f"{self.base_url(ref)}/v2/{ref.repository}/manifests/{reference}"
        response = self._get(image, url, ACCEPT)
        if reference.startswith("sha") and ":" in reference:
            _verify(image, f"manifest {reference}", response.content, reference)
            digest = reference
        else:
            digest = response.headers.get("docker-content-digest") or (
                "sha256:" + hashlib.sha256(response.content).hexdigest()
            )
        doc = self._json(image, response, f"manifest {reference}")
        media_type = doc.get("mediaType") or response.headers.get("content-type", "").split(";")[0]
        doc.setdefault("mediaType", media_type)
        return digest, doc

    def _select_platform(self, image: str, index: dict[str, Any]) -> str:
        entries = index.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError(image, "index has no 'manifests' list")
        available = []
        for entry in entries:
            plat = entry.get("platform") if isinstance(entry, dict) else None
            if not isinstance(plat, dict):
                continue
            available.append(
                str(Platform(plat.get("os", "?"), plat.get("architecture", "?"), plat.get("variant")))
            )
            if self.platform.matches(plat) and isinstance(entry.get("digest"), str):
                return str(entry["digest"])
        have = ", ".join(available) or "none"
        raise RegistryError(image, f"no manifest for platform {self.platform} in the index (has: {have})")

    def image_config(self, image: str | ImageReference) -> ImageConfig:
        """Resolve ``image`` to its config blob and return its labels."""
        name = str(image)
        try:
            ref = image if isinstance(image, ImageReference) else parse_reference(image)
        except ReferenceError as exc:
            raise RegistryError(name, str(exc)) from None
        digest, doc = self.manifest(name, ref, ref.reference)
        platform = None
        if doc.get("mediaType") in INDEX_TYPES or ("manifests" in doc and "config" not in doc):
            chosen = self._select_platform(name, doc)
            digest, doc = self.manifest(name, ref, chosen)
            platform = str(self.platform)
        config = doc.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            kind = doc.get("mediaType") or "unknown media type"
            raise RegistryError(name, f"manifest {digest} ({kind}) has no config descriptor")
        config_digest = config["digest"]
        url = f"{self.base_url(ref)}/v2/{ref.repository}/blobs/{config_digest}"
        response = self._get(name, url, str(config.get("mediaType") or "*/*"))
        _verify(name, f"config blob {config_digest}", response.content, config_digest)
        blob = self._json(name, response, f"config blob {config_digest}")
        inner = blob.get("config") or {}
        labels = inner.get("Labels") if isinstance(inner, dict) else None
        if labels is not None and not isinstance(labels, dict):
            raise RegistryError(name, f"config blob {config_digest}: field 'config.Labels' is not an object")
        if platform is None and blob.get("os") and blob.get("architecture"):
            platform = str(Platform(str(blob["os"]), str(blob["architecture"]), blob.get("variant")))
        return ImageConfig(
            image=name,
            reference=ref,
            manifest_digest=digest,
            config_digest=config_digest,
            labels={str(k): str(v) for k, v in (labels or {}).items()},
            platform=platform,
        )


def _error_detail(response: httpx.Response) -> str:
    """The first ``errors[].message`` of a distribution-API error body, if any."""
    try:
        errors = response.json().get("errors")
        return f": {errors[0].get('code', '')} {errors[0].get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _describe(platform: dict[str, Any]) -> str:
    return str(Platform(platform.get("os", "?"), platform.get("architecture", "?"), platform.get("variant")))
