"""Keyset pagination on every list (API.md, Conventions: Lists): `limit`
from 1 to 100, default 20; `next_cursor` walks every item exactly once, in
order, and stays stable when rows are inserted between pages."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services import adoptions, pipeline
from tests.api.helpers import assert_problem, error_fields, walk
from tests.factories import (
    World,
    admin_principal,
    make_adoption,
    make_challenge,
    make_innovation,
    make_key,
    make_org,
)


@dataclass
class Collection:
    url: str
    who: str
    add: Callable[[], Any]  # inserts one more item of the list
    key: Callable[[dict[str, Any]], Any] = lambda item: uuid.UUID(item["id"])


def _collection(name: str, world: World, session: Session) -> Collection:
    if name == "organisations":
        return Collection("/api/v1/organisations", "trust", lambda: make_org(session, "charity"))
    if name == "innovations":
        return Collection(
            "/api/v1/innovations", "other_trust", lambda: make_innovation(session, world.supplier)
        )
    if name == "challenges":
        return Collection("/api/v1/challenges", "supplier", lambda: make_challenge(session, world.trust))
    if name == "adoptions":

        def adopt() -> Any:
            return make_adoption(session, world.innovation, make_org(session, "primary_care"))

        return Collection("/api/v1/adoptions", "supplier", adopt)
    if name == "transitions":
        loaded = adoptions.Loaded(world.adoption, world.supplier.id, world.trust.region)
        actor = admin_principal(world.exchange)

        def move() -> Any:
            to = "paused" if world.adoption.stage != "paused" else "identified"
            request = pipeline.MoveRequest(to_stage=to, reason="tests")
            return pipeline.move(
                session,
                actor,
                loaded.adoption,
                request,
                adopter_region="north_west",
                supplier_id=world.supplier.id,
            )

        return Collection(f"/api/v1/adoptions/{world.adoption.id}/transitions", "trust", move)
    if name == "events":
        return Collection(
            "/api/v1/events", "facilitator", lambda: make_org(session), key=lambda item: item["id"]
        )
    if name == "api-keys":
        return Collection("/api/v1/api-keys", "admin", lambda: make_key(session, world.trust))
    raise AssertionError(name)


LISTS = ["organisations", "innovations", "challenges", "adoptions", "transitions", "events", "api-keys"]


@pytest.mark.parametrize("name", LISTS)
def test_limit_is_between_1_and_100(client: TestClient, world: World, session: Session, name: str) -> None:
    collection = _collection(name, world, session)
    headers = world.auth(collection.who)
    for limit in ("0", "101", "-1", "many"):
        got = client.get(collection.url, params={"limit": limit}, headers=headers)
        assert error_fields(assert_problem(got, 422)) == {"query.limit"}
    for limit in ("1", "100"):
        assert client.get(collection.url, params={"limit": limit}, headers=headers).status_code == 200


@pytest.mark.parametrize("name", LISTS)
def test_next_cursor_walks_every_item_once_in_order(
    client: TestClient, world: World, session: Session, name: str
) -> None:
    collection = _collection(name, world, session)
    for _ in range(7):
        collection.add()
    headers = world.auth(collection.who)
    everything = client.get(collection.url, params={"limit": 100}, headers=headers).json()
    assert everything["next_cursor"] is None
    assert len(everything["items"]) >= 7

    for limit in (1, 3, len(everything["items"])):
        walked = list(walk(client, collection.url, headers, limit))
        assert walked == everything["items"]
    keys = [collection.key(item) for item in everything["items"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_the_default_page_is_20(client: TestClient, world: World, session: Session) -> None:
    for _ in range(21):
        make_org(session, "academic")
    page = client.get("/api/v1/organisations", headers=world.auth("trust")).json()
    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None
    rest = client.get(
        "/api/v1/organisations", params={"cursor": page["next_cursor"]}, headers=world.auth("trust")
    )
    assert len(rest.json()["items"]) == 6 + 21 - 20


@pytest.mark.parametrize("name", LISTS)
def test_pages_are_stable_under_concurrent_inserts(
    client: TestClient, world: World, session: Session, name: str
) -> None:
    collection = _collection(name, world, session)
    for _ in range(6):
        collection.add()
    headers = world.auth(collection.who)
    existing = [collection.key(item) for item in walk(client, collection.url, headers, 100)]

    seen: list[Any] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(collection.url, params=params, headers=headers).json()
        seen.extend(collection.key(item) for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        collection.add()  # another writer inserts while the client pages
        assert len(seen) < 100

    assert len(seen) == len(set(seen)), "an item came twice"
    assert seen == sorted(seen)
    assert set(existing) <= set(seen), "an item that existed was skipped"
    assert seen[: len(existing)] == existing  # new rows come after the old ones


def test_events_after_and_cursor_together(client: TestClient, world: World, session: Session) -> None:
    headers = world.auth("admin")
    every = [item["id"] for item in walk(client, "/api/v1/events", headers, 100)]
    middle = every[len(every) // 2]
    after = [item["id"] for item in walk(client, f"/api/v1/events?after={middle}", headers, 3)]
    assert after == [i for i in every if i > middle]
    assert_problem(client.get("/api/v1/events?after=-1", headers=headers), 422)
    assert client.get(f"/api/v1/events?after={every[-1]}", headers=headers).json() == {
        "items": [],
        "next_cursor": None,
    }
