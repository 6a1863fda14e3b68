from fastapi import APIRouter

from app.api.deps import PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.stage import StagePublic
from app.services import pipeline
from app.services.pagination import Page

router = APIRouter(prefix="/stages", tags=["pipeline"])


@router.get("", response_model=Page[StagePublic], responses=responses(403))
def list_stages(session: SessionDep, _: PrincipalDep) -> Page[StagePublic]:
    """The pipeline's stages in order, each with the gate items an adoption
    must show to enter it. Short and fixed, so all on one page: the shape of
    every list, with `next_cursor` always null."""
    return Page[StagePublic](items=pipeline.stages(session).public(), next_cursor=None)
