"""`/api/v1/webhooks`: subscribe (the secret shown once), read, change,
unsubscribe; URLs that are not public http(s) targets are 422; each
organisation sees only its own subscriptions, and their events."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services import webhooks
from tests.api.helpers import assert_problem, error_fields, walk
from tests.factories import World

URL = "/api/v1/webhooks"
PUBLIC_TARGET = "https://93.184.216.34/hie/events"


def allow_private(client: TestClient, allowed: bool) -> None:
    app: Any = client.app
    app.state.settings = app.state.settings.model_copy(update={"hie_webhooks_allow_private": allowed})


@pytest.fixture(autouse=True)
def private_refused(client: TestClient) -> None:
    allow_private(client, False)


def subscribe(client: TestClient, world: World, who: str, **body: Any) -> dict[str, Any]:
    got = client.post(URL, json={"url": PUBLIC_TARGET, **body}, headers=world.auth(who))
    assert got.status_code == 201, got.text
    return got.json()


def test_the_secret_is_shown_once(client: TestClient, world: World) -> None:
    created = subscribe(client, world, "trust", event_types=["adoption.*"])
    assert created["secret"].startswith("whsec_")
    assert created["url"] == PUBLIC_TARGET and created["event_types"] == ["adoption.*"]
    assert created["active"] is True and created["organisation_id"] == str(world.trust.id)
    headers = world.auth("trust")
    one = client.get(f"{URL}/{created['id']}", headers=headers)
    assert one.status_code == 200 and one.headers["ETag"] == '"1"'
    assert "secret" not in one.json()
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = list(walk(client, URL, headers, 100))
    assert [item["id"] for item in listed] == [created["id"]] and "secret" not in listed[0]
    feed = client.get("/api/v1/events", headers=headers).text
    assert created["secret"] not in feed and created["id"] in feed


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",  # a name that resolves to loopback
        "http://10.0.0.8/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
    ],
)
def test_private_and_loopback_targets_are_422_unless_allowed(
    client: TestClient, world: World, session: Session, target: str
) -> None:
    refused = client.post(URL, json={"url": target}, headers=world.auth("trust"))
    body = assert_problem(refused, 422)
    assert error_fields(body) == {"body.url"}
    assert "internal address" in body["errors"][0]["message"]
    allow_private(client, True)
    allowed = client.post(URL, json={"url": target}, headers=world.auth("trust"))
    assert allowed.status_code == 201, allowed.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://93.184.216.34/hook"}, "body.url"),
        ({"url": "javascript:alert(1)"}, "body.url"),
        ({"url": "https://no-such-host.invalid/"}, "body.url"),
        ({"url": PUBLIC_TARGET, "event_types": ["Adoption Moved"]}, "body.event_types.0"),
        ({"url": PUBLIC_TARGET, "secret": "mine"}, "body.secret"),
        ({}, "body.url"),
    ],
)
def test_bad_subscriptions_are_422(
    client: TestClient, world: World, body: dict[str, Any], field: str
) -> None:
    got = assert_problem(client.post(URL, json=body, headers=world.auth("trust")), 422)
    assert field in error_fields(got)


def test_keys_need_write_and_their_own_organisation(client: TestClient, world: World) -> None:
    assert_problem(client.post(URL, json={"url": PUBLIC_TARGET}, headers=world.auth("trust_read_only")), 403)
    other = {"url": PUBLIC_TARGET, "organisation_id": str(world.other_trust.id)}
    assert_problem(client.post(URL, json=other, headers=world.auth("trust")), 403)
    by_admin = client.post(URL, json=other, headers=world.auth("admin"))
    assert by_admin.status_code == 201 and by_admin.json()["organisation_id"] == str(world.other_trust.id)
    assert_problem(client.get(URL), 401)


def test_each_organisation_sees_only_its_own(client: TestClient, world: World) -> None:
    mine = subscribe(client, world, "trust")
    theirs = subscribe(client, world, "facilitator")
    for who, own in (("trust", mine), ("facilitator", theirs)):
        assert [w["id"] for w in walk(client, URL, world.auth(who), 100)] == [own["id"]]
    for who in ("other_trust", "facilitator", "other_facilitator", "supplier"):
        assert_problem(client.get(f"{URL}/{mine['id']}", headers=world.auth(who)), 404)
    assert_problem(
        client.get(f"{URL}?organisation_id={world.trust.id}", headers=world.auth("facilitator")), 403
    )
    everyone = {w["id"] for w in walk(client, URL, world.auth("admin"), 100)}
    assert {mine["id"], theirs["id"]} <= everyone
    # Their events too: facilitators see restricted events, but not another organisation's webhooks.
    for who, sees in (("trust", True), ("admin", True), ("facilitator", False), ("other_trust", False)):
        feed = {e["resource"]["id"] for e in walk(client, "/api/v1/events", world.auth(who), 100)}
        assert (mine["id"] in feed) is sees, who


def test_change_and_unsubscribe_need_the_etag(client: TestClient, world: World, session: Session) -> None:
    created = subscribe(client, world, "trust")
    one = f"{URL}/{created['id']}"
    headers = world.auth("trust")
    assert_problem(client.patch(one, json={"active": False}, headers=headers), 428)
    paused = client.patch(one, json={"active": False}, headers={**headers, "If-Match": '"1"'})
    assert paused.status_code == 200 and paused.json()["active"] is False and paused.headers["ETag"] == '"2"'
    moved = client.patch(one, json={"url": "http://127.0.0.1/x"}, headers={**headers, "If-Match": '"2"'})
    assert error_fields(assert_problem(moved, 422)) == {"body.url"}
    assert_problem(client.delete(one, headers=headers), 428)
    assert_problem(client.delete(one, headers={**headers, "If-Match": '"1"'}), 412)
    assert client.delete(one, headers={**headers, "If-Match": '"2"'}).status_code == 204
    assert_problem(client.get(one, headers=headers), 404)


def test_deliveries_are_listed_and_redelivered(client: TestClient, world: World, session: Session) -> None:
    created = subscribe(client, world, "trust")
    settings = client.app.state.settings  # type: ignore[attr-defined]
    webhooks.fan_out(session, settings)
    (claimed,) = webhooks.claim(session, settings, 10)  # its own `webhook.created`
    webhooks.settle(
        session, settings, [webhooks.Outcome(claimed.id, claimed.attempts, False, 500, "HTTP 500")]
    )
    headers = world.auth("trust")
    listed = client.get(f"{URL}/{created['id']}/deliveries", headers=headers)
    assert listed.status_code == 200, listed.text
    (delivery,) = listed.json()["items"]
    assert delivery["event_type"] == "webhook.created" and delivery["status"] == "pending"
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 500
    assert (
        client.get(f"{URL}/{created['id']}/deliveries?status=delivered", headers=headers).json()["items"]
        == []
    )
    again = client.post(f"{URL}/{created['id']}/deliveries/{delivery['id']}/redeliver", headers=headers)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    other = client.post(
        f"{URL}/{created['id']}/deliveries/{delivery['id']}/redeliver", headers=world.auth("other_trust")
    )
    assert_problem(other, 404)
    unknown = f"{URL}/{created['id']}/deliveries/0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e/redeliver"
    assert_problem(client.post(unknown, headers=headers), 404)
