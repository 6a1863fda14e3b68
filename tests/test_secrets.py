"""Secrets come only from settings, production refuses the development
defaults at start-up, and no secret ever reaches the logs: passwords, API
keys, session cookies, set-password tokens, webhook signing secrets."""

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from app import cli, logs
from app.config import DEVELOPMENT_SECRET_KEY, InsecureSettings, Settings
from app.main import create_app
from app.models.user import UserCreate
from app.services import users
from tests.factories import World
from tests.web.conftest import csrf_token

LONG_SECRET = "k3Jx9-a-production-secret-of-fifty-characters-0123"
PASSWORD = "a password typed into a form"
NEW_PASSWORD = "a first password set from a link"
CLIENT = '"logger": "httpx2"'


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET_KEY, "short-but-not-default"])
def test_production_refuses_a_development_or_short_secret_key(secret: str, tmp_path: object) -> None:
    settings = Settings(environment="production", secret_key=secret, database_url="sqlite://")
    with pytest.raises(InsecureSettings, match="SECRET_KEY"):
        create_app(settings)


def test_production_refuses_a_short_metrics_token() -> None:
    settings = Settings(environment="production", secret_key=LONG_SECRET, metrics_token="guessable")
    with pytest.raises(InsecureSettings, match="METRICS_TOKEN"):
        settings.check_secrets()


def test_production_starts_with_its_own_secret_and_development_with_the_default() -> None:
    Settings(environment="production", secret_key=LONG_SECRET).check_secrets()
    Settings(environment="development").check_secrets()
    Settings(environment="test").check_secrets()


def test_hie_serve_stops_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    cli.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.cli, ["serve", "--port", "1"])
    finally:
        cli.get_settings.cache_clear()
    assert result.exit_code == 1
    assert "Refusing to start with ENVIRONMENT=production" in result.output
    assert "SECRET_KEY" in result.output


def test_no_secret_is_ever_logged(
    client: TestClient,
    session: Session,
    world: World,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # the most a deployment could log
    email = "admin@example.nhs.uk"
    admin = users.create(
        session,
        None,
        UserCreate(email=email, name="Admin", organisation_id=world.exchange.id, role="admin"),
        PASSWORD,
    )
    # Sign in, once wrongly (a failure must not log what was typed), then rightly.
    for password in ("a wrong password typed", PASSWORD):
        client.post(
            "/sign-in",
            data={"email": email, "password": password, "csrf_token": csrf_token(client), "next": "/"},
            follow_redirects=False,
        )
    cookie = client.cookies.get("hie_session")
    assert cookie and client.get("/").status_code == 200

    # Use a key, and subscribe a webhook with it: its answer holds the signing secret.
    key = world.keys["trust"]
    assert client.get("/api/v1/adoptions", headers=world.auth("trust")).status_code == 200
    created = client.post(
        "/api/v1/webhooks", json={"url": "https://93.184.216.34/in"}, headers=world.auth("trust")
    )
    assert created.status_code == 201, created.text
    webhook_secret = created.json()["secret"]

    # A first password, set through its one-time link.
    newcomer = users.create(
        session,
        None,
        UserCreate(email="new@example.nhs.uk", name="New", organisation_id=world.trust.id),
        None,
    )
    token, _ = users.issue_password_link(session, newcomer, days=1)
    form = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/set-password/{token}").text)
    assert form
    set_password = client.post(
        f"/set-password/{token}",
        data={"csrf_token": form.group(1), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert set_password.status_code == 303

    # Everything the service logged; not the test's own HTTP client (httpx2), which is no part of it.
    written = "\n".join(line for line in capsys.readouterr().err.splitlines() if CLIENT not in line)
    recorded = "\n".join(
        f"{record.getMessage()} {json.dumps(record.__dict__, default=str)}"
        for record in caplog.records
        if not record.name.startswith("httpx2")
    )
    assert '"logger": "app.requests"' in written  # the logs were on, and captured
    secrets = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "API key": key,
        "session cookie": cookie,
        "webhook secret": webhook_secret,
        "set-password token": token,
        "SECRET_KEY": client.app.state.settings.secret_key,  # type: ignore[attr-defined]
        "password hash": admin.password_hash or "",
    }
    for name, secret in secrets.items():
        assert secret not in written, f"the {name} was written to the logs"
        assert secret not in recorded, f"the {name} was in a log record"


def test_libraries_that_log_secrets_stay_quiet_even_at_debug() -> None:
    """SQLAlchemy would log each statement's parameters (password hashes,
    webhook secrets), python-multipart each form field, httpx each URL."""
    logs.configure(Settings(log_level="debug"))
    try:
        assert logging.getLogger().isEnabledFor(logging.DEBUG)
        for name in ("sqlalchemy.engine.Engine", "python_multipart.multipart", "httpx", "httpcore.http11"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    finally:
        logs.configure(Settings(log_level="info"))
