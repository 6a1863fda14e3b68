"""GET /api/v1/metrics/funnel: the funnel of tests/services/test_analytics.py
through the API, its filters as query parameters, who sees what, and its
documentation."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import assert_problem, error_fields
from tests.factories import World
from tests.services.test_analytics import Exchange

URL = "/api/v1/metrics/funnel"


@pytest.fixture
def exchange(session: Session, world: World) -> Exchange:
    return Exchange(session, world)


def by_stage(body: dict) -> dict[str, int]:
    return {s["stage"]: s["adoptions"] for s in body["stages"] if s["adoptions"]}


def test_the_funnel_as_json(client: TestClient, world: World, exchange: Exchange) -> None:
    answer = client.get(URL, headers=world.auth("admin"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "adoptions",
        "stages",
        "conversions",
        "time_in_stage",
        "stuck",
        "stops",
        "stops_by_stage",
    }
    assert body["adoptions"] == 6
    assert by_stage(body) == {
        "identified": 1,
        "needs_assessment": 1,
        "adopted": 1,
        "paused": 1,
        "not_progressed": 2,
    }
    assert body["conversions"][1] == {
        "from_stage": "needs_assessment",
        "to_stage": "co_design",
        "reached": 5,
        "went_on": 3,
        "rate": 0.6,
    }
    identified = next(t for t in body["time_in_stage"] if t["stage"] == "identified")
    assert identified == {
        "stage": "identified",
        "name": "Identified",
        "stays": 6,
        "median_days": 10,
        "p90_days": 40,
    }
    assert body["stops"] == [
        {"reason_code": "no_funding", "stops": 2},
        {"reason_code": "no_capacity", "stops": 1},
    ]
    stuck = body["stuck"][0]
    assert stuck["adoption_id"] == str(exchange.a3.adoption.id)
    assert stuck["stage"] == "paused"
    assert stuck["stage_entered_at"].endswith("Z")
    assert stuck["days_in_stage"] >= 150  # counted to today, long after the test's day 200


def test_filters_are_query_parameters(client: TestClient, world: World, exchange: Exchange) -> None:
    headers = world.auth("facilitator")
    assert client.get(f"{URL}?region=london", headers=headers).json()["adoptions"] == 3
    assert client.get(f"{URL}?category=digital", headers=headers).json()["adoptions"] == 3
    assert client.get(f"{URL}?organisation_id={exchange.a.id}", headers=headers).json()["adoptions"] == 2
    assert client.get(f"{URL}?innovation_id={exchange.i1.id}", headers=headers).json()["adoptions"] == 3
    both = client.get(f"{URL}?region=london&category=digital", headers=headers).json()
    assert by_stage(both) == {"needs_assessment": 1, "not_progressed": 1}  # a4, a6
    assert len(client.get(f"{URL}?stuck_limit=1", headers=headers).json()["stuck"]) == 1


def test_bad_filters_are_422(client: TestClient, world: World) -> None:
    headers = world.auth("admin")
    body = assert_problem(client.get(f"{URL}?region=atlantis&stuck_limit=0", headers=headers), 422)
    assert error_fields(body) == {"query.region", "query.stuck_limit"}
    body = assert_problem(client.get(f"{URL}?innovation_id=nope", headers=headers), 422)
    assert error_fields(body) == {"query.innovation_id"}


def test_each_key_sees_what_its_adoption_list_shows(
    client: TestClient, world: World, exchange: Exchange
) -> None:
    assert client.get(URL, headers=world.auth("supplier")).json()["adoptions"] == 3  # a1, a2, a5
    assert client.get(URL, headers=world.auth("trust")).json()["adoptions"] == 1  # a5
    london = client.get(URL, headers=world.auth("other_trust")).json()  # a6
    assert by_stage(london) == {"not_progressed": 1}
    assert london["stops"] == [{"reason_code": "no_funding", "stops": 1}]
    assert client.get(URL, headers=world.auth("trust_read_only")).status_code == 200


def test_needs_a_key(client: TestClient) -> None:
    assert_problem(client.get(URL), 401)


def test_documented_with_its_filters_and_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "region",
        "category",
        "organisation_id",
        "innovation_id",
        "stuck_limit",
    }
    assert "at least as far" in operation["description"]
    assert "nearest rank" in operation["description"]
    schema = spec["components"]["schemas"]["FunnelPublic"]
    assert schema["examples"][0]["conversions"][0]["rate"] == 0.667
    assert (
        "nine in ten" in spec["components"]["schemas"]["TimeInStage"]["properties"]["p90_days"]["description"]
    )
