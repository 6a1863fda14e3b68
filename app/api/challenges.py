import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ChallengeDep, IfMatchDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.challenge import ChallengeCreate, ChallengePublic, ChallengeUpdate
from app.models.vocabulary import CareSetting, Category, ChallengeStatus
from app.services import challenges
from app.services.pagination import Page

router = APIRouter(prefix="/challenges", tags=["challenges"])


@router.get("", response_model=Page[ChallengePublic], responses=responses(403))
def list_challenges(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    status: ChallengeStatus | None = None,
    care_setting: CareSetting | None = None,
    category: Category | None = None,
    owner_id: uuid.UUID | None = None,
) -> Page[ChallengePublic]:
    filters = challenges.ChallengeFilters(
        q=q, status=status, care_setting=care_setting, category=category, owner_id=owner_id
    )
    return challenges.list_(session, principal, filters, page)


@router.post(
    "",
    status_code=201,
    response_model=ChallengePublic,
    responses={**responses(403, 409), 201: {"headers": CREATED_HEADERS}},
)
def create_challenge(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep, body: ChallengeCreate
) -> ChallengePublic:
    """The owner organisation itself, a facilitator or an admin."""
    challenge = challenges.create(session, principal, body)
    created(request, response, challenge, "get_challenge", challenge_id=challenge.id)
    return challenges.to_public(challenge)


@router.get(
    "/{challenge_id}",
    response_model=ChallengePublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_challenge(response: Response, challenge: ChallengeDep) -> ChallengePublic:
    tag(response, challenge)
    return challenges.to_public(challenge)


@router.patch(
    "/{challenge_id}",
    response_model=ChallengePublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def update_challenge(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    challenge: ChallengeDep,
    version: IfMatchDep,
    body: ChallengeUpdate,
) -> ChallengePublic:
    challenges.update(session, principal, challenge, body, version)
    tag(response, challenge)
    return challenges.to_public(challenge)


@router.delete(
    "/{challenge_id}",
    response_model=ChallengePublic,
    responses={**responses(403, 404, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def withdraw_challenge(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    challenge: ChallengeDep,
    version: IfMatchDep,
) -> ChallengePublic:
    """Withdraws the challenge; it stays on record."""
    challenges.withdraw(session, principal, challenge, version)
    tag(response, challenge)
    return challenges.to_public(challenge)
