"""Alembic, driven from code: `hie migrate`, `/readyz` and the tests use it."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.db import make_sqlite_folder

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# Made by raw SQL in the migrations for one database only (FTS5 tables on
# SQLite, the `tsvector` column on PostgreSQL): the models do not describe them.
DIALECT_ONLY = {"search_vector", "ix_innovations_search_vector", "ix_challenges_search_vector"}
# Computed by the database in its own words on each (migration 0009).
DIALECT_ONLY |= {"facet_mask", "ix_innovations_status_facet_mask_id"}
# PostgreSQL only, kept by triggers: the words matching reads (migration 0011).
DIALECT_ONLY |= {"innovation_words", "ix_innovation_words_words"}
# PostgreSQL only, kept by triggers: the funnel's counts per stage (migration 0012).
DIALECT_ONLY |= {"adoption_stage_counts"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Which objects autogenerate and the drift check compare."""
    if name in DIALECT_ONLY:
        return False
    return not (type_ == "table" and name and (name.endswith("_fts") or "_fts_" in name))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an INI file: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


# Any fixed number: PostgreSQL's advisory locks are named by a 64-bit key.
MIGRATION_LOCK_KEY = 0x4849_455F_4D49_4752  # "HIE_MIGR"


def upgrade(database_url: str, revision: str = "head") -> None:
    """Alembic's upgrade, one migrator at a time: instances that start
    together (each container runs `hie migrate` before serving) queue on a
    lock, and the later ones find the schema already at head and do nothing,
    where without it two would both run a migration's DDL and one fail."""
    make_sqlite_folder(database_url)
    with _one_migrator(database_url):
        command.upgrade(alembic_config(database_url), revision)


@contextmanager
def _one_migrator(database_url: str) -> Iterator[None]:
    """A session-level advisory lock on PostgreSQL, held by a connection of
    its own beside Alembic's; on SQLite an exclusive lock on a file next to
    the database (only processes on one machine share a SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        finally:
            engine.dispose()
    elif url.database and url.database != ":memory:":
        with open(f"{url.database}.migrating", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
            yield
    else:
        yield


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


@lru_cache
def head_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads())


def pending_revisions(engine: Engine) -> list[str]:
    """Heads the database has not reached yet; empty when it is up to date."""
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return sorted(head_revisions() - current)
