"""The one command tree.

Every command lives in a module of its own under ``splicelab.cli`` and is imported only when it is
invoked, so ``splicelab analyze`` never pays for importing the web server or the plotting stack.
The commands stay thin: they parse options and call the library modules.
"""

from __future__ import annotations

import importlib

import click

from splicelab import __version__

# command name -> "module:attribute" (relative to splicelab.cli)
COMMANDS: dict[str, str] = {
    "analyze": "analyze:analyze",
    "predict": "predict:predict",
    "fetch": "fetch:fetch",
    "validate": "validate:validate",
    "evaluate": "evaluate:evaluate",
    "run": "run:run",
    "visualize": "visualize:visualize",
    "report": "report:report",
    "recommend": "recommend:recommend",
    "serve": "serve:serve",
    "user": "user:user",
    "upload": "upload:upload",
    "download": "download:download",
    "matrix": "matrix:matrix",
    "build": "build:build",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"splicelab.cli.{module_name}")
        command = getattr(module, attr)
        if not isinstance(command, click.Command):  # pragma: no cover - programming error
            raise TypeError(f"splicelab.cli.{module_name}.{attr} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="splicelab")
def main() -> None:
    """Will a binary still work when a shared library under it is swapped for another build?"""
