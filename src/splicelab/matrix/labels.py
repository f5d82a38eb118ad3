"""The build matrix: one job per (image, compiler), compilers read from the image label."""

from __future__ import annotations

from collections.abc import Mapping

COMPILERS_LABEL = "org.spack.compilers"
ALL = "all"


def parse_compilers(value: str) -> list[str]:
    """``"gcc@9.4.0|clang@10.0.0|"`` → ``["gcc@9.4.0", "clang@10.0.0"]`` (blanks and repeats dropped)."""
    seen: dict[str, None] = {}
    for part in value.split("|"):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def format_compilers(compilers: list[str]) -> str:
    """The label value for ``compilers``, as the image workflow writes it (``a|b|``)."""
    return "".join(f"{c}|" for c in compilers)


def jobs_for(image: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """One ``(image, compiler)`` per labelled compiler; no (or an empty) label → ``(image, "all")``."""
    compilers = parse_compilers(labels.get(COMPILERS_LABEL, ""))
    return [(image, c) for c in compilers] or [(image, ALL)]
