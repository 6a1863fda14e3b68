"""`hie backup` and `hie restore`, run as an operator would, on databases of
each backend made and dropped here: a round trip gives back every table,
row for row."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import func, select
from typer.testing import CliRunner, Result

from app import backups
from app.cli import cli
from app.config import Settings, get_settings
from app.db import Database
from app.migrations import upgrade
from app.models import Event
from app.models.organisation import OrganisationCreate
from app.models.user import UserCreate
from app.models.vocabulary import OrganisationKind, Role
from app.models.webhook import WebhookCreate
from app.rate_limits import DatabaseStorage
from app.services import demo, organisations, sessions, users, webhooks
from tests.databases import BACKENDS, empty_database
from tests.factories import admin_principal, make_key, make_org

runner = CliRunner()
# Quotes, a new line, accents, an emoji and a formula: text that must come back byte for byte.
AWKWARD_NAME = 'O\'Brien & Söhne "Pflege"\nline two ✓ 🏥 =SUM(A1)'


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def source(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database with something in (nearly) every table."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        _fill(url)
        yield url


@pytest.fixture
def target(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database (not even migrated): where a backup goes back."""
    with empty_database(backend, tmp_path) as url:
        yield url


def hie(url: str, *args: str) -> Result:
    get_settings.cache_clear()
    try:
        return runner.invoke(cli, list(args), env={"DATABASE_URL": url, "ENVIRONMENT": "development"})
    finally:
        get_settings.cache_clear()


def _fill(url: str) -> None:
    settings = Settings(database_url=url, environment="test", hie_webhooks_allow_private=True)
    database = Database(settings)
    try:
        with database.transaction() as session:
            demo.seed(session)
            exchange = make_org(session, "other", name=AWKWARD_NAME)
            make_key(session, exchange, ("read", "write", "admin"))
            exchange_id = exchange.id
            subscription = WebhookCreate(url="http://127.0.0.1:9/hook", event_types=[])
            webhooks.subscribe(session, admin_principal(exchange), subscription, settings)
        with database.transaction() as session:
            organisations.create(
                session, None, OrganisationCreate(name="After the subscription", kind=OrganisationKind.other)
            )
        with database.transaction() as session:
            webhooks.fan_out(session, settings)
            email, password = "backup.admin@exchange.example", "a long enough passphrase"
            user = UserCreate(email=email, name="Backup Admin", organisation_id=exchange_id, role=Role.admin)
            users.create(session, None, user, password)
            sessions.sign_in(session, settings, email, password)
            sessions.sign_in(session, settings, email, "not the password")
        DatabaseStorage(database).incr("hie/api/tests", 60)
    finally:
        database.dispose()


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in an order that does not depend on how they were stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: sorted(
                    (tuple(row) for row in connection.execute(text(f'SELECT * FROM "{name}"'))), key=repr
                )
                for name in sorted(inspect(engine).get_table_names())
            }
    finally:
        engine.dispose()


def test_a_round_trip_gives_back_every_table_row_for_row(source: str, target: str, tmp_path: Path) -> None:
    file = tmp_path / "hie.backup"
    made = hie(source, "backup", str(file))
    assert made.exit_code == 0, made.output
    assert made.stdout.strip().splitlines()[-1] == f"backed up to {file}"

    restored = hie(target, "restore", str(file))
    assert restored.exit_code == 0, restored.output

    before, after = contents(source), contents(target)
    assert sorted(after) == sorted(before)
    assert {name: len(rows) for name, rows in after.items()} == {n: len(r) for n, r in before.items()}
    for name in before:
        assert after[name] == before[name], f"{name} differs"
    filled = [name for name, rows in before.items() if rows]
    for name in ("events", "webhook_deliveries", "web_sessions", "sign_in_failures", "rate_limit_counters"):
        assert name in filled
    assert any(AWKWARD_NAME in row for row in after["organisations"])
    _assert_takes_new_writes(target, max(row[0] for row in before["events"]))


def _assert_takes_new_writes(url: str, last_event_id: int) -> None:
    """The restored database goes on where the backup left off (PostgreSQL's sequences too)."""
    database = Database(Settings(database_url=url, environment="test"))
    try:
        with database.transaction() as session:
            org = organisations.create(
                session, None, OrganisationCreate(name="After the restore", kind=OrganisationKind.other)
            )
        with database.session(write=False) as session:
            event_id = session.exec(select(func.max(Event.id)).where(Event.resource_id == org.id)).one()
        assert event_id is not None and event_id > last_event_id
    finally:
        database.dispose()


def test_a_restore_over_a_database_with_tables_needs_force(source: str, target: str, tmp_path: Path) -> None:
    file = tmp_path / "hie.backup"
    assert hie(source, "backup", str(file)).exit_code == 0
    upgrade(target)
    database = Database(Settings(database_url=target, environment="test"))
    try:
        with database.transaction() as session:
            organisations.create(
                session, None, OrganisationCreate(name="Only in the target", kind=OrganisationKind.other)
            )
    finally:
        database.dispose()
    kept = contents(target)

    refused = hie(target, "restore", str(file))
    assert refused.exit_code == 1
    assert "add --force" in refused.stderr
    assert contents(target) == kept

    forced = hie(target, "restore", "--force", str(file))
    assert forced.exit_code == 0, forced.output
    assert contents(target) == contents(source)


def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(target: str, tmp_path: Path) -> None:
    upgrade(target)
    kept = contents(target)
    file = tmp_path / "notes.txt"
    file.write_text("not a backup\n")

    refused = hie(target, "restore", "--force", str(file))
    assert refused.exit_code == 1
    assert "Not restored" in refused.stderr
    assert contents(target) == kept
    missing = hie(target, "restore", str(tmp_path / "nowhere.backup"))
    assert missing.exit_code == 1
    assert "No backup at" in missing.stderr


def test_a_backup_is_taken_while_a_writer_holds_its_transaction_open(
    backend: str, source: str, tmp_path: Path
) -> None:
    """Online: the backup neither waits for a writer nor copies what it has not committed."""
    file = tmp_path / "hie.backup"
    database = Database(Settings(database_url=source, environment="test"))
    try:
        with database.transaction() as session:
            organisations.create(
                session, None, OrganisationCreate(name="Not yet committed", kind=OrganisationKind.other)
            )
            session.flush()
            made = hie(source, "backup", str(file))
            session.rollback()
    finally:
        database.dispose()
    assert made.exit_code == 0, made.output
    with empty_database(backend, tmp_path) as copy:
        assert hie(copy, "restore", str(file)).exit_code == 0
        engine = create_engine(copy)
        with engine.connect() as connection:
            names = connection.execute(text("SELECT name FROM organisations")).scalars().all()
        engine.dispose()
    assert "Not yet committed" not in names
    assert AWKWARD_NAME in names


def test_without_the_postgresql_tools_a_backup_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backups, "POSTGRES_LIB", tmp_path / "no-postgresql")
    unreached = "postgresql+psycopg://hie@127.0.0.1:1/hie"  # the tools are looked for first
    result = hie(unreached, "backup", str(tmp_path / "hie.backup"))
    assert result.exit_code == 1
    assert "pg_dump was not found on PATH" in result.stderr
    assert "apt-get install postgresql-client" in result.stderr
    assert list(tmp_path.iterdir()) == []
