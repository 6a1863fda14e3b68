"""The admins' pages: organisations and users. Only the exchange's admins
may open them; anyone else gets 403. Every rule stays in the services."""

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.api.deps import SessionDep
from app.errors import Conflict, Forbidden, PreconditionFailed, ValidationFailed
from app.models.organisation import Organisation, OrganisationCreate, OrganisationUpdate
from app.models.user import User, UserCreate
from app.models.vocabulary import OrganisationKind, Region, Role
from app.services import organisations, users
from app.services.pagination import PageRequest
from app.services.sessions import SignedIn
from app.web.deps import UserDep, safe_next
from app.web.forms import FormDep, error_list, errors_from, fields, opened_version, validate
from app.web.rendering import render

router = APIRouter(prefix="/admin")

PAGE_SIZE = 20

KIND_LABELS = {
    OrganisationKind.nhs_trust: "NHS trust",
    OrganisationKind.icb: "Integrated care board (ICB)",
    OrganisationKind.primary_care: "Primary care",
    OrganisationKind.social_care: "Social care",
    OrganisationKind.local_authority: "Local authority",
    OrganisationKind.health_innovation_network: "Health Innovation Network",
    OrganisationKind.supplier: "Supplier",
    OrganisationKind.academic: "Academic",
    OrganisationKind.charity: "Charity",
    OrganisationKind.other: "Other",
}
REGION_LABELS = {
    Region.north_east_and_yorkshire: "North East and Yorkshire",
    Region.north_west: "North West",
    Region.midlands: "Midlands",
    Region.east_of_england: "East of England",
    Region.london: "London",
    Region.south_east: "South East",
    Region.south_west: "South West",
}
ROLE_LABELS = {
    Role.admin: (
        "Admin",
        "The exchange's own team: every page, including organisations, users and API keys.",
    ),
    Role.facilitator: (
        "Facilitator",
        "Staff of a Health Innovation Network: they move adoptions in their network's region.",
    ),
    Role.member: (
        "Member",
        "Staff of an organisation: they work on its innovations, challenges and adoptions.",
    ),
}

ORGANISATION_FIELDS = ("name", "kind", "region", "ods_code", "external_ref")
ORGANISATION_LABELS = {
    "name": "the organisation's name",
    "kind": "the kind of organisation",
    "region": "the region",
    "ods_code": "the ODS code",
    "external_ref": "the external reference",
}
ODS_FORMAT = "Enter an ODS code of 3 to 10 capital letters and numbers, like RBQ"
USER_LABELS = {
    "name": "the person's full name",
    "email": "their email address",
    "organisation_id": "their organisation",
    "role": "a role",
    "password": "an initial password",
}


def require_admin(signed_in: UserDep) -> SignedIn:
    if not signed_in.principal.is_admin:
        raise Forbidden("Only the exchange's admins may use the admin pages.")
    return signed_in


AdminDep = Annotated[SignedIn, Depends(require_admin)]


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "region_labels": REGION_LABELS,
        "role_labels": ROLE_LABELS,
        "kind_options": [{"value": kind.value, "text": label} for kind, label in KIND_LABELS.items()],
        "region_options": [{"value": region.value, "text": label} for region, label in REGION_LABELS.items()],
    }


def _choice(value: str | None, allowed: type[OrganisationKind] | type[Region]) -> str | None:
    """A filter's value if it is one of the vocabulary's, else no filter."""
    return value if value in allowed.__members__ else None


# --- organisations -----------------------------------------------------------


@router.get("/organisations")
def organisation_list(
    request: Request,
    session: SessionDep,
    _: AdminDep,
    kind: str | None = None,
    region: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    saved: uuid.UUID | None = None,
) -> Response:
    filters = organisations.OrganisationFilters(
        kind=_choice(kind, OrganisationKind),
        region=_choice(region, Region),
        q=(q or "").strip()[:200] or None,
    )
    page = organisations.list_(session, filters, PageRequest(limit=PAGE_SIZE, cursor=cursor or None))
    query = {k: v for k, v in (("kind", filters.kind), ("region", filters.region), ("q", filters.q)) if v}
    saved_org = session.get(Organisation, saved) if saved else None
    context = {
        **_labels(),
        "filters": filters,
        "page": page,
        "first_url": "/admin/organisations" + (f"?{urlencode(query)}" if query else "") if cursor else None,
        "next_url": f"/admin/organisations?{urlencode({**query, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
        "saved": saved_org,
    }
    return render(request, "admin/organisations.html", context, fragment="results")


