"""Adoptions: one innovation at one adopting organisation.

Seen in full by the adopting organisation, the innovation's supplier, every
facilitator and admins; anyone else is told it does not exist. Changed by the
adopting organisation, the facilitators of its region and admins."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, exists, func, literal, or_, union_all
from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models.adoption import Adoption, AdoptionCreate, AdoptionPublic, AdoptionUpdate, GateStatus, Lead
from app.models.base import as_utc, utcnow
from app.models.challenge import Challenge
from app.models.innovation import Innovation, InnovationFacet
from app.models.organisation import Organisation
from app.models.stage import Stage
from app.models.transition import Transition
from app.models.vocabulary import IDENTIFIED, NOT_PROGRESSED, PAUSED, InnovationStatus
from app.services import events, facets, organisations, pipeline, records
from app.services.pagination import Page, PageRequest, keyset

REF = "An adoption of this innovation at this organisation, or with this external_ref,"


@dataclass(frozen=True)
class AdoptionFilters:
    innovation_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    challenge_id: uuid.UUID | None = None
    stage: str | None = None
    region: str | None = None
    # A category of the innovation, as the board filters (the API's list does not offer it).
    category: str | None = None
    # All or part of the adopting organisation's or the innovation's name: the board's search fields.
    organisation_name: str | None = None
    innovation_name: str | None = None


@dataclass(frozen=True)
class Loaded:
    """An adoption with the two facts its rights depend on."""

    adoption: Adoption
    supplier_id: uuid.UUID
    adopter_region: str | None


def to_public(stages: pipeline.Stages, adoption: Adoption) -> AdoptionPublic:
    """Built without validating again: every value is from a row written after
    validation (re-checking the lead's email alone cost 0.13 ms an adoption)."""
    lead = (
        Lead.model_construct(name=adoption.lead_name, email=adoption.lead_email)
        if adoption.lead_name and adoption.lead_email
        else None
    )
    gate_status = {
        key: GateStatus.model_construct(**status)
        for key, status in pipeline.gate_status(stages, adoption).items()
    }
    fields = {
        name: getattr(adoption, name) for name in AdoptionPublic.model_fields.keys() - {"lead", "gate_status"}
    }
    return AdoptionPublic.model_construct(**fields, lead=lead, gate_status=gate_status)


def public_json(stages: pipeline.Stages, adoption: Adoption) -> dict[str, Any]:
    """`to_public(...).model_dump(mode="json")`, built directly: the payload
    of every adoption's event, 300,000 of them in a big import."""
    lead = (
        {"name": adoption.lead_name, "email": adoption.lead_email}
        if adoption.lead_name and adoption.lead_email
        else None
    )
    return records.public_json(
        AdoptionPublic, adoption, lead=lead, gate_status=pipeline.gate_status(stages, adoption)
    )


def _can_see(principal: Principal, adoption: Adoption, supplier_id: uuid.UUID) -> bool:
    return principal.is_exchange_staff or principal.organisation_id in (
        adoption.organisation_id,
        supplier_id,
    )


def get(
    session: Session, principal: Principal, adoption_id: uuid.UUID, *, for_update: bool = False
) -> Loaded:
    """Load an adoption the caller may see; `for_update` locks its row until
    the transaction ends (PostgreSQL; SQLite's writers already hold the lock)."""
    stmt = (
        select(Adoption, Innovation.supplier_id, Organisation.region)
        .join(Innovation, col(Innovation.id) == Adoption.innovation_id)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(Adoption.id == adoption_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Adoption)
    row = session.exec(stmt).first()
    if row is None or not _can_see(principal, row[0], row[1]):
        raise NotFound("adoption")
    return Loaded(*row)


def in_region(region: str) -> Any:
    """The adopting organisation is in `region`: a correlated EXISTS, one
    primary-key probe per row, where `IN (SELECT ...)` had SQLite build the
    region's whole list of organisations on every request (2.7 ms at a
    million adoptions, bench/RESULTS.md)."""
    return exists().where(
        col(Organisation.id) == Adoption.organisation_id, col(Organisation.region) == region
    )


def list_(
    session: Session, principal: Principal, filters: AdoptionFilters, page: PageRequest
) -> Page[AdoptionPublic]:
    stages = pipeline.stages(session)
    stmt = query(session, principal, filters)
    return keyset(session, stmt, col(Adoption.id), page, lambda adoption: to_public(stages, adoption))


def query(session: Session, principal: Principal, filters: AdoptionFilters) -> Select[Any]:
    """The adoptions `principal` may see that pass `filters`, unordered: the
    one statement the list and the CSV export (app/services/exports.py) share."""
    stages = pipeline.stages(session)
    if filters.stage is not None and filters.stage not in stages.by_key:
        keys = ", ".join(s.key for s in stages.ordered)
        raise ValidationFailed.field("query.stage", f"Not a stage. Stages are: {keys}.")
    stmt = select(Adoption).where(*_visible_to(principal))
    for field in ("innovation_id", "organisation_id", "challenge_id", "stage"):
        value = getattr(filters, field)
        if value is not None:
            stmt = stmt.where(getattr(Adoption, field) == value)
    if filters.region is not None:
        stmt = stmt.where(in_region(filters.region))
    if filters.category is not None:
        stmt = stmt.where(
            facets.has(InnovationFacet, "innovation_id", Adoption.innovation_id, "category", filters.category)
        )
    return stmt.where(*_names_match(filters.organisation_name, filters.innovation_name))


def _contains(column: Any, text: str) -> Any:
    """`column` holds `text`, ignoring case, with LIKE's wildcards in `text` taken literally."""
    return func.lower(column).contains(text.lower(), autoescape=True)


def _names_match(organisation_name: str | None, innovation_name: str | None) -> list[Any]:
    """WHERE clauses: the adopting organisation's and the innovation's names hold these words."""
    where = []
    if organisation_name:
        where.append(
            col(Adoption.organisation_id).in_(
                select(Organisation.id).where(_contains(Organisation.name, organisation_name))
            )
        )
    if innovation_name:
        where.append(
            col(Adoption.innovation_id).in_(
                select(Innovation.id).where(_contains(Innovation.name, innovation_name))
            )
        )
    return where


def event_values(
    stages: pipeline.Stages,
    principal: Principal,
    type: str,
    adoption: Adoption,
    supplier_id: uuid.UUID,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event a change to `adoption` writes (the bulk import writes the same rows in bulk)."""
    data = public_json(stages, adoption)
    return events.values(
        principal,
        type,
        ("adoption", adoption.id),
        {**data, **(extra or {})},
        restricted=True,
        orgs=(adoption.organisation_id, supplier_id),
    )


def record_event(
    session: Session,
    principal: Principal,
    type: str,
    adoption: Adoption,
    supplier_id: uuid.UUID,
    extra: dict[str, Any] | None = None,
) -> None:
    stages = pipeline.stages(session)
    events.add(session, event_values(stages, principal, type, adoption, supplier_id, extra))


class InnovationFacts(Protocol):
    """What opening an adoption needs to know of its innovation."""

    @property
    def status(self) -> str: ...

    @property
    def supplier_id(self) -> uuid.UUID: ...


def check_innovation(principal: Principal, innovation: InnovationFacts | None) -> None:
    """An adoption opens of an innovation the caller may see that is not archived."""
    if innovation is None or (
        innovation.status == InnovationStatus.draft
        and not (principal.is_exchange_staff or principal.organisation_id == innovation.supplier_id)
    ):
        raise ValidationFailed.field("body.innovation_id", "No innovation with this id.")
    if innovation.status == InnovationStatus.archived:
        raise ValidationFailed.field("body.innovation_id", "This innovation is archived.")


def check_opener(principal: Principal, adopter_id: uuid.UUID, adopter_region: str | None) -> None:
    if not (
        principal.is_admin or principal.organisation_id == adopter_id or principal.facilitates(adopter_region)
    ):
        raise Forbidden(
            "An organisation opens adoptions for itself; facilitators for their region; admins for any."
        )


def check_change(principal: Principal, adoption: Adoption, adopter_region: str | None) -> None:
    if not pipeline.can_move(principal, adoption, adopter_region):
        raise Forbidden("Only the adopting organisation, its region's facilitators and admins change it.")


def new_values(principal: Principal, data: AdoptionCreate) -> dict[str, Any]:
    """The columns of a new adoption of `data`: at `identified`, owned by the opener's organisation."""
    return {
        "innovation_id": data.innovation_id,
        "organisation_id": data.organisation_id,
        "challenge_id": data.challenge_id,
        "stage": IDENTIFIED,
        "furthest_stage": IDENTIFIED,
        "lead_name": data.lead.name if data.lead else None,
        "lead_email": str(data.lead.email) if data.lead else None,
        "gate": pipeline.merge_gate({}, data.gate),
        "notes": data.notes,
        "external_ref": data.external_ref,
        "owner_org_id": principal.organisation_id,
    }


def changes(adoption: Adoption, patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a change of the fields in `patch` (an AdoptionUpdate's
    given fields, dumped) sets: `gate` merges by key, `null` clearing one."""
    found: dict[str, Any] = {}
    if "gate" in patch:
        found["gate"] = pipeline.merge_gate(adoption.gate, patch["gate"])
    if "lead" in patch:
        lead = patch["lead"]
        found["lead_name"] = lead["name"] if lead else None
        found["lead_email"] = str(lead["email"]) if lead else None
    for field in ("challenge_id", "notes", "external_ref"):
        if field in patch:
            found[field] = patch[field]
    return found


def _require_challenge(session: Session, challenge_id: uuid.UUID | None) -> None:
    if challenge_id is not None and session.get(Challenge, challenge_id) is None:
        raise ValidationFailed.field("body.challenge_id", "No challenge with this id.")


def create(session: Session, principal: Principal, data: AdoptionCreate) -> Loaded:
    innovation = session.get(Innovation, data.innovation_id)
    check_innovation(principal, innovation)
    assert innovation is not None
    adopter = organisations.require(session, data.organisation_id, "body.organisation_id")
    _require_challenge(session, data.challenge_id)
    check_opener(principal, adopter.id, adopter.region)
    stages = pipeline.stages(session)
    pipeline.validate_gate(stages, data.gate)
    existing = session.exec(
        select(Adoption.id).where(
            Adoption.innovation_id == data.innovation_id,
            Adoption.organisation_id == data.organisation_id,
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "This organisation already has an adoption of this innovation.",
            existing_id=str(existing),
        )
    adoption = Adoption(**new_values(principal, data))
    session.add(adoption)
    records.flush_unique(session, REF)
    record_event(session, principal, "adoption.created", adoption, innovation.supplier_id)
    return Loaded(adoption, innovation.supplier_id, adopter.region)


def update(
    session: Session,
    principal: Principal,
    loaded: Loaded,
    data: AdoptionUpdate,
    expected_version: int | None,
) -> Adoption:
    adoption = loaded.adoption
    check_change(principal, adoption, loaded.adopter_region)
    patch = data.model_dump(exclude_unset=True)
    if "gate" in patch:
        pipeline.validate_gate(pipeline.stages(session), patch["gate"])
    if "challenge_id" in patch:
        _require_challenge(session, data.challenge_id)
    records.check_version(adoption, expected_version)
    if records.apply_changes(adoption, changes(adoption, patch)):
        records.touch(adoption)
        records.flush_unique(session, REF)
        record_event(session, principal, "adoption.updated", adoption, loaded.supplier_id)
    return adoption


def move(
    session: Session,
    principal: Principal,
    loaded: Loaded,
    request: pipeline.MoveRequest,
    expected_version: int | None,
) -> Transition:
    """Check the version the client read, then let the pipeline move it."""
    if not pipeline.can_move(principal, loaded.adoption, loaded.adopter_region):
        raise Forbidden("Only the adopting organisation, its region's facilitators and admins move it.")
    records.check_version(loaded.adoption, expected_version)
    return pipeline.move(
        session,
        principal,
        loaded.adoption,
        request,
        adopter_region=loaded.adopter_region,
        supplier_id=loaded.supplier_id,
    )


# --- the board ------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters: the API's adoption filters plus a category of the
    innovation (through the innovation_facets table)."""

    region: str | None = None
    organisation_id: uuid.UUID | None = None
    innovation_id: uuid.UUID | None = None
    category: str | None = None
    # All or part of a name: the board's search fields (thousands of names make no list to choose from).
    organisation_name: str | None = None
    innovation_name: str | None = None


@dataclass(frozen=True)
class BoardCard:
    """One adoption as a card: the names a person reads on it."""

    adoption: Adoption
    innovation_name: str
    organisation_name: str
    region: str | None
    supplier_id: uuid.UUID

    @property
    def loaded(self) -> Loaded:
        return Loaded(self.adoption, self.supplier_id, self.region)

    def days_in_stage(self, now: datetime | None = None) -> int:
        return max(0, ((now or utcnow()) - as_utc(self.adoption.stage_entered_at)).days)


@dataclass(frozen=True)
class BoardColumn:
    stage: Stage
    count: int
    cards: list[BoardCard]


@dataclass(frozen=True)
class BoardChoice:
    id: uuid.UUID
    name: str


def _visible_to(principal: Principal) -> list[Any]:
    """WHERE clauses: the adoptions `principal` may see (as `list_` shows them)."""
    if principal.is_exchange_staff:
        return []
    # Never correlated: inside a query of innovations it still lists the supplier's own.
    supplied = (
        select(Innovation.id).where(Innovation.supplier_id == principal.organisation_id).correlate(None)
    )
    return [
        or_(
            col(Adoption.organisation_id) == principal.organisation_id,
            col(Adoption.innovation_id).in_(supplied),
        )
    ]


def _board_where(principal: Principal, filters: BoardFilters) -> list[Any]:
    where = _visible_to(principal)
    if filters.innovation_id is not None:
        where.append(col(Adoption.innovation_id) == filters.innovation_id)
    if filters.organisation_id is not None:
        where.append(col(Adoption.organisation_id) == filters.organisation_id)
    if filters.region is not None:
        where.append(in_region(filters.region))
    if filters.category is not None:
        where.append(
            facets.has(InnovationFacet, "innovation_id", Adoption.innovation_id, "category", filters.category)
        )
    return where + _names_match(filters.organisation_name, filters.innovation_name)


# A column counts its adoptions up to this many, and says "1,000+" past it:
# counting every adoption at a stage costs as much as there are (130 ms at a
# million on PostgreSQL; 30 ms for a cap of 10,000), counting this many costs
# the same at any size, and a column shows only its first few cards anyway.
BOARD_COUNT_CAP = 1_000


def board_counts(
    session: Session, principal: Principal, filters: BoardFilters, cap: int | None = None
) -> dict[str, int]:
    """How many adoptions the person may see stand at each stage, `cap + 1`
    standing for more than `cap`: one query, a UNION ALL of one count a
    stage of at most `cap + 1` rows, each read from an index on the stage."""
    cap = BOARD_COUNT_CAP if cap is None else cap
    where = _board_where(principal, filters)
    stmt = union_all(
        *(
            select(literal(stage.key).label("stage"), func.count().label("count")).select_from(
                select(col(Adoption.id))
                .where(col(Adoption.stage) == stage.key, *where)
                .limit(cap + 1)
                .subquery()
            )
            for stage in pipeline.stages(session).ordered
        )
    )
    return {stage: count for stage, count in session.execute(stmt).all() if count}


def board(
    session: Session, principal: Principal, filters: BoardFilters, per_stage_limit: int = 50
) -> list[BoardColumn]:
    """Every stage in order (active and off the line) with its count and up
    to `per_stage_limit` cards, longest in the stage first: two queries, one
    for the counts and one for the cards. The cards are a UNION ALL of one
    `ORDER BY stage_entered_at, id LIMIT n` per stage that has any, each read
    from the front of the (stage, stage_entered_at, id) index, so the page
    costs the same at a million adoptions as at ten thousand (ranking every
    visible adoption with a window, as it did, sorted them all)."""
    stages = pipeline.stages(session)
    counts = board_counts(session, principal, filters)
    where = _board_where(principal, filters)
    shown = [stage.key for stage in stages.ordered if counts.get(stage.key)]
    cards: dict[str, list[BoardCard]] = {}
    if shown and per_stage_limit > 0:
        firsts = union_all(
            *(
                select(first.c.id).select_from(first)
                for first in (
                    select(col(Adoption.id).label("id"))
                    .where(col(Adoption.stage) == key, *where)
                    .order_by(col(Adoption.stage_entered_at), col(Adoption.id))
                    .limit(per_stage_limit)
                    .subquery()
                    for key in shown
                )
            )
        )
        stmt = (
            # five columns: past the arity sqlmodel's `select` overloads are typed for
            select(  # type: ignore[call-overload]
                Adoption, Innovation.name, Organisation.name, Organisation.region, Innovation.supplier_id
            )
            .join(Innovation, col(Innovation.id) == Adoption.innovation_id)
            .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
            .where(col(Adoption.id).in_(firsts))
            .order_by(col(Adoption.stage_entered_at), col(Adoption.id))
        )
        for adoption, innovation_name, organisation_name, region, supplier_id in session.exec(stmt).all():
            card = BoardCard(adoption, innovation_name, organisation_name, region, supplier_id)
            cards.setdefault(adoption.stage, []).append(card)
    return [
        BoardColumn(stage, counts.get(stage.key, 0), cards.get(stage.key, [])) for stage in stages.ordered
    ]


def board_card(session: Session, loaded: Loaded) -> BoardCard:
    """The card of one adoption already loaded (after a move, say): one query."""
    adoption = loaded.adoption
    names = session.exec(
        select(Innovation.name, Organisation.name)
        .select_from(Adoption)
        .join(Innovation, col(Innovation.id) == Adoption.innovation_id)
        .join(Organisation, col(Organisation.id) == Adoption.organisation_id)
        .where(Adoption.id == adoption.id)
    ).one()
    return BoardCard(adoption, names[0], names[1], loaded.adopter_region, loaded.supplier_id)


def board_chosen(
    session: Session, principal: Principal, filters: BoardFilters
) -> tuple[BoardChoice | None, BoardChoice | None]:
    """The organisation and the innovation a board's address names by id
    (a shared link), for the filters to show: each only if the person may
    see an adoption of it; one indexed look-up each, none when none is chosen."""
    visible = _visible_to(principal)

    def named(model: Any, field: str, chosen: uuid.UUID | None) -> BoardChoice | None:
        if chosen is None:
            return None
        seen = exists().where(getattr(Adoption, field) == chosen, *visible)
        row = session.exec(select(model.id, model.name).where(model.id == chosen, seen)).first()
        return BoardChoice(*row) if row else None

    return (
        named(Organisation, "organisation_id", filters.organisation_id),
        named(Innovation, "innovation_id", filters.innovation_id),
    )


@dataclass(frozen=True)
class MoveTarget:
    """A stage the person may try to move an adoption to, and what the move
    asks of them: `kind` is forward, skip, back, resume, pause, stop or reopen."""

    key: str
    name: str
    kind: str
    needs_reason: bool = False
    needs_reason_code: bool = False
    needs_override: bool = False


def move_targets(session: Session, principal: Principal, loaded: Loaded) -> list[MoveTarget]:
    """The stages the pipeline's rules let this person move it to, the next
    stage first; empty for someone who may not move it. The gate is checked
    when they try: a move to a stage whose gate is not met is listed."""
    adoption = loaded.adoption
    if not pipeline.can_move(principal, adoption, loaded.adopter_region):
        return []
    stages = pipeline.stages(session)
    staff = principal.is_exchange_staff
    active = stages.active
    stop = stages.by_key.get(NOT_PROGRESSED)
    pause = stages.by_key.get(PAUSED)
    if adoption.stage == NOT_PROGRESSED:
        return [MoveTarget(IDENTIFIED, stages.by_key[IDENTIFIED].name, "reopen")] if staff else []
    targets: list[MoveTarget] = []
    if adoption.stage == PAUSED:
        left = stages.active_index(adoption.paused_from or IDENTIFIED) or 0
        targets.append(MoveTarget(active[left].key, active[left].name, "resume"))
        targets += [MoveTarget(s.key, s.name, "back", needs_reason=True) for s in reversed(active[:left])]
        if staff:
            targets += [
                MoveTarget(s.key, s.name, "skip", needs_reason=True, needs_override=True)
                for s in active[left + 1 :]
            ]
    else:
        index = stages.active_index(adoption.stage)
        assert index is not None
        if index + 1 < len(active):
            targets.append(MoveTarget(active[index + 1].key, active[index + 1].name, "forward"))
        if staff:
            targets += [
                MoveTarget(s.key, s.name, "skip", needs_reason=True, needs_override=True)
                for s in active[index + 2 :]
            ]
        targets += [MoveTarget(s.key, s.name, "back", needs_reason=True) for s in reversed(active[:index])]
        if pause is not None:
            targets.append(MoveTarget(pause.key, pause.name, "pause", needs_reason=True))
    if stop is not None:
        targets.append(MoveTarget(stop.key, stop.name, "stop", needs_reason_code=True))
    return targets
