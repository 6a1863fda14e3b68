"""The audit trail: who changed what, read from the event log
(app/services/events.py), newest first, for the exchange's admins.

Pages are keyset-paginated on the event id going down, so a page costs the
same however far back it is and new events never shift the pages already
read. Every filter is optional and they combine."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from app.auth import Principal
from app.errors import Forbidden
from app.models.event import Event
from app.services.pagination import Page, PageRequest, decode_cursor, encode_cursor

# The kinds of record events are about (the first part of each event type).
RESOURCE_TYPES = (
    "adoption",
    "api_key",
    "application",
    "challenge",
    "innovation",
    "organisation",
    "response",
    "user",
    "webhook",
)


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None  # part of the actor's label: a name, an email address, a key's prefix
    organisation_id: uuid.UUID | None = None  # events by it, about its record, or concerning it
    event_type: str | None = None  # "adoption.stage_changed", or every type of a kind: "adoption.*"
    resource_type: str | None = None
    resource_id: uuid.UUID | None = None
    since: date | None = None  # from the start of this day (UTC)
    until: date | None = None  # to the end of this day (UTC)


def trail(session: Session, principal: Principal, filters: AuditFilters, page: PageRequest) -> Page[Event]:
    """One page of the events that pass the filters, newest first."""
    if not principal.is_admin:
        raise Forbidden("Only the exchange's admins may read the audit trail.")
    stmt = select(Event)
    for condition in _conditions(filters):
        stmt = stmt.where(condition)
    if page.cursor:
        stmt = stmt.where(col(Event.id) < decode_cursor(page.cursor, int))
    rows = list(session.exec(stmt.order_by(col(Event.id).desc()).limit(page.limit + 1)).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[Event](items=rows, next_cursor=encode_cursor(rows[-1].id) if more else None)


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.actor:
        conditions.append(col(Event.actor).icontains(filters.actor, autoescape=True))
    if filters.organisation_id:
        org = filters.organisation_id
        conditions.append(
            or_(
                col(Event.actor_org_id) == org,
                col(Event.resource_id) == org,  # the organisation's own record
                col(Event.subject_org_id) == org,
                col(Event.related_org_id) == org,
            )
        )
    if filters.event_type:
        if filters.event_type.endswith(".*"):
            conditions.append(col(Event.type).startswith(filters.event_type[:-1], autoescape=True))
        else:
            conditions.append(col(Event.type) == filters.event_type)
    if filters.resource_type:
        conditions.append(col(Event.resource_type) == filters.resource_type)
    if filters.resource_id:
        conditions.append(col(Event.resource_id) == filters.resource_id)
    if filters.since:
        conditions.append(col(Event.occurred_at) >= datetime.combine(filters.since, time.min, UTC))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC)
        conditions.append(col(Event.occurred_at) < end)
    return conditions
