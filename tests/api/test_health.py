"""The probes: `/healthz` alive without a database, `/readyz` ready only when
the database answers and is migrated."""

from pathlib import Path

from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.main import create_app

NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2"


def test_healthz_answers_without_a_database() -> None:
    settings = Settings(database_url=NOWHERE, environment="test")
    with TestClient(create_app(settings, Database(settings)), raise_server_exceptions=False) as client:
        got = client.get("/healthz")
        assert got.status_code == 200
        assert got.json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "nobody" not in ready.text and "Traceback" not in ready.text


def test_readyz_is_200_when_migrated(client: TestClient) -> None:
    got = client.get("/readyz")
    assert got.status_code == 200, got.text
    assert got.json() == {"status": "ready"}
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_before_migrating(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", environment="test")
    database = Database(settings)
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        got = client.get("/readyz")
        assert got.status_code == 503
        assert got.json()["pending"]
