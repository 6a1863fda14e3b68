"""The filters of API.md's resource table, and full-text `q` by word prefixes
on both databases."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.api.helpers import walk
from tests.factories import FULL_GATE, World, make_adoption, make_challenge, make_innovation, make_org


def names(client: TestClient, url: str, headers: dict[str, str], field: str = "name") -> set[str]:
    items = list(walk(client, url, headers, 2))
    sep = "&" if "?" in url else "?"
    everything = client.get(f"{url}{sep}limit=100", headers=headers).json()["items"]
    assert items == everything  # filtering and paging agree
    return {item[field] for item in items}


def test_organisation_filters(client: TestClient, world: World, session: Session) -> None:
    make_org(session, "icb", "london", name="NHS North Central London ICB")
    make_org(session, "icb", "north_west", name="NHS Cheshire and Merseyside ICB")
    make_org(session, "charity", "north_west", name="100% Care_Charity")
    headers = world.auth("trust")
    url = "/api/v1/organisations"
    assert names(client, f"{url}?kind=icb", headers) == {
        "NHS North Central London ICB",
        "NHS Cheshire and Merseyside ICB",
    }
    assert names(client, f"{url}?kind=icb&region=london", headers) == {"NHS North Central London ICB"}
    assert names(client, f"{url}?region=london", headers) == {
        "NHS North Central London ICB",
        "Guy's and St Thomas'",
        "Health Innovation Network South London",
    }
    assert names(client, f"{url}?q=LONDON", headers) == {
        "NHS North Central London ICB",
        "Health Innovation Network South London",
    }
    assert names(client, f"{url}?q=merseyside&kind=icb&region=north_west", headers) == {
        "NHS Cheshire and Merseyside ICB"
    }
    # Wildcards are words, not patterns.
    assert names(client, f"{url}?q=100%25", headers) == {"100% Care_Charity"}
    assert names(client, f"{url}?q=e_c", headers) == {"100% Care_Charity"}
    assert names(client, f"{url}?q=zebra", headers) == set()


@pytest.fixture
def catalogue(world: World, session: Session) -> dict[str, Any]:
    other_supplier = make_org(session, "supplier", "midlands", name="Aero Health")
    make_innovation(
        session,
        other_supplier,
        name="Hospital discharge planner",
        summary="Plans discharges from wards a day ahead.",
        description="Scheduling software from airline operations.",
        categories=["digital", "ai"],
        care_settings=["acute_inpatient", "community"],
        maturity="ready",
        origin_sector="aerospace",
    )
    make_innovation(
        session,
        world.supplier,
        name="Pharmacy robot",
        summary="Picks medicines for community pharmacies.",
        categories=["medical_device"],
        care_settings=["pharmacy"],
        maturity="advanced",
        origin_sector="automotive",
        status="archived",
    )
    make_innovation(
        session,
        world.supplier,
        name="Care home falls sensor",
        summary="Detects falls in residents' rooms at night.",
        categories=["data_monitoring"],
        care_settings=["care_home"],
        maturity="discovery",
        status="draft",
    )
    return {"other_supplier": other_supplier}


def test_innovation_filters(client: TestClient, world: World, catalogue: dict[str, Any]) -> None:
    headers = world.auth("admin")
    url = "/api/v1/innovations"
    sharps = "Heat-based sharps destruction"
    cases = {
        "category=ai": {"Hospital discharge planner"},
        "category=medical_device": {sharps, "Pharmacy robot"},
        "care_setting=acute_inpatient": {sharps, "Hospital discharge planner"},
        "care_setting=care_home": {"Care home falls sensor"},
        "care_setting=acute_inpatient&category=digital": {"Hospital discharge planner"},
        "status=published": {sharps, "Hospital discharge planner"},
        "status=archived": {"Pharmacy robot"},
        "status=draft": {"Care home falls sensor"},
        "maturity=ready": {"Hospital discharge planner"},
        "maturity=advanced": {"Pharmacy robot"},
        f"supplier_id={catalogue['other_supplier'].id}": {"Hospital discharge planner"},
        f"supplier_id={world.supplier.id}&status=published": {sharps},
        "origin_sector=automotive": {"Pharmacy robot"},
        "origin_sector=gaming": set(),
        "q=hosp": {"Hospital discharge planner"},
        "q=DISCHARGES+ward": {"Hospital discharge planner"},
        "q=pharm": {"Pharmacy robot"},
        "q=airline": {"Hospital discharge planner"},  # the description is searched too
        "q=aerospace": {"Hospital discharge planner"},  # and the sector it comes from
        "q=fall+resid": {"Care home falls sensor"},
        "q=hosp+zebra": set(),
        "q=ward&status=published": {"Hospital discharge planner"},
        "q=community&category=medical_device": {"Pharmacy robot"},
    }
    for query, expected in cases.items():
        assert names(client, f"{url}?{query}", headers) == expected, query


def test_search_ignores_punctuation(client: TestClient, world: World, catalogue: dict[str, Any]) -> None:
    headers = world.auth("admin")
    for q in ('"hosp"', "hosp*", "hosp:*", "(hosp)", "hosp & | ! -", "hosp'"):
        got = client.get("/api/v1/innovations", params={"q": q}, headers=headers)
        assert got.status_code == 200, q
        assert {i["name"] for i in got.json()["items"]} == {"Hospital discharge planner"}, q
    for q in ("", "  ", "&|!", '"'):
        got = client.get("/api/v1/innovations", params={"q": q}, headers=headers)
        assert got.status_code == 200
        assert len(got.json()["items"]) == 4  # no words: no filter


def test_search_finds_by_prefix_words(client: TestClient, world: World, session: Session) -> None:
    make_innovation(session, world.supplier, name="Hospital discharge planner", summary="Frees beds.")
    make_challenge(
        session,
        world.trust,
        title="Hospital flow",
        problem_statement="Beds are blocked by delayed discharges.",
        desired_outcomes="Patients home sooner",
    )
    headers = world.auth("other_trust")
    for q in ("hosp", "HOSPI", "hospit", "hospital", "hospitals", "disch", "hosp disch"):
        found = client.get("/api/v1/innovations", params={"q": q}, headers=headers).json()["items"]
        assert [i["name"] for i in found] == ["Hospital discharge planner"], q
    for q in ("hosp", "hospital", "delay", "discharg", "patient home", "hosp flow"):
        found = client.get("/api/v1/challenges", params={"q": q}, headers=headers).json()["items"]
        assert [c["title"] for c in found] == ["Hospital flow"], q


def test_search_finds_by_every_prefix(client: TestClient, world: World, session: Session) -> None:
    make_innovation(session, world.supplier, name="Hospital discharge planner", summary="Syringes, community")
    for q in ("hospita", "syring", "communit"):
        found = client.get("/api/v1/innovations", params={"q": q}, headers=world.auth("trust")).json()[
            "items"
        ]
        assert found, q


def test_search_changes_with_the_record(client: TestClient, world: World) -> None:
    url = f"/api/v1/innovations/{world.innovation.id}"
    headers = world.auth("supplier")
    assert client.get("/api/v1/innovations?q=syringe", headers=headers).json()["items"] == []
    etag = client.get(url, headers=headers).headers["ETag"]
    patched = client.patch(
        url, json={"summary": "Destroys used syringes in seconds."}, headers={**headers, "If-Match": etag}
    )
    assert patched.status_code == 200
    found = client.get("/api/v1/innovations?q=syr", headers=headers).json()["items"]
    assert [i["id"] for i in found] == [str(world.innovation.id)]
    # The categories filter follows a change of categories, too.
    patched = client.patch(
        url, json={"categories": ["ppe"]}, headers={**headers, "If-Match": patched.headers["ETag"]}
    )
    assert client.get("/api/v1/innovations?category=medical_device", headers=headers).json()["items"] == []
    assert len(client.get("/api/v1/innovations?category=ppe", headers=headers).json()["items"]) == 1


def test_challenge_filters(client: TestClient, world: World, session: Session) -> None:
    make_challenge(
        session,
        world.trust,
        title="Hospital flow",
        problem_statement="Beds are blocked by delayed discharges.",
        care_settings=["acute_inpatient"],
        categories=["digital"],
        status="open",
    )
    make_challenge(
        session,
        world.other_trust,
        title="Missed appointments",
        problem_statement="One in ten outpatient appointments is missed.",
        care_settings=["acute_outpatient"],
        categories=["digital", "ai"],
        status="closed",
    )
    make_challenge(
        session,
        world.trust,
        title="Night falls",
        problem_statement="Residents fall at night.",
        care_settings=["care_home"],
        categories=["data_monitoring"],
        status="draft",
    )
    headers = world.auth("admin")
    url = "/api/v1/challenges"
    cases = {
        "status=open": {"Hospital flow"},
        "status=closed": {"Missed appointments"},
        "status=draft": {"Night falls"},
        "care_setting=acute_outpatient": {"Missed appointments"},
        "category=digital": {"Hospital flow", "Missed appointments"},
        "category=digital&care_setting=acute_inpatient": {"Hospital flow"},
        f"owner_id={world.trust.id}": {"Hospital flow", "Night falls"},
        f"owner_id={world.other_trust.id}&status=open": set(),
        "q=outpat": {"Missed appointments"},
        "q=appointments+miss": {"Missed appointments"},
        "q=resident": {"Night falls"},
        "q=beds&owner_id=" + str(world.other_trust.id): set(),
    }
    for query, expected in cases.items():
        assert names(client, f"{url}?{query}", headers, field="title") == expected, query


def test_adoption_filters(client: TestClient, world: World, session: Session) -> None:
    planner = make_innovation(session, world.supplier, name="Discharge planner")
    challenge = make_challenge(session, world.trust)
    at_trust = make_adoption(
        session, planner, world.trust, gate=FULL_GATE, stage="needs_assessment", challenge_id=challenge.id
    )
    in_london = make_adoption(session, planner, world.other_trust)
    midlands = make_org(session, "primary_care", "midlands")
    in_midlands = make_adoption(session, world.innovation, midlands, stage="adopted")
    headers = world.auth("admin")

    def ids(query: str) -> set[str]:
        return names(client, f"/api/v1/adoptions?{query}", headers, field="id")

    every = {str(a.id) for a in (world.adoption, at_trust, in_london, in_midlands)}
    assert ids("") == every
    assert ids(f"innovation_id={planner.id}") == {str(at_trust.id), str(in_london.id)}
    assert ids(f"organisation_id={world.trust.id}") == {str(world.adoption.id), str(at_trust.id)}
    assert ids(f"challenge_id={challenge.id}") == {str(at_trust.id)}
    assert ids("stage=identified") == {str(world.adoption.id), str(in_london.id)}
    assert ids("stage=needs_assessment") == {str(at_trust.id)}
    assert ids("stage=adopted") == {str(in_midlands.id)}
    assert ids("stage=paused") == set()
    assert ids("region=north_west") == {str(world.adoption.id), str(at_trust.id)}
    assert ids("region=london") == {str(in_london.id)}
    assert ids("region=midlands&stage=adopted") == {str(in_midlands.id)}
    assert ids(f"region=london&innovation_id={world.innovation.id}") == set()
