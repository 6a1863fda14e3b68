"""The adoption pipeline: its stages and gates, and `move`, the heart of the
exchange. Every rule here is DOMAIN.md's:

- forward one active stage when the target's gate is met;
- back to any earlier active stage, with a reason;
- `paused` from any active stage, with a reason; it resumes to the stage it
  left or an earlier one;
- `not_progressed` from any stage, with a reason code; a facilitator or admin
  may reopen it at `identified`;
- a facilitator or admin may skip a stage or override a gate (`override`),
  with a reason, and the transition records it;
- `sustained` only once `wait_days` (180) have passed since `adopted`;
- the adopting organisation, the facilitators of its region and admins move
  it; the innovation's supplier may look but not move.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from threading import Lock
from typing import Any

from sqlmodel import Session, col, select

from app.auth import Principal
from app.errors import FieldError, Forbidden, GateNotMet, NotFound, ValidationFailed
from app.models.adoption import Adoption
from app.models.base import as_utc, new_id, utcnow
from app.models.stage import GateItem, GateItemPublic, Stage, StagePublic
from app.models.transition import Transition, TransitionPublic
from app.models.vocabulary import (
    ADOPTED,
    ADOPTED_STAGES,
    IDENTIFIED,
    NOT_PROGRESSED,
    PAUSED,
    NotProgressedReason,
)
from app.services import events, records
from app.services.pagination import Page, PageRequest, keyset

# The `champion` gate item is the named adoption lead: the adoption's `lead`
# satisfies it when the gate record does not name one itself.
LEAD_ITEM = "champion"
MAX_TEXT = 5000
REASON_CODES = frozenset(code.value for code in NotProgressedReason)


class Stages:
    """The pipeline's definition, loaded from the stages and gate_items tables."""

    def __init__(self, ordered: tuple[Stage, ...], items: dict[str, tuple[GateItem, ...]]) -> None:
        self.ordered = ordered
        self.items = items
        self.by_key = {s.key: s for s in ordered}
        self.active = tuple(s for s in ordered if s.active)
        self.item_by_key = {i.key: i for group in items.values() for i in group}
        # The gate as plain values, read for every adoption shown: the rows'
        # instrumented attributes cost more than the checks themselves.
        self.checks = {
            key: tuple((i.key, i.kind, i.required_value) for i in group) for key, group in items.items()
        }
        self.wait_days = {s.key: s.wait_days for s in ordered}
        self.active_keys = tuple(s.key for s in self.active)
        self._active_index = {key: index for index, key in enumerate(self.active_keys)}

    def active_index(self, key: str) -> int | None:
        return self._active_index.get(key)

    def furthest(self, furthest: str, entered: str) -> str:
        """An adoption's furthest active stage once it has entered `entered`:
        `paused` and `not_progressed` are off the line, so never furthest."""
        index = self.active_index(entered)
        if index is None:
            return furthest
        return entered if index > (self.active_index(furthest) or 0) else furthest

    def public(self) -> list[StagePublic]:
        return [
            StagePublic(
                key=s.key,
                name=s.name,
                position=s.position,
                active=s.active,
                wait_days=s.wait_days,
                gate_items=[
                    GateItemPublic.model_validate(item, from_attributes=True)
                    for item in self.items.get(s.key, ())
                ],
            )
            for s in self.ordered
        ]


_cache: dict[str, Stages] = {}
_cache_lock = Lock()


def stages(session: Session) -> Stages:
    """The pipeline of this session's database. Stages change only by
    migration, so each process reads them once per database."""
    bind = session.get_bind()
    url = str(bind.engine.url)
    with _cache_lock:
        if url not in _cache:
            ordered = tuple(session.exec(select(Stage).order_by(col(Stage.position))).all())
            items: dict[str, list[GateItem]] = {}
            for item in session.exec(select(GateItem).order_by(col(GateItem.position))).all():
                items.setdefault(item.stage_key, []).append(item)
            for obj in [*ordered, *(i for group in items.values() for i in group)]:
                session.expunge(obj)
            _cache[url] = Stages(ordered, {k: tuple(v) for k, v in items.items()})
        return _cache[url]


# --- gates ----------------------------------------------------------------


def _facts(adoption: Adoption) -> dict[str, Any]:
    facts = dict(adoption.gate or {})
    if not facts.get(LEAD_ITEM) and adoption.lead_name:
        facts[LEAD_ITEM] = adoption.lead_name
    return facts


def _item_met(item: GateItem, value: Any) -> bool:
    return _met(item.kind, item.required_value, value)


def _met(kind: str, required_value: Any, value: Any) -> bool:
    if kind == "bool":
        return value is True
    if kind == "choice":
        return value is not None and (required_value is None or value == required_value)
    return isinstance(value, str) and bool(value.strip())


