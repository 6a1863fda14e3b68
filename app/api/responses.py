"""Responses to challenges: `/challenges/{id}/responses` and `/responses/{id}`."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import ChallengeDep, IfMatchDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.response import ResponseCreate, ResponsePublic, ResponseUpdate
from app.models.vocabulary import ResponseStatus
from app.services import responses as service
from app.services.pagination import Page

router = APIRouter(tags=["responses"])


def load_response(
    request: Request, response_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> service.Loaded:
    """A response the caller may see (404 otherwise), locked when it is to change."""
    return service.get(session, principal, response_id, for_update=request.method == "PATCH")


ResponseDep = Annotated[service.Loaded, Depends(load_response)]


@router.get(
    "/challenges/{challenge_id}/responses",
    response_model=Page[ResponsePublic],
    responses=responses(403, 404),
)
def list_responses(
    session: SessionDep,
    principal: PrincipalDep,
    challenge: ChallengeDep,
    page: PageDep,
    status: ResponseStatus | None = None,
) -> Page[ResponsePublic]:
    """The responses to the challenge: all of them for its owner, facilitators
    and admins; a supplier sees its own."""
    return service.list_for_challenge(session, principal, challenge, page, status)


@router.post(
    "/challenges/{challenge_id}/responses",
    status_code=201,
    response_model=ResponsePublic,
    responses={**responses(403, 404, 409), 201: {"headers": CREATED_HEADERS}},
)
def respond_to_challenge(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    challenge: ChallengeDep,
    body: ResponseCreate,
) -> ResponsePublic:
    """Puts a published innovation forward for an open challenge: its supplier,
    a facilitator or an admin. One response per innovation to a challenge (409)."""
    loaded = service.respond(session, principal, challenge, body)
    created(request, response, loaded.response, "get_response", response_id=loaded.response.id)
    return service.to_public(loaded.response)


@router.get(
    "/responses/{response_id}",
    response_model=ResponsePublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_response(response: Response, loaded: ResponseDep) -> ResponsePublic:
    """One response: seen by the supplier, the challenge owner, facilitators and admins."""
    tag(response, loaded.response)
    return service.to_public(loaded.response)


@router.patch(
    "/responses/{response_id}",
    response_model=ResponsePublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def move_response(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    loaded: ResponseDep,
    version: IfMatchDep,
    body: ResponseUpdate,
) -> ResponsePublic:
    """Shortlists, selects or declines it (the challenge owner, facilitators,
    admins; declining needs a `reason`), or withdraws it (the supplier).
    Declined and withdrawn come from `submitted` or `shortlisted`, selected
    only from `shortlisted`; any other move is 409. Selecting opens an
    adoption of the innovation at the challenge owner, linked to the
    challenge (or links the one it already has): see `adoption_id`."""
    service.move(session, principal, loaded, body, version)
    tag(response, loaded.response)
    return service.to_public(loaded.response)
