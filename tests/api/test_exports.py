"""GET /api/v1/exports/{innovations,challenges,adoptions}.csv: the lists'
filters as query parameters, their visibility, a dated attachment, OpenAPI,
and (on a database with real commits) the export's own read sessions."""

import csv
import io
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.exports import read_sessions
from app.db import Database
from app.main import create_app
from tests.api.helpers import assert_problem, walk
from tests.factories import World, make_adoption, make_challenge, make_innovation, make_org, make_world

BASE = "/api/v1/exports"


@pytest.fixture(autouse=True)
def exports_read_the_test_session(app: FastAPI, session: Session) -> Iterator[None]:
    """The exports read in sessions of their own, which would not see what
    the test wrote inside its transaction; here they read the test's session."""
    app.dependency_overrides[read_sessions] = lambda: lambda: nullcontext(session)
    yield
    app.dependency_overrides.pop(read_sessions, None)


def rows(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


def test_an_export_is_a_dated_csv_attachment(client: TestClient, world: World) -> None:
    got = client.get(f"{BASE}/adoptions.csv", headers=world.auth("trust_read_only"))
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).date().isoformat()
    assert got.headers["content-disposition"] == f'attachment; filename="adoptions-{today}.csv"'
    assert got.headers["cache-control"] == "no-store"
    assert not got.content.startswith(b"\xef\xbb\xbf")  # no byte order mark for scripts
    header = got.text.splitlines()[0]
    assert header.startswith("Id,Innovation,Supplier,Adopting organisation,")
    assert [r["Id"] for r in rows(got)] == [str(world.adoption.id)]


@pytest.mark.parametrize("kind", ["innovations", "challenges", "adoptions"])
def test_an_export_needs_a_key(client: TestClient, world: World, kind: str) -> None:
    assert_problem(client.get(f"{BASE}/{kind}.csv"), 401)
    assert_problem(client.get(f"{BASE}/{kind}.csv", headers={"Authorization": "Bearer hie_nope"}), 401)


def test_innovations_export_matches_the_list_for_every_filter(
    client: TestClient, session: Session, world: World
) -> None:
    make_innovation(session, world.supplier, name="Own draft", status="draft", categories=["digital"])
    other = make_org(session, "supplier", "london", name="Other Supplier")
    make_innovation(session, other, name="Their draft", status="draft")
    make_innovation(
        session,
        other,
        name="Telehealth kit",
        categories=["digital"],
        maturity="ready",
        origin_sector="retail",
    )
    queries = [
        "",
        "q=telehealth",
        "category=digital",
        "status=draft",
        "maturity=ready&origin_sector=retail",
        f"supplier_id={world.supplier.id}",
        "care_setting=acute_inpatient",
    ]
    for who in ("supplier", "trust", "facilitator"):
        for query in queries:
            exported = rows(client.get(f"{BASE}/innovations.csv?{query}", headers=world.auth(who)))
            listed = walk(client, f"/api/v1/innovations?{query}", world.auth(who), 100)
            assert [r["Id"] for r in exported] == [i["id"] for i in listed], (who, query)
    names = [r["Name"] for r in rows(client.get(f"{BASE}/innovations.csv", headers=world.auth("trust")))]
    assert "Own draft" not in names and "Their draft" not in names


def test_challenges_export_matches_the_list_for_every_filter(
    client: TestClient, session: Session, world: World
) -> None:
    make_challenge(session, world.trust, title="Own draft on falls", status="draft")
    make_challenge(session, world.other_trust, title="Open call on falls", categories=["digital"])
    queries = ["", "q=falls", "status=draft", "category=digital", f"owner_id={world.other_trust.id}"]
    for who in ("trust", "other_trust", "facilitator"):
        for query in queries:
            exported = rows(client.get(f"{BASE}/challenges.csv?{query}", headers=world.auth(who)))
            listed = walk(client, f"/api/v1/challenges?{query}", world.auth(who), 100)
            assert [r["Id"] for r in exported] == [c["id"] for c in listed], (who, query)


