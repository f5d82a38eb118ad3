"""Image references: ``[registry[:port]/]repository[:tag][@digest]``, the way ``docker pull`` reads them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Fa-f0-9]{32,}$")


class ReferenceError(ValueError):
    """An image reference cannot be parsed; the message names it."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """One image: where its registry is, its repository, and a tag or a digest."""

    registry: str  # host[:port] as written (docker.io for Docker Hub)
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest when given, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def hostname(self) -> str:
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.hostname)

    def __str__(self) -> str:
        s = f"{self.registry}/{self.repository}"
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_reference(text: str) -> ImageReference:
    """Parse ``text``; a name with no registry part is on Docker Hub (``library/`` for a single name)."""
    original = text
    text = text.strip()
    if not text:
        raise ReferenceError("empty image reference")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError(f"image {original!r}: invalid digest {digest!r}")
    registry = DOCKER_HUB
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, text = first, rest
    tag = None
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text, tag = text.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ReferenceError(f"image {original!r}: invalid tag {tag!r}")
    if registry == DOCKER_HUB and "/" not in text:
        text = f"library/{text}"
    if not _REPOSITORY.match(text):
        raise ReferenceError(f"image {original!r}: invalid repository name {text!r}")
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry=registry, repository=text, tag=tag, digest=digest)
