"""The API keys page: an organisation's admin-role users and the exchange's
admins issue keys (the secret shown once) and revoke them; no one else may."""

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.errors import Unauthenticated
from app.models.api_key import ApiKey
from app.models.user import UserCreate
from app.services import api_keys, users
from tests.factories import World
from tests.web.conftest import PASSWORD, csrf_token

SignIn = Callable[[str], str]


def beside(page: str, field: str) -> str:
    match = re.search(
        rf'id="{field}-error"[^>]*>\s*<span class="nhsuk-u-visually-hidden">Error:\s*</span>\s*([^<]+)<', page
    )
    assert match, f"no error beside {field}"
    return html.unescape(match.group(1).strip())


def secret_in(page: str) -> str:
    match = re.search(r'<code id="api-key-secret">(hie_[^<]+)</code>', page)
    assert match, "the page shows the secret"
    return match.group(1)


def sign_in_as_trust_admin(client: TestClient, session: Session, world: World) -> str:
    """An admin-role user of the trust (not of the exchange)."""
    users.create(
        session,
        None,
        UserCreate(
            email="it.lead@trust.example", name="Trust IT Lead", organisation_id=world.trust.id, role="admin"
        ),
        PASSWORD,
    )
    token = csrf_token(client)
    answer = client.post(
        "/sign-in",
        data={"email": "it.lead@trust.example", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return token


def test_the_page_and_its_fragment(client: TestClient, sign_in: SignIn) -> None:
    sign_in("admin")
    page = client.get("/api-keys")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request"
    assert page.text.count("<h1") == 1 and "Issue a new key" in page.text
    fragment = client.get("/api-keys", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="api-keys"' in fragment.text


@pytest.mark.parametrize("who", ["trust", "supplier", "facilitator"])
def test_other_members_are_refused(
    client: TestClient, sign_in: SignIn, session: Session, world: World, who: str
) -> None:
    token = sign_in(who)
    assert client.get("/api-keys").status_code == 403
    issued = client.post("/api-keys", data={"csrf_token": token, "name": "Mine", "scopes": ["read"]})
    assert issued.status_code == 403
    key = session.exec(select(ApiKey).where(ApiKey.organisation_id == world.trust.id)).first()
    assert key is not None
    revoked = client.post(f"/api-keys/{key.id}/revoke", data={"csrf_token": token, "version": "1"})
    assert revoked.status_code == 403
    session.refresh(key)
    assert key.revoked_at is None
    assert 'href="/api-keys"' not in client.get("/").text  # not offered in the header either


def test_the_secret_is_shown_once_and_works_until_revoked(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/api-keys",
        data={
            "csrf_token": token,
            "organisation_id": str(world.exchange.id),
            "name": "Nightly sync",
            "scopes": ["read", "write"],
        },
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "nhsuk-panel" in answer.text and "This is the only time the key is shown" in answer.text
    secret = secret_in(answer.text)
    assert answer.text.count(secret) == 1

    principal = api_keys.authenticate(session, secret)
    assert principal.organisation_id == world.exchange.id

    listing = client.get("/api-keys").text
    assert secret not in listing
    key = session.exec(select(ApiKey).where(ApiKey.name == "Nightly sync")).one()
    assert key.prefix in listing and "Nightly sync" in listing and sorted(key.scopes) == ["read", "write"]

    revoked = client.post(
        f"/api-keys/{key.id}/revoke",
        data={"csrf_token": token, "version": str(key.version)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/api-keys?revoked={key.id}"
    with pytest.raises(Unauthenticated):
        api_keys.authenticate(session, secret)
    after = client.get(revoked.headers["location"]).text
    assert "Revoked the key Nightly sync" in after
    assert f'action="/api-keys/{key.id}/revoke"' not in after


def test_an_admin_role_user_of_an_organisation_starts_with_its_keys(
    client: TestClient, session: Session, world: World
) -> None:
    # An admin-role user of a trust administers the trust's keys, and nothing of the exchange's.
    token = sign_in_as_trust_admin(client, session, world)
    assert client.get("/admin/organisations").status_code == 403
    other = client.get("/api-keys", params={"organisation_id": str(world.supplier.id)})
    assert other.status_code == 403 or str(world.supplier.id) not in other.text
    assert 'value="admin"' not in client.get("/api-keys").text
    page = client.get("/api-keys").text
    assert "Liverpool University Hospitals" in page
    assert 'name="organisation_id" value="' + str(world.trust.id) + '"' in page
    trust_keys = session.exec(select(ApiKey).where(ApiKey.organisation_id == world.trust.id)).all()
    assert trust_keys and all(key.prefix in page for key in trust_keys)
    answer = client.post("/api-keys", data={"csrf_token": token, "name": "Ward system", "scopes": ["read"]})
    assert answer.status_code == 200
    principal = api_keys.authenticate(session, secret_in(answer.text))
    assert principal.organisation_id == world.trust.id
    assert 'href="/api-keys"' in answer.text  # back to their own organisation's keys


def test_exchange_admins_choose_the_organisation_and_may_give_the_admin_scope(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    page = client.get("/api-keys", params={"organisation_id": str(world.trust.id)}).text
    assert re.search(rf'<option value="{world.trust.id}"\s+selected', page)
    assert 'value="admin"' in page  # the admin scope is offered
    trust_keys = session.exec(select(ApiKey).where(ApiKey.organisation_id == world.trust.id)).all()
    assert all(key.prefix in page for key in trust_keys)

    answer = client.post(
        "/api-keys",
        data={
            "csrf_token": token,
            "organisation_id": str(world.trust.id),
            "name": "Admin tool",
            "scopes": ["admin"],
        },
    )
    assert answer.status_code == 200
    principal = api_keys.authenticate(session, secret_in(answer.text))
    assert principal.organisation_id == world.trust.id and principal.is_admin
    assert (
        f'href="/api-keys?organisation_id={world.trust.id}"' in answer.text
    )  # back to that organisation's keys


def test_a_key_form_with_errors_comes_back_with_them(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/api-keys", data={"csrf_token": token, "organisation_id": str(world.trust.id), "name": ""}
    )
    assert answer.status_code == 422
    assert "There is a problem" in answer.text
    assert beside(answer.text, "name") == "Enter a name for the key"
    assert beside(answer.text, "scopes") == "Select at least one scope"
    assert "hie_" not in re.sub(
        r"<code>hie_[^<]{8}</code>", "", answer.text
    )  # no secret: only the prefixes listed


def test_a_stale_revoke_is_412_and_an_unknown_key_404(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    key = session.exec(select(ApiKey).where(ApiKey.organisation_id == world.trust.id)).first()
    assert key is not None
    stale = client.post(f"/api-keys/{key.id}/revoke", data={"csrf_token": token, "version": "9"})
    assert stale.status_code == 412
    assert "changed by someone else" in stale.text
    session.refresh(key)
    assert key.revoked_at is None
    unknown = client.post(
        "/api-keys/0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e/revoke", data={"csrf_token": token, "version": "1"}
    )
    assert unknown.status_code == 404


def test_key_posts_need_the_csrf_token(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    sign_in("admin")
    assert client.post("/api-keys", data={"name": "No token", "scopes": ["read"]}).status_code == 403
    key = session.exec(select(ApiKey).where(ApiKey.organisation_id == world.trust.id)).first()
    assert key is not None
    assert client.post(f"/api-keys/{key.id}/revoke", data={"version": "1"}).status_code == 403
    session.refresh(key)
    assert key.revoked_at is None


def test_key_names_are_escaped(client: TestClient, sign_in: SignIn) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/api-keys", data={"csrf_token": token, "name": "<script>x()</script>", "scopes": ["read"]}
    )
    assert "<script>x()" not in answer.text and "&lt;script&gt;x()&lt;/script&gt;" in answer.text
    assert "<script>x()" not in client.get("/api-keys").text
