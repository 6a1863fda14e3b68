"""The event log: one row per change, written in the change's transaction."""

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import false, or_
from sqlmodel import Session, col, select

from app.auth import Principal
from app.models.event import Event, EventPublic, ResourceRef
from app.services.pagination import Page, PageRequest, keyset


def record(
    session: Session,
    actor: Principal | None,
    type: str,
    resource: tuple[str, uuid.UUID],
    data: BaseModel | dict[str, Any],
    *,
    restricted: bool = False,
    orgs: tuple[uuid.UUID | None, uuid.UUID | None] = (None, None),
) -> Event:
    """Write one event. `restricted` events are seen only by facilitators,
    admins and the two organisations in `orgs` (an API key's by admins and
    its organisation only)."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    event = Event(
        type=type,
        actor=actor.label if actor else "system",
        actor_org_id=actor.organisation_id if actor else None,
        resource_type=resource[0],
        resource_id=resource[1],
        data=payload,
        restricted=restricted,
        subject_org_id=orgs[0],
        related_org_id=orgs[1],
    )
    session.add(event)
    return event


def to_public(event: Event) -> EventPublic:
    assert event.id is not None
    return EventPublic(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        actor=event.actor,
        resource=ResourceRef(type=event.resource_type, id=event.resource_id),
        data=event.data,
    )


def feed(
    session: Session, principal: Principal, page: PageRequest, after: int | None = None
) -> Page[EventPublic]:
    """Events oldest first, as far as the caller may see them."""
    stmt = select(Event)
    if after is not None:
        stmt = stmt.where(col(Event.id) > after)
    if not principal.is_admin:
        me = principal.organisation_id
        # Facilitators see every restricted event but another organisation's
        # keys, which only that organisation and admins see (API.md).
        staff = col(Event.resource_type) != "api_key" if principal.is_facilitator else false()
        stmt = stmt.where(
            or_(
                col(Event.restricted).is_(False),
                col(Event.subject_org_id) == me,
                col(Event.related_org_id) == me,
                staff,
            )
        )
    return keyset(session, stmt, col(Event.id), page, to_public, cursor_type=int)
