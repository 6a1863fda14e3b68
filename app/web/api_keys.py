"""The API keys page: an organisation's admin-role users (and the exchange's
admins, for any organisation) issue keys, see them, and revoke them. A key's
secret is shown once, on the answer to issuing it, which no cache may keep."""

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.api.deps import SessionDep
from app.errors import Forbidden, NotFound, PreconditionFailed, ValidationFailed
from app.models.api_key import ApiKeyCreate
from app.models.vocabulary import Role, Scope
from app.services import api_keys, organisations, users
from app.services.pagination import PageRequest
from app.services.sessions import SignedIn
from app.web.deps import UserDep
from app.web.forms import FormDep, error_list, errors_from, fields, opened_version, validate
from app.web.rendering import NO_STORE, render

router = APIRouter()

PAGE_SIZE = 50
LABELS = {"name": "a name for the key", "scopes": "at least one scope", "organisation_id": "an organisation"}
SCOPE_LABELS = {
    Scope.read: ("Read", "See records, adoptions and the change feed."),
    Scope.write: ("Write", "Create and change records and move adoptions, as the organisation's people can."),
    Scope.admin: ("Admin", "Everything the exchange's admins can do. Only exchange admins issue these."),
}


def require_key_admin(signed_in: UserDep) -> SignedIn:
    """An organisation's admin-role users, and the exchange's admins."""
    if not (signed_in.user.role == Role.admin or signed_in.principal.is_admin):
        raise Forbidden("Only your organisation's admins manage its API keys.")
    return signed_in


KeyAdminDep = Annotated[SignedIn, Depends(require_key_admin)]


def _organisation_id(signed_in: SignedIn, wanted: uuid.UUID | None) -> uuid.UUID:
    """The organisation whose keys they work on: exchange admins choose, others have their own."""
    if signed_in.principal.is_admin and wanted is not None:
        return wanted
    return signed_in.organisation.id


def _page(
    request: Request,
    session: Session,
    signed_in: SignedIn,
    organisation_id: uuid.UUID,
    *,
    cursor: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    revoked: uuid.UUID | None = None,
    status_code: int = 200,
) -> Response:
    org = organisations.get(session, organisation_id)
    principal = signed_in.principal
    page = api_keys.list_(session, principal, org.id, PageRequest(limit=PAGE_SIZE, cursor=cursor or None))
    query = {"organisation_id": str(org.id)} if org.id != signed_in.organisation.id else {}
    offered = [Scope.read, Scope.write] + ([Scope.admin] if principal.is_admin else [])
    errors = errors or {}
    context = {
        "org": org,
        "page": page,
        "values": values or {"name": "", "scopes": [Scope.read.value]},
        "errors": errors,
        "error_list": error_list(errors),
        "problem": problem,
        "revoked": _revoked(session, signed_in, revoked),
        "scope_options": [
            {"value": scope.value, "text": SCOPE_LABELS[scope][0], "hint": {"text": SCOPE_LABELS[scope][1]}}
            for scope in offered
        ],
        "scope_labels": {scope.value: label for scope, (label, _) in SCOPE_LABELS.items()},
        "organisation_options": [
            {"value": str(org_id), "text": name} for org_id, name in users.organisation_choices(session)
        ]
        if principal.is_admin
        else [],
        "first_url": "/api-keys" + (f"?{urlencode(query)}" if query else "") if cursor else None,
        "next_url": f"/api-keys?{urlencode({**query, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
    }
    return render(request, "api_keys/index.html", context, fragment="keys", status_code=status_code)


def _revoked(session: Session, signed_in: SignedIn, key_id: uuid.UUID | None) -> Any:
    if key_id is None:
        return None
    try:
        return api_keys.get(session, signed_in.principal, key_id)
    except NotFound:
        return None


@router.get("/api-keys")
def api_key_page(
    request: Request,
    session: SessionDep,
    signed_in: KeyAdminDep,
    organisation_id: uuid.UUID | None = None,
    cursor: str | None = None,
    revoked: uuid.UUID | None = None,
) -> Response:
    org_id = _organisation_id(signed_in, organisation_id)
    return _page(request, session, signed_in, org_id, cursor=cursor, revoked=revoked)


@router.post("/api-keys")
def issue_api_key(request: Request, session: SessionDep, signed_in: KeyAdminDep, form: FormDep) -> Response:
    data = fields(form, lists=("scopes",), blank_is_none=("organisation_id",))
    try:
        wanted = uuid.UUID(data["organisation_id"]) if data.get("organisation_id") else None
    except ValueError:
        wanted = None
    org_id = _organisation_id(signed_in, wanted)
    values = {"name": data.get("name") or "", "scopes": data["scopes"]}
    model, errors = validate(ApiKeyCreate, {**values, "organisation_id": org_id}, LABELS)
    if "scopes" in errors:
        errors["scopes"] = "Select at least one scope"
    if model is not None:
        try:
            api_key, secret = api_keys.issue(session, signed_in.principal, model)
        except ValidationFailed as exc:
            errors = errors_from(exc, LABELS)
        else:
            org = organisations.get(session, api_key.organisation_id)
            context = {
                "org": org,
                "key": api_keys.to_public(api_key),
                "secret": secret,
                "scope_labels": {scope.value: label for scope, (label, _) in SCOPE_LABELS.items()},
                "back": "/api-keys"
                + (f"?organisation_id={org.id}" if org.id != signed_in.organisation.id else ""),
            }
            # The secret is in this answer and nowhere else: no cache, no history may keep it.
            return render(request, "api_keys/issued.html", context, headers=NO_STORE)
    return _page(request, session, signed_in, org_id, values=values, errors=errors, status_code=422)


@router.post("/api-keys/{api_key_id}/revoke")
def revoke_api_key(
    request: Request, session: SessionDep, signed_in: KeyAdminDep, api_key_id: uuid.UUID, form: FormDep
) -> Response:
    api_key = api_keys.get(session, signed_in.principal, api_key_id, for_update=True)
    try:
        api_keys.revoke(session, signed_in.principal, api_key, opened_version(form))
    except PreconditionFailed:
        problem = (
            f"The key “{api_key.name}” was changed by someone else since you opened this page "
            "(it may already be revoked). The list below shows it as it is now."
        )
        return _page(request, session, signed_in, api_key.organisation_id, problem=problem, status_code=412)
    query = {"revoked": str(api_key.id)}
    if api_key.organisation_id != signed_in.organisation.id:
        query["organisation_id"] = str(api_key.organisation_id)
    return RedirectResponse(f"/api-keys?{urlencode(query)}", status_code=303)
