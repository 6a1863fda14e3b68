"""Alembic's environment: the models' metadata is the target, and objects
only one database has (FTS5 tables, the `tsvector` column) are left out of
the comparison, since the models do not describe them."""

from typing import Any

from alembic import context
from sqlalchemy import create_engine, pool

from app.config import get_settings
from app.models import metadata

config = context.config

# Made by raw SQL in the migrations, invisible to the models.
DIALECT_ONLY = {"search_vector", "ix_innovations_search_vector", "ix_challenges_search_vector"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if name in DIALECT_ONLY:
        return False
    if type_ == "table" and name and (name.endswith("_fts") or "_fts_" in name):
        return False
    return True


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=metadata,
        literal_binds=True,
        include_object=include_object,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = create_engine(database_url(), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=include_object,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
