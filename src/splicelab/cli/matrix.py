"""``splicelab matrix``: a CI build matrix from the compilers labelled on container images."""

from __future__ import annotations

import json
import os
import sys

import click

from splicelab.matrix import ImageConfig, RegistryError, build_matrix, default_client, read_image_list
from splicelab.matrix.credentials import CredentialsError
from splicelab.matrix.github import append_output, set_output_command
from splicelab.matrix.labels import jobs_for


@click.command()
@click.argument("images", nargs=-1)
@click.option(
    "--images", "images_file", type=click.Path(dir_okay=False), help="File with one image per line."
)
@click.option(
    "--github-output", is_flag=True, help="Append containers=<json> (and include=<json>) to $GITHUB_OUTPUT."
)
@click.option("--legacy-set-output", is_flag=True, help="Also print the ::set-output workflow command.")
@click.option("--insecure", is_flag=True, help="Talk plain HTTP to registries on loopback.")
@click.option("--platform", default="linux/amd64", show_default=True, help="Platform picked from an index.")
def matrix(
    images: tuple[str, ...],
    images_file: str | None,
    github_output: bool,
    legacy_set_output: bool,
    insecure: bool,
    platform: str,
) -> None:
    """Print [[image, compiler], ...] for IMAGE... from their org.spack.compilers labels."""
    names = list(images)
    if images_file:
        try:
            names += read_image_list(images_file)
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"--images {images_file}: {exc}") from None
    if not names:
        raise click.UsageError("no images given (IMAGE... or --images FILE)")
    github_path = os.environ.get("GITHUB_OUTPUT")
    if github_output and not github_path:
        raise click.UsageError("--github-output: $GITHUB_OUTPUT is not set")
    try:
        client = default_client(insecure=insecure, platform=platform)
    except (CredentialsError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None

    def report(image: str, outcome: ImageConfig | RegistryError) -> None:
        if isinstance(outcome, RegistryError):
            click.echo(f"error: {outcome}", err=True)
        else:
            compilers = ", ".join(c for _, c in jobs_for(image, outcome.labels))
            click.echo(f"{image}: {compilers} ({outcome.manifest_digest})", err=True)

    with client:
        result = build_matrix(names, client, progress=report)
    click.echo(json.dumps(result.pairs()))
    if github_output and github_path:
        append_output(github_path, "containers", result.pairs())
        append_output(github_path, "include", result.include())
    if legacy_set_output:
        click.echo(set_output_command("containers", result.pairs()))
    if result.errors:
        click.echo(f"{len(result.errors)} of {len(dict.fromkeys(names))} images failed", err=True)
        sys.exit(1)
