"""The schema comes only from migrations: they build it from nothing on each
database, take it down again, and match the models exactly."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session, select

from app.migrations import downgrade, include_object, upgrade
from app.models import Adoption, metadata
from app.services import adoptions
from tests.databases import BACKENDS, empty_database, migrated_database
from tests.factories import make_world
from tests.servers import server_environment
from tests.services.test_analytics import Exchange, running_counts_agree

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


@pytest.mark.parametrize("backend", BACKENDS)
def test_0008_backfills_each_adoptions_furthest_stage_from_its_transitions(
    backend: str, tmp_path: Path
) -> None:
    """The moves of the analytics tests' exchange (forward, skipped, back,
    paused, stopped and reopened) keep each adoption's furthest stage; taken
    away and backfilled, it comes back the same."""
    with migrated_database(backend, tmp_path) as database:
        with database.transaction() as session:
            exchange = Exchange(session, make_world(session))
            adoptions = [exchange.a1, exchange.a2, exchange.a3, exchange.a4, exchange.a6]
            ids = [loaded.adoption.id for loaded in adoptions] + [exchange.a5.id]
        kept = _furthest(database.write_engine, ids)
        assert kept == [
            "adopted",
            "needs_assessment",
            "co_design",
            "needs_assessment",
            "co_design",
            "identified",
        ]
        url = database.settings.database_url
        database.dispose()
        downgrade(url, "0007")
        upgrade(url)
        assert _furthest(database.write_engine, ids) == kept


@pytest.mark.parametrize("backend", BACKENDS)
def test_0012_counts_the_adoptions_there_and_keeps_them_across_connections(
    backend: str, tmp_path: Path
) -> None:
    """With committed adoptions: migration 0012 counts them even over what an
    older backup's restore left behind; then committed moves on one
    connection and a fold rolled back on another leave everyone's funnel
    equal to a grouped count. (SQLite has no running counts: the same checks
    hold of its grouped count.)"""
    with migrated_database(backend, tmp_path) as database:
        with database.transaction() as session:
            exchange = Exchange(session, make_world(session))
        url = database.settings.database_url
        postgres = database.dialect == "postgresql"
        database.dispose()
        downgrade(url, "0011")
        if postgres:  # a restore's leftover, with a count that is wrong
            with create_engine(url).begin() as connection:
                connection.execute(text("CREATE TABLE adoption_stage_counts (stage text, adoptions bigint)"))
        upgrade(url)
        assert _counts_agree(database.write_engine)
        with database.transaction() as session:
            exchange.session = session
            loaded = adoptions.get(session, exchange.admin, exchange.a5.id)
            exchange.moves(loaded, (160, "needs_assessment"))
        if postgres:
            with database.write_engine.connect() as folding:
                folding.execute(text("SELECT adoption_stage_counts_fold()"))
                folding.rollback()
        assert _counts_agree(database.write_engine)


def _counts_agree(engine: Engine) -> bool:
    with Session(engine) as session:
        return running_counts_agree(session)


def _furthest(engine: Engine, ids: list[uuid.UUID]) -> list[str]:
    with Session(engine) as session:
        found = dict(session.exec(select(Adoption.id, Adoption.furthest_stage)).all())
    return [found[i] for i in ids]


@pytest.mark.parametrize("backend", BACKENDS)
def test_instances_starting_together_migrate_one_at_a_time(backend: str, tmp_path: Path) -> None:
    """Three `hie migrate` at once on an empty database (three containers
    starting together): each waits its turn, all succeed, no drift."""
    with empty_database(backend, tmp_path) as url:
        environment = server_environment(url, {})
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "migrate"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0], outputs
        assert _drift(url) == []
        engine = create_engine(url)
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
        assert len(versions) == 1
