import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.api.deps import IfMatchDep, PageDep, PrincipalDep, SessionDep
from app.api.headers import CREATED_HEADERS, ETAG_HEADER, created, tag
from app.api.problems import responses
from app.models.api_key import ApiKey, ApiKeyCreate, ApiKeyIssued, ApiKeyPublic
from app.services import api_keys
from app.services.pagination import Page

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.get("", response_model=Page[ApiKeyPublic], responses=responses(403))
def list_api_keys(
    session: SessionDep, principal: PrincipalDep, page: PageDep, organisation_id: uuid.UUID | None = None
) -> Page[ApiKeyPublic]:
    """Your organisation's keys (admins: any organisation's)."""
    return api_keys.list_(session, principal, organisation_id, page)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyIssued,
    responses={**responses(403), 201: {"headers": CREATED_HEADERS}},
)
def issue_api_key(
    request: Request, response: Response, session: SessionDep, principal: PrincipalDep, body: ApiKeyCreate
) -> ApiKeyIssued:
    """Issues a key; its secret is in `key`, shown this once and never again."""
    api_key, secret = api_keys.issue(session, principal, body)
    created(request, response, api_key, "get_api_key", api_key_id=api_key.id)
    return ApiKeyIssued(**api_keys.to_public(api_key).model_dump(), key=secret)


def load_api_key(
    request: Request, api_key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ApiKey:
    return api_keys.get(session, principal, api_key_id, for_update=request.method != "GET")


ApiKeyDep = Annotated[ApiKey, Depends(load_api_key)]


@router.get(
    "/{api_key_id}",
    response_model=ApiKeyPublic,
    responses={**responses(403, 404), 200: {"headers": ETAG_HEADER}},
)
def get_api_key(response: Response, api_key: ApiKeyDep) -> ApiKeyPublic:
    tag(response, api_key)
    return api_keys.to_public(api_key)


@router.delete(
    "/{api_key_id}",
    response_model=ApiKeyPublic,
    responses={**responses(403, 404, 412, 428), 200: {"headers": ETAG_HEADER}},
)
def revoke_api_key(
    response: Response, session: SessionDep, principal: PrincipalDep, api_key: ApiKeyDep, version: IfMatchDep
) -> ApiKeyPublic:
    """Revokes the key at once; calls with it are then 401."""
    api_keys.revoke(session, principal, api_key, version)
    tag(response, api_key)
    return api_keys.to_public(api_key)
