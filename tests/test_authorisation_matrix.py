"""The authorisation matrix (issue 7): every API operation and every page
action, as each kind of principal, against records of its own and of others,
checked against the one declared table in tests/authorisation_table.py.

One world per database for the module; each call runs in a savepoint that is
rolled back afterwards, so every call sees the same world."""

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx2
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, Request, routing
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, select

from app.api.deps import get_session
from app.api.exports import read_sessions
from app.auth import Principal
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models import ApiKey, Transition
from app.models.application import ApplicationStatus, Review
from app.models.response import ResponseCreate, ResponseStatus, ResponseUpdate
from app.models.user import User, UserCreate
from app.models.vocabulary import Role
from app.models.webhook import WebhookCreate, WebhookDelivery
from app.services import adoptions, api_keys, applications, innovations, responses, sessions, users, webhooks
from app.web.join import confirmation_check
from tests import authorisation_table as table
from tests.factories import APPLICATION as JOIN
from tests.factories import (
    admin_principal,
    make_application,
    make_challenge,
    make_innovation,
    make_key,
    make_world,
    principal_for,
    walk,
)

PASSWORD = "a long test password"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Who signs in to the pages: their organisation (an attribute of the World) and role.
PAGE_USERS: dict[str, tuple[str, Role]] = {
    "admin": ("exchange", Role.admin),
    "facilitator": ("network", Role.facilitator),
    "other_facilitator": ("other_network", Role.facilitator),
    "supplier": ("supplier", Role.member),
    "trust": ("trust", Role.member),
    "trust_admin": ("trust", Role.admin),
    "other_trust": ("other_trust", Role.member),
}


@dataclass
class Matrix:
    client: TestClient
    connection: Connection
    session: Session
    records: dict[str, str] = field(default_factory=dict)  # "@name" -> its id (or value)
    keys: dict[str, str | None] = field(default_factory=dict)  # API principal -> its key
    browsers: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)  # cookies, CSRF token
    admin: Principal | None = None  # the exchange's admin, for setting up


# --- the world ----------------------------------------------------------------


def build_world(session: Session, settings: Settings, matrix: Matrix) -> None:
    """make_world's exchange, plus a record of each kind the table names."""
    world = make_world(session)
    admin = matrix.admin = admin_principal(world.exchange)
    supplier = principal_for(session, world.keys["supplier"])
    second = make_innovation(session, world.supplier, name="Virtual ward kit")
    draft = make_innovation(session, world.supplier, name="Secret sensor", status="draft")
    challenge = make_challenge(session, world.trust)
    draft_challenge = make_challenge(session, world.trust, title="Secret need", status="draft")
    london_challenge = make_challenge(session, world.other_trust, title="Falls at home")

    walk(session, adoptions.get(session, admin, world.adoption.id), "needs_assessment", admin)
    transition = session.exec(select(Transition).where(Transition.adoption_id == world.adoption.id)).first()
    assert transition is not None

    response = responses.respond(
        session, supplier, challenge, ResponseCreate(innovation_id=world.innovation.id, pitch="It fits.")
    )
    shortlisted = responses.respond(
        session, supplier, challenge, ResponseCreate(innovation_id=second.id, pitch="It fits too.")
    )
    responses.move(session, admin, shortlisted, ResponseUpdate(status=ResponseStatus.shortlisted), None)

    spare = api_keys.authenticate(session, make_key(session, world.trust))
    revoked_secret = make_key(session, world.trust)
    revoked = session.get(ApiKey, api_keys.authenticate(session, revoked_secret).api_key_id)
    assert revoked is not None
    api_keys.revoke(session, admin, revoked, None)

    trust = principal_for(session, world.keys["trust"])
    webhook, _ = webhooks.subscribe(session, trust, WebhookCreate(url="http://127.0.0.1:9/hooks"), settings)
    innovations.archive(session, admin, make_innovation(session, world.supplier, name="Old kit"), None)
    webhooks.fan_out(session, settings)
    delivery = session.exec(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)).first()
    assert delivery is not None, "the trust's webhook has a delivery to redeliver"

    application = make_application(session, settings, client="203.0.113.1")
    asked = make_application(session, settings, client="203.0.113.2")
    applications.review(
        session,
        admin,
        asked,
        Review(status=ApplicationStatus.more_information_needed, message="Which wards?"),
        None,
    )
    accepted = make_application(
        session, settings, client="203.0.113.3", contact_email="pat@thermal.example.co.uk"
    )
    applications.accept(session, settings, admin, accepted, "Welcome.", None)

    trust_user = users.create(
        session,
        None,
        UserCreate(
            email="ward.clerk@example.nhs.uk",
            name="Ward Clerk",
            organisation_id=world.trust.id,
            role=Role.member,
        ),
        PASSWORD,
    )
    named: dict[str, Any] = {
        **{
            name: getattr(world, name) for name in ("exchange", "network", "supplier", "trust", "other_trust")
        },
        "innovation": world.innovation,
        "second_innovation": second,
        "draft_innovation": draft,
        "adoption": world.adoption,
        "challenge": challenge,
        "draft_challenge": draft_challenge,
        "london_challenge": london_challenge,
        "response": response.response,
        "shortlisted_response": shortlisted.response,
        "trust_spare_key": session.get(ApiKey, spare.api_key_id),
        "webhook": webhook,
        "application": application,
        "accepted_application": accepted,
        "trust_user": trust_user,
    }
    session.flush()
    for name, record in named.items():
        matrix.records[f"@{name}"] = str(record.id)
        if hasattr(record, "version"):
            matrix.records[f"@version:{name}"] = str(record.version)
    matrix.records.update(
        {
            "@transition": str(transition.id),
            "@delivery": str(delivery.id),
            "@reference": application.reference,
            "@asked_reference": asked.reference,
            "@applicant_email": JOIN["contact_email"],
            "@applied_check": confirmation_check(settings, application.reference, in_area=True),
        }
    )
    matrix.keys = {
        "anonymous": None,
        "revoked": revoked_secret,
        "read_only": world.keys["trust_read_only"],
        **{who: world.keys[who] for who in table.ACTORS},
    }
    for who, (org, role) in (*PAGE_USERS.items(), ("deactivated", ("trust", Role.member))):
        users.create(
            session,
            None,
            UserCreate(
                email=f"{who}@example.nhs.uk",
                name=who.title(),
                organisation_id=getattr(world, org).id,
                role=role,
            ),
            PASSWORD,
        )


