"""The `hie` command line, run as an operator would, against a fresh database
of each backend (SQLite always; PostgreSQL when TEST_DATABASE_URL is set)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import get_settings
from app.db import Database
from app.models import Adoption, Application, Event, Organisation, Stage, Transition, User
from app.models.base import as_utc, utcnow
from app.services import api_keys, demo
from tests.databases import BACKENDS, empty_database
from tests.factories import make_application

runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, migrated database that the commands find in DATABASE_URL."""
    with empty_database(request.param, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("ENVIRONMENT", "development")
        get_settings.cache_clear()
        try:
            migrated = hie("migrate")
            assert migrated.stdout.splitlines()[-1] == "migrated"
            yield url
        finally:
            get_settings.cache_clear()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(get_settings())
    try:
        yield database
    finally:
        database.dispose()


def hie(*args: str, input: str | None = None, ok: bool = True) -> Result:
    result = runner.invoke(cli, list(args), input=input)
    if ok:
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def last_line(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def create_org(name: str = "Liverpool University Hospitals NHS Foundation Trust", *extra: str) -> uuid.UUID:
    result = hie("organisations", "create", "--name", name, "--kind", "nhs_trust", *extra)
    return uuid.UUID(last_line(result))


def test_organisations_create_prints_the_new_id(database: Database) -> None:
    org_id = create_org(
        "Alder Hey Children's NHS Foundation Trust", "--region", "north_west", "--ods-code", "RBS"
    )
    with database.session() as session:
        org = session.get(Organisation, org_id)
        assert org is not None
        assert (org.name, org.kind, org.region, org.ods_code) == (
            "Alder Hey Children's NHS Foundation Trust",
            "nhs_trust",
            "north_west",
            "RBS",
        )


def test_a_duplicate_ods_code_fails_with_a_message(database_url: str) -> None:
    create_org("Mersey Care NHS Foundation Trust", "--ods-code", "RW4")
    result = hie(
        "organisations", "create", "--name", "Another", "--kind", "nhs_trust", "--ods-code", "RW4", ok=False
    )
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_an_unknown_kind_is_refused(database_url: str) -> None:
    result = hie("organisations", "create", "--name", "X", "--kind", "hospital", ok=False)
    assert result.exit_code == 2
    assert "hospital" in result.stderr


def test_api_keys_create_prints_a_key_that_authenticates(database: Database) -> None:
    org_id = create_org()
    key = last_line(hie("api-keys", "create", "--organisation", str(org_id), "--scopes", "read,write"))
    assert key.startswith(api_keys.PREFIX)
    with database.session() as session:
        principal = api_keys.authenticate(session, key)
    assert principal.organisation_id == org_id
    assert {str(s) for s in principal.scopes} == {"read", "write"}


def test_api_keys_create_for_an_unknown_organisation_fails(database_url: str) -> None:
    result = hie("api-keys", "create", "--organisation", str(uuid.uuid4()), ok=False)
    assert result.exit_code == 1
    assert "No organisation with this id" in result.stderr
    assert result.stdout == ""


def test_api_keys_create_refuses_an_unknown_scope(database_url: str) -> None:
    org_id = create_org()
    result = hie("api-keys", "create", "--organisation", str(org_id), "--scopes", "read,everything", ok=False)
    assert result.exit_code == 2
    assert "Scopes are" in result.stderr


def test_users_create_reads_the_password_from_standard_input(database: Database) -> None:
    org_id = create_org()
    result = hie(
        "users", "create", "--email", "Asha.Patel@NHS.example", "--name", "Dr Asha Patel",
        "--organisation", str(org_id), "--role", "member",
        input="correct horse battery staple\n",
    )  # fmt: skip
    user_id = uuid.UUID(last_line(result))
    with database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert (user.email, user.organisation_id, user.role) == ("asha.patel@nhs.example", org_id, "member")
        assert user.password_hash and "correct horse" not in user.password_hash
        from app.services.users import hasher

        assert hasher.verify(user.password_hash, "correct horse battery staple")


@pytest.mark.parametrize(
    ("organisation", "password", "message"),
    [
        (None, "short", "at least 12 characters"),
        ("unknown", "a long enough password", "No organisation with this id"),
    ],
)
def test_users_create_errors_exit_non_zero_with_a_message(
    database: Database, organisation: str | None, password: str, message: str
) -> None:
    org_id = str(uuid.uuid4()) if organisation == "unknown" else str(create_org())
    result = hie(
        "users", "create", "--email", "x@nhs.example", "--name", "X", "--organisation", org_id,
        input=f"{password}\n", ok=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert message in result.stderr
    with database.session() as session:
        assert count(session, User) == 0


def test_a_facilitator_must_belong_to_a_network(database_url: str) -> None:
    org_id = create_org()
    result = hie(
        "users", "create", "--email", "f@nhs.example", "--name", "F", "--organisation", str(org_id),
        "--role", "facilitator", input="a long enough password\n", ok=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Health Innovation Network" in result.stderr


def test_seed_needs_to_be_told_what_to_seed(database_url: str) -> None:
    result = hie("seed", ok=False)
    assert result.exit_code == 2
    assert "--demo" in result.stderr


def test_seed_demo_is_idempotent_and_covers_every_stage(database: Database) -> None:
    first = hie("seed", "--demo")
    assert last_line(first).startswith("seeded ")
    assert int(last_line(first).split()[1]) > 100
    assert "adoptions: 36 new" in first.stderr
    # Development: the demo users exist, and their sign-ins are printed.
    for _who, email, password in demo.demo_sign_ins():
        assert f"{email} / {password}" in first.stderr

    with database.session() as session:
        events_before = count(session, Event)
        transitions_before = count(session, Transition)

    second = hie("seed", "--demo")
    assert last_line(second) == "seeded 0 new records"
    assert all(line.endswith(": 0 new") for line in second.stderr.splitlines() if line.endswith(" new"))

    with database.session() as session:
        assert count(session, Event) == events_before
        assert count(session, Transition) == transitions_before

        stage_keys = set(session.exec(select(Stage.key)).all())
        held = set(session.exec(select(Adoption.stage).distinct()).all())
        assert held == stage_keys

        sustained = session.exec(select(Adoption).where(Adoption.stage == "sustained")).all()
        assert sustained
        for adoption in sustained:
            assert adoption.adopted_at is not None
            waited = as_utc(adoption.stage_entered_at) - as_utc(adoption.adopted_at)
            assert waited >= timedelta(days=180)
        for adoption in session.exec(select(Adoption).where(Adoption.stage == "adopted")).all():
            assert adoption.adopted_at is not None
        stopped = session.exec(select(Transition).where(Transition.to_stage == "not_progressed")).all()
        assert stopped and all(t.reason_code for t in stopped)

        # Histories span the past two years, every transition in the past.
        dates = [as_utc(d) for d in session.exec(select(Transition.created_at)).all()]
        assert max(dates) < as_utc(session.exec(select(func.max(Event.occurred_at))).one())
        assert max(dates) - min(dates) > timedelta(days=540)
        users = session.exec(select(User.email).order_by(col(User.email))).all()
        assert sorted(email for _, email, _ in demo.demo_sign_ins()) == list(users)


def test_seed_demo_makes_no_users_outside_development(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    result = hie("seed", "--demo")
    assert "users: 0 new" in result.stderr
    assert demo.DEMO_PASSWORD not in result.stderr + result.stdout
    with database.session() as session:
        assert count(session, User) == 0
        assert count(session, Adoption) == 36


def test_purging_applications_deletes_only_those_past_their_time(database: Database) -> None:
    settings = get_settings()
    with database.transaction() as session:
        make_application(session, settings, company_name="Waiting Co")
        old = make_application(session, settings, company_name="Old Co")
        old.status = "declined"
        old.decided_at = utcnow() - timedelta(days=settings.application_retention_days + 1)
    assert last_line(hie("applications", "purge")) == "1 applications deleted"
    assert last_line(hie("applications", "purge")) == "0 applications deleted"
    assert last_line(hie("applications", "purge")) == "0 applications deleted"
    with database.session() as session:
        assert session.exec(select(Application.company_name)).all() == ["Waiting Co"]