def days_since_adopted(adoption: Adoption, now: datetime) -> int | None:
    if adoption.adopted_at is None:
        return None
    return (now - as_utc(adoption.adopted_at)).days


def missing_for(pipeline: Stages, adoption: Adoption, stage_key: str, now: datetime) -> list[str]:
    """The gate items of `stage_key` that the adoption does not yet show."""
    return _missing(pipeline, _facts(adoption), days_since_adopted(adoption, now), stage_key)


def _missing(pipeline: Stages, facts: dict[str, Any], days_adopted: int | None, stage_key: str) -> list[str]:
    checks = pipeline.checks.get(stage_key, ())
    missing = [key for key, kind, required in checks if not _met(kind, required, facts.get(key))]
    wait = pipeline.wait_days[stage_key]
    if wait is not None and (days_adopted is None or days_adopted < wait):
        missing.append(f"{wait}_days_since_adopted")
    return missing


def gate_status(
    pipeline: Stages, adoption: Adoption, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    facts, days = _facts(adoption), days_since_adopted(adoption, now or utcnow())
    status = {}
    for key in pipeline.active_keys:
        missing = _missing(pipeline, facts, days, key)
        status[key] = {"met": not missing, "missing": missing}
    return status


def validate_gate(pipeline: Stages, values: dict[str, Any], field: str = "body.gate") -> None:
    """Check gate values against their items' kinds; `None` clears a value."""
    errors: list[FieldError] = []
    for key, value in values.items():
        item = pipeline.item_by_key.get(key)
        where = f"{field}.{key}"
        if item is None:
            errors.append(FieldError(where, "Not a gate item. GET /api/v1/stages lists them."))
        elif value is None:
            continue
        elif item.kind == "bool" and not isinstance(value, bool):
            errors.append(FieldError(where, "Must be true or false."))
        elif item.kind == "choice" and value not in (item.choices or []):
            errors.append(FieldError(where, f"Must be one of: {', '.join(item.choices or [])}."))
        elif item.kind == "text" and not (isinstance(value, str) and len(value) <= MAX_TEXT):
            errors.append(FieldError(where, f"Must be text of at most {MAX_TEXT} characters."))
    if errors:
        raise ValidationFailed(errors)


def merge_gate(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}


# --- who may move ---------------------------------------------------------


def can_move(principal: Principal, adoption: Adoption, adopter_region: str | None) -> bool:
    return (
        principal.is_admin
        or principal.organisation_id == adoption.organisation_id
        or principal.facilitates(adopter_region)
    )


# --- moves ----------------------------------------------------------------


@dataclass(frozen=True)
class MoveRequest:
    to_stage: str
    reason: str | None = None
    reason_code: str | None = None
    override: bool = False


def _require_reason(request: MoveRequest, why: str) -> None:
    if not (request.reason and request.reason.strip()):
        raise ValidationFailed.field("body.reason", f"Give a reason: {why}.")


def _check_move(
    pipeline: Stages, principal: Principal, adoption: Adoption, request: MoveRequest, now: datetime
) -> None:
    """Raise unless the rules allow this move; return quietly if they do."""
    source, target = adoption.stage, request.to_stage
    if target not in pipeline.by_key:
        keys = ", ".join(s.key for s in pipeline.ordered)
        raise ValidationFailed.field("body.to_stage", f"Not a stage. Stages are: {keys}.")
    if target == source:
        raise GateNotMet(f"The adoption is already at `{source}`.", missing=[])
    if request.override:
        if not principal.is_exchange_staff:
            raise Forbidden("Only a facilitator or admin may skip a stage or override a gate.")
        _require_reason(request, "an override must be explained")

    if target == NOT_PROGRESSED:
        if request.reason_code not in REASON_CODES:
            codes = ", ".join(NotProgressedReason)
            raise ValidationFailed.field("body.reason_code", f"Give a reason code: one of {codes}.")
        return
    if source == NOT_PROGRESSED:
        if target != IDENTIFIED:
            raise GateNotMet("A `not_progressed` adoption can only be reopened at `identified`.", missing=[])
        if not principal.is_exchange_staff:
            raise Forbidden("Only a facilitator or admin may reopen an adoption.")
        return
    if target == PAUSED:
        _require_reason(request, "pausing an adoption")
        return

    target_index = pipeline.active_index(target)
    assert target_index is not None  # every other stage is active
    if source == PAUSED:
        left = pipeline.active_index(adoption.paused_from or IDENTIFIED) or 0
        if target_index > left:
            if request.override:
                return
            raise GateNotMet(
                f"A paused adoption resumes at `{adoption.paused_from}` or an earlier stage.",
                missing=[],
            )
        if target_index < left:
            _require_reason(request, "resuming at an earlier stage is a move back")
        return

    source_index = pipeline.active_index(source)
    assert source_index is not None
    if target_index < source_index:
        _require_reason(request, "a move back")
        return
    if target_index > source_index + 1 and not request.override:
        raise GateNotMet(
            f"Moves go forward one stage at a time; `{target}` is {target_index - source_index} "
            "stages on. A facilitator or admin may skip with `override`.",
            missing=[],
        )
    missing = missing_for(pipeline, adoption, target, now)
    if missing and not request.override:
        labels = [_label(pipeline, key) for key in missing]
        raise GateNotMet(f"The gate of `{target}` is not met. Missing: {'; '.join(labels)}.", missing=missing)


def _before_adopted(pipeline: Stages, key: str) -> bool:
    index, adopted = pipeline.active_index(key), pipeline.active_index(ADOPTED)
    return index is not None and adopted is not None and index < adopted


def _label(pipeline: Stages, key: str) -> str:
    item = pipeline.item_by_key.get(key)
    return item.label if item else key.replace("_", " ")


def move(
    session: Session,
    principal: Principal,
    adoption: Adoption,
    request: MoveRequest,
    *,
    adopter_region: str | None,
    supplier_id: uuid.UUID,
    now: datetime | None = None,
) -> Transition:
    """Move an adoption to another stage, or say why not. Writes the
    transition, with a snapshot of the gate as it stood, and its event; the
    caller has already checked the version the client read."""
    values = prepare_move(
        stages(session), principal, adoption, request, adopter_region=adopter_region, now=now or utcnow()
    )
    transition = Transition(**values)
    session.add(transition)
    session.add(adoption)
    session.flush()
    events.add(session, stage_changed_values(principal, adoption, values, supplier_id))
    return transition


def prepare_move(
    pipeline: Stages,
    principal: Principal,
    adoption: Adoption,
    request: MoveRequest,
    *,
    adopter_region: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Check a move and make it on `adoption` in memory; return the columns
    of the transition to write. Writes nothing: `move` writes one, the bulk
    import many at once."""
    if not can_move(principal, adoption, adopter_region):
        raise Forbidden("Only the adopting organisation, its region's facilitators and admins move it.")
    _check_move(pipeline, principal, adoption, request, now)

    target = pipeline.by_key[request.to_stage]
    transition = {
        "id": new_id(),
        "adoption_id": adoption.id,
        "from_stage": adoption.stage,
        "to_stage": target.key,
        "reason": request.reason,
        "reason_code": request.reason_code if target.key == NOT_PROGRESSED else None,
        "override": request.override,
        "actor": principal.label,
        "actor_org_id": principal.organisation_id,
        "gate_snapshot": {
            "gate": _facts(adoption),
            "missing": missing_for(pipeline, adoption, target.key, now) if target.active else [],
        },
        "created_at": now,
    }

    adoption.paused_from = adoption.stage if target.key == PAUSED else None
    # A skip straight to `sustained` adopts it too: spread counts from `adopted_at`.
    if target.key == ADOPTED or (target.key in ADOPTED_STAGES and adoption.adopted_at is None):
        adoption.adopted_at = now
    elif _before_adopted(pipeline, target.key):
        adoption.adopted_at = None
    adoption.stage = target.key
    adoption.stage_entered_at = now
    adoption.furthest_stage = pipeline.furthest(adoption.furthest_stage, target.key)
    records.touch(adoption, now)
    return transition


def stage_changed_values(
    principal: Principal, adoption: Adoption, transition: dict[str, Any], supplier_id: uuid.UUID
) -> dict[str, Any]:
    """The `adoption.stage_changed` event of a move."""
    return events.values(
        principal,
        "adoption.stage_changed",
        ("adoption", adoption.id),
        {
            "adoption_id": str(adoption.id),
            "innovation_id": str(adoption.innovation_id),
            "organisation_id": str(adoption.organisation_id),
            "transition_id": str(transition["id"]),
            "from_stage": transition["from_stage"],
            "to_stage": transition["to_stage"],
            "reason": transition["reason"],
            "reason_code": transition["reason_code"],
            "override": transition["override"],
            "version": adoption.version,
        },
        restricted=True,
        orgs=(adoption.organisation_id, supplier_id),
    )


def _public(transition: Transition) -> TransitionPublic:
    return TransitionPublic.model_validate(transition, from_attributes=True)


def history(session: Session, adoption_id: uuid.UUID, page: PageRequest) -> Page[TransitionPublic]:
    """An adoption's transitions, oldest first."""
    stmt = select(Transition).where(Transition.adoption_id == adoption_id)
    return keyset(session, stmt, col(Transition.id), page, _public)


def transition(session: Session, adoption_id: uuid.UUID, transition_id: uuid.UUID) -> TransitionPublic:
    found = session.get(Transition, transition_id)
    if found is None or found.adoption_id != adoption_id:
        raise NotFound("transition")
    return _public(found)
