"""Matches: the innovations that could answer a challenge, and the
challenges an innovation could answer, each with its score and reasons."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ChallengeDep, InnovationDep, SessionDep
from app.api.problems import responses
from app.models.match import (
    CHALLENGE_MATCH_EXAMPLE,
    INNOVATION_MATCH_EXAMPLE,
    ChallengeMatch,
    InnovationMatch,
)
from app.services import matching
from app.services.pagination import Page

router = APIRouter(tags=["matches"])


def _ranked(example: object) -> dict[int | str, dict[str, object]]:
    """An example answer: one ranked page."""
    body = {"items": [example], "next_cursor": None}
    return {200: {"content": {"application/json": {"example": body}}}}


Limit = Annotated[int, Query(ge=1, le=matching.MAX_LIMIT, description="How many matches, best first.")]


@router.get(
    "/challenges/{challenge_id}/matches",
    response_model=Page[InnovationMatch],
    responses={**responses(403, 404), **_ranked(INNOVATION_MATCH_EXAMPLE)},
)
def list_challenge_matches(
    session: SessionDep, challenge: ChallengeDep, limit: Limit = matching.DEFAULT_LIMIT
) -> Page[InnovationMatch]:
    """Published innovations that could answer the challenge, best fit first,
    each with its score and the reasons for it in plain words. One ranked
    page: `next_cursor` is always null."""
    return Page[InnovationMatch](
        items=matching.for_challenge(session, challenge, limit=limit), next_cursor=None
    )


@router.get(
    "/innovations/{innovation_id}/matches",
    response_model=Page[ChallengeMatch],
    responses={**responses(403, 404), **_ranked(CHALLENGE_MATCH_EXAMPLE)},
)
def list_innovation_matches(
    session: SessionDep, innovation: InnovationDep, limit: Limit = matching.DEFAULT_LIMIT
) -> Page[ChallengeMatch]:
    """Open challenges the innovation could answer, best fit first, each with
    its score and the reasons for it in plain words. One ranked page:
    `next_cursor` is always null."""
    return Page[ChallengeMatch](
        items=matching.for_innovation(session, innovation, limit=limit), next_cursor=None
    )
