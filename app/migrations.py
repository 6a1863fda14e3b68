"""Alembic, driven from code: `hie migrate`, `/readyz` and the tests use it."""

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an INI file: a literal % must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
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
