"""Responses: innovations put forward for challenges.

A supplier (or a facilitator or admin on its behalf) puts a published
innovation forward for an open challenge with a pitch. The challenge's owner
organisation, facilitators and admins shortlist, select or decline it (with
a reason); the supplier withdraws it. Selecting it opens an adoption of the
innovation at the challenge owner, linked to the challenge, in the same
transaction. Seen by the supplier, the challenge owner, facilitators and
admins; anyone else is told it does not exist."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models.adoption import Adoption, AdoptionCreate
from app.models.challenge import Challenge
from app.models.innovation import Innovation
from app.models.organisation import Organisation
from app.models.response import Response, ResponseCreate, ResponsePublic, ResponseUpdate
from app.models.vocabulary import ChallengeStatus, InnovationStatus, ResponseStatus
from app.services import adoptions, events, innovations, records
from app.services.pagination import Page, PageRequest, keyset

REF = "A response of this innovation to this challenge"
S = ResponseStatus
# Where each status may go, and who moves it there: the challenge owner's
# side decides, the supplier's side withdraws.
ALLOWED_FROM: dict[ResponseStatus, tuple[ResponseStatus, ...]] = {
    S.shortlisted: (S.submitted,),
    S.selected: (S.shortlisted,),
    S.declined: (S.submitted, S.shortlisted),
    S.withdrawn: (S.submitted, S.shortlisted),
}
DECISIONS = (S.shortlisted, S.selected, S.declined)
LIVE = (S.submitted, S.shortlisted)
# A challenge whose responses may still be shortlisted or selected.
DECIDING = (ChallengeStatus.open, ChallengeStatus.closed, ChallengeStatus.awarded)


@dataclass(frozen=True)
class Loaded:
    """A response with the two organisations its rights depend on."""

    response: Response
    supplier_id: uuid.UUID
    owner_id: uuid.UUID


def to_public(response: Response) -> ResponsePublic:
    return ResponsePublic.model_validate(response, from_attributes=True)


# --- who may do what ----------------------------------------------------------


def can_see(principal: Principal, supplier_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
    return principal.is_exchange_staff or principal.organisation_id in (supplier_id, owner_id)


def can_decide(principal: Principal, loaded: Loaded) -> bool:
    """Shortlist, select, decline: the challenge owner, facilitators, admins."""
    return principal.is_exchange_staff or principal.organisation_id == loaded.owner_id


def can_select(principal: Principal, owner_id: uuid.UUID, owner_region: str | None) -> bool:
    """Selecting opens an adoption at the challenge owner, so it follows the
    adoption's rule: the owner itself, the facilitators of its region, admins."""
    return principal.is_admin or principal.organisation_id == owner_id or principal.facilitates(owner_region)


def can_withdraw(principal: Principal, loaded: Loaded) -> bool:
    """The supplier, or the facilitators and admins who may put it forward for them."""
    return principal.is_exchange_staff or principal.organisation_id == loaded.supplier_id


def _supplied_by(organisation_id: uuid.UUID) -> Any:
    return select(Innovation.id).where(Innovation.supplier_id == organisation_id)


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    """WHERE: the responses `principal` may see (None: all of them)."""
    if principal.is_exchange_staff:
        return None
    owned = select(Challenge.id).where(Challenge.owner_id == principal.organisation_id)
    return or_(
        col(Response.innovation_id).in_(_supplied_by(principal.organisation_id)),
        col(Response.challenge_id).in_(owned),
    )


# --- reading ------------------------------------------------------------------


