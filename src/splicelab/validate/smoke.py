"""Smoke commands: what to run with each program to call a splice working, and the inputs they read.

Built-ins (``smoke.toml`` next to this module) cover the corpus programs: curl, xmllint, pigz, lz4 and
pngfix. A user file of the same shape (TOML, or YAML with the same keys) adds or replaces programs and
inputs. Programs are looked up by file name (``usr/bin/curl`` → ``curl``).
"""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# What a program without smoke commands is run with: loading it is the test (the loader resolves and
# binds every symbol under LD_BIND_NOW before main); its exit code is not judged.
FALLBACK = ("--version",)


class SmokeConfigError(ValueError):
    """A smoke file is malformed; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Command:
    args: tuple[str, ...]
    compare: bool = True  # stdout must equal the unspliced run's
    stdout: str | None = None  # file (in the work dir) to send stdout to
    check_exit: bool = True  # exit code must be 0

    def argv(self, workdir: str) -> list[str]:
        return [a.replace("{dir}", workdir) for a in self.args]


@dataclass
class SmokeConfig:
    programs: dict[str, tuple[Command, ...]] = field(default_factory=dict)
    inputs: dict[str, bytes] = field(default_factory=dict)

    def commands(self, program: str) -> tuple[Command, ...]:
        """The commands for ``program`` (a path or a name); a bare load check when none are known."""
        name = program.rsplit("/", 1)[-1]
        found = self.programs.get(name)
        if found:
            return found
        return (Command(FALLBACK, compare=False, check_exit=False),)

    def write_inputs(self, directory: Path) -> None:
        for name, data in self.inputs.items():
            (directory / name).write_bytes(data)

    def merged(self, other: SmokeConfig) -> SmokeConfig:
        return SmokeConfig({**self.programs, **other.programs}, {**self.inputs, **other.inputs})


def _parse(data: Mapping[str, Any], where: str, base: Path | None) -> SmokeConfig:
    cfg = SmokeConfig()
    inputs = data.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise SmokeConfigError(f"{where}: 'inputs' must be a table")
    for name, spec in inputs.items():
        if "/" in name or name in ("", ".", ".."):
            raise SmokeConfigError(f"{where}: inputs.{name!r}: must be a plain file name")
        if isinstance(spec, Mapping) and "text" in spec:
            cfg.inputs[name] = str(spec["text"]).encode()
        elif isinstance(spec, Mapping) and "base64" in spec:
            try:
                cfg.inputs[name] = base64.b64decode(spec["base64"], validate=True)
            except ValueError:
                raise SmokeConfigError(f"{where}: inputs.{name!r}.base64: not valid base64") from None
        elif isinstance(spec, Mapping) and "file" in spec:
            path = Path(spec["file"]) if base is None else base / spec["file"]
            try:
                cfg.inputs[name] = path.read_bytes()
            except OSError as exc:
                raise SmokeConfigError(f"{where}: inputs.{name!r}.file: {exc}") from None
        else:
            raise SmokeConfigError(f"{where}: inputs.{name!r}: needs one of 'text', 'base64', 'file'")
    programs = data.get("programs", {})
    if not isinstance(programs, Mapping):
        raise SmokeConfigError(f"{where}: 'programs' must be a table")
    for prog, spec in programs.items():
        cmds = spec.get("commands") if isinstance(spec, Mapping) else None
        if not isinstance(cmds, Sequence) or isinstance(cmds, str) or not cmds:
            raise SmokeConfigError(f"{where}: programs.{prog}.commands: a non-empty list is required")
        out = []
        for i, c in enumerate(cmds):
            here = f"{where}: programs.{prog}.commands[{i}]"
            args = c.get("args") if isinstance(c, Mapping) else None
            if not isinstance(args, Sequence) or isinstance(args, str):
                raise SmokeConfigError(f"{here}.args: a list of strings is required")
            stdout = c.get("stdout")
            if stdout is not None and (not isinstance(stdout, str) or "/" in stdout):
                raise SmokeConfigError(f"{here}.stdout: a plain file name is required")
            out.append(
                Command(
                    tuple(str(a) for a in args),
                    compare=bool(c.get("compare", True)),
                    stdout=stdout,
                    check_exit=bool(c.get("check_exit", True)),
                )
            )
        cfg.programs[str(prog)] = tuple(out)
    return cfg


def builtin() -> SmokeConfig:
    text = resources.files("splicelab.validate").joinpath("smoke.toml").read_text()
    return _parse(tomllib.loads(text), "splicelab/validate/smoke.toml", None)


def load(path: Path | None = None) -> SmokeConfig:
    """The built-ins, extended (and overridden) by the TOML or YAML file ``path`` when given."""
    cfg = builtin()
    if path is None:
        return cfg
    try:
        text = path.read_text()
    except OSError as exc:
        raise SmokeConfigError(f"{path}: {exc.strerror or exc}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError / yaml.YAMLError
        raise SmokeConfigError(f"{path}: {exc}") from None
    if not isinstance(data, Mapping):
        raise SmokeConfigError(f"{path}: expected a table at the top level")
    return cfg.merged(_parse(data, str(path), path.parent))
