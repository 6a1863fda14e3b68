"""Every test runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is
set: one migrated database per backend for the session, each test inside a
transaction that is rolled back, and the app's unit of work committing only
to a savepoint within it."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.deps import get_session
from app.db import Database
from app.main import create_app
from tests.databases import BACKENDS, POSTGRES_URL, migrated_database
from tests.factories import World, make_world


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return "databases: SQLite and PostgreSQL (TEST_DATABASE_URL)"
    return "databases: SQLite only; set TEST_DATABASE_URL to run every test on PostgreSQL too"


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as database:
        yield database


@pytest.fixture
def fresh_database(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of its own, for tests that need real commits (concurrency)."""
    with migrated_database(database.dialect, tmp_path) as fresh:
        yield fresh


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    connection = database.write_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def app(database: Database, session: Session) -> FastAPI:
    app = create_app(database.settings, database)

    async def test_session(request: Request) -> AsyncIterator[Session]:
        # What the test set up is committed before the request, as it would be
        # in production, so a request that fails rolls back only its own work.
        session.commit()
        try:
            yield session
            session.commit()  # releases the savepoint, as a request commits
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)
