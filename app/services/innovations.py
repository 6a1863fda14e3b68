"""Innovation records, kept by suppliers (and facilitators and admins)."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_
from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Forbidden, NotFound
from app.models.innovation import (
    Innovation,
    InnovationCreate,
    InnovationFacet,
    InnovationPublic,
    InnovationUpdate,
)
from app.models.vocabulary import InnovationStatus, OrganisationKind
from app.services import events, facets, organisations, records, search
from app.services.pagination import Page, PageRequest, keyset

REF = "An innovation with this external_ref"


@dataclass(frozen=True)
class InnovationFilters:
    q: str | None = None
    category: str | None = None
    care_setting: str | None = None
    status: str | None = None
    maturity: str | None = None
    supplier_id: uuid.UUID | None = None
    origin_sector: str | None = None


def to_public(innovation: Innovation) -> InnovationPublic:
    return InnovationPublic.model_validate(innovation, from_attributes=True)


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    """Drafts are seen by their supplier, facilitators and admins."""
    if principal.is_exchange_staff:
        return None
    return or_(
        col(Innovation.status) != InnovationStatus.draft,
        col(Innovation.supplier_id) == principal.organisation_id,
    )


def can_see(principal: Principal, innovation: Innovation) -> bool:
    return (
        innovation.status != InnovationStatus.draft
        or principal.is_exchange_staff
        or principal.organisation_id == innovation.supplier_id
    )


def can_change(principal: Principal, innovation: Innovation) -> bool:
    return principal.is_exchange_staff or principal.organisation_id == innovation.supplier_id


def get(
    session: Session, principal: Principal, innovation_id: uuid.UUID, *, for_update: bool = False
) -> Innovation:
    innovation = session.get(Innovation, innovation_id, with_for_update=for_update)
    if innovation is None or not can_see(principal, innovation):
        raise NotFound("innovation")
    return innovation


def list_(
    session: Session, principal: Principal, filters: InnovationFilters, page: PageRequest
) -> Page[InnovationPublic]:
    return keyset(session, query(session, principal, filters), col(Innovation.id), page, to_public)


def query(session: Session, principal: Principal, filters: InnovationFilters) -> Select[Any]:
    """The innovations `principal` may see that pass `filters`, unordered: the
    one statement the list and the CSV export (app/services/exports.py) share."""
    stmt = select(Innovation)
    visible = _visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    for field in ("status", "maturity", "supplier_id", "origin_sector"):
        value = getattr(filters, field)
        if value is not None:
            stmt = stmt.where(getattr(Innovation, field) == value)
    for facet in ("category", "care_setting"):
        value = getattr(filters, facet)
        if value is not None:
            stmt = stmt.where(facets.has(InnovationFacet, "innovation_id", Innovation.id, facet, value))
    if filters.q:
        stmt = stmt.where(search.matches(session, "innovations", filters.q))
    return stmt


# Fields kept as JSON or text: nested models and URLs are stored in JSON form.
JSON_FIELDS = {"evidence", "regulatory", "website"}


def stored_values(data: InnovationCreate | InnovationUpdate, *, partial: bool) -> dict[str, Any]:
    """The column values `data` sets (all of them, or only those it gives when `partial`)."""
    values = data.model_dump(exclude_unset=partial)
    json_fields = JSON_FIELDS & values.keys()
    values.update(data.model_dump(mode="json", include=json_fields, exclude_unset=partial))
    return values


def event_values(principal: Principal, type: str, innovation: Innovation) -> dict[str, Any]:
    """The event a change to `innovation` writes (the bulk import writes the same rows in bulk)."""
    # A draft's events are seen by those who see the draft: its supplier, facilitators, admins.
    return events.values(
        principal,
        type,
        ("innovation", innovation.id),
        records.public_json(InnovationPublic, innovation),
        restricted=innovation.status == InnovationStatus.draft,
        orgs=(innovation.supplier_id, None),
    )


def _record(session: Session, principal: Principal, type: str, innovation: Innovation) -> None:
    events.add(session, event_values(principal, type, innovation))


def check_create(principal: Principal, supplier_id: uuid.UUID) -> None:
    # Innovators are suppliers (DOMAIN.md): an NHS trust does not add innovations of its own.
    own = principal.organisation_id == supplier_id
    own = own and principal.organisation_kind == OrganisationKind.supplier
    if not (principal.is_exchange_staff or own):
        raise Forbidden("A supplier creates innovations for itself; facilitators and admins for anyone.")


def check_change(principal: Principal, innovation: Innovation) -> None:
    if not can_change(principal, innovation):
        raise Forbidden("Only the supplier, facilitators and admins change an innovation.")


def check_new_supplier(principal: Principal) -> None:
    if not principal.is_exchange_staff:
        raise Forbidden("Only facilitators and admins move an innovation to another supplier.")


def create(session: Session, principal: Principal, data: InnovationCreate) -> Innovation:
    organisations.require(session, data.supplier_id, "body.supplier_id")
    check_create(principal, data.supplier_id)
    values = stored_values(data, partial=False)
    innovation = Innovation(**values, owner_org_id=principal.organisation_id)
    session.add(innovation)
    records.flush_unique(session, REF)
    facets.sync(session, InnovationFacet, "innovation_id", innovation)
    _record(session, principal, "innovation.created", innovation)
    return innovation


def update(
    session: Session,
    principal: Principal,
    innovation: Innovation,
    data: InnovationUpdate,
    expected_version: int | None,
) -> Innovation:
    check_change(principal, innovation)
    changes = stored_values(data, partial=True)
    if "supplier_id" in changes:
        organisations.require(session, changes["supplier_id"], "body.supplier_id")
        check_new_supplier(principal)
    records.check_version(innovation, expected_version)
    changed = records.apply_changes(innovation, changes)
    if changed:
        records.touch(innovation)
        records.flush_unique(session, REF)
        if set(changed) & set(facets.FACETS):
            facets.sync(session, InnovationFacet, "innovation_id", innovation)
        _record(session, principal, "innovation.updated", innovation)
    return innovation


def archive(
    session: Session, principal: Principal, innovation: Innovation, expected_version: int | None
) -> Innovation:
    if not can_change(principal, innovation):
        raise Forbidden("Only the supplier, facilitators and admins archive an innovation.")
    records.check_version(innovation, expected_version)
    if innovation.status != InnovationStatus.archived:
        innovation.status = InnovationStatus.archived
        records.touch(innovation)
        session.flush()
        _record(session, principal, "innovation.archived", innovation)
    return innovation


def origin_sectors(session: Session, principal: Principal) -> list[str]:
    """The sectors the innovations the caller may see come from, for a filter."""
    stmt = select(Innovation.origin_sector).where(col(Innovation.origin_sector).is_not(None)).distinct()
    visible = _visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return sorted({sector for sector in session.exec(stmt).all() if sector}, key=str.lower)
