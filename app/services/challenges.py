"""Challenges: needs posted by NHS and care organisations."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_
from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Forbidden, NotFound, ValidationFailed
from app.models.challenge import (
    Challenge,
    ChallengeCreate,
    ChallengeFacet,
    ChallengePublic,
    ChallengeUpdate,
    check_ranges,
)
from app.models.vocabulary import ChallengeStatus, OrganisationKind
from app.services import events, facets, organisations, records, search
from app.services.pagination import Page, PageRequest, keyset

REF = "A challenge with this external_ref"


@dataclass(frozen=True)
class ChallengeFilters:
    q: str | None = None
    status: str | None = None
    care_setting: str | None = None
    category: str | None = None
    owner_id: uuid.UUID | None = None


def to_public(challenge: Challenge) -> ChallengePublic:
    return ChallengePublic.model_validate(challenge, from_attributes=True)


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    """Drafts are seen by their owner, facilitators and admins."""
    if principal.is_exchange_staff:
        return None
    return or_(
        col(Challenge.status) != ChallengeStatus.draft,
        col(Challenge.owner_id) == principal.organisation_id,
    )


def can_see(principal: Principal, challenge: Challenge) -> bool:
    return (
        challenge.status != ChallengeStatus.draft
        or principal.is_exchange_staff
        or principal.organisation_id == challenge.owner_id
    )


def can_change(principal: Principal, challenge: Challenge) -> bool:
    return principal.is_exchange_staff or principal.organisation_id == challenge.owner_id


def get(
    session: Session, principal: Principal, challenge_id: uuid.UUID, *, for_update: bool = False
) -> Challenge:
    challenge = session.get(Challenge, challenge_id, with_for_update=for_update)
    if challenge is None or not can_see(principal, challenge):
        raise NotFound("challenge")
    return challenge


def list_(
    session: Session, principal: Principal, filters: ChallengeFilters, page: PageRequest
) -> Page[ChallengePublic]:
    return keyset(session, query(session, principal, filters), col(Challenge.id), page, to_public)


def query(session: Session, principal: Principal, filters: ChallengeFilters) -> Select[Any]:
    """The challenges `principal` may see that pass `filters`, unordered: the
    one statement the list and the CSV export (app/services/exports.py) share."""
    stmt = select(Challenge)
    visible = _visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    if filters.status is not None:
        stmt = stmt.where(Challenge.status == filters.status)
    if filters.owner_id is not None:
        stmt = stmt.where(Challenge.owner_id == filters.owner_id)
    for facet in ("category", "care_setting"):
        value = getattr(filters, facet)
        if value is not None:
            stmt = stmt.where(facets.has(ChallengeFacet, "challenge_id", Challenge.id, facet, value))
    if filters.q:
        stmt = stmt.where(search.matches(session, "challenges", filters.q))
    return stmt


def event_values(principal: Principal, type: str, challenge: Challenge) -> dict[str, Any]:
    """The event a change to `challenge` writes (the bulk import writes the same rows in bulk)."""
    # A draft's events are seen by those who see the draft: its owner, facilitators, admins.
    return events.values(
        principal,
        type,
        ("challenge", challenge.id),
        to_public(challenge),
        restricted=challenge.status == ChallengeStatus.draft,
        orgs=(challenge.owner_id, None),
    )


def _record(session: Session, principal: Principal, type: str, challenge: Challenge) -> None:
    events.add(session, event_values(principal, type, challenge))


# Challenges are needs of NHS and care organisations (DOMAIN.md): not of suppliers or networks.
NOT_OWNERS = (OrganisationKind.supplier, OrganisationKind.health_innovation_network)


def check_create(principal: Principal, owner_id: uuid.UUID) -> None:
    own = principal.organisation_id == owner_id and principal.organisation_kind not in NOT_OWNERS
    if not (principal.is_exchange_staff or own):
        raise Forbidden(
            "An NHS or care organisation posts challenges for itself; facilitators and admins for anyone."
        )


def check_change(principal: Principal, challenge: Challenge) -> None:
    if not can_change(principal, challenge):
        raise Forbidden("Only the owner, facilitators and admins change a challenge.")


def check_new_owner(principal: Principal) -> None:
    if not principal.is_exchange_staff:
        raise Forbidden("Only facilitators and admins give a challenge to another owner.")


def check_merged_ranges(challenge: Challenge, changes: dict[str, Any]) -> None:
    """The budget and dates still make sense once `changes` are made."""
    merged = ChallengeUpdate.model_construct(**{**to_public(challenge).model_dump(), **changes})
    try:
        check_ranges(merged)
    except ValueError as exc:
        raise ValidationFailed.field("body", str(exc)) from exc


def create(session: Session, principal: Principal, data: ChallengeCreate) -> Challenge:
    organisations.require(session, data.owner_id, "body.owner_id")
    check_create(principal, data.owner_id)
    challenge = Challenge(**data.model_dump(), owner_org_id=principal.organisation_id)
    session.add(challenge)
    records.flush_unique(session, REF)
    facets.sync(session, ChallengeFacet, "challenge_id", challenge)
    _record(session, principal, "challenge.created", challenge)
    return challenge


def update(
    session: Session,
    principal: Principal,
    challenge: Challenge,
    data: ChallengeUpdate,
    expected_version: int | None,
) -> Challenge:
    check_change(principal, challenge)
    changes = data.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        organisations.require(session, changes["owner_id"], "body.owner_id")
        check_new_owner(principal)
    records.check_version(challenge, expected_version)
    check_merged_ranges(challenge, changes)
    changed = records.apply_changes(challenge, changes)
    if changed:
        records.touch(challenge)
        records.flush_unique(session, REF)
        if set(changed) & set(facets.FACETS):
            facets.sync(session, ChallengeFacet, "challenge_id", challenge)
        _record(session, principal, "challenge.updated", challenge)
    return challenge


def withdraw(
    session: Session, principal: Principal, challenge: Challenge, expected_version: int | None
) -> Challenge:
    if not can_change(principal, challenge):
        raise Forbidden("Only the owner, facilitators and admins withdraw a challenge.")
    records.check_version(challenge, expected_version)
    if challenge.status != ChallengeStatus.withdrawn:
        challenge.status = ChallengeStatus.withdrawn
        records.touch(challenge)
        session.flush()
        _record(session, principal, "challenge.withdrawn", challenge)
    return challenge
