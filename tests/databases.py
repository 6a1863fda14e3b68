"""Fresh, migrated databases for the tests: a SQLite file always, and a
PostgreSQL database when TEST_DATABASE_URL names a server to make it on."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import Database
from app.migrations import upgrade

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _postgres_admin_url() -> str:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@contextmanager
def empty_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'hie-{uuid.uuid4().hex[:8]}.db'}"
        return
    admin_url = _postgres_admin_url()
    name = f"hie_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[Database]:
    with empty_database(backend, folder) as url:
        upgrade(url)
        # In-process tests count rate limits in memory: the database storage would
        # wait on the write lock the `session` fixture holds (tests/api/test_rate_limits.py
        # tests the database and Redis storages with real commits).
        settings = Settings(database_url=url, environment="test", rate_limit_storage="memory://")
        database = Database(settings)
        try:
            yield database
        finally:
            database.dispose()
