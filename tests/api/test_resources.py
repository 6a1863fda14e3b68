"""The shapes of API.md: what a client sends, what it reads back, and the
conventions every resource shares (UUID ids, RFC 3339 UTC times, versions)."""

import re
import uuid
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_problem, error_fields, walk
from tests.factories import FULL_GATE, World, make_challenge

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
READ_ONLY = {"id", "version", "created_at", "updated_at"}


def assert_record(body: dict[str, Any], sent: dict[str, Any]) -> None:
    """The record reads back what was sent, with its read-only fields."""
    assert set(body) >= READ_ONLY
    assert uuid.UUID(body["id"]).version == 7
    for field in ("created_at", "updated_at"):
        assert RFC3339_UTC.match(body[field]), body[field]
    for field, value in sent.items():
        assert body[field] == value, field


def create(client: TestClient, url: str, data: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    got = client.post(url, json=data, headers=headers)
    assert got.status_code == 201, got.text
    assert client.get(got.headers["Location"], headers=headers).json() == got.json()
    return got.json()


def patch(client: TestClient, url: str, data: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    etag = client.get(url, headers=headers).headers["ETag"]
    got = client.patch(url, json=data, headers={**headers, "If-Match": etag})
    assert got.status_code == 200, got.text
    return got.json()


def test_organisations(client: TestClient, world: World) -> None:
    sent = {
        "name": "Liverpool Heart and Chest Hospital",
        "kind": "nhs_trust",
        "region": "north_west",
        "ods_code": "RBQ",
        "external_ref": "org-lhch",
    }
    body = create(client, "/api/v1/organisations", sent, world.auth("admin"))
    assert_record(body, sent)
    assert body["version"] == 1
    url = f"/api/v1/organisations/{body['id']}"
    changed = patch(client, url, {"region": "london", "ods_code": None}, world.auth("admin"))
    assert_record(changed, {**sent, "region": "london", "ods_code": None})
    assert changed["version"] == 2
    assert datetime.fromisoformat(changed["updated_at"]) > datetime.fromisoformat(body["updated_at"])
    # An organisation changes its own record.
    assert (
        patch(client, f"/api/v1/organisations/{world.trust.id}", {"ods_code": "REM"}, world.auth("trust"))[
            "ods_code"
        ]
        == "REM"
    )
    too_long = client.post(
        "/api/v1/organisations", json={**sent, "external_ref": "x" * 201}, headers=world.auth("admin")
    )
    assert error_fields(assert_problem(too_long, 422)) == {"body.external_ref"}


def test_innovations(client: TestClient, world: World) -> None:
    sent = {
        "name": "Heat-based sharps destruction",
        "summary": "Destroys a used needle at the point of care in seconds.",
        "description": "Heat technology from precision engineering, repurposed for sharps safety.",
        "supplier_id": str(world.supplier.id),
        "categories": ["medical_device"],
        "care_settings": ["acute_inpatient", "community"],
        "maturity": "ready",
        "origin_sector": "engineering",
        "origin_use": "Heat treatment of metal parts",
        "evidence": [
            {"type": "real_world", "summary": "Pilot on two wards", "url": "https://example.org/pilot"}
        ],
        "regulatory": {"ukca_class": "class_i", "dtac": False, "dcb0129": True},
        "cost_summary": "1,200 pounds per unit",
        "website": "https://example.org/",
        "status": "published",
        "external_ref": "inn-42",
    }
    body = create(client, "/api/v1/innovations", sent, world.auth("supplier"))
    assert_record(body, sent)
    url = f"/api/v1/innovations/{body['id']}"
    changed = patch(client, url, {"evidence": [], "maturity": "advanced"}, world.auth("facilitator"))
    assert_record(changed, {**sent, "evidence": [], "maturity": "advanced"})
    # Defaults: a minimal innovation is a draft at discovery.
    minimal = create(
        client,
        "/api/v1/innovations",
        {"name": "Ward robot", "summary": "S", "supplier_id": str(world.supplier.id)},
        world.auth("supplier"),
    )
    assert (minimal["status"], minimal["maturity"], minimal["categories"]) == ("draft", "discovery", [])

    etag = client.get(url, headers=world.auth("supplier")).headers["ETag"]
    archived = client.delete(url, headers={**world.auth("supplier"), "If-Match": etag})
    assert archived.json()["status"] == "archived"
    # An archived innovation is not adopted.
    got = client.post(
        "/api/v1/adoptions",
        json={"innovation_id": body["id"], "organisation_id": str(world.trust.id)},
        headers=world.auth("trust"),
    )
    assert error_fields(assert_problem(got, 422)) == {"body.innovation_id"}
    # Only facilitators and admins give an innovation to another supplier.
    assert_problem(
        client.patch(
            f"/api/v1/innovations/{minimal['id']}",
            json={"supplier_id": str(world.trust.id)},
            headers={**world.auth("supplier"), "If-Match": '"1"'},
        ),
        403,
    )


def test_challenges(client: TestClient, world: World) -> None:
    sent = {
        "title": "Reduce missed outpatient appointments",
        "problem_statement": "One in ten outpatient appointments is missed.",
        "owner_id": str(world.trust.id),
        "care_settings": ["acute_outpatient"],
        "categories": ["digital"],
        "desired_outcomes": "Fewer missed appointments",
        "success_measures": "Did-not-attend rate below 5% within a year",
        "budget_min": 10000,
        "budget_max": 50000,
        "opens_on": "2026-12-01",
        "closes_on": "2027-02-28",
        "status": "open",
        "external_ref": "ch-7",
    }
    body = create(client, "/api/v1/challenges", sent, world.auth("trust"))
    assert_record(body, sent)
    url = f"/api/v1/challenges/{body['id']}"
    assert_record(
        patch(client, url, {"budget_max": 60000}, world.auth("facilitator")), {**sent, "budget_max": 60000}
    )
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    got = client.patch(url, json={"budget_min": 70000}, headers={**world.auth("trust"), "If-Match": etag})
    assert_problem(got, 422)
    got = client.patch(url, json={"budget_min": 1.5}, headers={**world.auth("trust"), "If-Match": etag})
    assert error_fields(assert_problem(got, 422)) == {"body.budget_min"}
    assert_problem(
        client.patch(url, json={"title": "x"}, headers={**world.auth("supplier"), "If-Match": etag}), 403
    )
    withdrawn = client.delete(url, headers={**world.auth("trust"), "If-Match": etag})
    assert withdrawn.json()["status"] == "withdrawn"


def test_adoptions(client: TestClient, world: World, session: Session) -> None:
    challenge = make_challenge(session, world.other_trust)
    sent = {
        "innovation_id": str(world.innovation.id),
        "organisation_id": str(world.other_trust.id),
        "challenge_id": str(challenge.id),
        "lead": {"name": "Sam Jones", "email": "sam.jones@nhs.net"},
        "gate": {"evidence_reviewed": True},
        "notes": "Starting on two wards",
        "external_ref": "adopt-1",
    }
    body = create(client, "/api/v1/adoptions", sent, world.auth("other_facilitator"))
    assert_record(body, sent)
    assert body["stage"] == "identified"
    assert RFC3339_UTC.match(body["stage_entered_at"])
    assert list(body["gate_status"]) == [
        "identified",
        "needs_assessment",
        "co_design",
        "real_world_testing",
        "adopted",
        "sustained",
    ]
    assert body["gate_status"]["needs_assessment"] == {"met": True, "missing": []}  # the lead is the champion
    assert "evidence_reviewed" not in body["gate_status"]["co_design"]["missing"]

    url = f"/api/v1/adoptions/{body['id']}"
    changed = patch(
        client,
        url,
        {"gate": {"evidence_reviewed": None, "cost_reviewed": True}, "lead": None},
        world.auth("other_trust"),
    )
    assert changed["gate"] == {"cost_reviewed": True}  # merged by key, null clears
    assert changed["lead"] is None
    assert changed["gate_status"]["needs_assessment"] == {"met": False, "missing": ["champion"]}
    assert changed["notes"] == sent["notes"]


def test_a_walk_through_the_pipeline(client: TestClient, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    etag = client.get(url, headers=world.auth("trust")).headers["ETag"]
    etag = client.patch(
        url, json={"gate": FULL_GATE}, headers={**world.auth("trust"), "If-Match": etag}
    ).headers["ETag"]
    for stage in ("needs_assessment", "co_design", "real_world_testing", "adopted"):
        moved = client.post(
            f"{url}/transitions", json={"to_stage": stage}, headers={**world.auth("trust"), "If-Match": etag}
        )
        assert moved.status_code == 201, moved.text
        etag = moved.headers["ETag"]
    adoption = moved.json()["adoption"]
    assert adoption["stage"] == "adopted" and adoption["adopted_at"] is not None
    back = client.post(
        f"{url}/transitions",
        json={"to_stage": "co_design"},
        headers={**world.auth("trust"), "If-Match": etag},
    )
    assert error_fields(assert_problem(back, 422)) == {"body.reason"}
    stopped = client.post(
        f"{url}/transitions",
        json={"to_stage": "not_progressed", "reason_code": "no_funding", "reason": "ICB declined"},
        headers={**world.auth("facilitator"), "If-Match": etag},
    )
    assert stopped.status_code == 201
    transition = stopped.json()["transition"]
    assert transition["reason_code"] == "no_funding" and transition["actor"]

    history = list(walk(client, f"{url}/transitions", world.auth("supplier"), 2))
    assert [(t["from_stage"], t["to_stage"]) for t in history] == [
        ("identified", "needs_assessment"),
        ("needs_assessment", "co_design"),
        ("co_design", "real_world_testing"),
        ("real_world_testing", "adopted"),
        ("adopted", "not_progressed"),
    ]
    spread = client.get(
        f"/api/v1/innovations/{world.innovation.id}/spread", headers=world.auth("trust")
    ).json()
    assert spread["adopted"] == 0 and spread["by_stage"]["not_progressed"] == 1


def test_stages(client: TestClient, world: World) -> None:
    body = client.get("/api/v1/stages", headers=world.auth("trust")).json()
    assert body["next_cursor"] is None
    stages = body["items"]
    assert [s["key"] for s in stages] == [
        "identified",
        "needs_assessment",
        "co_design",
        "real_world_testing",
        "adopted",
        "sustained",
        "paused",
        "not_progressed",
    ]
    assert [s["position"] for s in stages] == sorted(s["position"] for s in stages)
    assert {s["key"] for s in stages if not s["active"]} == {"paused", "not_progressed"}
    gate = {s["key"]: [i["key"] for i in s["gate_items"]] for s in stages}
    assert gate["needs_assessment"] == ["champion"]
    outcome = next(i for i in stages[4]["gate_items"] if i["key"] == "evaluation_outcome")
    assert outcome["kind"] == "choice" and "positive" in outcome["choices"]
    for stage in stages:
        for item in stage["gate_items"]:
            assert {"key", "label", "kind", "choices"} <= set(item)


def test_api_keys(client: TestClient, world: World) -> None:
    got = client.post(
        "/api/v1/api-keys",
        json={
            "organisation_id": str(world.network.id),
            "name": "Partner sync",
            "scopes": ["write", "read", "read"],
        },
        headers=world.auth("facilitator"),
    )
    assert got.status_code == 201
    issued = got.json()
    assert issued["key"].startswith(issued["prefix"]) and issued["prefix"].startswith("hie_")
    assert issued["scopes"] == ["read", "write"]
    assert issued["revoked_at"] is None
    assert_record(issued, {"organisation_id": str(world.network.id), "name": "Partner sync"})
    listed = {k["id"]: k for k in walk(client, "/api/v1/api-keys", world.auth("facilitator"), 100)}
    assert "key" not in listed[issued["id"]]
    # The new key acts as its organisation: a facilitator of the north west.
    as_key = {"Authorization": f"Bearer {issued['key']}"}
    assert client.get(f"/api/v1/adoptions/{world.adoption.id}", headers=as_key).status_code == 200
    bad = client.post(
        "/api/v1/api-keys",
        json={"organisation_id": str(world.network.id), "name": "", "scopes": ["superuser"]},
        headers=world.auth("facilitator"),
    )
    assert error_fields(assert_problem(bad, 422)) == {"body.name", "body.scopes.0"}
    none = client.post(
        "/api/v1/api-keys",
        json={"organisation_id": str(world.network.id), "name": "n", "scopes": []},
        headers=world.auth("facilitator"),
    )
    assert error_fields(assert_problem(none, 422)) == {"body.scopes"}


def test_events(client: TestClient, world: World) -> None:
    last = list(walk(client, "/api/v1/events", world.auth("admin"), 100))[-1]["id"]
    created = client.post(
        "/api/v1/organisations",
        json={"name": "Alder Hey", "kind": "nhs_trust", "region": "north_west"},
        headers=world.auth("admin"),
    ).json()
    events = client.get(f"/api/v1/events?after={last}", headers=world.auth("trust")).json()["items"]
    assert len(events) == 1
    event = events[0]
    assert set(event) == {"id", "type", "occurred_at", "actor", "resource", "data"}
    assert event["type"] == "organisation.created"
    assert event["resource"] == {"type": "organisation", "id": created["id"]}
    assert event["data"]["name"] == "Alder Hey"
    assert RFC3339_UTC.match(event["occurred_at"])
    assert event["actor"].startswith("api key hie_")
