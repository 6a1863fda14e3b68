from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import IfMatchDep, OrganisationDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.organisation import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from app.models.vocabulary import OrganisationKind, Region
from app.services import organisations
from app.services.pagination import Page

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", response_model=Page[OrganisationPublic], responses=responses(403))
def list_organisations(
    session: SessionDep,
    _: PrincipalDep,
    page: PageDep,
    kind: OrganisationKind | None = None,
    region: Region | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in the name.")] = None,
) -> Page[OrganisationPublic]:
    filters = organisations.OrganisationFilters(kind=kind, region=region, q=q)
    return organisations.list_(session, filters, page)


@router.post(
    "",
    status_code=201,
    response_model=OrganisationPublic,
    responses={**responses(403, 409), 201: {"headers": CREATED_HEADERS}},
)
def create_organisation(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    body: OrganisationCreate,
) -> OrganisationPublic:
    """Admins only."""
    org = organisations.create(session, principal, body)
    created(request, response, org, "get_organisation", organisation_id=org.id)
    return organisations.to_public(org)


@router.get(
    "/{organisation_id}",
    response_model=OrganisationPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_organisation(response: Response, org: OrganisationDep) -> OrganisationPublic:
    tag(response, org)
    return organisations.to_public(org)


@router.patch(
    "/{organisation_id}",
    response_model=OrganisationPublic,
    responses={**responses(403, 404, 409, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def update_organisation(
    response: Response,
    session: SessionDep,
    principal: PrincipalDep,
    org: OrganisationDep,
    version: IfMatchDep,
    body: OrganisationUpdate,
) -> OrganisationPublic:
    """Admins, or the organisation itself."""
    organisations.update(session, principal, org, body, version)
    tag(response, org)
    return organisations.to_public(org)
