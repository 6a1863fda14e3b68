"""Hostile input to the pages: markup in every text a person can write,
shown escaped on every page that shows it; redirects that never leave the
site; NUL characters, oversized forms and paths that climb out of the static
folder, each a clear 4xx with nothing written."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Adoption, Challenge, Innovation, Organisation
from app.models.response import ResponseCreate
from app.models.user import UserCreate
from app.services import applications, pipeline, responses, users
from tests.factories import (
    World,
    admin_principal,
    make_adoption,
    make_application,
    make_challenge,
    make_innovation,
    make_org,
)
from tests.web.conftest import csrf_token

SignIn = Callable[[str], str]

# Breaks out of text, of a quoted attribute, and of a script; none of it may reach a page raw.
EVIL = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
RAW = ("<script>alert(1)", "<img src=x onerror")


def evil(label: str) -> str:
    return f"{label} {EVIL}"


def write_everywhere(session: Session, world: World, settings: Any) -> dict[str, str]:
    """Markup in every free-text field of every kind of record; the pages to read them on."""
    supplier = make_org(session, "supplier", name=evil("Supplier"))
    adopter = make_org(session, "nhs_trust", "north_west", name=evil("Trust"))
    text = {
        "summary": evil("Summary"),
        "description": evil("Description"),
        "origin_sector": evil("Sector"),
        "origin_use": evil("Use"),
        "cost_summary": evil("Cost"),
        "evidence": [{"type": "real_world", "summary": evil("Evidence"), "url": None}],
    }
    innovation = make_innovation(session, supplier, name=evil("Innovation"), **text)
    challenge = make_challenge(
        session,
        adopter,
        title=evil("Challenge"),
        problem_statement=evil("Problem"),
        desired_outcomes=evil("Outcomes"),
        success_measures=evil("Measures"),
    )
    gate = {key: evil(key) for key in ("champion", "needs_assessment_summary", "funding_source")}
    adoption = make_adoption(
        session,
        innovation,
        adopter,
        gate=gate,
        notes=evil("Notes"),
        lead={"name": evil("Lead"), "email": "lead@example.nhs.uk"},
        challenge_id=challenge.id,
    )
    loaded = pipeline_move(session, adoption, evil("Reason"))
    responses.respond(
        session,
        admin_principal(supplier),
        challenge,
        ResponseCreate(innovation_id=innovation.id, pitch=evil("Pitch")),
    )
    users.create(
        session,
        None,
        UserCreate(email="evil@example.nhs.uk", name=evil("User"), organisation_id=adopter.id, role="member"),
        "a long enough password",
    )
    application = make_application(
        session,
        settings,
        company_name=evil("Company"),
        product_name=evil("Product"),
        product_description=evil("Product description"),
        health_problem=evil("Problem"),
        current_users=evil("Users"),
        evidence=evil("Evidence"),
    )
    applications.add_note(session, admin_principal(world.exchange), application, evil("Note"))
    del loaded
    return {
        "home": "/",
        "innovations": "/innovations",
        "innovation": f"/innovations/{innovation.id}",
        "innovation edit": f"/innovations/{innovation.id}/edit",
        "challenges": "/challenges",
        "challenge": f"/challenges/{challenge.id}",
        "challenge edit": f"/challenges/{challenge.id}/edit",
        "board": "/board",
        "adoption": f"/adoptions/{adoption.id}",
        "analytics": "/analytics",
        "organisations": "/admin/organisations",
        "users": "/admin/users",
        "applications": "/applications",
        "application": f"/applications/{application.id}",
        "audit": "/admin/audit",
    }


def pipeline_move(session: Session, adoption: Adoption, reason: str) -> None:
    actor = admin_principal(session.get(Organisation, adoption.organisation_id))  # type: ignore[arg-type]
    pipeline.move(
        session,
        actor,
        adoption,
        pipeline.MoveRequest(to_stage="needs_assessment", override=True, reason=reason),
        adopter_region="north_west",
        supplier_id=None,
    )


def test_markup_in_every_text_field_is_escaped_on_every_page(
    client: TestClient, sign_in: SignIn, session: Session, world: World, app: Any
) -> None:
    pages = write_everywhere(session, world, app.state.settings)
    sign_in("admin")
    shown = 0
    for name, path in pages.items():
        page = client.get(path)
        if page.status_code == 404 and name == "audit":
            continue  # the audit page may not be there yet
        assert page.status_code == 200, (name, page.status_code)
        for raw in RAW:
            assert raw not in page.text, (name, raw)
        shown += "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert shown >= len(pages) - 3  # analytics and the lists may show none of the texts


# --- redirects ---------------------------------------------------------------------


OFF_SITE = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_signing_in_never_redirects_off_the_site(
    client: TestClient, sign_in: SignIn, session: Session, world: World, target: str
) -> None:
    sign_in("trust")  # makes the user
    client.cookies.clear()
    page = client.get("/sign-in", params={"next": target})
    assert 'name="next" value="/"' in page.text
    answer = client.post(
        "/sign-in",
        data={
            "email": "trust@example.nhs.uk",
            "password": "a long test password",
            "csrf_token": csrf_token(client),
            "next": target,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


@pytest.mark.parametrize(
    "target", ["/board?stage=adopted", "/innovations/abc#evidence", "/%2F%2Fevil.example"]
)
def test_signing_in_returns_to_a_page_of_the_site(client: TestClient, sign_in: SignIn, target: str) -> None:
    sign_in("trust")
    client.cookies.clear()
    answer = client.post(
        "/sign-in",
        data={
            "email": "trust@example.nhs.uk",
            "password": "a long test password",
            "csrf_token": csrf_token(client),
            "next": target,
        },
        follow_redirects=False,
    )
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith("//")
    assert location == target


# --- NUL characters, size, paths ------------------------------------------------------


def count(session: Session) -> dict[str, int]:
    session.expire_all()
    models = (Organisation, Innovation, Challenge, Adoption)
    return {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in models}


def test_a_nul_character_in_a_form_is_422_and_writes_nothing(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("supplier")
    before = count(session)
    answer = client.post(
        "/innovations/new",
        data={"csrf_token": token, "name": "Nul\x00name", "summary": "A summary", "status": "draft"},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    assert "NUL" in answer.text
    assert count(session) == before


def test_a_nul_character_in_a_search_is_a_clear_4xx(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    sign_in("facilitator")
    for path in (
        "/innovations?q=a%00b",
        "/challenges?q=%00",
        "/board?q=%00",
        "/board?organisation_name=a%00b",
        "/board?innovation_name=%00",
    ):
        answer = client.get(path)
        assert 400 <= answer.status_code < 500 or answer.status_code == 200, path
        assert answer.status_code != 500


def test_a_form_over_the_size_limit_is_413_and_writes_nothing(
    client: TestClient, sign_in: SignIn, session: Session
) -> None:
    token = sign_in("supplier")
    before = count(session)
    answer = client.post(
        "/innovations/new",
        data={"csrf_token": token, "name": "Big", "summary": "x", "description": "x" * (2 * 1024 * 1024)},
        follow_redirects=False,
    )
    assert answer.status_code == 413
    assert "text/html" in answer.headers["content-type"]
    assert count(session) == before


def test_the_join_form_takes_far_less(client: TestClient, session: Session) -> None:
    before = count(session)
    answer = client.post("/join/apply", data={"company_name": "x" * 200_000}, follow_redirects=False)
    assert answer.status_code == 413
    assert count(session) == before


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app/config.py",
        "/static/%2e%2e/%2e%2e/app/config.py",
        "/static/..%2F..%2Fapp%2Fconfig.py",
        "/static/%2e%2e%5c%2e%2e%5capp%5cconfig.py",
        "/assets/../../app/config.py",
        "/static//etc/passwd",
        "/static/%00",
    ],
)
def test_paths_never_climb_out_of_the_static_folders(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert "BaseSettings" not in answer.text and "root:" not in answer.text
