"""The monitor's database: models, engine and sessions, migrations, and the queries the server runs.

    from splicelab.store import Database, open_database
    db = open_database("sqlite:///monitor.db")     # creates and migrates to the newest schema

Nothing in the core (elf, corpus, artifact, link, predict, sources) imports this package.
"""

from __future__ import annotations

from splicelab.store.engine import Database, default_url, normalize_url
from splicelab.store.migrate import upgrade


def open_database(url: str | None = None) -> Database:
    """The database at ``url`` (default: ``$SPLICELAB_DB`` or the user's data dir), migrated to head."""
    db = Database(url or default_url())
    upgrade(db)
    return db


__all__ = ["Database", "default_url", "normalize_url", "open_database", "upgrade"]
