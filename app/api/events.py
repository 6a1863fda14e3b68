from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import PageDep, PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.event import EventPublic
from app.services import events
from app.services.pagination import Page

router = APIRouter(prefix="/events", tags=["events"])

FEED = """The change feed: every change the caller may see, oldest first, each
event once, in the order the changes were committed.

Keep your own system in step by polling: remember the `id` of the last event
you processed and ask for `?after=<that id>` (with `limit` up to 100); when a
page comes back with fewer items than `limit` you are up to date, so wait a
little and ask again with the same `after`. Ids only grow and no event ever
appears later below an id you have already been given, so a reader that
follows `after` never misses one, however many writers there are (`cursor`
and `next_cursor` page the same way).

An event is `{"id", "type", "occurred_at", "actor", "resource": {"type",
"id"}, "data"}`; `data` is the resource as it was after the change. Types are
`<resource>.<verb>`, such as `innovation.created`, `adoption.stage_changed`
or `api_key.revoked`. You see the events of every record you may read:
adoptions' only if your organisation adopts or supplies them (every
facilitator and admin sees them all), your own organisation's keys and
webhooks (admins: everyone's).

A change still being committed holds back the events after it for as long as
it takes (a large import: its duration), so the newest events may appear a
moment late, but never out of order. To be told instead of polling, subscribe
a webhook (`POST /api/v1/webhooks`)."""


@router.get("", response_model=Page[EventPublic], responses=responses(403), description=FEED)
def list_events(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    after: Annotated[
        int | None, Query(ge=0, description="Only events after this event id: the last one you processed.")
    ] = None,
) -> Page[EventPublic]:
    return events.feed(session, principal, page, after)
