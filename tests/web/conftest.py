"""Signing in to the pages as each kind of person in the `world`."""

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.user import UserCreate
from app.services import users
from tests.factories import World

PASSWORD = "a long test password"


def csrf_token(client: TestClient) -> str:
    """The token this client's forms carry (any page shows it)."""
    page = client.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in page carries a CSRF token"
    return match.group(1)


@pytest.fixture
def sign_in(client: TestClient, session: Session, world: World) -> Callable[[str], str]:
    """sign_in("facilitator") makes a user of that kind and signs the client
    in as them; returns the CSRF token for the forms that follow."""
    organisations = {
        "admin": (world.exchange, "admin"),
        "facilitator": (world.network, "facilitator"),
        "other_facilitator": (world.other_network, "facilitator"),
        "supplier": (world.supplier, "member"),
        "trust": (world.trust, "member"),
        "other_trust": (world.other_trust, "member"),
    }

    def sign_in_as(who: str) -> str:
        org, role = organisations[who]
        email = f"{who}@example.nhs.uk"
        users.create(
            session,
            None,
            UserCreate(email=email, name=who.title(), organisation_id=org.id, role=role),
            PASSWORD,
        )
        token = csrf_token(client)
        answer = client.post(
            "/sign-in",
            data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return token

    return sign_in_as
