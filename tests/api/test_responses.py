"""The responses API (API.md): `GET/POST /api/v1/challenges/{id}/responses`
and `GET/PATCH /api/v1/responses/{id}`: status codes, ETag and If-Match,
404 for those it does not concern, and 409 and 422 problems that write
nothing."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.models import Adoption, Challenge, Event, Innovation, Response
from tests.api.helpers import assert_problem, error_fields, walk
from tests.factories import World, make_challenge, make_innovation, make_key, make_org

PITCH = "It destroys needles at the bedside; two wards halved their injuries."
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def challenge(session: Session, world: World) -> Challenge:
    return make_challenge(session, world.trust, title="Fewer needlestick injuries")


@pytest.fixture
def innovation(session: Session, world: World) -> Innovation:
    return make_innovation(session, world.supplier, name="Virtual wards")


def counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (Response, Adoption, Event)
    }


def post(
    client: TestClient, world: World, challenge: Challenge, body: dict[str, Any], who: str = "supplier"
) -> Any:
    return client.post(f"/api/v1/challenges/{challenge.id}/responses", json=body, headers=world.auth(who))


def respond(client: TestClient, world: World, challenge: Challenge, innovation: Innovation) -> dict[str, Any]:
    got = post(client, world, challenge, {"innovation_id": str(innovation.id), "pitch": PITCH})
    assert got.status_code == 201, got.text
    return dict(got.json())


def patch(
    client: TestClient, world: World, response_id: str, body: dict[str, Any], who: str = "trust"
) -> Any:
    url = f"/api/v1/responses/{response_id}"
    etag = client.get(url, headers=world.auth(who)).headers["ETag"]
    return client.patch(url, json=body, headers={**world.auth(who), "If-Match": etag})


def test_respond_then_read_it(
    client: TestClient, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    got = post(client, world, challenge, {"innovation_id": str(innovation.id), "pitch": PITCH})
    assert got.status_code == 201, got.text
    body = got.json()
    assert got.headers["Location"].endswith(f"/api/v1/responses/{body['id']}")
    assert got.headers["ETag"] == '"1"'
    assert {k: body[k] for k in ("challenge_id", "innovation_id", "pitch", "status", "version")} == {
        "challenge_id": str(challenge.id),
        "innovation_id": str(innovation.id),
        "pitch": PITCH,
        "status": "submitted",
        "version": 1,
    }
    assert body["reason"] is None and body["adoption_id"] is None
    assert body["submitted_by_org_id"] == str(world.supplier.id)
    assert RFC3339_UTC.match(body["created_at"]) and RFC3339_UTC.match(body["updated_at"])

    one = client.get(got.headers["Location"], headers=world.auth("trust"))
    assert one.status_code == 200 and one.json() == body
    assert one.headers["ETag"] == '"1"'


def test_the_list_pages_by_keyset(
    client: TestClient, world: World, session: Session, challenge: Challenge
) -> None:
    made = []
    for number in range(5):
        innovation = make_innovation(session, world.supplier, name=f"Innovation {number}")
        made.append(respond(client, world, challenge, innovation)["id"])
    url = f"/api/v1/challenges/{challenge.id}/responses"
    assert [item["id"] for item in walk(client, url, world.auth("trust"), 2)] == made
    first = client.get(f"{url}?limit=2", headers=world.auth("trust")).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert_problem(client.get(f"{url}?cursor=nonsense", headers=world.auth("trust")), 422)
    patch(client, world, made[1], {"status": "shortlisted"})
    shortlisted = client.get(f"{url}?status=shortlisted", headers=world.auth("trust")).json()
    assert [item["id"] for item in shortlisted["items"]] == [made[1]]


def test_a_supplier_lists_only_its_own(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    rival = make_org(session, "supplier", "north_west")
    world.keys["rival"] = make_key(session, rival)
    ours = respond(client, world, challenge, innovation)["id"]
    theirs_innovation = make_innovation(session, rival, name="Safety syringes")
    theirs = post(
        client, world, challenge, {"innovation_id": str(theirs_innovation.id), "pitch": PITCH}, "rival"
    ).json()["id"]
    url = f"/api/v1/challenges/{challenge.id}/responses"
    expected = {
        "trust": {ours, theirs},
        "facilitator": {ours, theirs},
        "admin": {ours, theirs},
        "supplier": {ours},
        "rival": {theirs},
        "other_trust": set(),
    }
    for who, ids in expected.items():
        assert {item["id"] for item in walk(client, url, world.auth(who), 100)} == ids, who


def test_those_it_does_not_concern_get_404(
    client: TestClient, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    url = f"/api/v1/responses/{body['id']}"
    assert_problem(client.get(url, headers=world.auth("other_trust")), 404)
    got = client.patch(
        url, json={"status": "shortlisted"}, headers={**world.auth("other_trust"), "If-Match": '"1"'}
    )
    assert_problem(got, 404)
    assert_problem(
        client.get("/api/v1/responses/0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e", headers=world.auth("admin")), 404
    )
    for who in ("supplier", "trust", "facilitator", "other_facilitator", "admin"):
        assert client.get(url, headers=world.auth(who)).status_code == 200, who


def test_a_draft_challenge_and_its_responses_are_hidden(
    client: TestClient, world: World, session: Session
) -> None:
    draft = make_challenge(session, world.trust, status="draft")
    url = f"/api/v1/challenges/{draft.id}/responses"
    assert_problem(client.get(url, headers=world.auth("supplier")), 404)
    assert_problem(
        client.post(
            url,
            json={"innovation_id": str(world.innovation.id), "pitch": PITCH},
            headers=world.auth("supplier"),
        ),
        404,
    )
    assert client.get(url, headers=world.auth("trust")).json() == {"items": [], "next_cursor": None}


def test_the_workflow_through_patch(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    url = f"/api/v1/responses/{body['id']}"

    shortlisted = patch(client, world, body["id"], {"status": "shortlisted"})
    assert shortlisted.status_code == 200, shortlisted.text
    assert shortlisted.headers["ETag"] == '"2"' and shortlisted.json()["status"] == "shortlisted"

    adoptions_before = counts(session)["Adoption"]
    selected = patch(client, world, body["id"], {"status": "selected", "reason": "The best fit"})
    assert selected.status_code == 200, selected.text
    answer = selected.json()
    assert answer["status"] == "selected" and answer["reason"] == "The best fit" and answer["version"] == 3
    assert counts(session)["Adoption"] == adoptions_before + 1
    adoption = client.get(f"/api/v1/adoptions/{answer['adoption_id']}", headers=world.auth("trust")).json()
    assert (adoption["innovation_id"], adoption["organisation_id"], adoption["challenge_id"]) == (
        str(innovation.id),
        str(world.trust.id),
        str(challenge.id),
    )
    assert adoption["stage"] == "identified"

    # Nothing moves on from selected.
    before = counts(session)
    refused = assert_problem(patch(client, world, body["id"], {"status": "withdrawn"}, "supplier"), 409)
    assert "selected" in refused["detail"] and refused["current_status"] == "selected"
    assert counts(session) == before
    assert client.get(url, headers=world.auth("trust")).json()["version"] == 3


def test_if_match_is_required_and_checked(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    url = f"/api/v1/responses/{body['id']}"
    before = counts(session)
    assert_problem(client.patch(url, json={"status": "shortlisted"}, headers=world.auth("trust")), 428)
    stale = client.patch(
        url, json={"status": "shortlisted"}, headers={**world.auth("trust"), "If-Match": '"7"'}
    )
    assert assert_problem(stale, 412)["etag"] == '"1"'
    assert counts(session) == before
    fresh = client.patch(
        url, json={"status": "shortlisted"}, headers={**world.auth("trust"), "If-Match": '"1"'}
    )
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"2"'


def test_refused_moves_are_409_and_write_nothing(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    before = counts(session)
    problem = assert_problem(patch(client, world, body["id"], {"status": "selected"}), 409)
    assert problem["detail"] == "A response is selected only from shortlisted; this one is submitted."
    assert counts(session) == before
    assert patch(client, world, body["id"], {"status": "shortlisted"}).status_code == 200
    before = counts(session)
    problem = assert_problem(patch(client, world, body["id"], {"status": "submitted"}), 409)
    assert "back to submitted" in problem["detail"]
    assert counts(session) == before


def test_declining_without_a_reason_is_422(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    before = counts(session)
    for sent in ({"status": "declined"}, {"status": "declined", "reason": "  "}):
        problem = assert_problem(patch(client, world, body["id"], sent), 422)
        assert error_fields(problem) == {"body.reason"}
    assert counts(session) == before
    declined = patch(client, world, body["id"], {"status": "declined", "reason": "Not for our wards"})
    assert declined.status_code == 200 and declined.json()["reason"] == "Not for our wards"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "approved"}, "body.status"),
        ({"reason": "no status"}, "body.status"),
        ({"status": "shortlisted", "pitch": "changed"}, "body.pitch"),
        ({"status": "declined", "reason": "x" * 2001}, "body.reason"),
    ],
)
def test_bad_patch_bodies_are_422(
    client: TestClient,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
    body: dict[str, Any],
    field: str,
) -> None:
    response_id = respond(client, world, challenge, innovation)["id"]
    assert error_fields(assert_problem(patch(client, world, response_id, body), 422)) == {field}


def test_who_may_move_it(
    client: TestClient, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    assert_problem(patch(client, world, body["id"], {"status": "shortlisted"}, "supplier"), 403)
    assert_problem(patch(client, world, body["id"], {"status": "withdrawn"}, "trust"), 403)
    assert_problem(patch(client, world, body["id"], {"status": "shortlisted"}, "trust_read_only"), 403)
    assert patch(client, world, body["id"], {"status": "shortlisted"}, "other_facilitator").status_code == 200
    # Selecting opens an adoption in the trust's region: London's facilitators may not.
    assert_problem(patch(client, world, body["id"], {"status": "selected"}, "other_facilitator"), 403)
    withdrawn = patch(client, world, body["id"], {"status": "withdrawn"}, "supplier")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_responding_problems(
    client: TestClient, world: World, session: Session, challenge: Challenge, innovation: Innovation
) -> None:
    sent = {"innovation_id": str(innovation.id), "pitch": PITCH}
    first = respond(client, world, challenge, innovation)
    closed = make_challenge(session, world.trust, status="closed")
    draft_innovation = make_innovation(session, world.supplier, name="Draft", status="draft")
    before = counts(session)

    def refused(got: Any, status: int) -> dict[str, Any]:
        return assert_problem(got, status)

    duplicate = refused(post(client, world, challenge, sent, "facilitator"), 409)
    assert duplicate["existing_id"] == first["id"]
    not_theirs = {**sent, "innovation_id": str(world.innovation.id)}
    refused(post(client, world, challenge, not_theirs, "trust"), 403)
    refused(post(client, world, challenge, sent, "trust_read_only"), 403)
    refused(client.post(f"/api/v1/challenges/{challenge.id}/responses", json=sent), 401)
    assert "open" in refused(post(client, world, closed, sent), 409)["detail"]
    draft = {**sent, "innovation_id": str(draft_innovation.id)}
    assert error_fields(refused(post(client, world, challenge, draft), 422)) == {"body.innovation_id"}
    for body, field in (
        ({"innovation_id": sent["innovation_id"]}, "body.pitch"),
        ({**sent, "pitch": ""}, "body.pitch"),
        ({**sent, "status": "selected"}, "body.status"),
        ({"pitch": PITCH}, "body.innovation_id"),
    ):
        assert error_fields(refused(post(client, world, challenge, body), 422)) == {field}
    assert counts(session) == before


def test_the_change_feed_carries_response_events_to_those_concerned(
    client: TestClient, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    body = respond(client, world, challenge, innovation)
    patch(client, world, body["id"], {"status": "shortlisted"})

    def types(who: str) -> list[str]:
        return [
            e["type"]
            for e in walk(client, "/api/v1/events", world.auth(who), 100)
            if e["resource"]["id"] == body["id"]
        ]

    for who in ("supplier", "trust", "facilitator", "admin"):
        assert types(who) == ["response.created", "response.status_changed"], who
    assert types("other_trust") == []