def get(
    session: Session, principal: Principal, response_id: uuid.UUID, *, for_update: bool = False
) -> Loaded:
    """Load a response the caller may see; `for_update` locks its row."""
    stmt = (
        select(Response, Innovation.supplier_id, Challenge.owner_id)
        .join(Innovation, col(Innovation.id) == Response.innovation_id)
        .join(Challenge, col(Challenge.id) == Response.challenge_id)
        .where(Response.id == response_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Response)
    row = session.exec(stmt).first()
    if row is None or not can_see(principal, row[1], row[2]):
        raise NotFound("response")
    return Loaded(*row)


def list_for_challenge(
    session: Session,
    principal: Principal,
    challenge: Challenge,
    page: PageRequest,
    status: ResponseStatus | None = None,
) -> Page[ResponsePublic]:
    """The responses to a challenge the caller may see: all of them for its
    owner and the exchange's staff, a supplier's own for a supplier."""
    stmt = select(Response).where(Response.challenge_id == challenge.id)
    if not (principal.is_exchange_staff or principal.organisation_id == challenge.owner_id):
        stmt = stmt.where(col(Response.innovation_id).in_(_supplied_by(principal.organisation_id)))
    if status is not None:
        stmt = stmt.where(Response.status == status)
    return keyset(session, stmt, col(Response.id), page, to_public)


# --- events -------------------------------------------------------------------


def _record(
    session: Session,
    principal: Principal,
    type: str,
    loaded: Loaded,
    extra: dict[str, Any] | None = None,
) -> None:
    data = to_public(loaded.response).model_dump(mode="json")
    events.record(
        session,
        principal,
        type,
        ("response", loaded.response.id),
        {**data, **(extra or {})},
        restricted=True,
        orgs=(loaded.owner_id, loaded.supplier_id),
    )


# --- responding ---------------------------------------------------------------


def _innovation_to_put_forward(
    session: Session, principal: Principal, innovation_id: uuid.UUID
) -> Innovation:
    innovation = session.get(Innovation, innovation_id)
    if innovation is None or not innovations.can_see(principal, innovation):
        raise ValidationFailed.field("body.innovation_id", "No innovation with this id.")
    if not (principal.is_exchange_staff or principal.organisation_id == innovation.supplier_id):
        raise Forbidden("A supplier puts its own innovations forward; facilitators and admins any.")
    if innovation.status != InnovationStatus.published:
        raise ValidationFailed.field("body.innovation_id", "Only a published innovation can be put forward.")
    return innovation


def respond(session: Session, principal: Principal, challenge: Challenge, data: ResponseCreate) -> Loaded:
    """Put an innovation forward for an open challenge."""
    innovation = _innovation_to_put_forward(session, principal, data.innovation_id)
    if challenge.status != ChallengeStatus.open:
        raise Conflict(f"This challenge is {challenge.status}: it takes responses only while it is open.")
    existing = session.exec(
        select(Response.id).where(
            Response.challenge_id == challenge.id, Response.innovation_id == innovation.id
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "This innovation has already been put forward for this challenge.", existing_id=str(existing)
        )
    response = Response(
        challenge_id=challenge.id,
        innovation_id=innovation.id,
        pitch=data.pitch,
        submitted_by_org_id=principal.organisation_id,
    )
    session.add(response)
    records.flush_unique(session, REF)
    loaded = Loaded(response, innovation.supplier_id, challenge.owner_id)
    _record(session, principal, "response.created", loaded)
    return loaded


# --- moving -------------------------------------------------------------------


def _require_right(session: Session, principal: Principal, loaded: Loaded, to: ResponseStatus) -> None:
    if to in DECISIONS and not can_decide(principal, loaded):
        raise Forbidden("Only the challenge's owner, facilitators and admins shortlist, select or decline.")
    if to is S.selected:
        owner = session.get(Organisation, loaded.owner_id)
        if not can_select(principal, loaded.owner_id, owner.region if owner else None):
            raise Forbidden(
                "Selecting opens an adoption at the challenge's owner: only the owner, the facilitators "
                "of its region and admins select a response."
            )
    if to is S.withdrawn and not can_withdraw(principal, loaded):
        raise Forbidden("Only the innovation's supplier, facilitators and admins withdraw a response.")


def refusal(response: Response, to: ResponseStatus) -> str | None:
    """Why the workflow refuses this move, in words; None if it allows it."""
    sources = ALLOWED_FROM.get(to)
    if sources is None:
        return "A response cannot be moved back to submitted."
    if response.status not in sources:
        allowed = " or ".join(str(s) for s in sources)
        return f"A response is {to} only from {allowed}; this one is {response.status}."
    return None


@dataclass(frozen=True)
class Moved:
    changed: bool
    # Selecting linked the adoption the owner already had, rather than opening one.
    adoption_existed: bool = False


def move(
    session: Session,
    principal: Principal,
    loaded: Loaded,
    data: ResponseUpdate,
    expected_version: int | None,
) -> Moved:
    """Shortlist, select, decline or withdraw a response. A move to the status
    it already has changes nothing."""
    response, to = loaded.response, ResponseStatus(data.status)
    _require_right(session, principal, loaded, to)
    records.check_version(response, expected_version)
    if response.status == to:
        return Moved(changed=False)
    why = refusal(response, to)
    if why is not None:
        raise Conflict(why, current_status=str(response.status))
    reason = (data.reason or "").strip() or None
    if to is S.declined and reason is None:
        raise ValidationFailed.field("body.reason", "Give the reason for declining it.")
    extra: dict[str, Any] = {"from_status": str(response.status)}
    if to is S.selected:
        extra.update(_open_adoption(session, principal, loaded))
    response.status = to
    response.reason = reason
    records.touch(response)
    session.flush()
    _record(session, principal, "response.status_changed", loaded, extra)
    return Moved(changed=True, adoption_existed=bool(extra.get("adoption_existed")))


def _open_adoption(session: Session, principal: Principal, loaded: Loaded) -> dict[str, Any]:
    """Open the adoption that selecting the response starts, or link the one
    the challenge owner already has of this innovation. Returns what the
    event says about it."""
    response = loaded.response
    challenge = session.get(Challenge, response.challenge_id)
    innovation = session.get(Innovation, response.innovation_id)
    assert challenge is not None and innovation is not None
    if challenge.status not in DECIDING:
        raise Conflict(f"This challenge is {challenge.status}: its responses can no longer be selected.")
    if innovation.status != InnovationStatus.published:
        raise Conflict(f"The innovation is {innovation.status}: only a published one can be selected.")
    existing = session.exec(
        select(Adoption.id).where(
            Adoption.innovation_id == response.innovation_id, Adoption.organisation_id == loaded.owner_id
        )
    ).first()
    if existing is not None:
        response.adoption_id = existing
        return {"adoption_id": str(existing), "adoption_existed": True}
    opened = adoptions.create(
        session,
        principal,
        AdoptionCreate(
            innovation_id=response.innovation_id,
            organisation_id=loaded.owner_id,
            challenge_id=response.challenge_id,
            notes=f"Opened by selecting a response to the challenge “{challenge.title}”.",
        ),
    )
    response.adoption_id = opened.adoption.id
    return {"adoption_id": str(opened.adoption.id), "adoption_existed": False}


# --- what the pages show --------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One response as a page lists it, with the names a person reads."""

    response: Response
    innovation_name: str
    supplier_id: uuid.UUID
    supplier_name: str
    challenge_title: str
    owner_id: uuid.UUID

    @property
    def loaded(self) -> Loaded:
        return Loaded(self.response, self.supplier_id, self.owner_id)


MAX_ROWS = 100


def _rows(session: Session, principal: Principal, *where: Any) -> list[Row]:
    stmt = (
        # six columns: past the arity sqlmodel's `select` overloads are typed for
        select(  # type: ignore[call-overload]
            Response,
            Innovation.name,
            Innovation.supplier_id,
            Organisation.name,
            Challenge.title,
            Challenge.owner_id,
        )
        .join(Innovation, col(Innovation.id) == Response.innovation_id)
        .join(Organisation, col(Organisation.id) == Innovation.supplier_id)
        .join(Challenge, col(Challenge.id) == Response.challenge_id)
        .where(*where)
        .order_by(col(Response.id))
        .limit(MAX_ROWS)
    )
    visible = _visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return [Row(*row) for row in session.exec(stmt).all()]


def rows_for_challenge(session: Session, principal: Principal, challenge_id: uuid.UUID) -> list[Row]:
    return _rows(session, principal, col(Response.challenge_id) == challenge_id)


def rows_for_response(session: Session, principal: Principal, response_id: uuid.UUID) -> list[Row]:
    return _rows(session, principal, col(Response.id) == response_id)


def rows_for_innovation(session: Session, principal: Principal, innovation_id: uuid.UUID) -> list[Row]:
    return _rows(session, principal, col(Response.innovation_id) == innovation_id)


@dataclass(frozen=True)
class Choice:
    id: uuid.UUID
    name: str


def innovations_to_put_forward(session: Session, principal: Principal, challenge: Challenge) -> list[Choice]:
    """The person's organisation's published innovations not yet put forward
    for this challenge, by name: what its "Put an innovation forward" form offers."""
    answered = select(Response.innovation_id).where(Response.challenge_id == challenge.id)
    stmt = (
        select(Innovation.id, Innovation.name)
        .where(
            Innovation.supplier_id == principal.organisation_id,
            Innovation.status == InnovationStatus.published,
            col(Innovation.id).not_in(answered),
        )
        .order_by(col(Innovation.name))
        .limit(MAX_ROWS)
    )
    return [Choice(*row) for row in session.exec(stmt).all()]