def sign_in(client: TestClient, who: str | None) -> tuple[dict[str, str], str]:
    """A browser's cookies and its forms' CSRF token, signed in as `who`."""
    client.cookies.clear()
    page = client.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in page carries a CSRF token"
    token = match.group(1)
    if who is not None:
        data = {"email": f"{who}@example.nhs.uk", "password": PASSWORD, "csrf_token": token, "next": "/"}
        answer = client.post("/sign-in", data=data, follow_redirects=False)
        assert answer.status_code == 303, answer.text
    return dict(client.cookies.items()), token


def deactivate(matrix: Matrix, who: str) -> None:
    user = matrix.session.exec(select(User).where(User.email == f"{who}@example.nhs.uk")).one()
    assert matrix.admin is not None
    users.deactivate(matrix.session, matrix.admin, user, None)
    matrix.session.commit()


@pytest.fixture(scope="module")
def matrix(database: Database) -> Iterator[Matrix]:
    settings = database.settings.model_copy(
        update={
            "api_rate_limit": "100000/minute",
            "sign_in_rate_limit": "100000/minute",
            "hie_webhooks_allow_private": True,
        }
    )
    connection = database.write_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    app = create_app(settings, database)

    async def test_session(request: Request) -> AsyncIterator[Session]:
        session.commit()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[read_sessions] = lambda: lambda: nullcontext(session)
    try:
        with pytest.MonkeyPatch.context() as patch, TestClient(app, raise_server_exceptions=False) as client:
            # argon2's cost is for attackers, not for the matrix's dozen passwords.
            for module in (users, sessions):
                patch.setattr(module, "hasher", CHEAP_HASHER)
            matrix = Matrix(client, connection, session)
            build_world(session, settings, matrix)
            session.commit()
            for who in ("anonymous", *table.PAGE_ACTORS):
                matrix.browsers[who] = sign_in(client, None if who == "anonymous" else who)
            matrix.browsers["deactivated"] = sign_in(client, "deactivated")
            deactivate(matrix, "deactivated")
            yield matrix
    finally:
        session.close()
        outer.rollback()
        connection.close()


# --- the calls ----------------------------------------------------------------


def resolve(value: Any, records: dict[str, str]) -> Any:
    """Fill "@name" placeholders with the world's ids, versions and values."""
    if isinstance(value, str):
        return re.sub(r"(?<![\w.])@[\w:]+", lambda m: records[m[0]], value)
    if isinstance(value, dict):
        return {k: resolve(v, records) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, records) for v in value]
    return value


