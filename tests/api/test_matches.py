"""The matches of the API: GET /challenges/{id}/matches and
/innovations/{id}/matches: one ranked page of matches, each with its score,
its reasons in plain words and a summary of the record; `limit` from 1 to
50 (default 10); 404 for a record the caller may not see, 401 without a key,
and the routes documented with their problems and an example."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_problem, error_fields
from tests.factories import World, make_adoption, make_challenge, make_innovation, make_org

FACETS: dict[str, Any] = {"care_settings": ["acute_inpatient"], "categories": ["medical_device"]}


@pytest.fixture
def challenge_id(session: Session, world: World) -> str:
    """An open need of the trust's that the world's innovation (sharps
    destruction, acute inpatient, medical device) answers."""
    return str(make_challenge(session, world.trust, **FACETS).id)


def test_the_matches_of_a_challenge(
    client: TestClient, world: World, session: Session, challenge_id: str
) -> None:
    make_adoption(session, world.innovation, make_org(session, "primary_care", "north_west"), stage="adopted")
    got = client.get(f"/api/v1/challenges/{challenge_id}/matches", headers=world.auth("other_trust"))

    assert got.status_code == 200
    body = got.json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    [match] = body["items"]
    assert set(match) == {"score", "reasons", "innovation"}
    assert match["innovation"] == {
        "id": str(world.innovation.id),
        "name": "Heat-based sharps destruction",
        "summary": "Destroys used needles at the point of care.",
        "supplier_id": str(world.supplier.id),
        "supplier_name": "NeedleSmart",
        "maturity": "discovery",
        "categories": ["medical_device"],
        "care_settings": ["acute_inpatient"],
    }
    texts = [r["text"] for r in match["reasons"]]
    assert texts[:2] == ["shares care setting: acute inpatient", "shares category: medical device"]
    assert "words in common: sharps" in texts
    assert texts[-1] == "adopted by 1 organisation in North West"
    assert {r["factor"] for r in match["reasons"]} == {"care_setting", "category", "text", "adoption"}
    assert match["score"] == pytest.approx(sum(r["points"] for r in match["reasons"]))


def test_the_matches_of_an_innovation(client: TestClient, world: World, challenge_id: str) -> None:
    got = client.get(f"/api/v1/innovations/{world.innovation.id}/matches", headers=world.auth("trust"))

    assert got.status_code == 200
    [match] = got.json()["items"]
    assert set(match) == {"score", "reasons", "challenge"}
    assert match["challenge"]["id"] == challenge_id
    assert match["challenge"]["title"] == "Safer sharps disposal on wards"
    assert match["challenge"]["owner_name"] == "Liverpool University Hospitals"
    assert match["challenge"]["status"] == "open"
    assert [r["text"] for r in match["reasons"]][:2] == [
        "shares care setting: acute inpatient",
        "shares category: medical device",
    ]


def test_limit(client: TestClient, world: World, session: Session, challenge_id: str) -> None:
    for i in range(12):
        make_innovation(session, world.supplier, name=f"Sharps bin {i}", **FACETS)
    url = f"/api/v1/challenges/{challenge_id}/matches"
    assert len(client.get(url, headers=world.auth("trust")).json()["items"]) == 10
    assert len(client.get(f"{url}?limit=3", headers=world.auth("trust")).json()["items"]) == 3
    assert len(client.get(f"{url}?limit=50", headers=world.auth("trust")).json()["items"]) == 13
    for wrong in ("0", "51", "ten"):
        body = assert_problem(client.get(f"{url}?limit={wrong}", headers=world.auth("trust")), 422)
        assert error_fields(body) == {"query.limit"}


def test_drafts_and_archived_innovations_are_never_matched(
    client: TestClient, world: World, session: Session, challenge_id: str
) -> None:
    make_innovation(session, world.supplier, name="Draft sharps bin", status="draft", **FACETS)
    make_innovation(session, world.supplier, name="Old sharps bin", status="archived", **FACETS)
    for who in ("supplier", "admin"):
        got = client.get(f"/api/v1/challenges/{challenge_id}/matches", headers=world.auth(who))
        assert [m["innovation"]["name"] for m in got.json()["items"]] == ["Heat-based sharps destruction"]


def test_only_open_challenges_are_matched(client: TestClient, world: World, session: Session) -> None:
    for status in ("draft", "closed", "awarded", "withdrawn"):
        make_challenge(session, world.trust, status=status, **FACETS)
    got = client.get(f"/api/v1/innovations/{world.innovation.id}/matches", headers=world.auth("trust"))
    assert got.status_code == 200 and got.json()["items"] == []


def test_a_record_the_caller_may_not_see_is_404(client: TestClient, world: World, session: Session) -> None:
    draft_need = make_challenge(session, world.trust, status="draft", **FACETS)
    draft_innovation = make_innovation(session, world.supplier, name="Secret", status="draft", **FACETS)
    need_url = f"/api/v1/challenges/{draft_need.id}/matches"
    innovation_url = f"/api/v1/innovations/{draft_innovation.id}/matches"

    for who in ("trust", "facilitator", "admin"):
        assert client.get(need_url, headers=world.auth(who)).status_code == 200
    for who in ("supplier", "facilitator", "admin"):
        assert client.get(innovation_url, headers=world.auth(who)).status_code == 200
    for who in ("other_trust", "supplier"):
        assert_problem(client.get(need_url, headers=world.auth(who)), 404)
    for who in ("trust", "other_trust"):
        assert_problem(client.get(innovation_url, headers=world.auth(who)), 404)
    missing = "0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e"
    assert_problem(client.get(f"/api/v1/challenges/{missing}/matches", headers=world.auth("admin")), 404)
    assert_problem(client.get(f"/api/v1/innovations/{missing}/matches", headers=world.auth("admin")), 404)


def test_a_key_is_needed(client: TestClient, world: World, challenge_id: str) -> None:
    assert_problem(client.get(f"/api/v1/challenges/{challenge_id}/matches"), 401)
    assert_problem(client.get(f"/api/v1/innovations/{world.innovation.id}/matches"), 401)


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, item in (
        ("challenges/{challenge_id}", "innovation"),
        ("innovations/{innovation_id}", "challenge"),
    ):
        operation = paths[f"/api/v1/{path}/matches"]["get"]
        assert {"401", "403", "404", "422", "500"} <= set(operation["responses"])
        example = operation["responses"]["200"]["content"]["application/json"]["example"]
        assert example.get("next_cursor") is None  # OpenAPI leaves nulls out
        assert example["items"][0]["reasons"][0]["text"] == "shares care setting: primary care"
        assert item in example["items"][0]
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (
            1,
            50,
            10,
        )
