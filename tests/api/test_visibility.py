"""Who sees what (API.md, Adoption visibility): an adoption is seen by its
adopting organisation, the innovation's supplier, every facilitator and
admins, and is 404 for anyone else, in lists and the change feed too;
drafts are seen only by their own organisation and the exchange's staff."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_problem, walk
from tests.factories import World, make_adoption, make_challenge, make_innovation, make_key, make_org

SEE_IT = ["trust", "supplier", "facilitator", "other_facilitator", "admin"]


def ids(client: TestClient, url: str, headers: dict[str, str]) -> set[str]:
    return {item["id"] for item in walk(client, url, headers, 100)}


def feed(client: TestClient, headers: dict[str, str], after: int | None = None) -> list[dict[str, Any]]:
    url = "/api/v1/events" + (f"?after={after}" if after is not None else "")
    return list(walk(client, url, headers, 100))


@pytest.mark.parametrize("who", SEE_IT)
def test_an_adoption_is_seen_by_those_it_concerns(client: TestClient, world: World, who: str) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    got = client.get(url, headers=world.auth(who))
    assert got.status_code == 200
    assert got.json()["id"] == str(world.adoption.id)
    assert client.get(f"{url}/transitions", headers=world.auth(who)).status_code == 200


def test_an_adoption_is_404_for_anyone_else(client: TestClient, world: World, session: Session) -> None:
    another_supplier = make_org(session, "supplier", "north_west")
    world.keys["another_supplier"] = make_key(session, another_supplier)
    url = f"/api/v1/adoptions/{world.adoption.id}"
    for who in ("other_trust", "another_supplier"):
        assert_problem(client.get(url, headers=world.auth(who)), 404)
        assert_problem(client.get(f"{url}/transitions", headers=world.auth(who)), 404)


def test_adoption_lists_are_filtered_the_same_way(client: TestClient, world: World, session: Session) -> None:
    another_supplier = make_org(session, "supplier", "london")
    world.keys["another_supplier"] = make_key(session, another_supplier)
    theirs = make_innovation(session, another_supplier, name="Virtual wards")
    in_london = make_adoption(session, theirs, world.other_trust)
    at_trust = make_adoption(session, theirs, world.trust)
    ours_in_london = make_adoption(session, world.innovation, world.other_trust)

    every = {str(a.id) for a in (world.adoption, in_london, at_trust, ours_in_london)}
    expected = {
        "trust": {str(world.adoption.id), str(at_trust.id)},
        "other_trust": {str(in_london.id), str(ours_in_london.id)},
        "supplier": {str(world.adoption.id), str(ours_in_london.id)},
        "another_supplier": {str(in_london.id), str(at_trust.id)},
        "facilitator": every,
        "other_facilitator": every,
        "admin": every,
    }
    for who, seen in expected.items():
        assert ids(client, "/api/v1/adoptions", world.auth(who)) == seen, who
        for adoption_id in every:
            status = client.get(f"/api/v1/adoptions/{adoption_id}", headers=world.auth(who)).status_code
            assert status == (200 if adoption_id in seen else 404), who

    # Filters never widen what a caller sees.
    url = f"/api/v1/adoptions?organisation_id={world.trust.id}"
    assert ids(client, url, world.auth("other_trust")) == set()
    url = f"/api/v1/adoptions?innovation_id={world.innovation.id}&region=north_west"
    assert ids(client, url, world.auth("another_supplier")) == set()


def test_draft_innovations_are_hidden_from_other_organisations(
    client: TestClient, world: World, session: Session
) -> None:
    draft = make_innovation(session, world.supplier, name="Secret sensor", status="draft")
    url = f"/api/v1/innovations/{draft.id}"
    for who in ("supplier", "facilitator", "other_facilitator", "admin"):
        assert client.get(url, headers=world.auth(who)).status_code == 200
        assert str(draft.id) in ids(client, "/api/v1/innovations?status=draft", world.auth(who))
    for who in ("trust", "other_trust"):
        assert_problem(client.get(url, headers=world.auth(who)), 404)
        assert_problem(client.get(f"{url}/spread", headers=world.auth(who)), 404)
        for query in ("", "?status=draft", "?q=secret", f"?supplier_id={world.supplier.id}"):
            assert str(draft.id) not in ids(client, f"/api/v1/innovations{query}", world.auth(who))
        # Nor may they adopt it: it is as if it did not exist.
        got = client.post(
            "/api/v1/adoptions",
            json={"innovation_id": str(draft.id), "organisation_id": str(world.trust.id)},
            headers=world.auth("trust"),
        )
        assert assert_problem(got, 422)["errors"][0]["message"] == "No innovation with this id."


def test_draft_challenges_are_hidden_from_other_organisations(
    client: TestClient, world: World, session: Session
) -> None:
    draft = make_challenge(session, world.trust, title="Secret need", status="draft")
    url = f"/api/v1/challenges/{draft.id}"
    for who in ("trust", "trust_read_only", "facilitator", "other_facilitator", "admin"):
        assert client.get(url, headers=world.auth(who)).status_code == 200
        assert str(draft.id) in ids(client, "/api/v1/challenges", world.auth(who))
    for who in ("other_trust", "supplier"):
        assert_problem(client.get(url, headers=world.auth(who)), 404)
        for query in ("", "?status=draft", "?q=secret", f"?owner_id={world.trust.id}"):
            assert str(draft.id) not in ids(client, f"/api/v1/challenges{query}", world.auth(who))


def test_the_event_feed_hides_what_the_caller_may_not_see(
    client: TestClient, world: World, session: Session
) -> None:
    last = feed(client, world.auth("admin"))[-1]["id"]
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    patched = client.patch(
        url, json={"gate": {"champion": "Dr Asha Patel"}}, headers={**world.auth("trust"), "If-Match": etag}
    )
    moved = client.post(
        f"{url}/transitions",
        json={"to_stage": "needs_assessment"},
        headers={**world.auth("trust"), "If-Match": patched.headers["ETag"]},
    )
    assert moved.status_code == 201
    draft = client.post(
        "/api/v1/innovations",
        json={
            "name": "Secret sensor",
            "summary": "S",
            "supplier_id": str(world.supplier.id),
            "status": "draft",
        },
        headers=world.auth("supplier"),
    ).json()
    public = client.post(
        "/api/v1/innovations",
        json={
            "name": "Open sensor",
            "summary": "S",
            "supplier_id": str(world.supplier.id),
            "status": "published",
        },
        headers=world.auth("supplier"),
    ).json()
    challenge = client.post(
        "/api/v1/challenges",
        json={"title": "Secret need", "problem_statement": "P", "owner_id": str(world.trust.id)},
        headers=world.auth("trust"),
    ).json()
    assert challenge["status"] == "draft"

    def seen(who: str) -> set[tuple[str, str]]:
        return {(e["type"], e["resource"]["id"]) for e in feed(client, world.auth(who), after=last)}

    adoption_events = {
        ("adoption.updated", str(world.adoption.id)),
        ("adoption.stage_changed", str(world.adoption.id)),
    }
    draft_event = ("innovation.created", draft["id"])
    public_event = ("innovation.created", public["id"])
    challenge_event = ("challenge.created", challenge["id"])
    everything = {*adoption_events, draft_event, public_event, challenge_event}
    assert seen("admin") == everything
    assert seen("facilitator") == everything
    assert seen("other_facilitator") == everything
    assert seen("trust") == {*adoption_events, public_event, challenge_event}
    assert seen("supplier") == {*adoption_events, draft_event, public_event}
    assert seen("other_trust") == {public_event}

    # Hidden events are not counted into pages either: every page is full until the last.
    other = list(walk(client, "/api/v1/events", world.auth("other_trust"), 1))
    assert all(e["type"] not in {"adoption.created", "adoption.updated"} for e in other)


def test_the_spread_shows_counts_to_anyone(client: TestClient, world: World, session: Session) -> None:
    adopted = make_adoption(session, world.innovation, make_org(session, "icb", "midlands"), stage="adopted")
    got = client.get(f"/api/v1/innovations/{world.innovation.id}/spread", headers=world.auth("other_trust"))
    assert got.status_code == 200
    body = got.json()
    assert body["adopted"] == 1
    assert body["by_stage"]["identified"] == 1
    assert body["by_region"] == {"midlands": 1}
    # Counts and adopters, never the adoptions themselves.
    assert str(world.adoption.id) not in got.text and str(adopted.id) not in got.text


def test_api_keys_are_seen_by_their_organisation_and_admins(client: TestClient, world: World) -> None:
    def key_orgs(who: str) -> set[str]:
        return {key["organisation_id"] for key in walk(client, "/api/v1/api-keys", world.auth(who), 100)}

    assert key_orgs("trust") == {str(world.trust.id)}
    assert key_orgs("facilitator") == {str(world.network.id)}
    assert len(key_orgs("admin")) == 6
    got = client.get(f"/api/v1/api-keys?organisation_id={world.trust.id}", headers=world.auth("other_trust"))
    assert_problem(got, 403)
    for key in walk(client, "/api/v1/api-keys", world.auth("admin"), 100):
        assert "key" not in key and "secret_hash" not in key


def test_key_events_are_seen_by_their_organisation_and_admins(client: TestClient, world: World) -> None:
    last = feed(client, world.auth("admin"))[-1]["id"]
    issued = client.post(
        "/api/v1/api-keys",
        json={"organisation_id": str(world.trust.id), "name": "CI"},
        headers=world.auth("trust"),
    ).json()
    event = ("api_key.issued", issued["id"])

    def seen(who: str) -> set[tuple[str, str]]:
        return {(e["type"], e["resource"]["id"]) for e in feed(client, world.auth(who), after=last)}

    assert seen("trust") == {event}
    assert seen("admin") == {event}
    for who in ("facilitator", "other_facilitator", "other_trust", "supplier"):
        assert seen(who) == set(), who
    # and the secret is never in the feed
    assert issued["key"] not in str(feed(client, world.auth("trust")))
