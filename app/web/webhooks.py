"""The webhooks page: an organisation's admin-role users (and the exchange's
admins, for any organisation) subscribe URLs to the organisation's events,
see each subscription's recent deliveries with the answers they got,
redeliver one, and unsubscribe. The signing secret is shown once, on the
answer to subscribing, which no cache may keep."""

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.api.deps import SessionDep
from app.config import Settings
from app.errors import NotFound, PreconditionFailed, ValidationFailed
from app.models.webhook import WebhookCreate
from app.services import organisations, users, webhooks
from app.services.pagination import PageRequest
from app.services.sessions import SignedIn
from app.web.api_keys import KeyAdminDep
from app.web.forms import FormDep, error_list, errors_from, fields, opened_version, stripped, validate
from app.web.rendering import NO_STORE, render

router = APIRouter()

PAGE_SIZE = 20
RECENT = 10
LABELS = {"url": "the URL to send events to", "event_types": "the event types"}
EVENT_TYPES_MESSAGE = (
    "Enter event types like adoption.stage_changed or adoption.*, separated by commas, or leave it empty"
)
STATUS_COLOURS = {"delivered": "green", "pending": "yellow", "failed": "red"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _organisation_id(signed_in: SignedIn, wanted: uuid.UUID | None) -> uuid.UUID:
    """Exchange admins choose an organisation; others have their own."""
    if signed_in.principal.is_admin and wanted is not None:
        return wanted
    return signed_in.organisation.id


def _here(signed_in: SignedIn, organisation_id: uuid.UUID, **query: str) -> str:
    if organisation_id != signed_in.organisation.id:
        query = {"organisation_id": str(organisation_id), **query}
    return "/webhooks" + (f"?{urlencode(query)}" if query else "")


def _page(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    organisation_id: uuid.UUID,
    *,
    cursor: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    org = organisations.get(session, organisation_id)
    principal = signed_in.principal
    page = webhooks.list_(session, principal, org.id, PageRequest(limit=PAGE_SIZE, cursor=cursor or None))
    errors = errors or {}
    context = {
        "org": org,
        "page": page,
        "deliveries": webhooks.recent_deliveries(session, [w.id for w in page.items], RECENT),
        "status_colours": STATUS_COLOURS,
        "values": values or {"url": "", "event_types": ""},
        "errors": errors,
        "error_list": error_list(errors),
        "problem": problem,
        "notice": notice,
        "here": _here(signed_in, org.id),
        "organisation_options": [
            {"value": str(org_id), "text": name} for org_id, name in users.organisation_choices(session)
        ]
        if principal.is_admin
        else [],
        "first_url": _here(signed_in, org.id) if cursor else None,
        "next_url": _here(signed_in, org.id, cursor=page.next_cursor) if page.next_cursor else None,
    }
    return render(request, "webhooks/index.html", context, fragment="webhooks", status_code=status_code)


@router.get("/webhooks")
def webhooks_page(
    request: Request,
    session: SessionDep,
    signed_in: KeyAdminDep,
    organisation_id: uuid.UUID | None = None,
    cursor: str | None = None,
    notice: str | None = None,
) -> Response:
    org_id = _organisation_id(signed_in, organisation_id)
    shown = {"redelivered": "The delivery will be sent again in a moment.", "deleted": "Unsubscribed."}
    return _page(request, session, signed_in, org_id, cursor=cursor, notice=shown.get(notice or ""))


def _event_types(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


@router.post("/webhooks")
def subscribe(request: Request, session: SessionDep, signed_in: KeyAdminDep, form: FormDep) -> Response:
    data = fields(form, blank_is_none=("organisation_id",))
    try:
        wanted = uuid.UUID(data["organisation_id"]) if data.get("organisation_id") else None
    except ValueError:
        wanted = None
    org_id = _organisation_id(signed_in, wanted)
    values = {"url": stripped(form, "url"), "event_types": stripped(form, "event_types")}
    types = _event_types(values["event_types"])
    body = {"url": values["url"], "event_types": types, "organisation_id": org_id}
    model, errors = validate(WebhookCreate, body, LABELS)
    if "event_types" in errors:
        errors["event_types"] = EVENT_TYPES_MESSAGE
    if model is not None:
        try:
            webhook, secret = webhooks.subscribe(session, signed_in.principal, model, _settings(request))
        except ValidationFailed as exc:
            errors = errors_from(exc, LABELS)
        else:
            context = {
                "org": organisations.get(session, webhook.organisation_id),
                "webhook": webhooks.to_public(webhook),
                "secret": secret,
                "back": _here(signed_in, webhook.organisation_id),
            }
            # The secret is in this answer and nowhere else: no cache, no history may keep it.
            return render(request, "webhooks/created.html", context, headers=NO_STORE)
    return _page(request, session, signed_in, org_id, values=values, errors=errors, status_code=422)


@router.post("/webhooks/{webhook_id}/delete")
def unsubscribe(
    request: Request, session: SessionDep, signed_in: KeyAdminDep, webhook_id: uuid.UUID, form: FormDep
) -> Response:
    webhook = webhooks.get(session, signed_in.principal, webhook_id, for_update=True)
    try:
        webhooks.delete_(session, signed_in.principal, webhook, opened_version(form))
    except PreconditionFailed:
        problem = (
            f"The subscription to {webhook.url} was changed by someone else since you opened this page. "
            "The list below shows it as it is now; unsubscribe again if you still mean to."
        )
        return _page(request, session, signed_in, webhook.organisation_id, problem=problem, status_code=412)
    return RedirectResponse(_here(signed_in, webhook.organisation_id, notice="deleted"), status_code=303)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request,
    session: SessionDep,
    signed_in: KeyAdminDep,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    _: FormDep,
) -> Response:
    webhook = webhooks.get(session, signed_in.principal, webhook_id)
    try:
        webhooks.redeliver(session, signed_in.principal, webhook, delivery_id, _settings(request))
    except NotFound:
        problem = "That delivery is no longer kept. The list below shows the deliveries as they are now."
        return _page(request, session, signed_in, webhook.organisation_id, problem=problem, status_code=404)
    return RedirectResponse(_here(signed_in, webhook.organisation_id, notice="redelivered"), status_code=303)
