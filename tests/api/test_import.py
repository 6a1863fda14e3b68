"""POST /api/v1/import (API.md, "Bulk import"): counts per kind, a second
run that changes nothing, 422 with every error and its place and nothing
written, the key's own rights, and a body limit of its own."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.db import Database
from app.main import create_app
from app.models import Adoption, Innovation
from tests.api.helpers import assert_problem, counts, error_fields
from tests.factories import World

URL = "/api/v1/import"


def document(world: World) -> dict[str, Any]:
    return {
        "organisations": [{"external_ref": "org-care", "name": "Sefton Care Home", "kind": "social_care"}],
        "innovations": [
            {
                "external_ref": "inn-falls",
                "name": "Falls sensor",
                "summary": "Tells staff when a resident falls.",
                "supplier_id": str(world.supplier.id),
                "care_settings": ["care_home"],
                "status": "published",
            }
        ],
        "adoptions": [
            {
                "external_ref": "ad-falls",
                "innovation_ref": "inn-falls",
                "organisation_ref": "org-care",
                "lead": {"name": "Sam Jones", "email": "sam.jones@care.example"},
                "stage": "needs_assessment",
            }
        ],
    }


def test_an_import_answers_counts_and_a_second_run_changes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    first = client.post(URL, json=document(world), headers=world.auth("admin"))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "organisations": {"created": 1, "updated": 0, "unchanged": 0},
        "innovations": {"created": 1, "updated": 0, "unchanged": 0},
        "challenges": {"created": 0, "updated": 0, "unchanged": 0},
        "adoptions": {"created": 1, "updated": 0, "unchanged": 0},
    }
    adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-falls")).one()
    assert adoption.stage == "needs_assessment"
    before = counts(session)
    second = client.post(URL, json=document(world), headers=world.auth("admin"))
    assert second.status_code == 200, second.text
    assert {kind: answer["unchanged"] for kind, answer in second.json().items()} == {
        "organisations": 1,
        "innovations": 1,
        "challenges": 0,
        "adoptions": 1,
    }
    assert counts(session) == before


def test_every_error_is_answered_with_its_place_and_nothing_is_written(
    client: TestClient, session: Session, world: World
) -> None:
    body = document(world)
    body["innovations"][0]["care_settings"] = ["care_home", "spaceship"]
    body["adoptions"].append(
        {"external_ref": "ad-2", "innovation_ref": "nothing", "organisation_ref": "org-care"}
    )
    body["adoptions"].append("not a record")
    before = counts(session)
    answer = client.post(URL, json=body, headers=world.auth("admin"))
    problem = assert_problem(answer, 422)
    assert error_fields(problem) == {
        "innovations[0].care_settings[1]",
        "adoptions[1].innovation_ref",
        "adoptions[2]",
    }
    assert problem["detail"] == "3 errors: nothing was imported."
    assert counts(session) == before


def test_a_supplier_imports_only_what_it_may_make(client: TestClient, session: Session, world: World) -> None:
    body = document(world)
    answer = client.post(URL, json=body, headers=world.auth("supplier"))
    problem = assert_problem(answer, 422)
    # Organisations are the admins' to make; the rest refers to the refused one.
    assert "organisations[0]" in error_fields(problem)
    own = {"innovations": document(world)["innovations"]}
    answer = client.post(URL, json=own, headers=world.auth("supplier"))
    assert answer.status_code == 200, answer.text
    innovation = session.exec(select(Innovation).where(Innovation.external_ref == "inn-falls")).one()
    assert innovation.owner_org_id == world.supplier.id


def test_a_read_only_key_may_not_import(client: TestClient, world: World) -> None:
    answer = client.post(URL, json={}, headers=world.auth("trust_read_only"))
    assert_problem(answer, 403)


def test_an_unknown_kind_is_refused(client: TestClient, world: World) -> None:
    answer = client.post(URL, json={"widgets": []}, headers=world.auth("admin"))
    assert "body.widgets" in error_fields(assert_problem(answer, 422))


def test_an_import_may_be_larger_than_other_requests(client: TestClient, world: World) -> None:
    many = [
        {
            "external_ref": f"inn-{i}",
            "name": f"Device {i}",
            "summary": "A device.",
            "description": "x" * 15_000,
            "supplier_id": str(world.supplier.id),
        }
        for i in range(100)
    ]
    answer = client.post(URL, json={"innovations": many}, headers=world.auth("admin"))
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["innovations"]["created"] == 100


def test_the_import_has_its_own_body_limit(database: Database) -> None:
    settings = database.settings.model_copy(update={"import_max_bytes": 2000})
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as small:
        answer = small.post(URL, json={"innovations": [{"description": "x" * 3000}]})
    assert_problem(answer, 413)
