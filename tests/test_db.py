"""The database under concurrent writers: no "database is locked", no lost
write, on SQLite (WAL, IMMEDIATE writers, busy timeout) and PostgreSQL."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text
from sqlmodel import func, select

from app.db import Database
from app.main import create_app
from app.models import Event, Organisation
from app.models.organisation import OrganisationCreate
from app.services import organisations
from tests.factories import make_key, make_org


def test_sqlite_pragmas(database: Database) -> None:
    if database.dialect != "sqlite":
        return
    with database.session(write=False) as session:
        connection = session.connection()
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_concurrent_writers_in_threads_all_commit(fresh_database: Database) -> None:
    def write(n: int) -> None:
        for i in range(10):
            with fresh_database.transaction() as session:
                data = OrganisationCreate(name=f"Practice {n}-{i}", kind="primary_care")
                organisations.create(session, None, data)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))

    with fresh_database.session() as session:
        assert session.exec(select(func.count()).select_from(Organisation)).one() == 80
        assert session.exec(select(func.count()).select_from(Event)).one() == 80


def test_concurrent_requests_all_succeed(fresh_database: Database) -> None:
    with fresh_database.transaction() as session:
        exchange = make_org(session, "other", name="Exchange")
        key = make_key(session, exchange, ("read", "write", "admin"))
    app = create_app(fresh_database.settings, fresh_database)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            posts = [
                client.post("/api/v1/organisations", json={"name": f"Care home {i}", "kind": "social_care"})
                for i in range(60)
            ]
            reads = [client.get("/api/v1/organisations?limit=50") for _ in range(20)]
            responses = await asyncio.gather(*posts, *reads)
        return [r.status_code for r in responses]

    statuses = asyncio.run(run())
    assert statuses[:60] == [201] * 60
    assert statuses[60:] == [200] * 20
    with fresh_database.session() as session:
        count = session.exec(select(func.count()).select_from(Organisation)).one()
    assert count == 61