def _organisation_data(form: Any) -> dict[str, Any]:
    data = fields(form, blank_is_none=("region", "ods_code", "external_ref"))
    if isinstance(data.get("ods_code"), str):
        data["ods_code"] = data["ods_code"].upper()
    return {key: data.get(key) for key in ORGANISATION_FIELDS}


def _organisation_errors(errors: dict[str, str]) -> dict[str, str]:
    if "ods_code" in errors and not errors["ods_code"].startswith("Enter"):
        errors["ods_code"] = ODS_FORMAT
    if "kind" in errors:
        errors["kind"] = "Select the kind of organisation"
    if "region" in errors:
        errors["region"] = "Select a region, or no region"
    return errors


def _conflict_errors(exc: Conflict, data: dict[str, Any]) -> dict[str, str]:
    field = "ods_code" if data.get("ods_code") else "external_ref"
    return {field: exc.detail}


def _organisation_form(
    request: Request,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    org: Organisation | None = None,
    version: int | None = None,
    changes: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        **_labels(),
        "values": values,
        "errors": errors,
        "error_list": error_list(errors),
        "org": org,
        "heading": f"Edit {org.name}" if org else "Add an organisation",
        "version": version,
        "changes": changes or [],
    }
    return render(request, "admin/organisation_form.html", context, fragment="form", status_code=status_code)


@router.get("/organisations/new")
def new_organisation(request: Request, _: AdminDep) -> Response:
    return _organisation_form(request, values={"region": None}, errors={})


@router.post("/organisations/new")
def create_organisation(
    request: Request, session: SessionDep, signed_in: AdminDep, form: FormDep
) -> Response:
    data = _organisation_data(form)
    model, errors = validate(OrganisationCreate, data, ORGANISATION_LABELS)
    if model is not None:
        try:
            with session.begin_nested():
                org = organisations.create(session, signed_in.principal, model)
        except ValidationFailed as exc:
            errors = errors_from(exc, ORGANISATION_LABELS)
        except Conflict as exc:
            return _organisation_form(
                request, values=data, errors=_conflict_errors(exc, data), status_code=409
            )
        else:
            return RedirectResponse(f"/admin/organisations?saved={org.id}", status_code=303)
    return _organisation_form(request, values=data, errors=_organisation_errors(errors), status_code=422)


@router.get("/organisations/{organisation_id}/edit")
def edit_organisation(
    request: Request, session: SessionDep, _: AdminDep, organisation_id: uuid.UUID
) -> Response:
    org = organisations.get(session, organisation_id)
    values = {key: getattr(org, key) for key in ORGANISATION_FIELDS}
    return _organisation_form(request, values=values, errors={}, org=org, version=org.version)


