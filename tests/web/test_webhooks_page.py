"""The webhooks page: an organisation's admin-role users and the exchange's
admins subscribe (the secret shown once), see recent deliveries with their
status codes, redeliver one and unsubscribe; no one else may."""

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models.webhook import Webhook, WebhookDelivery
from app.services import webhooks
from tests.factories import World
from tests.web.test_api_keys_page import beside, sign_in_as_trust_admin

SignIn = Callable[[str], str]
TARGET = "https://93.184.216.34/hie/events"


@pytest.fixture(autouse=True)
def private_refused(client: TestClient) -> None:
    app: Any = client.app
    app.state.settings = app.state.settings.model_copy(update={"hie_webhooks_allow_private": False})


def test_the_page_and_its_fragment(client: TestClient, sign_in: SignIn) -> None:
    sign_in("admin")
    page = client.get("/webhooks")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request"
    assert page.text.count("<h1") == 1 and "Add a webhook" in page.text
    assert 'href="/webhooks"' in page.text  # offered in the header
    fragment = client.get("/webhooks", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="webhooks"' in fragment.text


@pytest.mark.parametrize("who", ["trust", "supplier", "facilitator"])
def test_other_members_are_refused(client: TestClient, sign_in: SignIn, who: str) -> None:
    token = sign_in(who)
    assert client.get("/webhooks").status_code == 403
    assert client.post("/webhooks", data={"csrf_token": token, "url": TARGET}).status_code == 403


def test_subscribe_see_deliveries_redeliver_and_unsubscribe(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_as_trust_admin(client, session, world)
    answer = client.post(
        "/webhooks", data={"csrf_token": token, "url": TARGET, "event_types": "adoption.*, webhook.*"}
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    match = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', answer.text)
    assert match and "the only time the signing secret is shown" in answer.text
    secret = match.group(1)
    webhook = session.exec(select(Webhook).where(Webhook.organisation_id == world.trust.id)).one()
    assert webhook.secret == secret and webhook.event_types == ["adoption.*", "webhook.*"]

    settings: Any = client.app.state.settings  # type: ignore[attr-defined]
    webhooks.fan_out(session, settings)
    (claimed,) = webhooks.claim(session, settings, 10)  # its own webhook.created
    webhooks.settle(
        session, settings, [webhooks.Outcome(claimed.id, claimed.attempts, False, 502, "HTTP 502")]
    )
    page = client.get("/webhooks").text
    assert secret not in page and html.escape(TARGET) in page
    assert "HTTP 502" in page and "webhook.created" in page and "Pending" in page
    redeliver = f"/webhooks/{webhook.id}/deliveries/{claimed.id}/redeliver"
    assert f'action="{redeliver}"' in page
    again = client.post(redeliver, data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/webhooks?notice=redelivered"
    delivery = session.get(WebhookDelivery, claimed.id)
    assert delivery is not None
    session.refresh(delivery)
    assert delivery.status == "pending" and delivery.lease_until is None

    gone = client.post(
        f"/webhooks/{webhook.id}/delete", data={"csrf_token": token, "version": "1"}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert session.exec(select(Webhook).where(Webhook.id == webhook.id)).first() is None
    assert "has no webhooks yet" in client.get(gone.headers["location"]).text


def test_a_form_with_errors_comes_back_with_them(client: TestClient, sign_in: SignIn) -> None:
    token = sign_in("admin")
    inside = client.post("/webhooks", data={"csrf_token": token, "url": "http://127.0.0.1:9000/in"})
    assert inside.status_code == 422 and "There is a problem" in inside.text
    assert "internal address" in beside(inside.text, "url")
    typed = client.post("/webhooks", data={"csrf_token": token, "url": TARGET, "event_types": "Everything!"})
    assert typed.status_code == 422
    assert beside(typed.text, "event_types").startswith("Enter event types like adoption.stage_changed")
    assert 'value="Everything!"' in typed.text  # what they typed is kept


def test_a_stale_unsubscribe_is_412(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    client.post("/webhooks", data={"csrf_token": token, "url": TARGET})
    webhook = session.exec(select(Webhook)).first()
    assert webhook is not None
    stale = client.post(f"/webhooks/{webhook.id}/delete", data={"csrf_token": token, "version": "7"})
    assert stale.status_code == 412 and "changed by someone else" in stale.text
    assert session.get(Webhook, webhook.id) is not None
