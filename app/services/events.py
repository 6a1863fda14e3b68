"""The event log: one row per change, written in the change's transaction.

The change feed reads it in id order, and a reader that has seen id N must
never later find an id below N. SQLite has one writer at a time, so ids are
given out in commit order. PostgreSQL gives ids from a sequence at insert,
not at commit: a reader may see 11 committed while 10 is still in flight,
move past 10 and never see it. So a transaction, before it writes its first
event, announces itself: it holds (until it ends) a shared advisory lock
whose key carries the sequence's value at that moment, below every id it
will get. A reader reads the sequence, then the announcements of the
transactions still in flight, and reads only events up to the smaller of
the two (`horizon`). Nothing waits on anything: writers take a lock no one
else asks for exclusively, and readers only look. bench/event_order.py
measures it against one global lock held until commit. The snapshot's xmin
would not do: an older transaction may commit a higher id while a younger
one still holds a lower id, and xmin order is not id order.
"""

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, false, or_, text, true
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app.auth import Principal
from app.models.base import utcnow
from app.models.event import Event, EventPublic, ResourceRef
from app.services.pagination import Page, PageRequest, keyset


def record(
    session: Session,
    actor: Principal | str | None,
    type: str,
    resource: tuple[str, uuid.UUID],
    data: BaseModel | dict[str, Any],
    *,
    restricted: bool = False,
    orgs: tuple[uuid.UUID | None, uuid.UUID | None] = (None, None),
) -> Event:
    """Write one event, by a principal, or by someone named only by a label
    (the applicant), or by the system (None). `restricted` events are seen only by facilitators,
    admins and the two organisations in `orgs` (an API key's by admins and
    its organisation only)."""
    return add(session, values(actor, type, resource, data, restricted=restricted, orgs=orgs))


def add(session: Session, row: dict[str, Any]) -> Event:
    """Write the event of `values`."""
    announce(session)
    event = Event(**row)
    session.add(event)
    return event


def values(
    actor: Principal | str | None,
    type: str,
    resource: tuple[str, uuid.UUID],
    data: BaseModel | dict[str, Any],
    *,
    restricted: bool = False,
    orgs: tuple[uuid.UUID | None, uuid.UUID | None] = (None, None),
) -> dict[str, Any]:
    """The columns of the event `record` writes: the bulk import inserts
    many such rows at once (app/services/imports.py)."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return {
        "type": type,
        "occurred_at": utcnow(),
        "actor": actor if isinstance(actor, str) else actor.label if actor else "system",
        "actor_org_id": actor.organisation_id if isinstance(actor, Principal) else None,
        "resource_type": resource[0],
        "resource_id": resource[1],
        "data": payload,
        "restricted": restricted,
        "subject_org_id": orgs[0],
        "related_org_id": orgs[1],
    }


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


# Advisory-lock keys of announcements: "HIE" in the top bytes, the sequence value below.
ANNOUNCE_KEY_BASE = 0x4849_4500_0000_0000
_ANNOUNCED = "events.announced_in"
_ANNOUNCE = text(
    "SELECT pg_advisory_xact_lock_shared(:base + coalesce(pg_sequence_last_value('events_id_seq'), 0))"
)
# The sequence first (in the fenced subquery), then, for that row, the
# announcements still held by other sessions of this database.
_HORIZON = text(
    """
    SELECT least(s.last_value, (
        SELECT min(((l.classid::bigint << 32) | l.objid::bigint) - :base)
        FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint >> 8 = :base >> 40
          AND s.last_value IS NOT NULL
    ))
    FROM (SELECT coalesce(pg_sequence_last_value('events_id_seq'), 0) AS last_value OFFSET 0) s
    """
)


def announce(session: OrmSession) -> None:
    """Call before inserting events (`add` does; a bulk insert of `values`
    rows must too). On PostgreSQL, once per transaction (or savepoint, whose
    rollback would release the lock): see the module's docstring."""
    if session.get_bind().dialect.name != "postgresql":
        return
    current = session.get_nested_transaction() or session.get_transaction()
    if current is not None and session.info.get(_ANNOUNCED) is current:
        return
    session.connection().execute(_ANNOUNCE, {"base": ANNOUNCE_KEY_BASE})
    session.info[_ANNOUNCED] = session.get_nested_transaction() or session.get_transaction()


@listens_for(OrmSession, "do_orm_execute")
def _announce_bulk_insert(state: ORMExecuteState) -> None:
    """A bulk `insert(Event)` (the import's) announces itself too."""
    if state.is_insert and state.bind_mapper is not None and state.bind_mapper.class_ is Event:
        announce(state.session)


def horizon(session: Session) -> int | None:
    """The highest event id below which no event can still appear; None on
    SQLite, where every committed event is already in order. Read it before
    the events, in a statement of its own (a later snapshot)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    value: int = session.execute(_HORIZON, {"base": ANNOUNCE_KEY_BASE}).scalar_one()
    return value


# Resources whose events only their organisation and admins see, facilitators included.
ORGANISATION_PRIVATE = ("api_key", "webhook")


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The events a principal may see (API.md): all that are not restricted;
    restricted ones when they concern its organisation; facilitators every
    restricted event but another organisation's keys and webhooks; admins all."""
    if principal.is_admin:
        return true()
    me = principal.organisation_id
    staff = col(Event.resource_type).not_in(ORGANISATION_PRIVATE) if principal.is_facilitator else false()
    return or_(
        col(Event.restricted).is_(False),
        col(Event.subject_org_id) == me,
        col(Event.related_org_id) == me,
        staff,
    )


def feed(
    session: Session, principal: Principal, page: PageRequest, after: int | None = None
) -> Page[EventPublic]:
    """Events oldest first, as far as the caller may see them, each once,
    in commit order: a reader following `after` never misses one."""
    stmt = select(Event).where(visible_to(principal))
    if after is not None:
        stmt = stmt.where(col(Event.id) > after)
    upto = horizon(session)
    if upto is not None:
        stmt = stmt.where(col(Event.id) <= upto)
    return keyset(session, stmt, col(Event.id), page, to_public, cursor_type=int)
