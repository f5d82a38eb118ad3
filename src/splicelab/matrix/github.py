"""Hand a matrix to GitHub Actions: ``$GITHUB_OUTPUT`` lines and the legacy ``::set-output`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def compact(value: Any) -> str:
    """One-line JSON, so the plain ``name=value`` form of ``$GITHUB_OUTPUT`` holds it."""
    return json.dumps(value, separators=(",", ":"))


def append_output(path: str | Path, name: str, value: Any) -> None:
    text = compact(value)
    if "\n" in text:  # pragma: no cover - compact JSON has none
        raise ValueError("output value spans lines")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{name}={text}\n")


def set_output_command(name: str, value: Any) -> str:
    """The deprecated workflow command, for runners that still read stdout."""
    return f"::set-output name={name}::{compact(value)}"
