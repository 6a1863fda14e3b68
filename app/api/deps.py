"""The API's dependencies, as `Annotated` aliases routes declare."""

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth import Principal
from app.config import Settings
from app.db import Admission, Database
from app.errors import PreconditionRequired, Unauthenticated
from app.models import Challenge, Innovation, Organisation
from app.models.vocabulary import Scope
from app.request_info import settings_of
from app.services import adoptions, api_keys, challenges, innovations, organisations
from app.services.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: the route's services flush, and this
    commits once they succeed, before the response is sent, or rolls back.
    Reads take SQLite's read engine, writes its write engine."""
    database = get_database(request)
    write = request.method not in SAFE_METHODS
    async with _admission(request).admit(write=write):
        session = database.session(write=write)
        try:
            yield session
            if write and session.in_transaction():
                await run_in_threadpool(session.commit)
        finally:
            await run_in_threadpool(session.close)


def _admission(request: Request) -> Admission:
    # Made on first use, inside the event loop that serves the app.
    state = request.app.state
    if getattr(state, "admission", None) is None:
        state.admission = Admission(get_database(request))
    admission: Admission = state.admission
    return admission


def get_admission(request: Request) -> Admission:
    """The app's admission to the database, for work done outside the
    request's own session (a streamed export reads after it has closed)."""
    return _admission(request)


# "function" scope: the commit above happens before the response goes out,
# so a client never hears 2xx for a write that is not durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hie_...`")


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthenticated("Send an API key: `Authorization: Bearer <key>`.")
    principal = api_keys.authenticate(session, credentials.credentials)
    principal.require_scope(Scope.read if request.method in SAFE_METHODS else Scope.write)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the page before.")
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageDep = Annotated[PageRequest, Depends(page_request)]

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            max_length=100,
            description="The ETag last read; a stale one is refused with 412, none with 428.",
        ),
    ] = None,
) -> int | None:
    """The version the client last read; None for `If-Match: *` (any version)."""
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag you last read, so that no one's change is overwritten."
        )
    if if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    return int(match.group(1)) if match else -1


IfMatchDep = Annotated[int | None, Depends(expected_version)]


def _for_update(request: Request) -> bool:
    return request.method not in SAFE_METHODS


def load_organisation(
    request: Request, organisation_id: uuid.UUID, session: SessionDep, _: PrincipalDep
) -> Organisation:
    return organisations.get(session, organisation_id, for_update=_for_update(request))


def load_innovation(
    request: Request, innovation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Innovation:
    return innovations.get(session, principal, innovation_id, for_update=_for_update(request))


def load_challenge(
    request: Request, challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Challenge:
    return challenges.get(session, principal, challenge_id, for_update=_for_update(request))


def load_adoption(
    request: Request, adoption_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> adoptions.Loaded:
    return adoptions.get(session, principal, adoption_id, for_update=_for_update(request))


OrganisationDep = Annotated[Organisation, Depends(load_organisation)]
InnovationDep = Annotated[Innovation, Depends(load_innovation)]
ChallengeDep = Annotated[Challenge, Depends(load_challenge)]
AdoptionDep = Annotated[adoptions.Loaded, Depends(load_adoption)]
