"""Small helpers the API tests share."""

from collections.abc import Iterator
from typing import Any

import httpx2
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.models import Adoption, ApiKey, Challenge, Event, Innovation, Organisation, Transition

PROBLEM = "application/problem+json"
TRACE_WORDS = ("Traceback", 'File "', "SELECT", "INSERT", "sqlalchemy", "psycopg", "sqlite3")


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    body = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    for word in TRACE_WORDS:
        assert word not in response.text
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    errors = body["errors"]
    for error in errors:
        assert set(error) == {"field", "message"}, error
        assert error["message"]
    return {error["field"] for error in errors}


COUNTED: tuple[type[SQLModel], ...] = (
    Event,
    Organisation,
    Innovation,
    Challenge,
    Adoption,
    Transition,
    ApiKey,
)


def counts(session: Session) -> dict[str, int]:
    """How many rows each table the API writes holds: a 4xx must change none."""
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one() for model in COUNTED}


def walk(client: Any, url: str, headers: dict[str, str], limit: int) -> Iterator[dict[str, Any]]:
    """Every item of a list, page by page, following `next_cursor`."""
    cursor: str | None = None
    sep = "&" if "?" in url else "?"
    pages = 0
    while True:
        params = f"{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        got = client.get(url + params, headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        yield from body["items"]
        pages += 1
        assert pages < 1000
        cursor = body["next_cursor"]
        if cursor is None:
            return
        assert len(body["items"]) == limit