def outcome(answer: httpx2.Response) -> str:
    status = answer.status_code
    location = urlparse(answer.headers.get("location", ""))
    if 300 <= status < 400 and location.path == "/sign-in" and "next=" in location.query:
        return table.SIGN_IN
    if 200 <= status < 400:
        return table.OK
    if status in (409, 412, 422):
        return table.REFUSED
    return str(status)


def rolled_back(matrix: Matrix, send: Any) -> httpx2.Response:
    """One call, in a savepoint undone afterwards: the next call sees the same world."""
    savepoint = matrix.connection.begin_nested()
    try:
        return send()
    finally:
        if matrix.session.in_transaction():
            matrix.session.rollback()
        savepoint.rollback()
        matrix.session.expire_all()


def call_api(matrix: Matrix, row: table.Row, call: table.Call, who: str) -> httpx2.Response:
    key = matrix.keys[who]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if row.method != "GET":
        headers["If-Match"] = "*"  # any version: the matrix is about rights, not races
    url = resolve(row.path.format(**call.params), matrix.records) + resolve(call.query, matrix.records)
    body = resolve(call.json, matrix.records)
    matrix.client.cookies.clear()
    return matrix.client.request(row.method, url, headers=headers, json=body)


def call_page(matrix: Matrix, row: table.Row, call: table.Call, who: str) -> httpx2.Response:
    cookies, token = matrix.browsers[who]
    matrix.client.cookies.clear()
    for name, value in cookies.items():
        matrix.client.cookies.set(name, value)
    url = resolve(row.path.format(**call.params), matrix.records) + resolve(call.query, matrix.records)
    if row.method == "GET":
        return matrix.client.get(url, follow_redirects=False)
    form = resolve(call.form or {}, matrix.records)
    headers = {"X-CSRF-Token": token}
    return matrix.client.post(url, data=form, headers=headers, follow_redirects=False)


def cases(rows: tuple[table.Row, ...]) -> list[Any]:
    return [
        pytest.param(row, call, id=f"{row.method} {row.path} [{call.target}]")
        for row in rows
        for call in row.calls
    ]


def check(matrix: Matrix, row: table.Row, call: table.Call, expected: dict[str, str], send: Any) -> None:
    wrong = []
    for who, want in expected.items():
        answer = rolled_back(matrix, lambda who=who: send(matrix, row, call, who))
        got = outcome(answer)
        if got != want:
            wrong.append(f"{who}: expected {want}, got {got} ({answer.status_code}: {answer.text[:200]!r})")
    assert not wrong, f"{row.method} {row.path} [{call.target}]\n" + "\n".join(wrong)


@pytest.mark.parametrize(("row", "call"), cases(table.API_ROWS))
def test_api_operation(matrix: Matrix, row: table.Row, call: table.Call) -> None:
    check(matrix, row, call, table.api_expectations(row, call), call_api)


@pytest.mark.parametrize(("row", "call"), cases(table.PAGE_ROWS))
def test_page_action(matrix: Matrix, row: table.Row, call: table.Call) -> None:
    check(matrix, row, call, table.page_expectations(row, call), call_page)


# --- every route has a row ------------------------------------------------------


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves."""
    contexts = (
        routing.iter_route_contexts(app.routes) if hasattr(routing, "iter_route_contexts") else app.routes
    )
    for context in contexts:
        path = getattr(context, "path", None)
        for method in getattr(context, "methods", None) or ():
            if path and method != "HEAD":
                yield method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)  # "{id:uuid}" is "{id}"


def in_matrix(method: str, path: str) -> bool:
    """The API's operations, and every page and page action: all but the probes."""
    if path.startswith("/api/"):
        return path.startswith("/api/v1/")
    return path not in ("/healthz", "/readyz", "/openapi.json")


def test_every_route_has_a_row(matrix: Matrix) -> None:
    served = {route for route in app_routes(matrix.client.app) if in_matrix(*route)}  # type: ignore[arg-type]
    declared = [(row.method, row.path) for row in (*table.API_ROWS, *table.PAGE_ROWS)]
    assert len(declared) == len(set(declared)), "a route has two rows"
    assert served - set(declared) == set(), "routes without a row in tests/authorisation_table.py"
    assert set(declared) - served == set(), "rows for routes the app does not serve"
