"""A list or detail request costs a fixed, small number of SQL statements,
however long the page: no statement per row."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from tests.factories import World, make_adoption, make_challenge, make_innovation, make_org

MAX_STATEMENTS = 4
# What the test harness itself adds around each request.
HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements run on the test's connection while inside."""
    connection = session.get_bind()
    seen: list[str] = []

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(HARNESS):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", before_cursor_execute)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", before_cursor_execute)


def count(client: TestClient, session: Session, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    client.get(url, headers=headers)  # warm: per-process caches such as the stages
    session.expunge_all()  # as a request's own session would, find nothing already loaded
    with statements(session) as seen:
        got = client.get(url, headers=headers)
    assert got.status_code == 200, got.text
    return len(seen), got.json()


@pytest.fixture
def crowded(world: World, session: Session) -> World:
    """More than a page of 100 of everything."""
    regions = ["north_west", "london", "midlands"]
    for n in range(101):
        adopter = make_org(session, "primary_care", regions[n % 3])
        make_adoption(session, world.innovation, adopter, lead={"name": "Lead", "email": "lead@nhs.net"})
        make_innovation(session, world.supplier, name=f"Innovation {n}", categories=["digital", "ai"])
        make_challenge(session, world.trust, title=f"Hospital challenge {n}", categories=["digital"])
    session.commit()
    return world


@pytest.mark.parametrize(
    ("url", "who", "length"),
    [
        ("/api/v1/adoptions?limit=100", "facilitator", 100),
        ("/api/v1/adoptions?limit=100", "supplier", 100),
        ("/api/v1/adoptions?limit=100&region=london", "admin", 34),
        ("/api/v1/innovations?limit=100", "trust", 100),
        ("/api/v1/innovations?limit=100&category=ai&q=innovation", "other_trust", 100),
        ("/api/v1/challenges?limit=100&q=hosp&category=digital", "supplier", 100),
        ("/api/v1/organisations?limit=100", "trust", 100),
        ("/api/v1/events?limit=100", "trust", 100),
        ("/api/v1/api-keys?limit=100", "admin", 7),
        ("/api/v1/stages", "trust", 8),
    ],
)
def test_a_list_costs_the_same_however_long(
    client: TestClient, session: Session, crowded: World, url: str, who: str, length: int
) -> None:
    n, body = count(client, session, url, crowded.auth(who))
    assert len(body["items"]) == length
    assert 1 <= n <= MAX_STATEMENTS, n  # the key, then the page (the stages are cached)
    short, _ = count(client, session, url.replace("limit=100", "limit=1"), crowded.auth(who))
    assert n == short  # the same for one row as for a hundred


def test_a_detail_costs_a_few_statements(client: TestClient, session: Session, crowded: World) -> None:
    for url, who in [
        (f"/api/v1/adoptions/{crowded.adoption.id}", "trust"),
        (f"/api/v1/adoptions/{crowded.adoption.id}/transitions", "supplier"),
        (f"/api/v1/innovations/{crowded.innovation.id}", "other_trust"),
        (f"/api/v1/innovations/{crowded.innovation.id}/spread", "other_trust"),
        (f"/api/v1/organisations/{crowded.trust.id}", "trust"),
    ]:
        n, _ = count(client, session, url, crowded.auth(who))
        limit = 8 if url.endswith("/spread") else MAX_STATEMENTS  # spread: a fixed set of aggregates
        assert 1 <= n <= limit, (url, n)
