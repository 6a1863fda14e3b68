"""Organisations: NHS trusts, ICBs, practices, suppliers, networks and the rest."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from app.auth import Principal
from app.errors import Forbidden, NotFound, ValidationFailed
from app.models.organisation import (
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
)
from app.services import events, records
from app.services.pagination import Page, PageRequest, keyset


@dataclass(frozen=True)
class OrganisationFilters:
    kind: str | None = None
    region: str | None = None
    q: str | None = None


def to_public(org: Organisation) -> OrganisationPublic:
    return OrganisationPublic.model_validate(org, from_attributes=True)


def get(session: Session, organisation_id: uuid.UUID, *, for_update: bool = False) -> Organisation:
    """`for_update` locks the row until the transaction ends, so that the
    version a writer checked is still the version it changes."""
    org = session.get(Organisation, organisation_id, with_for_update=for_update)
    if org is None:
        raise NotFound("organisation")
    return org


def require(session: Session, organisation_id: uuid.UUID, field: str) -> Organisation:
    """The organisation a request refers to, or a 422 on the field that named it."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise ValidationFailed.field(field, "No organisation with this id.")
    return org


def list_(session: Session, filters: OrganisationFilters, page: PageRequest) -> Page[OrganisationPublic]:
    stmt = select(Organisation)
    if filters.kind:
        stmt = stmt.where(Organisation.kind == filters.kind)
    if filters.region:
        stmt = stmt.where(Organisation.region == filters.region)
    if filters.q:
        stmt = stmt.where(func.lower(Organisation.name).contains(filters.q.lower(), autoescape=True))
    return keyset(session, stmt, col(Organisation.id), page, to_public)


def event_values(principal: Principal | None, type: str, org: Organisation) -> dict[str, Any]:
    """The event a change to `org` writes (the bulk import writes the same rows in bulk)."""
    return events.values(
        principal, type, ("organisation", org.id), records.public_json(OrganisationPublic, org)
    )


def _record(session: Session, principal: Principal | None, type: str, org: Organisation) -> None:
    events.add(session, event_values(principal, type, org))


def check_create(principal: Principal | None) -> None:
    """Admins create organisations; None is the command line."""
    if principal is not None:
        principal.require_admin()


def check_change(principal: Principal, org: Organisation) -> None:
    if not (principal.is_admin or principal.organisation_id == org.id):
        raise Forbidden("Only admins and the organisation itself may change it.")


def create(
    session: Session, principal: Principal | None, data: OrganisationCreate, *, is_exchange: bool = False
) -> Organisation:
    """Admins only; `principal` None is the command line, which alone may
    mark the exchange's own organisation."""
    check_create(principal)
    if principal is not None:
        is_exchange = False
    return add(session, principal, data, is_exchange=is_exchange)


def add(
    session: Session, actor: Principal | None, data: OrganisationCreate, *, is_exchange: bool = False
) -> Organisation:
    """Add one, for a caller that has decided who may (an accepted application)."""
    owner = actor.organisation_id if actor else None
    org = Organisation.model_validate(data, update={"owner_org_id": owner, "is_exchange": is_exchange})
    session.add(org)
    records.flush_unique(session, "An organisation with this ODS code or external_ref")
    _record(session, actor, "organisation.created", org)
    return org


def update(
    session: Session,
    principal: Principal,
    org: Organisation,
    data: OrganisationUpdate,
    expected_version: int | None,
) -> Organisation:
    check_change(principal, org)
    records.check_version(org, expected_version)
    if records.apply_changes(org, data.model_dump(exclude_unset=True)):
        records.touch(org)
        records.flush_unique(session, "An organisation with this ODS code or external_ref")
        _record(session, principal, "organisation.updated", org)
    return org
