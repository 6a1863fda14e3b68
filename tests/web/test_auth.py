from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models.base import utcnow
from app.models.web_session import WebSession
from app.services import sessions
from tests.web.conftest import PASSWORD, csrf_token


def test_pages_ask_to_sign_in_first(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/"


def test_sign_in_and_out(client: TestClient, sign_in: Callable[[str], str], session: Session) -> None:
    token = sign_in("trust")
    cookie = client.cookies.get("hie_session")
    assert cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Liverpool University Hospitals" in home.text  # the header names the organisation

    out = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert session.exec(select(WebSession)).all() == []
    client.cookies.set("hie_session", cookie)  # a copied cookie dies with the session
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_http_only_lax_and_expires(
    client: TestClient, sign_in: Callable[[str], str], session: Session
) -> None:
    sign_in("trust")
    client.cookies.clear()
    token = csrf_token(client)
    answer = client.post(
        "/sign-in",
        data={"email": "trust@example.nhs.uk", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("hie_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "max-age=28800" in cookie
    assert "secure" not in cookie  # plain HTTP in tests and local development


def test_the_session_cookie_is_secure_in_production() -> None:
    from app.config import Settings

    assert Settings(environment="production").secure_cookies
    assert not Settings(environment="development").secure_cookies


def test_a_failed_sign_in_does_not_say_whether_the_email_exists(
    client: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("supplier")
    client.cookies.clear()
    token = csrf_token(client)
    known = client.post(
        "/sign-in",
        data={"email": "supplier@example.nhs.uk", "password": "wrong password", "csrf_token": token},
    )
    unknown = client.post(
        "/sign-in", data={"email": "ghost@example.nhs.uk", "password": "wrong password", "csrf_token": token}
    )
    assert known.status_code == unknown.status_code == 422
    assert "The email address or password is not right" in known.text
    assert known.text.replace("supplier@", "X@") == unknown.text.replace("ghost@", "X@")


def test_repeated_failures_slow_down(
    client: TestClient, sign_in: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in("supplier")
    # The clock stands still, so the waits hold however long each password check takes.
    now = utcnow()
    monkeypatch.setattr(sessions, "utcnow", lambda: now)
    client.cookies.clear()
    token = csrf_token(client)
    statuses = [
        client.post(
            "/sign-in", data={"email": "supplier@example.nhs.uk", "password": "guess", "csrf_token": token}
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [422] * 5
    assert 429 in statuses[5:]
    # even the right password waits its turn
    right = client.post(
        "/sign-in", data={"email": "supplier@example.nhs.uk", "password": PASSWORD, "csrf_token": token}
    )
    assert right.status_code == 429
    assert "Wait" in right.text


def test_changes_without_the_csrf_token_are_refused(
    client: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("trust")
    assert client.post("/sign-out", follow_redirects=False).status_code == 403
    assert client.post("/sign-out", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403


def test_next_never_leaves_the_site(client: TestClient, sign_in: Callable[[str], str]) -> None:
    token = csrf_token(client)
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        page = client.get(f"/sign-in?next={target}")
        assert 'name="next" value="/"' in page.text, target
    del token


def test_security_headers_on_every_page(client: TestClient) -> None:
    for path in ("/sign-in", "/accessibility", "/docs"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "unsafe-eval" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]


def test_the_api_sets_no_cookie(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/healthz").headers
    assert "set-cookie" not in client.get("/api/v1/stages").headers
    assert "set-cookie" in client.get("/sign-in").headers
