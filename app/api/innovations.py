import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import IfMatchDep, InnovationDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.innovation import InnovationCreate, InnovationPublic, InnovationUpdate
from app.models.spread import SpreadPublic
from app.models.vocabulary import CareSetting, Category, InnovationStatus, Maturity
from app.services import innovations, spread
from app.services.pagination import Page

router = APIRouter(prefix="/innovations", tags=["innovations"])


@router.get("", response_model=Page[InnovationPublic], responses=responses(403))
def list_innovations(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search.")] = None,
    category: Category | None = None,
    care_setting: CareSetting | None = None,
    status: InnovationStatus | None = None,
    maturity: Maturity | None = None,
    supplier_id: uuid.UUID | None = None,
    origin_sector: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[InnovationPublic]:
    filters = innovations.InnovationFilters(
        q=q,
        category=category,
        care_setting=care_setting,
        status=status,
        maturity=maturity,
        supplier_id=supplier_id,
        origin_sector=origin_sector,
    )
    return innovations.list_(session, principal, filters, page)


@router.post(
    "",
    status_code=201,
    response_model=InnovationPublic,
    responses={**responses(403, 409), 201: {"headers": CREATED_HEADERS}},
)
def create_innovation(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep, body: InnovationCreate
) -> InnovationPublic:
    """The supplier itself, a facilitator or an admin."""
    innovation = innovations.create(session, principal, body)
    created(request, response, innovation, "get_innovation", innovation_id=innovation.id)
    return innovations.to_public(innovation)


@router.get(
    "/{innovation_id}",
    response_model=InnovationPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_innovation(response: Response, innovation: InnovationDep) -> InnovationPublic:
    tag(response, innovation)
    return innovations.to_public(innovation)


@router.patch(
    "/{innovation_id}",
    response_model=InnovationPublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def update_innovation(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    innovation: InnovationDep,
    version: IfMatchDep,
    body: InnovationUpdate,
) -> InnovationPublic:
    innovations.update(session, principal, innovation, body, version)
    tag(response, innovation)
    return innovations.to_public(innovation)


@router.delete(
    "/{innovation_id}",
    response_model=InnovationPublic,
    responses={**responses(403, 404, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def archive_innovation(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    innovation: InnovationDep,
    version: IfMatchDep,
) -> InnovationPublic:
    """Archives the innovation: records are never deleted, its history stays."""
    innovations.archive(session, principal, innovation, version)
    tag(response, innovation)
    return innovations.to_public(innovation)


@router.get("/{innovation_id}/spread", response_model=SpreadPublic, responses=responses(403, 404))
def get_spread(session: SessionDep, innovation: InnovationDep) -> SpreadPublic:
    return spread.spread(session, innovation)
