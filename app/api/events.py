from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import PageDep, PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.event import EventPublic
from app.services import events
from app.services.pagination import Page

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", response_model=Page[EventPublic], responses=responses(403))
def list_events(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    after: Annotated[int | None, Query(ge=0, description="Only events after this event id.")] = None,
) -> Page[EventPublic]:
    """The change feed, oldest first: every change the caller may see.
    Poll with `after` set to the last id you processed."""
    return events.feed(session, principal, page, after)
