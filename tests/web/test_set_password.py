"""Setting a first password through a one-time link: the form, its errors,
the link working once and expiring, and the token kept out of referrers and
caches."""

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.base import utcnow
from app.models.user import User, UserCreate
from app.services import users
from tests.factories import World
from tests.web.conftest import csrf_token

NEW_PASSWORD = "correct horse battery staple"


@pytest.fixture
def newcomer(session: Session, world: World) -> User:
    data = UserCreate(
        email="first@thermal.example.co.uk", name="First User", organisation_id=world.supplier.id
    )
    return users.create(session, None, data, None)


@pytest.fixture
def token(session: Session, newcomer: User) -> str:
    token, _ = users.issue_password_link(session, newcomer, days=14)
    return token


def assert_private(answer: Any) -> None:
    """The token is in the address: no referrer carries it off, no cache keeps the page."""
    assert answer.headers.get_list("referrer-policy") == ["no-referrer"]
    assert answer.headers["cache-control"] == "no-store"


def post(client: TestClient, token: str, **fields: str) -> Any:
    return client.post(
        f"/set-password/{token}", data={"csrf_token": csrf_token(client), **fields}, follow_redirects=False
    )


def test_the_link_shows_the_form(client: TestClient, token: str) -> None:
    page = client.get(f"/set-password/{token}")
    assert page.status_code == 200
    assert_private(page)
    assert "<h1>Set your password</h1>" in page.text
    assert "first@thermal.example.co.uk" in page.text
    assert "At least 12 characters" in page.text
    assert f'<form method="post" action="/set-password/{token}" novalidate>' in page.text
    assert page.text.count('autocomplete="new-password"') == 2
    # The API builds its links with the same route.
    assert client.app.url_path_for("set_password_page", token=token) == f"/set-password/{token}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["not-a-token", "x" * 101])
def test_an_unknown_link_says_so(client: TestClient, bad: str) -> None:
    page = client.get(f"/set-password/{bad}")
    assert page.status_code == 404
    assert_private(page)
    assert "<h1>This link has expired or was used</h1>" in page.text
    assert post(client, bad, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 404


def test_an_expired_link_says_so(client: TestClient, session: Session, newcomer: User) -> None:
    old, _ = users.issue_password_link(session, newcomer, days=14, now=utcnow() - timedelta(days=15))
    page = client.get(f"/set-password/{old}")
    assert page.status_code == 404
    assert "This link has expired or was used" in page.text


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("", "", "password", "Enter a password"),
        (NEW_PASSWORD, "", "confirm", "Enter the password again"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "confirm", "The passwords do not match"),
        ("too short", "too short", "password", "Use at least 12 characters"),
    ],
)
def test_the_form_says_what_is_wrong(
    client: TestClient,
    session: Session,
    token: str,
    newcomer: User,
    password: str,
    confirm: str,
    field: str,
    message: str,
) -> None:
    answer = post(client, token, password=password, confirm=confirm)
    assert answer.status_code == 422
    assert_private(answer)
    assert re.search(rf'<a href="#{field}">\s*{message}\s*</a>', answer.text)
    assert f'id="{field}-error"' in answer.text
    session.refresh(newcomer)
    assert newcomer.password_hash is None
    assert client.get(f"/set-password/{token}").status_code == 200  # the link still works


def test_set_the_password_then_sign_in(
    client: TestClient, session: Session, token: str, newcomer: User
) -> None:
    answer = post(client, token, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?password_set=1"
    assert_private(answer)

    banner = client.get("/sign-in?password_set=1")
    assert "Your password is set" in banner.text and "nhsuk-notification-banner--success" in banner.text
    assert "Your password is set" not in client.get("/sign-in").text

    # The link worked once.
    assert client.get(f"/set-password/{token}").status_code == 404
    assert (
        post(client, token, password="another long password", confirm="another long password").status_code
        == 404
    )

    signed_in = client.post(
        "/sign-in",
        data={
            "email": newcomer.email,
            "password": NEW_PASSWORD,
            "csrf_token": csrf_token(client),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert client.get("/").status_code == 200


def test_setting_it_needs_the_csrf_token(
    client: TestClient, session: Session, token: str, newcomer: User
) -> None:
    csrf_token(client)
    answer = client.post(f"/set-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert answer.status_code == 403
    session.refresh(newcomer)
    assert newcomer.password_hash is None


def test_a_deactivated_user_cannot_use_their_link(
    client: TestClient, session: Session, token: str, newcomer: User
) -> None:
    newcomer.is_active = False
    session.add(newcomer)
    session.flush()
    assert client.get(f"/set-password/{token}").status_code == 404
