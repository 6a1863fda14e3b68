"""The pages' "Download as CSV" links: the innovations list, the challenges
list and the board, each with the filters the person chose, read as leniently
as the page reads them, streamed by the API's machinery (app/api/exports.py)."""

from fastapi import APIRouter, Request, Response

from app.api.deps import SessionDep
from app.api.exports import ReadSessionsDep, csv_response
from app.services import adoptions, exports, pipeline
from app.web import board, challenges, innovations
from app.web.deps import WebPrincipalDep

router = APIRouter(prefix="/exports")


@router.get("/innovations.csv")
def export_innovations(
    request: Request, session: SessionDep, principal: WebPrincipalDep, sessions: ReadSessionsDep
) -> Response:
    filters = innovations.read_filters(request.query_params)
    export = exports.innovations_export(session, principal, filters)
    return csv_response(request, sessions, export, bom=True)


@router.get("/challenges.csv")
def export_challenges(
    request: Request, session: SessionDep, principal: WebPrincipalDep, sessions: ReadSessionsDep
) -> Response:
    filters = challenges.read_filters(request.query_params)
    export = exports.challenges_export(session, principal, filters)
    return csv_response(request, sessions, export, bom=True)


@router.get("/adoptions.csv")
def export_adoptions(
    request: Request, session: SessionDep, principal: WebPrincipalDep, sessions: ReadSessionsDep
) -> Response:
    """The board's adoptions: its filters are region, adopting organisation,
    the innovation's category and the innovation (by id or by name), and a
    column's link adds its stage."""
    chosen, _ = board.read_filters(request.query_params)
    stage = request.query_params.get("stage")
    filters = adoptions.AdoptionFilters(
        region=chosen.region,
        organisation_id=chosen.organisation_id,
        innovation_id=chosen.innovation_id,
        category=chosen.category,
        organisation_name=chosen.organisation_name,
        innovation_name=chosen.innovation_name,
        stage=stage if stage in pipeline.stages(session).by_key else None,
    )
    export = exports.adoptions_export(session, principal, filters)
    return csv_response(request, sessions, export, bom=True)
