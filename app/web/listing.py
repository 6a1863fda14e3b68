"""What the list and form pages of innovations and challenges share: filters
read leniently from the query string, keyset page links, and the names of
organisations to show beside records."""

import uuid
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlencode

from sqlmodel import Session, col, select

from app.errors import ValidationFailed
from app.models.organisation import Organisation, OrganisationPublic
from app.services import organisations
from app.services.pagination import MAX_LIMIT, Page, PageRequest

T = TypeVar("T")

MAX_QUERY = 200
# Enough organisations for a select; an exchange with more would want a search box instead.
MAX_CHOICES = 2000


def choice(value: str | None, vocabulary: type[StrEnum]) -> str | None:
    """A filter's value if it is one of the vocabulary's, else no filter."""
    return value if value in vocabulary.__members__ else None


def text(value: str | None, max_length: int = MAX_QUERY) -> str | None:
    value = (value or "").strip()[:max_length]
    return value or None


def url(path: str, params: Mapping[str, str | None]) -> str:
    """The path with only the params that have a value: a clean URL to share."""
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{path}?{query}" if query else path


def page_or_first(fetch: Callable[[PageRequest], Page[T]], cursor: str | None) -> tuple[Page[T], str | None]:
    """One page and its cursor; a cursor this service did not give out means the first page."""
    try:
        cursor = text(cursor, 500)
        return fetch(PageRequest(cursor=cursor)), cursor
    except ValidationFailed:
        return fetch(PageRequest()), None


def organisation_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted))
    ).all()
    return dict(rows)


def organisation_choices(
    session: Session, *, kind: str | None = None, exclude_kinds: tuple[str, ...] = ()
) -> list[OrganisationPublic]:
    """Organisations for a select, by name."""
    found: list[OrganisationPublic] = []
    page = PageRequest(limit=MAX_LIMIT)
    while len(found) < MAX_CHOICES:
        result = organisations.list_(session, organisations.OrganisationFilters(kind=kind), page)
        found.extend(org for org in result.items if org.kind not in exclude_kinds)
        if result.next_cursor is None:
            break
        page = PageRequest(limit=MAX_LIMIT, cursor=result.next_cursor)
    return sorted(found, key=lambda org: org.name.lower())


def status_text(count: int, noun: str, *, filtered: bool, more: bool) -> str:
    """What the results say, announced to screen readers as they change."""
    if count:
        plural = noun if count == 1 else f"{noun}s"
        text = f"{count} {plural} shown" + (" matching your search" if filtered else "")
        return text + (", with more on the next page" if more else "")
    return f"No {noun}s match your search" if filtered else f"There are no {noun}s yet"
