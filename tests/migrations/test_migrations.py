"""The schema comes only from migrations: they build it from nothing on each
database, take it down again, and match the models exactly."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from app.migrations import downgrade, include_object, upgrade
from app.models import metadata
from tests.databases import BACKENDS, empty_database

DEFAULT_STAGES = [
    "identified",
    "needs_assessment",
    "co_design",
    "real_world_testing",
    "adopted",
    "sustained",
    "paused",
    "not_progressed",
]


def _drift(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"include_object": include_object, "compare_type": True},
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_upgrade_without_drift(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        assert _drift(url) == []
        engine = create_engine(url)
        with engine.connect() as connection:
            stages = connection.execute(text("SELECT key FROM stages ORDER BY position")).scalars().all()
            items = connection.execute(text("SELECT count(*) FROM gate_items")).scalar_one()
        engine.dispose()
        assert stages == DEFAULT_STAGES
        assert items == 12

        downgrade(url)
        assert _tables(url) <= {"alembic_version"}

        upgrade(url)
        assert _drift(url) == []
        assert {"adoptions", "transitions", "events", "stages"} <= _tables(url)
