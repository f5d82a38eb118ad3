"""Build matrices from container images: registry labels → ``[image, compiler]`` jobs.

``build_matrix(images)`` reads each image's config through the distribution API
(:mod:`splicelab.matrix.client`) and expands its ``org.spack.compilers`` label
(:mod:`splicelab.matrix.labels`). One image failing does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from splicelab.matrix.client import ImageConfig, Platform, RegistryClient, RegistryError
from splicelab.matrix.credentials import CredentialStore
from splicelab.matrix.labels import ALL, COMPILERS_LABEL, jobs_for, parse_compilers

__all__ = [
    "ALL",
    "COMPILERS_LABEL",
    "ImageConfig",
    "MatrixResult",
    "Platform",
    "RegistryClient",
    "RegistryError",
    "build_matrix",
    "parse_compilers",
    "read_image_list",
]


@dataclass(slots=True)
class MatrixResult:
    jobs: list[tuple[str, str]] = field(default_factory=list)
    errors: list[RegistryError] = field(default_factory=list)

    def pairs(self) -> list[list[str]]:
        """``[[image, compiler], …]``: the ``containers`` output."""
        return [[image, compiler] for image, compiler in self.jobs]

    def include(self) -> list[dict[str, str]]:
        """``[{"image": …, "compiler": …}, …]``: ready for ``strategy.matrix.include``."""
        return [{"image": image, "compiler": compiler} for image, compiler in self.jobs]


def build_matrix(
    images: Iterable[str],
    client: RegistryClient,
    progress: Callable[[str, ImageConfig | RegistryError], None] | None = None,
) -> MatrixResult:
    result = MatrixResult()
    for image in dict.fromkeys(images):
        try:
            config = client.image_config(image)
        except RegistryError as exc:
            result.errors.append(exc)
            if progress:
                progress(image, exc)
            continue
        result.jobs.extend(jobs_for(image, config.labels))
        if progress:
            progress(image, config)
    return result


def read_image_list(path: str) -> list[str]:
    """Images from a file: one per line; blank lines and ``#`` comments ignored."""
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def default_client(insecure: bool = False, platform: str = "linux/amd64") -> RegistryClient:
    return RegistryClient(
        insecure=insecure, platform=Platform.parse(platform), credentials=CredentialStore.from_environment()
    )
