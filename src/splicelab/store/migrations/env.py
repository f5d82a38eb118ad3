"""Alembic environment: works from the installed package (no alembic.ini needed).

``splicelab.store.migrate`` passes an open connection in ``config.attributes["connection"]``; the
``alembic`` command line can be used too, with ``-x url=…`` or ``$SPLICELAB_DB``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from splicelab.store.engine import default_url, make_engine
from splicelab.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(url or default_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not supported
    raise SystemExit("splicelab migrations run online only")
run_migrations_online()
