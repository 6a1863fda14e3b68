"""The audit trail page: who changed what, from the event log, for the
exchange's admins only (anyone else gets 403). A plain GET form filters it,
so it works without JavaScript; a filter that cannot be read is shown
beside its field and nothing is listed until it is put right."""

import json
import re
import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import SessionDep
from app.services import audit
from app.web import listing
from app.web.admin import AdminDep
from app.web.forms import error_list
from app.web.rendering import render

router = APIRouter(prefix="/admin")

PATH = "/admin/audit"
RESOURCES = audit.RESOURCE_TYPES
FIELDS = ("actor", "organisation_id", "event_type", "resource_type", "resource_id", "since", "until")
EVENT_TYPE = re.compile(r"[a-z_]{1,40}\.(\*|[a-z_]{1,60})")
MESSAGES = {
    "organisation_id": "Select an organisation from the list",
    "event_type": "Enter an event type like adoption.stage_changed, or adoption.* for all of a kind",
    "resource_id": "Enter a record's id in full, like 0192a5d0-7c1e-7a3b-9f00-3c4d5e6f7a8b",
    "since": "Enter the first day as a date, like 2026-11-01",
    "until": "Enter the last day as a date, like 2026-11-30",
}


def _read(params: dict[str, str]) -> tuple[audit.AuditFilters, dict[str, str]]:
    """The filters from the query string, and a message for each that cannot be read."""
    errors: dict[str, str] = {}

    def parse(field: str, convert: Any) -> Any:
        value = listing.text(params.get(field))
        if value is None:
            return None
        try:
            return convert(value)
        except ValueError:
            errors[field] = MESSAGES[field]
            return None

    def event_type(value: str) -> str:
        if not EVENT_TYPE.fullmatch(value):
            raise ValueError(value)
        return value

    kind = params.get("resource_type")
    filters = audit.AuditFilters(
        actor=listing.text(params.get("actor")),
        organisation_id=parse("organisation_id", uuid.UUID),
        event_type=parse("event_type", event_type),
        resource_type=kind if kind in RESOURCES else None,
        resource_id=parse("resource_id", uuid.UUID),
        since=parse("since", date.fromisoformat),
        until=parse("until", date.fromisoformat),
    )
    if filters.since and filters.until and filters.since > filters.until:
        errors["until"] = "The last day must be the same as or after the first day"
    return filters, errors


@router.get("/audit")
def audit_trail(request: Request, session: SessionDep, signed_in: AdminDep) -> Response:
    values = {field: request.query_params.get(field, "") for field in FIELDS}
    filters, errors = _read(values)
    page, cursor = None, None
    if not errors:
        page, cursor = listing.page_or_first(
            lambda wanted: audit.trail(session, signed_in.principal, filters, wanted),
            request.query_params.get("cursor"),
        )
    query: dict[str, str | None] = {field: value.strip() for field, value in values.items()}
    events = page.items if page else []
    context = {
        "values": values,
        "errors": errors,
        "error_list": error_list(errors),
        "page": page,
        "filtered": any(query.values()),
        "details": {event.id: json.dumps(event.data, indent=2, sort_keys=True) for event in events},
        "organisations": listing.organisation_names(session, [event.actor_org_id for event in events]),
        "organisation_options": [
            {"value": str(org.id), "text": org.name} for org in listing.organisation_choices(session)
        ],
        "resource_options": [
            {"value": kind, "text": kind.replace("_", " ")} for kind in audit.RESOURCE_TYPES
        ],
        "first_url": listing.url(PATH, query) if cursor else None,
        "next_url": listing.url(PATH, {**query, "cursor": page.next_cursor})
        if page and page.next_cursor
        else None,
    }
    return render(request, "admin/audit.html", context, status_code=422 if errors else 200)
