"""Idempotency-Key (API.md): a retry gets the first answer and writes
nothing; a key with another request is refused; keys belong to one
organisation, expire and are pruned; many requests at once with one key,
across processes, make one record."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from app.db import Database
from app.main import create_app
from app.models import Event, IdempotencyKey, Organisation
from app.models.base import utcnow
from app.services import idempotency
from tests.api.helpers import assert_problem, counts, error_fields
from tests.factories import World, make_key, make_org
from tests.servers import running_servers

INNOVATIONS = "/api/v1/innovations"


def innovation(world: World, name: str = "Bedside sharps melter") -> dict[str, Any]:
    return {
        "name": name,
        "summary": "Melts used needles at the bedside.",
        "supplier_id": str(world.supplier.id),
        "categories": ["medical_device"],
        "care_settings": ["acute_inpatient"],
    }


def keyed(world: World, who: str, key: str) -> dict[str, str]:
    return {**world.auth(who), "Idempotency-Key": key}


def kept_keys(session: Session) -> int:
    return session.exec(select(func.count()).select_from(IdempotencyKey)).one()


def test_a_replay_answers_as_the_first_time_and_writes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    headers = keyed(world, "supplier", str(uuid.uuid4()))
    first = client.post(INNOVATIONS, json=innovation(world), headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    before = {**counts(session), "keys": kept_keys(session)}

    again = client.post(INNOVATIONS, json=innovation(world), headers=headers)
    # The same object sent again, spaced and ordered differently, is the same request.
    reordered = dict(reversed(list(innovation(world).items())))
    respaced = client.post(
        INNOVATIONS,
        content=httpx.Request("POST", "/", json=reordered).content.replace(b",", b", "),
        headers={**headers, "Content-Type": "application/json"},
    )

    for replay in (again, respaced):
        assert replay.status_code == 201
        assert replay.json() == first.json()
        assert replay.headers["Location"] == first.headers["Location"]
        assert replay.headers["ETag"] == first.headers["ETag"]
        assert replay.headers["content-type"] == first.headers["content-type"]
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert {**counts(session), "keys": kept_keys(session)} == before


def test_without_a_key_each_request_runs(client: TestClient, session: Session, world: World) -> None:
    first = client.post(INNOVATIONS, json=innovation(world), headers=world.auth("supplier"))
    second = client.post(INNOVATIONS, json=innovation(world), headers=world.auth("supplier"))
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert kept_keys(session) == 0


def test_the_same_key_with_another_request_is_refused(
    client: TestClient, session: Session, world: World
) -> None:
    headers = keyed(world, "supplier", "nightly-sync-2026-11-27")
    assert client.post(INNOVATIONS, json=innovation(world), headers=headers).status_code == 201
    before = {**counts(session), "keys": kept_keys(session)}

    other_body = client.post(INNOVATIONS, json=innovation(world, "Another name"), headers=headers)
    body = assert_problem(other_body, 422)
    assert error_fields(body) == {"header.Idempotency-Key"}
    assert body["type"].endswith("/idempotency-key-reused")
    assert "POST /api/v1/innovations" in body["errors"][0]["message"]

    challenge = {
        "title": "Fewer needlestick injuries",
        "problem_statement": "On the wards.",
        "owner_id": str(world.supplier.id),
    }
    other_path = client.post("/api/v1/challenges", json=challenge, headers=headers)
    assert error_fields(assert_problem(other_path, 422)) == {"header.Idempotency-Key"}
    assert {**counts(session), "keys": kept_keys(session)} == before


def test_keys_belong_to_one_organisation(client: TestClient, world: World) -> None:
    key = "shared-looking-key"
    challenge = {"title": "Faster discharge", "problem_statement": "Beds wait for paperwork."}
    ours = client.post(
        "/api/v1/challenges",
        json={**challenge, "owner_id": str(world.trust.id)},
        headers=keyed(world, "trust", key),
    )
    theirs = client.post(
        "/api/v1/challenges",
        json={**challenge, "owner_id": str(world.other_trust.id)},
        headers=keyed(world, "other_trust", key),
    )
    assert ours.status_code == theirs.status_code == 201, (ours.text, theirs.text)
    assert ours.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_failed_request_keeps_no_key_so_its_retry_runs(
    client: TestClient, session: Session, world: World
) -> None:
    headers = keyed(world, "supplier", str(uuid.uuid4()))
    invalid = client.post(INNOVATIONS, json={**innovation(world), "categories": ["no_such"]}, headers=headers)
    assert_problem(invalid, 422)
    refused = client.post(
        INNOVATIONS, json={**innovation(world), "supplier_id": str(world.trust.id)}, headers=headers
    )
    assert_problem(refused, 403)
    assert kept_keys(session) == 0

    fixed = client.post(INNOVATIONS, json=innovation(world), headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert kept_keys(session) == 1


def test_a_key_is_at_most_255_characters(client: TestClient, session: Session, world: World) -> None:
    too_long = client.post(INNOVATIONS, json=innovation(world), headers=keyed(world, "supplier", "k" * 256))
    assert error_fields(assert_problem(too_long, 422)) == {"header.Idempotency-Key"}
    longest = client.post(INNOVATIONS, json=innovation(world), headers=keyed(world, "supplier", "k" * 255))
    assert longest.status_code == 201
    assert kept_keys(session) == 1


def test_an_expired_key_is_free_again(client: TestClient, session: Session, world: World) -> None:
    headers = keyed(world, "supplier", "expires")
    first = client.post(INNOVATIONS, json=innovation(world), headers=headers)
    session.exec(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()

    after = client.post(INNOVATIONS, json=innovation(world, "Another name"), headers=headers)
    assert after.status_code == 201, after.text
    assert after.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in after.headers
    replay = client.post(INNOVATIONS, json=innovation(world, "Another name"), headers=headers)
    assert replay.json()["id"] == after.json()["id"]


def test_keys_are_kept_24_hours(client: TestClient, session: Session, world: World) -> None:
    client.post(INNOVATIONS, json=innovation(world), headers=keyed(world, "supplier", "a-day"))
    row = session.exec(select(IdempotencyKey)).one()
    assert row.organisation_id == world.supplier.id
    assert row.key_hash == idempotency.key_hash("a-day")  # the key itself is not stored
    assert row.expires_at - row.created_at == timedelta(hours=24)


def test_each_new_key_prunes_a_bounded_batch_of_expired_ones(session: Session, world: World) -> None:
    long_ago = utcnow() - timedelta(days=2)  # so these expired a day ago
    for n in range(idempotency.PRUNE_BATCH + 20):
        claimed = idempotency.claim(session, world.trust.id, f"old-{n}", "f", "POST /x", 24, now=long_ago)
        assert isinstance(claimed, IdempotencyKey)
    assert kept_keys(session) == idempotency.PRUNE_BATCH + 20

    fresh = idempotency.claim(session, world.trust.id, "fresh", "f", "POST /x", 24)
    assert isinstance(fresh, IdempotencyKey)
    assert kept_keys(session) == 20 + 1  # one batch pruned, the rest left for the next keys
    idempotency.claim(session, world.trust.id, "fresher", "f", "POST /x", 24)
    assert kept_keys(session) == 2


def test_every_keyed_post_declares_the_header(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    posts = [(path, item["post"]) for path, item in schema["paths"].items() if "post" in item]
    keyed_posts = [(path, op) for path, op in posts if op.get("security")]
    assert len(keyed_posts) >= 8
    for path, operation in posts:
        declared = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        if not operation.get("security"):
            assert declared == [], path  # public: no organisation to keep a key for
            continue
        assert len(declared) == 1, path
        assert declared[0]["in"] == "header"
        assert declared[0]["schema"]["anyOf"][0]["maxLength"] == 255, path
        assert "409" in operation["responses"], path


def test_a_request_whose_key_another_holds_waits_then_gets_409(fresh_database: Database) -> None:
    """PostgreSQL: the second request waits for the first's advisory lock,
    and gives up with 409 after IDEMPOTENCY_WAIT_SECONDS. (On SQLite the
    second cannot even begin while the first holds the write lock.)"""
    if fresh_database.dialect != "postgresql":
        return
    with fresh_database.transaction() as session:
        exchange = make_org(session, "other", name="Exchange", is_exchange=True)
        key = make_key(session, exchange, ("read", "write", "admin"))
    settings = fresh_database.settings.model_copy(update={"idempotency_wait_seconds": 0.5})
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "held"}
    body = {"name": "Alder Hey", "kind": "nhs_trust", "region": "north_west"}

    with TestClient(create_app(settings, fresh_database)) as client:
        with fresh_database.session() as first:  # a first request, still running
            held = idempotency.claim(first, exchange.id, "held", "f", "POST /api/v1/organisations", 24)
            assert isinstance(held, IdempotencyKey)
            started = time.monotonic()
            waited = client.post("/api/v1/organisations", json=body, headers=headers)
            assert time.monotonic() - started >= 0.5
            problem = assert_problem(waited, 409)
            assert problem["type"].endswith("/idempotency-key-in-progress")
            assert waited.headers["Retry-After"] == "1"
            first.rollback()  # the first request failed: the key is free again
        assert client.post("/api/v1/organisations", json=body, headers=headers).status_code == 201


def test_twenty_requests_at_once_with_one_key_across_two_processes_make_one_record(
    fresh_database: Database, tmp_path: Path
) -> None:
    with fresh_database.transaction() as session:
        exchange = make_org(session, "other", name="Exchange", is_exchange=True)
        key = make_key(session, exchange, ("read", "write", "admin"))
    env = {"API_RATE_LIMIT": "1000/minute"}
    body = {"name": "Mersey Care", "kind": "nhs_trust", "region": "north_west"}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())}

    with running_servers(fresh_database.settings.database_url, tmp_path, env) as servers:

        def post(n: int) -> httpx.Response:
            return httpx.post(
                f"{servers[n % 2]}/api/v1/organisations", json=body, headers=headers, timeout=60
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(post, range(20)))

    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({a.headers["ETag"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    with fresh_database.session() as session:
        made = session.exec(select(Organisation).where(Organisation.name == "Mersey Care")).all()
        assert len(made) == 1
        events = session.exec(
            select(func.count()).select_from(Event).where(col(Event.resource_id) == made[0].id)
        ).one()
        assert events == 1
        assert session.exec(select(func.count()).select_from(IdempotencyKey)).one() == 1
