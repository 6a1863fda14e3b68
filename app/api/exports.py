"""CSV exports: every innovation, challenge or adoption the caller may see
that passes the list's filters, streamed (app/services/exports.py)."""

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from app.api.deps import PrincipalDep, SessionDep, get_admission, get_database
from app.api.problems import responses
from app.models.vocabulary import CareSetting, Category, ChallengeStatus, InnovationStatus, Maturity, Region
from app.services import adoptions, challenges, exports, innovations

router = APIRouter(prefix="/exports", tags=["exports"])


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


def read_sessions(request: Request) -> exports.SessionOpener:
    """Sessions on the read engine, one per batch of an export: the request's
    own session is closed before the body is streamed."""
    return partial(get_database(request).session, write=False)


ReadSessionsDep = Annotated[exports.SessionOpener, Depends(read_sessions)]


def csv_response(
    request: Request, sessions: exports.SessionOpener, export: exports.Export, *, bom: bool = False
) -> CsvResponse:
    """The export as a download named for its kind and today's date."""
    filename = export.filename(datetime.now(UTC).date())
    body = exports.stream(sessions, get_admission(request), export, bom=bom)
    return CsvResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _documented(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        **responses(403),
        200: {
            "description": f"{what} as CSV (RFC 4180, UTF-8): a header row, then a row per record, "
            "in id order. Cells that a spreadsheet would run as a formula start with `'`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": '`attachment; filename="<kind>-<YYYY-MM-DD>.csv"`',
                    "schema": {"type": "string"},
                }
            },
        },
    }


@router.get("/innovations.csv", response_class=CsvResponse, responses=_documented("The innovations"))
def export_innovations(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    sessions: ReadSessionsDep,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    category: Category | None = None,
    care_setting: CareSetting | None = None,
    status: InnovationStatus | None = None,
    maturity: Maturity | None = None,
    supplier_id: uuid.UUID | None = None,
    origin_sector: Annotated[str | None, Query(max_length=100)] = None,
) -> CsvResponse:
    """Every innovation `GET /api/v1/innovations` would list with the same
    filters, on all its pages, streamed."""
    filters = innovations.InnovationFilters(
        q=q,
        category=category,
        care_setting=care_setting,
        status=status,
        maturity=maturity,
        supplier_id=supplier_id,
        origin_sector=origin_sector,
    )
    return csv_response(request, sessions, exports.innovations_export(session, principal, filters))


@router.get("/challenges.csv", response_class=CsvResponse, responses=_documented("The challenges"))
def export_challenges(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    sessions: ReadSessionsDep,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    status: ChallengeStatus | None = None,
    care_setting: CareSetting | None = None,
    category: Category | None = None,
    owner_id: uuid.UUID | None = None,
) -> CsvResponse:
    """Every challenge `GET /api/v1/challenges` would list with the same
    filters, on all its pages, streamed."""
    filters = challenges.ChallengeFilters(
        q=q, status=status, care_setting=care_setting, category=category, owner_id=owner_id
    )
    return csv_response(request, sessions, exports.challenges_export(session, principal, filters))


@router.get("/adoptions.csv", response_class=CsvResponse, responses=_documented("The adoptions"))
def export_adoptions(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    sessions: ReadSessionsDep,
    innovation_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    challenge_id: uuid.UUID | None = None,
    stage: str | None = None,
    region: Region | None = None,
    category: Annotated[Category | None, Query(description="A category of the innovation.")] = None,
) -> CsvResponse:
    """Every adoption `GET /api/v1/adoptions` would list with the same
    filters (and, as the board offers, the innovation's category), on all
    its pages, streamed: the caller's own, its innovations', or (for
    facilitators and admins) all."""
    filters = adoptions.AdoptionFilters(
        innovation_id=innovation_id,
        organisation_id=organisation_id,
        challenge_id=challenge_id,
        stage=stage,
        region=region,
        category=category,
    )
    return csv_response(request, sessions, exports.adoptions_export(session, principal, filters))
