from fastapi import APIRouter

from app.api.deps import PrincipalDep, SessionDep
from app.api.problems import responses
from app.models.stage import StagePublic
from app.services import pipeline

router = APIRouter(prefix="/stages", tags=["pipeline"])


@router.get("", response_model=list[StagePublic], responses=responses(403))
def list_stages(session: SessionDep, _: PrincipalDep) -> list[StagePublic]:
    """The pipeline's stages in order, each with the gate items an adoption
    must show to enter it. Short and fixed, so not paginated."""
    return pipeline.stages(session).public()
