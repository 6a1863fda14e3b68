"""The home page's lists: what the signed-in person holds, what waits on
them, and the open challenges that fit their organisation.

Every list is one bounded query (a `LIMIT`, joins for the names it shows),
never a whole table. Who holds what follows DOMAIN.md:

- an adopting organisation holds its own adoptions; a supplier the adoptions
  of its innovations; a facilitator those of organisations in their network's
  region; anyone holds the adoptions they lead (`lead_email` is theirs);
- what waits on a person is what they may move (`pipeline.can_move`: their
  organisation's adoptions, their region's for a facilitator, every one for
  an admin): adoptions whose next stage's gate is not met, and those that
  have sat longest in an active stage short of the last;
- challenges that fit: an NHS or care organisation's own open challenges; for
  a supplier, open challenges sharing a category or care setting with its
  innovations; for a facilitator, open challenges of organisations in their
  region; for an admin, the exchange's open challenges.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.auth import Principal
from app.models.adoption import Adoption
from app.models.base import as_utc, utcnow
from app.models.challenge import Challenge, ChallengeFacet
from app.models.innovation import Innovation, InnovationFacet
from app.models.organisation import Organisation
from app.models.vocabulary import ChallengeStatus, InnovationStatus, OrganisationKind
from app.services import pipeline
from app.services.pipeline import Stages

LIMIT = 10
# How many of the oldest movable adoptions are read to find those whose next
# gate is not met: gates are JSON checked in Python, so the scan is bounded.
WAITING_SCAN = 100


@dataclass(frozen=True)
class AdoptionRow:
    adoption: Adoption
    innovation_name: str
    organisation_name: str
    stage_name: str
    days_in_stage: int
    you_lead: bool


@dataclass(frozen=True)
class WaitingRow:
    row: AdoptionRow
    next_stage_name: str
    missing: list[str]  # the gate items' labels


@dataclass(frozen=True)
class ChallengeRow:
    challenge: Challenge
    owner_name: str
    matches: list[str]  # for a supplier: the categories and care settings it shares


@dataclass(frozen=True)
class Home:
    yours: list[AdoptionRow]
    waiting: list[WaitingRow]
    stuck: list[AdoptionRow]
    challenges: list[ChallengeRow]


def _visible(principal: Principal) -> ColumnElement[bool]:
    """What `adoptions.get` lets the principal see, as a WHERE clause."""
    if principal.is_exchange_staff:
        return true()
    return or_(
        col(Adoption.organisation_id) == principal.organisation_id,
        col(Innovation.supplier_id) == principal.organisation_id,
    )


def _movable(principal: Principal) -> ColumnElement[bool]:
    """`pipeline.can_move` as a WHERE clause (the adopter joined as Organisation)."""
    if principal.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = [col(Adoption.organisation_id) == principal.organisation_id]
    if principal.is_facilitator and principal.region is not None:
        clauses.append(col(Organisation.region) == principal.region)
    return or_(*clauses)


def _held(principal: Principal, email: str | None) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = [
        col(Adoption.organisation_id) == principal.organisation_id,
        col(Innovation.supplier_id) == principal.organisation_id,
    ]
    if principal.is_facilitator and principal.region is not None:
        clauses.append(col(Organisation.region) == principal.region)
    if email:
        clauses.append(func.lower(col(Adoption.lead_email)) == email.lower())
    return or_(*clauses)


def _adoptions(where: ColumnElement[bool]) -> Any:
    """Adoptions with their innovation's and adopting organisation's names."""
    return (
        select(Adoption, Innovation.name, Organisation.name)
        .join(Innovation, col(Innovation.id) == Adoption.innovation_id)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(where)
    )


def _row(stages: Stages, row: tuple[Adoption, str, str], email: str | None, now: datetime) -> AdoptionRow:
    adoption, innovation_name, organisation_name = row
    stage = stages.by_key.get(adoption.stage)
    return AdoptionRow(
        adoption=adoption,
        innovation_name=innovation_name,
        organisation_name=organisation_name,
        stage_name=stage.name if stage else adoption.stage,
        days_in_stage=max(0, (now - as_utc(adoption.stage_entered_at)).days),
        you_lead=bool(email and adoption.lead_email and adoption.lead_email.lower() == email.lower()),
    )


def your_adoptions(
    session: Session,
    principal: Principal,
    email: str | None,
    *,
    limit: int = LIMIT,
    now: datetime | None = None,
) -> list[AdoptionRow]:
    """The adoptions they lead or their organisation holds, latest change first."""
    now = now or utcnow()
    stages = pipeline.stages(session)
    stmt = (
        _adoptions(and_(_visible(principal), _held(principal, email)))
        .order_by(col(Adoption.updated_at).desc(), col(Adoption.id).desc())
        .limit(limit)
    )
    return [_row(stages, row, email, now) for row in session.exec(stmt).all()]


def _in_progress(stages: Stages) -> list[str]:
    """Active stages short of the last: an adoption there has somewhere to go."""
    return [s.key for s in stages.active[:-1]]


def stuck_longest(
    session: Session,
    principal: Principal,
    email: str | None,
    *,
    limit: int = LIMIT,
    now: datetime | None = None,
) -> list[AdoptionRow]:
    """Adoptions they may move that have sat longest in their stage."""
    now = now or utcnow()
    stages = pipeline.stages(session)
    stmt = (
        _adoptions(and_(_movable(principal), col(Adoption.stage).in_(_in_progress(stages))))
        .order_by(col(Adoption.stage_entered_at), col(Adoption.id))
        .limit(limit)
    )
    return [_row(stages, row, email, now) for row in session.exec(stmt).all()]


def _labels(stages: Stages, keys: list[str]) -> list[str]:
    labels = []
    for key in keys:
        item = stages.item_by_key.get(key)
        labels.append(item.label if item else key.replace("_", " "))
    return labels


def waiting_on_gates(
    session: Session,
    principal: Principal,
    email: str | None,
    *,
    limit: int = LIMIT,
    scan: int = WAITING_SCAN,
    now: datetime | None = None,
) -> list[WaitingRow]:
    """Adoptions they may move whose next stage's gate is not met, with what
    is missing, the longest waiting first. Items that only time can meet
    (`sustained`'s days since adoption) wait on no one and are left out."""
    now = now or utcnow()
    stages = pipeline.stages(session)
    stmt = (
        _adoptions(and_(_movable(principal), col(Adoption.stage).in_(_in_progress(stages))))
        .order_by(col(Adoption.stage_entered_at), col(Adoption.id))
        .limit(scan)
    )
    waiting: list[WaitingRow] = []
    for row in session.exec(stmt).all():
        adoption = row[0]
        index = stages.active_index(adoption.stage)
        if index is None or index + 1 >= len(stages.active):
            continue
        target = stages.active[index + 1]
        missing = [
            key
            for key in pipeline.missing_for(stages, adoption, target.key, now)
            if key in stages.item_by_key
        ]
        if not missing:
            continue
        waiting.append(WaitingRow(_row(stages, row, email, now), target.name, _labels(stages, missing)))
        if len(waiting) >= limit:
            break
    return waiting


def _supplier_facets(session: Session, organisation_id: uuid.UUID) -> set[tuple[str, str]]:
    """The (facet, value) pairs of a supplier's innovations: at most one per
    category and care setting, however many innovations it has."""
    stmt = (
        select(InnovationFacet.facet, InnovationFacet.value)
        .join(Innovation, col(Innovation.id) == InnovationFacet.innovation_id)
        .where(
            Innovation.supplier_id == organisation_id,
            col(Innovation.status) != InnovationStatus.archived,
        )
        .distinct()
    )
    return {(facet, value) for facet, value in session.exec(stmt).all()}


def open_challenges(session: Session, principal: Principal, *, limit: int = LIMIT) -> list[ChallengeRow]:
    """Open challenges that fit their organisation, closing soonest first."""
    owner = aliased(Organisation)
    stmt = (
        select(Challenge, owner.name)
        .join(owner, col(owner.id) == Challenge.owner_id)
        .where(Challenge.status == ChallengeStatus.open)
    )
    offered: set[tuple[str, str]] = set()
    kind = principal.organisation_kind
    if principal.is_admin:
        pass
    elif principal.is_facilitator:
        region_clause = col(owner.region) == principal.region if principal.region else false()
        stmt = stmt.where(region_clause)
    elif kind == OrganisationKind.supplier:
        offered = _supplier_facets(session, principal.organisation_id)
        if not offered:
            return []
        shared = (
            select(ChallengeFacet.challenge_id)
            .join(
                InnovationFacet,
                and_(
                    col(InnovationFacet.facet) == ChallengeFacet.facet,
                    col(InnovationFacet.value) == ChallengeFacet.value,
                ),
            )
            .join(Innovation, col(Innovation.id) == InnovationFacet.innovation_id)
            .where(
                Innovation.supplier_id == principal.organisation_id,
                col(Innovation.status) != InnovationStatus.archived,
            )
        )
        stmt = stmt.where(col(Challenge.id).in_(shared))
    else:
        # NHS and care organisations, and any other that posts challenges: its own.
        stmt = stmt.where(Challenge.owner_id == principal.organisation_id)
    stmt = stmt.order_by(col(Challenge.closes_on).asc().nulls_last(), col(Challenge.id).desc()).limit(limit)
    rows = []
    for challenge, owner_name in session.exec(stmt).all():
        matches = [
            value
            for facet, values in (
                ("category", challenge.categories),
                ("care_setting", challenge.care_settings),
            )
            for value in values
            if (facet, value) in offered
        ]
        rows.append(ChallengeRow(challenge, owner_name, matches))
    return rows


def home(session: Session, principal: Principal, email: str | None, *, now: datetime | None = None) -> Home:
    now = now or utcnow()
    return Home(
        yours=your_adoptions(session, principal, email, now=now),
        waiting=waiting_on_gates(session, principal, email, now=now),
        stuck=stuck_longest(session, principal, email, now=now),
        challenges=open_challenges(session, principal),
    )
