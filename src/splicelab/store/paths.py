"""File names that come from clients: relative, inside the prefix, no tricks.

A stored name is later used to build a path on someone's disk (``splicelab download`` writes one file
per install file), so ``..``, absolute paths, backslashes and NUL bytes are refused at the door.
"""

from __future__ import annotations

MAX_LENGTH = 1000


class UnsafePathError(ValueError):
    """A file name is absolute, climbs out with ``..``, or is otherwise unusable."""


def safe_relative_path(name: object, field: str = "path") -> str:
    """``name`` normalized (no ``./``, no doubled slashes), or :class:`UnsafePathError` naming ``field``."""
    if not isinstance(name, str):
        raise UnsafePathError(f"{field}: expected a string")
    if not name:
        raise UnsafePathError(f"{field}: empty file name")
    if len(name) > MAX_LENGTH:
        raise UnsafePathError(f"{field}: file name longer than {MAX_LENGTH} characters")
    if "\x00" in name or "\\" in name:
        raise UnsafePathError(f"{field}: {name!r} contains a NUL byte or a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafePathError(
            f"{field}: {name!r} is an absolute path; expected a path relative to the prefix"
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(f"{field}: {name!r} contains '..'")
    if not parts:
        raise UnsafePathError(f"{field}: {name!r} names no file")
    return "/".join(parts)


def install_prefix(name: str, hashes: tuple[str, ...]) -> str | None:
    """The install prefix an absolute manifest path lies in (up to the ``…-<hash>`` directory)."""
    if not name.startswith("/"):
        return None
    parts = name.split("/")
    for i in range(len(parts) - 1, -1, -1):
        if any(h and parts[i].endswith(f"-{h}") for h in hashes):
            return "/".join(parts[: i + 1])
    return None


def check_absolute(value: object, field: str) -> str:
    """An absolute directory name as recorded on the build machine (kept as data, never opened)."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_LENGTH:
        raise UnsafePathError(f"{field}: expected an absolute path (at most {MAX_LENGTH} characters)")
    if "\x00" in value or ".." in value.split("/"):
        raise UnsafePathError(f"{field}: {value!r} contains a NUL byte or '..'")
    return value.rstrip("/") or "/"


def strip_install_prefix(name: str, hashes: tuple[str, ...], field: str = "path") -> str:
    """An absolute path from a Spack install manifest, made relative to its prefix.

    Spack prefixes end in a directory ``<name>-<version>-<hash>``; the part after the directory that
    ends in one of the spec's ``hashes`` is kept. A relative ``name`` is only checked.
    """
    if not name.startswith("/"):
        return safe_relative_path(name, field)
    parts = name.split("/")
    for i in range(len(parts) - 1, -1, -1):
        if any(h and parts[i].endswith(f"-{h}") for h in hashes):
            return safe_relative_path("/".join(parts[i + 1 :]), field)
    raise UnsafePathError(f"{field}: {name!r} is an absolute path outside the spec's install prefix")
