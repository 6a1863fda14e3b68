"""Webhook subscriptions: a partner's URL gets, as signed POSTs, the events
its organisation may see."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import IfMatchDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.config import Settings
from app.models.webhook import (
    DeliveryPublic,
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from app.services import webhooks
from app.services.pagination import Page

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

DELIVERY = """Each event is a `POST` of the event as `GET /api/v1/events` shows it,
with `Content-Type: application/json` and these headers:

- `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body under the
  subscription's secret. Compute it over the bytes received and compare in
  constant time before trusting the body.
- `X-HIE-Delivery`: the delivery's id, the same on every attempt of it (use
  it to drop repeats: delivery is at least once).
- `X-HIE-Event`: the event's type. `X-HIE-Timestamp`: this attempt's time, in Unix seconds.

Answer any 2xx within 10 seconds. Anything else, or no answer, is retried
with exponential backoff and jitter for 72 hours, then the delivery is marked
failed (redeliver it from the page or `POST .../redeliver`). The events of one
resource arrive in order: the next waits until the one before is delivered.
The URL must be `http` or `https` and resolve to public addresses only (checked
when subscribing and again before every delivery)."""


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


def load_webhook(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Webhook:
    return webhooks.get(session, principal, webhook_id, for_update=request.method not in ("GET", "HEAD"))


WebhookDep = Annotated[Webhook, Depends(load_webhook)]


@router.get("", response_model=Page[WebhookPublic], responses=responses(403))
def list_webhooks(
    session: SessionDep, principal: PrincipalDep, page: PageDep, organisation_id: uuid.UUID | None = None
) -> Page[WebhookPublic]:
    """Your organisation's subscriptions (admins: any organisation's)."""
    return webhooks.list_(session, principal, organisation_id, page)


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    responses={**responses(403), 201: {"headers": CREATED_HEADERS}},
    description="Subscribes a URL to the events your organisation may see, of the types given "
    '(`[]` or `["*"]`: all). The answer holds the signing `secret`, shown this once and never '
    "again.\n\n" + DELIVERY,
)
def create_webhook(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    body: WebhookCreate,
) -> WebhookCreated:
    webhook, secret = webhooks.subscribe(session, principal, body, settings)
    created(request, response, webhook, "get_webhook", webhook_id=webhook.id)
    return WebhookCreated(**webhooks.to_public(webhook).model_dump(), secret=secret)


@router.get(
    "/{webhook_id}",
    response_model=WebhookPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_webhook(response: Response, webhook: WebhookDep) -> WebhookPublic:
    tag(response, webhook)
    return webhooks.to_public(webhook)


@router.patch(
    "/{webhook_id}",
    response_model=WebhookPublic,
    responses={**responses(403, 404, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def update_webhook(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    webhook: WebhookDep,
    version: IfMatchDep,
    body: WebhookUpdate,
) -> WebhookPublic:
    """Change the URL or the event types, or pause (`"active": false`) and resume."""
    webhooks.update(session, principal, webhook, body, version, settings)
    tag(response, webhook)
    return webhooks.to_public(webhook)


@router.delete("/{webhook_id}", status_code=204, responses=responses(403, 404, 412, 428))
def delete_webhook(
    session: SessionDep, principal: PrincipalDep, webhook: WebhookDep, version: IfMatchDep
) -> None:
    """Unsubscribe: nothing more is sent, and its deliveries are forgotten."""
    webhooks.delete_(session, principal, webhook, version)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryPublic], responses=responses(403, 404))
def list_deliveries(
    session: SessionDep, webhook: WebhookDep, page: PageDep, status: DeliveryStatus | None = None
) -> Page[DeliveryPublic]:
    """Its deliveries, oldest first, with each one's last answer (`?status=failed` for those given up)."""
    return webhooks.list_deliveries(session, webhook, status, page)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    responses=responses(403, 404),
)
def redeliver(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    webhook: WebhookDep,
    delivery_id: uuid.UUID,
) -> DeliveryPublic:
    """Send a delivery again, now, with a fresh 72-hour retry window."""
    return webhooks.redeliver(session, principal, webhook, delivery_id, settings)