def test_adoptions_export_matches_the_list_and_adds_the_category(
    client: TestClient, session: Session, world: World
) -> None:
    app_ = make_innovation(session, world.supplier, name="App", categories=["digital"])
    make_adoption(session, app_, world.trust, stage="co_design")
    make_adoption(session, app_, world.other_trust)
    queries = [
        "",
        "stage=co_design",
        "region=london",
        f"innovation_id={app_.id}",
        f"organisation_id={world.trust.id}&stage=identified",
    ]
    for who in ("trust", "other_trust", "supplier", "facilitator"):
        for query in queries:
            exported = rows(client.get(f"{BASE}/adoptions.csv?{query}", headers=world.auth(who)))
            listed = walk(client, f"/api/v1/adoptions?{query}", world.auth(who), 100)
            assert [r["Id"] for r in exported] == [a["id"] for a in listed], (who, query)
    digital = rows(client.get(f"{BASE}/adoptions.csv?category=digital", headers=world.auth("facilitator")))
    assert {r["Innovation"] for r in digital} == {"App"} and len(digital) == 2
    theirs = rows(client.get(f"{BASE}/adoptions.csv", headers=world.auth("other_trust")))
    assert [r["Adopting organisation"] for r in theirs] == ["Guy's and St Thomas'"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("adoptions.csv?stage=launched", "query.stage"),
        ("adoptions.csv?region=atlantis", "query.region"),
        ("innovations.csv?category=spaceships", "query.category"),
        ("challenges.csv?owner_id=not-a-uuid", "query.owner_id"),
    ],
)
def test_a_filter_that_makes_no_sense_is_a_problem_not_a_file(
    client: TestClient, world: World, path: str, field: str
) -> None:
    body = assert_problem(client.get(f"{BASE}/{path}", headers=world.auth("facilitator")), 422)
    assert field in {error["field"] for error in body["errors"]}


def test_the_exports_are_documented_as_csv_with_their_filters(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    expected = {
        "innovations": {
            "q",
            "category",
            "care_setting",
            "status",
            "maturity",
            "supplier_id",
            "origin_sector",
        },
        "challenges": {"q", "status", "care_setting", "category", "owner_id"},
        "adoptions": {"innovation_id", "organisation_id", "challenge_id", "stage", "region", "category"},
    }
    for kind, filters in expected.items():
        operation = schema["paths"][f"{BASE}/{kind}.csv"]["get"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == filters
        ok = operation["responses"]["200"]
        assert set(ok["content"]) == {"text/csv"}
        assert "Content-Disposition" in ok["headers"]
        assert {"401", "403", "422"} <= set(operation["responses"])


# --- the real thing: its own sessions on the read engine ---------------------------------


@pytest.fixture
def committed(fresh_database: Database) -> Iterator[tuple[TestClient, World, Database]]:
    with fresh_database.transaction() as session:
        world = make_world(session)
        for index in range(1200):
            if index % 400 == 0:
                innovation = make_innovation(session, world.supplier, name=f"Innovation {index // 400}")
            org = make_org(session, "primary_care", name=f"Practice {index:04}")
            make_adoption(session, innovation, org)
    with TestClient(create_app(fresh_database.settings, fresh_database)) as client:
        yield client, world, fresh_database


def test_a_large_export_reads_every_row_in_its_own_sessions_and_releases_them(
    committed: tuple[TestClient, World, Database],
) -> None:
    client, world, database = committed
    with client.stream("GET", f"{BASE}/adoptions.csv", headers=world.auth("admin")) as answer:
        assert answer.status_code == 200
        lines = list(answer.iter_lines())
    exported = list(csv.DictReader(lines))
    assert len(exported) == 1201
    assert len({r["Id"] for r in exported}) == 1201
    assert [r["Id"] for r in exported] == sorted(r["Id"] for r in exported)
    assert database.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert database.write_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_client_that_stops_reading_leaves_nothing_held(
    committed: tuple[TestClient, World, Database],
) -> None:
    client, world, database = committed
    with client.stream("GET", f"{BASE}/adoptions.csv", headers=world.auth("admin")) as answer:
        first = next(answer.iter_bytes())
        assert first.startswith(b"Id,")
    # The stream was closed half read; a write commits at once.
    with database.transaction() as writer:
        make_org(writer, "primary_care", name="Written after")
    assert database.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
