"""Alembic, driven from code: `hie migrate`, `/readyz` and the tests use it."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.db import make_sqlite_folder

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# Made by raw SQL in the migrations for one database only (FTS5 tables on
# SQLite, the `tsvector` column on PostgreSQL): the models do not describe them.
DIALECT_ONLY = {"search_vector", "ix_innovations_search_vector", "ix_challenges_search_vector"}
# Computed by the database in its own words on each (migration 0009).
DIALECT_ONLY |= {"facet_mask", "ix_innovations_status_facet_mask_id"}


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


def upgrade(database_url: str, revision: str = "head") -> None:
    make_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


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
