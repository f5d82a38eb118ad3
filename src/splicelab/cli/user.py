"""``splicelab user``: accounts of the monitor and their tokens."""

from __future__ import annotations

import click

_DB_HELP = "Database URL or SQLite file [default: $SPLICELAB_DB or the user data dir]."


def _open(db_url: str | None):  # type: ignore[no-untyped-def]
    from splicelab.store import open_database

    try:
        return open_database(db_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--db") from None


@click.group()
def user() -> None:
    """Manage the monitor's users (every write to the monitor needs a user's token)."""


@user.command("add")
@click.argument("name")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
def add(name: str, db_url: str | None) -> None:
    """Create user NAME and print its token (the last line of the output; it is not stored in clear)."""
    from splicelab.store.users import UserError, add_user

    db = _open(db_url)
    try:
        created, token = add_user(db, name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    click.echo(
        f"user {created.name} created; export SPACKMON_USER={created.name} SPACKMON_TOKEN=<token below>"
    )
    click.echo(token)


@user.command("token")
@click.argument("name")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
def token(name: str, db_url: str | None) -> None:
    """Give user NAME a new token (the old one stops working) and print it as the last line."""
    from splicelab.store.users import UserError, reset_token

    db = _open(db_url)
    try:
        new = reset_token(db, name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    click.echo(f"new token for {name}:")
    click.echo(new)


@user.command("list")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
def list_(db_url: str | None) -> None:
    """List the users."""
    from splicelab.store.users import list_users

    db = _open(db_url)
    try:
        for u in list_users(db):
            click.echo(f"{u.name}\t{u.created_at:%Y-%m-%d %H:%M}")
    finally:
        db.dispose()


@user.command("remove")
@click.argument("name")
@click.option("--db", "db_url", default=None, help=_DB_HELP)
def remove(name: str, db_url: str | None) -> None:
    """Remove user NAME (its builds stay, without an owner)."""
    from splicelab.store.users import UserError, remove_user

    db = _open(db_url)
    try:
        remove_user(db, name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    click.echo(f"user {name} removed")