def _changes(org: Organisation, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field where what they sent differs from what is there now."""
    changes = []
    for key in ORGANISATION_FIELDS:
        current = getattr(org, key)
        if (data.get(key) or None) != (current or None):
            changes.append({"field": key, "yours": data.get(key), "current": current})
    return changes


@router.post("/organisations/{organisation_id}/edit")
def update_organisation(
    request: Request, session: SessionDep, signed_in: AdminDep, organisation_id: uuid.UUID, form: FormDep
) -> Response:
    org = organisations.get(session, organisation_id, for_update=True)
    data = _organisation_data(form)
    version = opened_version(form)
    model, errors = validate(OrganisationUpdate, data, ORGANISATION_LABELS)
    if model is not None:
        try:
            with session.begin_nested():
                organisations.update(session, signed_in.principal, org, model, version)
        except PreconditionFailed:
            return _organisation_form(
                request,
                values=data,
                errors={},
                org=org,
                version=version,
                changes=_changes(org, data),
                status_code=412,
            )
        except ValidationFailed as exc:
            errors = errors_from(exc, ORGANISATION_LABELS)
        except Conflict as exc:
            return _organisation_form(
                request,
                values=data,
                errors=_conflict_errors(exc, data),
                org=org,
                version=version,
                status_code=409,
            )
        else:
            return RedirectResponse(f"/admin/organisations?saved={org.id}", status_code=303)
    return _organisation_form(
        request, values=data, errors=_organisation_errors(errors), org=org, version=version, status_code=422
    )


# --- users -------------------------------------------------------------------


@router.get("/users")
def user_list(
    request: Request,
    session: SessionDep,
    signed_in: AdminDep,
    cursor: str | None = None,
    saved: uuid.UUID | None = None,
) -> Response:
    page = users.list_(session, signed_in.principal, PageRequest(limit=PAGE_SIZE, cursor=cursor or None))
    return _user_list(request, session, page=page, cursor=cursor, saved=saved)


def _user_list(
    request: Request,
    session: Session,
    *,
    page: Any,
    cursor: str | None,
    saved: uuid.UUID | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    saved_user = session.get(User, saved) if saved else None
    back = "/admin/users" + (f"?{urlencode({'cursor': cursor})}" if cursor else "")
    context = {
        **_labels(),
        "page": page,
        "back": back,
        "first_url": "/admin/users" if cursor else None,
        "next_url": f"/admin/users?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None,
        "saved": saved_user,
        "problem": problem,
    }
    return render(request, "admin/users.html", context, fragment="results", status_code=status_code)


def _user_form(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        **_labels(),
        "values": values,
        "errors": errors,
        "error_list": error_list(errors),
        "organisation_options": [
            {"value": str(org_id), "text": name} for org_id, name in users.organisation_choices(session)
        ],
        "role_options": [
            {"value": role.value, "text": label, "hint": {"text": hint}}
            for role, (label, hint) in ROLE_LABELS.items()
        ],
    }
    return render(request, "admin/user_form.html", context, fragment="form", status_code=status_code)


@router.get("/users/new")
def new_user(
    request: Request, session: SessionDep, _: AdminDep, organisation_id: uuid.UUID | None = None
) -> Response:
    values = {"role": Role.member, "organisation_id": str(organisation_id) if organisation_id else None}
    return _user_form(request, session, values=values, errors={})


@router.post("/users/new")
def create_user(request: Request, session: SessionDep, signed_in: AdminDep, form: FormDep) -> Response:
    data = fields(form, blank_is_none=("organisation_id", "role"))
    password = form.get("password")
    password = password if isinstance(password, str) and password else None
    values = {key: data.get(key) for key in ("name", "email", "organisation_id", "role")}
    candidate = {key: value for key, value in values.items() if value is not None}
    model, errors = validate(UserCreate, candidate, USER_LABELS)
    if "email" in errors:
        errors["email"] = (
            "Enter an email address in the correct format, like name@example.nhs.uk"
            if values.get("email")
            else "Enter their email address"
        )
    if "organisation_id" in errors or values.get("organisation_id") is None:
        errors["organisation_id"] = "Select their organisation"
    if values.get("role") is None or "role" in errors:
        errors["role"] = "Select a role"
    if password is None:
        errors["password"] = "Enter an initial password"
    if model is not None and not errors:
        try:
            user = users.create(session, signed_in.principal, model, password)
        except ValidationFailed as exc:
            errors = errors_from(exc, USER_LABELS)
        except Conflict as exc:
            return _user_form(request, session, values=values, errors={"email": exc.detail}, status_code=409)
        else:
            return RedirectResponse(f"/admin/users?saved={user.id}", status_code=303)
    ordered: dict[str, str] = {
        key: errors[key] for key in ("name", "email", "organisation_id", "role", "password") if key in errors
    }
    return _user_form(request, session, values=values, errors={**ordered, **errors}, status_code=422)


def _set_active(
    request: Request, session: Session, signed_in: SignedIn, user_id: uuid.UUID, form: Any, active: bool
) -> Response:
    back = form.get("back")
    back = safe_next(back if isinstance(back, str) else None)
    if not back.startswith("/admin/users"):
        back = "/admin/users"
    user = users.get(session, signed_in.principal, user_id, for_update=True)
    verb = users.reactivate if active else users.deactivate
    try:
        verb(session, signed_in.principal, user, opened_version(form))
    except PreconditionFailed:
        page = users.list_(session, signed_in.principal, PageRequest(limit=PAGE_SIZE))
        problem = (
            f"{user.name}'s account was changed by someone else since you opened this page. "
            "The list below shows it as it is now: check it, then try again."
        )
        return _user_list(request, session, page=page, cursor=None, problem=problem, status_code=412)
    return RedirectResponse(back, status_code=303)


@router.post("/users/{user_id}/deactivate")
def deactivate_user(
    request: Request, session: SessionDep, signed_in: AdminDep, user_id: uuid.UUID, form: FormDep
) -> Response:
    return _set_active(request, session, signed_in, user_id, form, active=False)


@router.post("/users/{user_id}/reactivate")
def reactivate_user(
    request: Request, session: SessionDep, signed_in: AdminDep, user_id: uuid.UUID, form: FormDep
) -> Response:
    return _set_active(request, session, signed_in, user_id, form, active=True)
