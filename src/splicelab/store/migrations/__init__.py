"""Alembic migrations of the monitor database (run by ``splicelab.store.migrate.upgrade``)."""
