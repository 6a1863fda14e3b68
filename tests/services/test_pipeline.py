"""The adoption pipeline's rules (DOMAIN.md, "The adoption pipeline"), table by
table: every gate item, every forward, skipping, backward, pausing, resuming,
not-progressed and reopening move, for each kind of caller; and what each
move writes (one transition, one event, in the same transaction) or, when
refused, that it writes nothing at all."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import Session, col, func, select

from app.auth import Principal
from app.errors import Forbidden, GateNotMet, NotFound, PreconditionFailed, ValidationFailed
from app.models.adoption import Adoption, AdoptionUpdate, Lead
from app.models.base import as_utc
from app.models.event import Event
from app.models.transition import Transition
from app.models.vocabulary import NotProgressedReason
from app.services import adoptions, pipeline
from app.services.pagination import PageRequest
from tests.factories import FULL_GATE, World, admin_principal, make_adoption, make_innovation, principal_for

# --- the pipeline as DOMAIN.md states it ------------------------------------

ACTIVE = ("identified", "needs_assessment", "co_design", "real_world_testing", "adopted", "sustained")
OFF_LINE = ("paused", "not_progressed")
ALL_STAGES = ACTIVE + OFF_LINE
GATES: dict[str, tuple[str, ...]] = {
    "needs_assessment": ("champion",),
    "co_design": (
        "needs_assessment_summary",
        "evidence_reviewed",
        "regulation_reviewed",
        "cost_reviewed",
        "pathway_fit_reviewed",
    ),
    "real_world_testing": ("funding_source", "evaluation_plan", "success_measures", "local_tailoring"),
    "adopted": ("evaluation_outcome", "procurement_route"),
}
WAIT = "180_days_since_adopted"
GATE_ITEMS = [(stage, item) for stage, items in GATES.items() for item in items]
FORWARD_ONE = [(ACTIVE[i], ACTIVE[i + 1]) for i in range(len(ACTIVE) - 1)]
SKIPS = [(source, target) for i, source in enumerate(ACTIVE) for target in ACTIVE[i + 2 :]]
BACKS = [(source, target) for i, source in enumerate(ACTIVE) for target in ACTIVE[:i]]
REASON_CODES = [code.value for code in NotProgressedReason]

# Who is calling: keys of `World`.
MOVERS = ("trust", "facilitator", "admin")  # the adopting organisation, its region's network, admins
STAFF = ("facilitator", "admin")
MEMBER = "trust"
REASON = "Agreed at the programme board"
LEAD = Lead(name="Dr Asha Patel", email="asha.patel@nhs.net")


def before(stage: str) -> str:
    return ACTIVE[ACTIVE.index(stage) - 1]


def only(*keys: str) -> dict[str, Any]:
    return {key: FULL_GATE[key] for key in keys}


def without(*keys: str) -> dict[str, Any]:
    return {key: value for key, value in FULL_GATE.items() if key not in keys}


def expected_missing(target: str, gate: dict[str, Any]) -> list[str]:
    """What the gate of `target` lacks, for an adoption never adopted."""
    missing = [item for item in GATES.get(target, ()) if item not in gate]
    return [*missing, WAIT] if target == "sustained" else missing


# --- helpers ----------------------------------------------------------------


def actor(session: Session, world: World, who: str) -> Principal:
    return principal_for(session, world.keys[who])


def open_adoption(
    session: Session,
    world: World,
    stage: str = "identified",
    *,
    gate: dict[str, Any] | None = None,
    lead: Lead | None = None,
    adopted_days_ago: int | None = None,
) -> adoptions.Loaded:
    """A new adoption at the world's trust (of a new innovation, one adoption
    per pair), walked by an admin to an active `stage` or put `paused` /
    `not_progressed` from `co_design`."""
    innovation = make_innovation(session, world.supplier, name=f"Innovation {uuid.uuid4().hex[:8]}")
    walk_to = stage if stage in ACTIVE else "co_design"
    adoption = make_adoption(
        session,
        innovation,
        world.trust,
        gate=gate,
        stage=walk_to,
        adopted_days_ago=adopted_days_ago,
        lead=lead,
    )
    loaded = adoptions.get(session, admin_principal(world.exchange), adoption.id)
    if stage == "paused":
        move(session, world, loaded, "admin", "paused", reason="set up by the tests")
    elif stage == "not_progressed":
        move(session, world, loaded, "admin", "not_progressed", reason_code="other")
    assert loaded.adoption.stage == stage
    return loaded


def move(
    session: Session,
    world: World,
    loaded: adoptions.Loaded,
    who: str,
    to_stage: str,
    *,
    reason: str | None = None,
    reason_code: str | None = None,
    override: bool = False,
    now: datetime | None = None,
) -> Transition:
    """A move as the API makes it (`adoptions.move`, with the version read), or
    straight through `pipeline.move` when the clock is given."""
    principal = actor(session, world, who)
    request = pipeline.MoveRequest(to_stage, reason=reason, reason_code=reason_code, override=override)
    if now is None:
        return adoptions.move(session, principal, loaded, request, loaded.adoption.version)
    return pipeline.move(
        session,
        principal,
        loaded.adoption,
        request,
        adopter_region=loaded.adopter_region,
        supplier_id=loaded.supplier_id,
        now=now,
    )


def written(session: Session, adoption_id: uuid.UUID) -> tuple[int, int]:
    """How many transitions and events (of any type) the adoption has."""
    transitions = session.exec(
        select(func.count()).select_from(Transition).where(Transition.adoption_id == adoption_id)
    ).one()
    events = session.exec(
        select(func.count()).select_from(Event).where(Event.resource_id == adoption_id)
    ).one()
    return transitions, events


def state(session: Session, loaded: adoptions.Loaded) -> tuple[Any, ...]:
    adoption = loaded.adoption
    stored = session.exec(
        select(Adoption.stage, Adoption.version, Adoption.paused_from).where(Adoption.id == adoption.id)
    ).one()
    return (
        adoption.stage,
        adoption.version,
        adoption.paused_from,
        adoption.adopted_at,
        adoption.stage_entered_at,
        dict(adoption.gate),
        tuple(stored),
        written(session, adoption.id),
    )


@contextmanager
def refused(
    session: Session, loaded: adoptions.Loaded, error: type[Exception]
) -> Iterator[pytest.ExceptionInfo[Any]]:
    """The block must raise `error` and leave no trace: no transition, no
    event, the adoption as it was, in memory and in the database."""
    before_state = state(session, loaded)
    with pytest.raises(error) as caught:
        yield caught
    assert state(session, loaded) == before_state


def moved(
    session: Session, world: World, loaded: adoptions.Loaded, who: str, to_stage: str, **options: Any
) -> Transition:
    """Make an allowed move and check what every move writes: exactly one
    transition and one `adoption.stage_changed` event that agree with it,
    the new stage, and the version one up."""
    adoption = loaded.adoption
    source, version = adoption.stage, adoption.version
    gate_before = facts(adoption)
    transitions, events = written(session, adoption.id)

    transition = move(session, world, loaded, who, to_stage, **options)

    assert written(session, adoption.id) == (transitions + 1, events + 1)
    principal = actor(session, world, who)
    assert (transition.adoption_id, transition.from_stage, transition.to_stage) == (
        adoption.id,
        source,
        to_stage,
    )
    assert transition.reason == options.get("reason")
    assert transition.override is options.get("override", False)
    assert (transition.actor, transition.actor_org_id) == (principal.label, principal.organisation_id)
    assert transition.gate_snapshot["gate"] == gate_before
    assert adoption.stage == to_stage
    assert adoption.version == version + 1
    assert adoption.stage_entered_at == transition.created_at
    assert adoption.paused_from == (source if to_stage == "paused" else None)
    stored = session.exec(select(Adoption.stage, Adoption.version).where(Adoption.id == adoption.id)).one()
    assert tuple(stored) == (to_stage, version + 1)

    event = session.exec(
        select(Event).where(Event.resource_id == adoption.id).order_by(col(Event.id).desc())
    ).first()
    assert event is not None
    assert event.type == "adoption.stage_changed"
    assert (event.actor, event.actor_org_id) == (principal.label, principal.organisation_id)
    assert event.restricted is True
    assert (event.subject_org_id, event.related_org_id) == (adoption.organisation_id, loaded.supplier_id)
    assert event.data == {
        "adoption_id": str(adoption.id),
        "innovation_id": str(adoption.innovation_id),
        "organisation_id": str(adoption.organisation_id),
        "transition_id": str(transition.id),
        "from_stage": source,
        "to_stage": to_stage,
        "reason": transition.reason,
        "reason_code": transition.reason_code,
        "override": transition.override,
        "version": version + 1,
    }
    return transition


def facts(adoption: Adoption) -> dict[str, Any]:
    """The gate as it stands: the lead stands in for a champion not named."""
    gate = dict(adoption.gate)
    if not gate.get("champion") and adoption.lead_name:
        gate["champion"] = adoption.lead_name
    return gate


def field_of(error: ValidationFailed) -> list[str]:
    return [e["field"] for e in error.errors]


# --- the stages are DOMAIN.md's ----------------------------------------------


def test_the_stages_and_gate_items_are_domain_md_s(session: Session) -> None:
    stages = pipeline.stages(session)
    assert [s.key for s in stages.ordered] == list(ALL_STAGES)
    assert [s.key for s in stages.active] == list(ACTIVE)
    assert {key: tuple(i.key for i in items) for key, items in stages.items.items()} == GATES
    assert stages.by_key["sustained"].wait_days == 180
    assert stages.item_by_key["evaluation_outcome"].required_value == "positive"


# --- forward, one stage, when the target's gate is met ------------------------


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("target", "item"), GATE_ITEMS)
def test_forward_is_refused_when_one_gate_item_is_missing(
    session: Session, world: World, target: str, item: str, who: str
) -> None:
    loaded = open_adoption(session, world, before(target), gate=without(item))
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, who, target)
    assert caught.value.extra["missing"] == [item]


@pytest.mark.parametrize("target", GATES)
def test_forward_refusal_lists_every_missing_item_of_the_target_only(
    session: Session, world: World, target: str
) -> None:
    # Every other stage's items are there; only the target's are missing.
    loaded = open_adoption(session, world, before(target), gate=without(*GATES[target]))
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, MEMBER, target)
    assert caught.value.extra["missing"] == list(GATES[target])


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("source", "target"), FORWARD_ONE[:-1])
def test_forward_one_stage_is_allowed_once_the_target_gate_is_met(
    session: Session, world: World, source: str, target: str, who: str
) -> None:
    # Only the target's items: earlier gates are not asked again.
    gate = only(*GATES[target])
    loaded = open_adoption(session, world, source, gate=gate)
    transition = moved(session, world, loaded, who, target)
    assert transition.gate_snapshot == {"gate": gate, "missing": []}
    assert transition.reason_code is None


@pytest.mark.parametrize(
    ("target", "item", "value"),
    [
        ("needs_assessment", "champion", ""),
        ("needs_assessment", "champion", "   "),
        ("co_design", "needs_assessment_summary", " "),
        ("co_design", "evidence_reviewed", False),
        ("co_design", "regulation_reviewed", False),
        ("co_design", "cost_reviewed", False),
        ("co_design", "pathway_fit_reviewed", False),
        ("real_world_testing", "funding_source", ""),
        ("real_world_testing", "evaluation_plan", "  "),
        ("real_world_testing", "success_measures", ""),
        ("real_world_testing", "local_tailoring", "\n"),
        ("adopted", "evaluation_outcome", "mixed"),
        ("adopted", "evaluation_outcome", "negative"),
        ("adopted", "procurement_route", " "),
    ],
)
def test_a_gate_item_with_a_value_that_does_not_meet_it_is_missing(
    session: Session, world: World, target: str, item: str, value: Any
) -> None:
    loaded = open_adoption(session, world, before(target), gate={**FULL_GATE, item: value})
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, MEMBER, target)
    assert caught.value.extra["missing"] == [item]


@pytest.mark.parametrize(
    ("lead", "gate", "champion"),
    [
        (LEAD, {}, LEAD.name),  # the adoption's lead is its champion
        (None, {"champion": "Sam Jones"}, "Sam Jones"),  # or the gate names one
        (LEAD, {"champion": "Sam Jones"}, "Sam Jones"),  # the gate's own wins
    ],
)
def test_the_champion_is_the_lead_or_the_gate_item(
    session: Session, world: World, lead: Lead | None, gate: dict[str, Any], champion: str
) -> None:
    loaded = open_adoption(session, world, gate=gate, lead=lead)
    transition = moved(session, world, loaded, MEMBER, "needs_assessment")
    assert transition.gate_snapshot == {"gate": {"champion": champion}, "missing": []}


def test_a_lead_set_by_update_meets_the_champion_gate(session: Session, world: World) -> None:
    loaded = open_adoption(session, world)
    trust = actor(session, world, MEMBER)
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, MEMBER, "needs_assessment")
    assert caught.value.extra["missing"] == ["champion"]
    adoptions.update(session, trust, loaded, AdoptionUpdate(lead=LEAD), loaded.adoption.version)
    moved(session, world, loaded, MEMBER, "needs_assessment")


# --- sustained: 180 days after entering adopted -------------------------------


@pytest.mark.parametrize(
    ("after", "met"),
    [
        (timedelta(0), False),
        (timedelta(days=179), False),
        (timedelta(days=179, hours=23, minutes=59, seconds=59), False),
        (timedelta(days=180), True),
        (timedelta(days=400), True),
    ],
)
def test_sustained_only_180_days_after_entering_adopted(
    session: Session, world: World, after: timedelta, met: bool
) -> None:
    loaded = open_adoption(session, world, "real_world_testing", gate=FULL_GATE)
    entered = moved(session, world, loaded, MEMBER, "adopted")
    assert loaded.adoption.adopted_at == entered.created_at
    now = as_utc(entered.created_at) + after
    if met:
        transition = moved(session, world, loaded, MEMBER, "sustained", now=now)
        assert transition.gate_snapshot["missing"] == []
        assert loaded.adoption.adopted_at == entered.created_at  # kept
    else:
        with refused(session, loaded, GateNotMet) as caught:
            move(session, world, loaded, MEMBER, "sustained", now=now)
        assert caught.value.extra["missing"] == [WAIT]


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("days", "met"), [(179, False), (180, True)])
def test_sustained_by_adopted_days_ago(
    session: Session, world: World, days: int, met: bool, who: str
) -> None:
    loaded = open_adoption(session, world, "adopted", gate=FULL_GATE, adopted_days_ago=days)
    if met:
        moved(session, world, loaded, who, "sustained")
    else:
        with refused(session, loaded, GateNotMet) as caught:
            move(session, world, loaded, who, "sustained")
        assert caught.value.extra["missing"] == [WAIT]


# --- skipping a stage ------------------------------------------------------------


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("source", "target"), SKIPS)
def test_skipping_a_stage_is_refused_without_override(
    session: Session, world: World, source: str, target: str, who: str
) -> None:
    # Even with every gate item shown and the wait long over.
    loaded = open_adoption(session, world, source, gate=FULL_GATE, adopted_days_ago=400)
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, who, target, reason=REASON)
    assert caught.value.extra["missing"] == []


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(("source", "target"), SKIPS)
def test_staff_may_skip_with_override_and_a_reason(
    session: Session, world: World, source: str, target: str, who: str
) -> None:
    loaded = open_adoption(session, world, source)
    transition = moved(session, world, loaded, who, target, override=True, reason=REASON)
    assert transition.override is True
    assert transition.reason == REASON
    assert transition.gate_snapshot == {"gate": {}, "missing": expected_missing(target, {})}


@pytest.mark.parametrize(("source", "target"), [*FORWARD_ONE, *SKIPS])
def test_override_by_a_member_is_forbidden(session: Session, world: World, source: str, target: str) -> None:
    loaded = open_adoption(session, world, source)
    with refused(session, loaded, Forbidden):
        move(session, world, loaded, MEMBER, target, override=True, reason=REASON)


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(
    ("source", "target"), [("identified", "needs_assessment"), ("identified", "co_design")]
)
def test_an_override_needs_a_reason(
    session: Session, world: World, source: str, target: str, who: str, reason: str | None
) -> None:
    loaded = open_adoption(session, world, source)
    with refused(session, loaded, ValidationFailed) as caught:
        move(session, world, loaded, who, target, override=True, reason=reason)
    assert field_of(caught.value) == ["body.reason"]


# --- overriding a gate ----------------------------------------------------------


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(("source", "target"), FORWARD_ONE)
def test_staff_may_override_an_unmet_gate_with_a_reason(
    session: Session, world: World, source: str, target: str, who: str
) -> None:
    loaded = open_adoption(session, world, source)
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, who, target)
    missing = caught.value.extra["missing"]
    assert missing  # the gate is not met
    transition = moved(session, world, loaded, who, target, override=True, reason=REASON)
    assert transition.override is True
    assert transition.gate_snapshot["missing"] == missing
    if target == "adopted":
        assert loaded.adoption.adopted_at == transition.created_at


# --- back to an earlier stage ---------------------------------------------------


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("source", "target"), BACKS)
def test_back_to_any_earlier_stage_needs_a_reason(
    session: Session, world: World, source: str, target: str, who: str
) -> None:
    loaded = open_adoption(session, world, source)
    for reason in (None, "", "  "):
        with refused(session, loaded, ValidationFailed) as caught:
            move(session, world, loaded, who, target, reason=reason)
        assert field_of(caught.value) == ["body.reason"]
    transition = moved(session, world, loaded, who, target, reason=REASON)
    assert transition.override is False
    if ACTIVE.index(target) < ACTIVE.index("adopted"):
        assert loaded.adoption.adopted_at is None
    else:  # sustained back to adopted: entering `adopted` again restarts its clock
        assert loaded.adoption.adopted_at == transition.created_at


# --- paused ------------------------------------------------------------------------


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize("source", ACTIVE)
def test_pause_from_any_active_stage_needs_a_reason(
    session: Session, world: World, source: str, who: str
) -> None:
    loaded = open_adoption(session, world, source)
    for reason in (None, "", " "):
        with refused(session, loaded, ValidationFailed) as caught:
            move(session, world, loaded, who, "paused", reason=reason)
        assert field_of(caught.value) == ["body.reason"]
    adopted_at = loaded.adoption.adopted_at
    moved(session, world, loaded, who, "paused", reason="Ward closed for refurbishment")
    assert loaded.adoption.paused_from == source
    assert loaded.adoption.adopted_at == adopted_at  # a pause forgets nothing


def pause(session: Session, world: World, left: str, **options: Any) -> adoptions.Loaded:
    loaded = open_adoption(session, world, left, **options)
    moved(session, world, loaded, MEMBER, "paused", reason="Ward closed for refurbishment")
    return loaded


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize("left", ACTIVE)
def test_resume_to_the_stage_it_left_needs_nothing(
    session: Session, world: World, left: str, who: str
) -> None:
    # No reason, and the gate is not asked again (it was overridden on the way).
    loaded = pause(session, world, left)
    adopted_at = loaded.adoption.adopted_at
    transition = moved(session, world, loaded, who, left)
    assert transition.from_stage == "paused"
    assert loaded.adoption.paused_from is None
    if left == "adopted":  # entering `adopted` again restarts its clock
        assert loaded.adoption.adopted_at == transition.created_at
    else:
        assert loaded.adoption.adopted_at == adopted_at


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("left", "target"), BACKS)
def test_resume_to_an_earlier_stage_needs_a_reason(
    session: Session, world: World, left: str, target: str, who: str
) -> None:
    loaded = pause(session, world, left)
    with refused(session, loaded, ValidationFailed) as caught:
        move(session, world, loaded, who, target)
    assert field_of(caught.value) == ["body.reason"]
    moved(session, world, loaded, who, target, reason=REASON)
    assert loaded.adoption.paused_from is None
    if ACTIVE.index(target) < ACTIVE.index("adopted"):
        assert loaded.adoption.adopted_at is None


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize(("left", "target"), [*FORWARD_ONE, *SKIPS])
def test_resume_to_a_later_stage_only_by_staff_override(
    session: Session, world: World, left: str, target: str, who: str
) -> None:
    # Every gate met and the wait over: still not without an override.
    loaded = pause(session, world, left, gate=FULL_GATE, adopted_days_ago=400)
    for caller in MOVERS:
        with refused(session, loaded, GateNotMet) as caught:
            move(session, world, loaded, caller, target, reason=REASON)
        assert caught.value.extra["missing"] == []
    with refused(session, loaded, Forbidden):
        move(session, world, loaded, MEMBER, target, override=True, reason=REASON)
    with refused(session, loaded, ValidationFailed):
        move(session, world, loaded, who, target, override=True)
    transition = moved(session, world, loaded, who, target, override=True, reason=REASON)
    assert transition.override is True
    assert loaded.adoption.paused_from is None


def test_paused_cannot_go_to_paused_again(session: Session, world: World) -> None:
    loaded = pause(session, world, "co_design")
    with refused(session, loaded, GateNotMet):
        move(session, world, loaded, MEMBER, "paused", reason=REASON)


# --- not progressed, and reopening ----------------------------------------------


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("source", "code"), list(zip((*ACTIVE, "paused"), REASON_CODES, strict=True)))
def test_not_progressed_from_any_stage_needs_a_reason_code(
    session: Session, world: World, source: str, code: str, who: str
) -> None:
    loaded = open_adoption(session, world, source)
    for bad in (None, "", "ran_out_of_time"):
        with refused(session, loaded, ValidationFailed) as caught:
            move(session, world, loaded, who, "not_progressed", reason_code=bad, reason=REASON)
        assert field_of(caught.value) == ["body.reason_code"]
    transition = moved(session, world, loaded, who, "not_progressed", reason_code=code)
    assert transition.reason_code == code
    assert loaded.adoption.paused_from is None


@pytest.mark.parametrize("target", [s for s in ALL_STAGES if s not in ("co_design", "not_progressed")])
def test_a_reason_code_is_kept_only_for_not_progressed(session: Session, world: World, target: str) -> None:
    loaded = open_adoption(session, world, "co_design", gate=FULL_GATE)
    transition = moved(
        session, world, loaded, "admin", target, override=True, reason=REASON, reason_code="other"
    )
    assert transition.reason_code is None


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize("left", ACTIVE)
def test_staff_reopen_not_progressed_at_identified(
    session: Session, world: World, left: str, who: str
) -> None:
    loaded = open_adoption(session, world, left)
    moved(session, world, loaded, MEMBER, "not_progressed", reason_code="no_funding")
    moved(session, world, loaded, who, "identified")
    assert loaded.adoption.adopted_at is None


def test_a_member_may_not_reopen(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, "not_progressed")
    with refused(session, loaded, Forbidden):
        move(session, world, loaded, MEMBER, "identified", reason=REASON)


@pytest.mark.parametrize(
    ("who", "override"),
    [("trust", False), ("facilitator", False), ("facilitator", True), ("admin", False), ("admin", True)],
)
@pytest.mark.parametrize("target", [s for s in ALL_STAGES if s not in ("identified", "not_progressed")])
def test_not_progressed_reopens_only_at_identified(
    session: Session, world: World, target: str, who: str, override: bool
) -> None:
    # Not even with an override: DOMAIN.md reopens only at `identified`.
    loaded = open_adoption(session, world, "not_progressed", gate=FULL_GATE)
    with refused(session, loaded, GateNotMet):
        move(session, world, loaded, who, target, reason=REASON, override=override)


# --- moves that are no moves ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "override"), [("trust", False), ("facilitator", False), ("admin", False), ("admin", True)]
)
@pytest.mark.parametrize("stage", ALL_STAGES)
def test_a_move_to_the_same_stage_is_refused(
    session: Session, world: World, stage: str, who: str, override: bool
) -> None:
    loaded = open_adoption(session, world, stage, gate=FULL_GATE)
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, who, stage, reason=REASON, reason_code="other", override=override)
    assert caught.value.extra["missing"] == []


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize("to_stage", ["spread", "", "Adopted", "adopted ", "Needs assessment"])
def test_an_unknown_stage_is_invalid(session: Session, world: World, to_stage: str, who: str) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    with refused(session, loaded, ValidationFailed) as caught:
        move(session, world, loaded, who, to_stage, reason=REASON)
    assert field_of(caught.value) == ["body.to_stage"]


# --- who may see, move and change it --------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("trust", True),
        ("facilitator", True),
        ("admin", True),
        ("supplier", True),
        ("other_facilitator", True),
        ("other_trust", False),
    ],
)
def test_who_sees_an_adoption(session: Session, world: World, who: str, sees: bool) -> None:
    principal = actor(session, world, who)
    if sees:
        assert adoptions.get(session, principal, world.adoption.id).adoption is world.adoption
    else:
        with pytest.raises(NotFound):
            adoptions.get(session, principal, world.adoption.id)


# One move of each kind, each allowed to the adopting organisation.
KINDS_OF_MOVE: list[tuple[str, str, dict[str, Any]]] = [
    ("identified", "needs_assessment", {}),
    ("co_design", "identified", {"reason": REASON}),
    ("co_design", "paused", {"reason": REASON}),
    ("paused", "co_design", {}),
    ("co_design", "not_progressed", {"reason_code": "no_capacity"}),
    ("adopted", "sustained", {}),
]


@pytest.mark.parametrize("who", MOVERS)
@pytest.mark.parametrize(("source", "target", "options"), KINDS_OF_MOVE)
def test_the_adopter_its_facilitators_and_admins_move_it(
    session: Session, world: World, source: str, target: str, options: dict[str, Any], who: str
) -> None:
    loaded = open_adoption(
        session, world, source, gate=FULL_GATE, adopted_days_ago=200 if source == "adopted" else None
    )
    # Loaded through the caller's own eyes, as the API loads it.
    loaded = adoptions.get(session, actor(session, world, who), loaded.adoption.id)
    moved(session, world, loaded, who, target, **options)


@pytest.mark.parametrize("who", ["supplier", "other_facilitator", "other_trust"])
@pytest.mark.parametrize(
    ("source", "target", "options"),
    [
        *KINDS_OF_MOVE,
        ("identified", "co_design", {"override": True, "reason": REASON}),
        ("not_progressed", "identified", {}),
    ],
)
def test_others_may_not_move_it(
    session: Session, world: World, source: str, target: str, options: dict[str, Any], who: str
) -> None:
    loaded = open_adoption(
        session, world, source, gate=FULL_GATE, adopted_days_ago=200 if source == "adopted" else None
    )
    with refused(session, loaded, Forbidden):  # through adoptions.move
        move(session, world, loaded, who, target, **options)
    with refused(session, loaded, Forbidden):  # and straight through the pipeline
        move(session, world, loaded, who, target, now=pipeline.utcnow(), **options)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("trust", None),
        ("facilitator", None),
        ("admin", None),
        ("supplier", Forbidden),
        ("other_facilitator", Forbidden),
        ("other_trust", Forbidden),
    ],
)
def test_who_may_change_an_adoption(
    session: Session, world: World, who: str, error: type[Exception] | None
) -> None:
    loaded = open_adoption(session, world)
    principal = actor(session, world, who)
    change = AdoptionUpdate(gate={"champion": "Sam Jones"}, notes="Met the ward sisters")
    if error is not None:
        with refused(session, loaded, error):
            adoptions.update(session, principal, loaded, change, loaded.adoption.version)
        return
    version = loaded.adoption.version
    transitions, events = written(session, loaded.adoption.id)
    adoptions.update(session, principal, loaded, change, version)
    assert loaded.adoption.gate == {"champion": "Sam Jones"}
    assert loaded.adoption.version == version + 1
    assert written(session, loaded.adoption.id) == (transitions, events + 1)  # no transition
    event = session.exec(
        select(Event).where(Event.resource_id == loaded.adoption.id).order_by(col(Event.id).desc())
    ).first()
    assert event is not None and event.type == "adoption.updated"
    assert loaded.adoption.stage == "identified"  # changing the gate moves nothing


# --- gates changed by update --------------------------------------------------------


def test_update_merges_the_gate_and_null_clears_an_item(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, "co_design")
    trust = actor(session, world, MEMBER)
    adoptions.update(session, trust, loaded, AdoptionUpdate(gate=only(*GATES["real_world_testing"])), 3)
    adoptions.update(session, trust, loaded, AdoptionUpdate(gate={"funding_source": None}), 4)
    assert loaded.adoption.gate == only("evaluation_plan", "success_measures", "local_tailoring")
    with refused(session, loaded, GateNotMet) as caught:
        move(session, world, loaded, MEMBER, "real_world_testing")
    assert caught.value.extra["missing"] == ["funding_source"]
    adoptions.update(session, trust, loaded, AdoptionUpdate(gate={"funding_source": "ICB"}), 5)
    moved(session, world, loaded, MEMBER, "real_world_testing")


@pytest.mark.parametrize(
    ("gate", "field"),
    [
        ({"not_an_item": "x"}, "body.gate.not_an_item"),
        ({"evidence_reviewed": "yes"}, "body.gate.evidence_reviewed"),
        ({"evaluation_outcome": "great"}, "body.gate.evaluation_outcome"),
        ({"funding_source": 12}, "body.gate.funding_source"),
    ],
)
def test_update_refuses_gate_values_the_items_do_not_allow(
    session: Session, world: World, gate: dict[str, Any], field: str
) -> None:
    loaded = open_adoption(session, world)
    with refused(session, loaded, ValidationFailed) as caught:
        adoptions.update(session, actor(session, world, MEMBER), loaded, AdoptionUpdate(gate=gate), 1)
    assert field_of(caught.value) == [field]


# --- versions -----------------------------------------------------------------------


def test_each_move_increments_the_version(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    assert loaded.adoption.version == 1
    steps = [
        ("needs_assessment", {}),
        ("co_design", {}),
        ("paused", {"reason": REASON}),
        ("needs_assessment", {"reason": REASON}),
        ("co_design", {}),
        ("real_world_testing", {}),
        ("adopted", {}),
        ("not_progressed", {"reason_code": "superseded"}),
    ]
    for version, (target, options) in enumerate(steps, start=2):
        moved(session, world, loaded, MEMBER, target, **options)
        assert loaded.adoption.version == version


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_stale_version_is_refused(session: Session, world: World, offset: int) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    moved(session, world, loaded, MEMBER, "needs_assessment")
    principal = actor(session, world, MEMBER)
    stale = loaded.adoption.version + offset
    with refused(session, loaded, PreconditionFailed) as caught:
        adoptions.move(session, principal, loaded, pipeline.MoveRequest("co_design"), stale)
    assert caught.value.extra["etag"] == f'"{loaded.adoption.version}"'
    with refused(session, loaded, PreconditionFailed):
        adoptions.update(session, principal, loaded, AdoptionUpdate(notes="Late"), stale)


# --- what a move writes ---------------------------------------------------------------


def test_the_gate_snapshot_keeps_the_gate_as_it_stood(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, gate={"champion": "Dr Asha Patel", "cost_reviewed": True})
    transition = moved(session, world, loaded, MEMBER, "needs_assessment")
    trust = actor(session, world, MEMBER)
    adoptions.update(
        session, trust, loaded, AdoptionUpdate(gate={"champion": None, "evidence_reviewed": True}), 2
    )
    session.expire(transition)
    session.refresh(transition)
    assert transition.gate_snapshot == {
        "gate": {"champion": "Dr Asha Patel", "cost_reviewed": True},
        "missing": [],
    }


def test_a_move_and_its_event_are_one_transaction(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    before_written = written(session, loaded.adoption.id)
    savepoint = session.begin_nested()
    moved(session, world, loaded, MEMBER, "needs_assessment")
    savepoint.rollback()
    assert written(session, loaded.adoption.id) == before_written
    assert session.exec(select(Adoption.stage).where(Adoption.id == loaded.adoption.id)).one() == "identified"


def test_history_lists_every_move_oldest_first(session: Session, world: World) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    moved(session, world, loaded, MEMBER, "needs_assessment")
    moved(session, world, loaded, "facilitator", "paused", reason=REASON)
    moved(session, world, loaded, "admin", "co_design", override=True, reason=REASON)
    moved(session, world, loaded, MEMBER, "not_progressed", reason_code="poor_local_fit")
    page = pipeline.history(session, loaded.adoption.id, PageRequest(limit=100))
    assert [(t.from_stage, t.to_stage, t.override, t.reason_code) for t in page.items] == [
        ("identified", "needs_assessment", False, None),
        ("needs_assessment", "paused", False, None),
        ("paused", "co_design", True, None),
        ("co_design", "not_progressed", False, "poor_local_fit"),
    ]


# --- transitions (and events) are append-only in the database ----------------------------


def _sql(verb: str, table: str) -> Callable[[Session, uuid.UUID], None]:
    def run(session: Session, adoption_id: uuid.UUID) -> None:
        column = "adoption_id" if table == "transitions" else "resource_id"
        statement = (
            f"UPDATE {table} SET actor = 'someone else' WHERE {column} = :id"
            if verb == "update"
            else f"DELETE FROM {table} WHERE {column} = :id"
        )
        id_type = sa.Uuid()
        session.connection().execute(sa.text(statement).bindparams(sa.bindparam("id", adoption_id, id_type)))

    return run


def _core_update(session: Session, adoption_id: uuid.UUID) -> None:
    session.connection().execute(
        sa.update(Transition).where(col(Transition.adoption_id) == adoption_id).values(reason="rewritten")
    )


def _core_delete(session: Session, adoption_id: uuid.UUID) -> None:
    session.connection().execute(sa.delete(Transition).where(col(Transition.adoption_id) == adoption_id))


def _orm_update(session: Session, adoption_id: uuid.UUID) -> None:
    transition = session.exec(select(Transition).where(Transition.adoption_id == adoption_id)).first()
    assert transition is not None
    transition.reason = "rewritten"
    session.add(transition)
    session.flush()


def _orm_delete(session: Session, adoption_id: uuid.UUID) -> None:
    transition = session.exec(select(Transition).where(Transition.adoption_id == adoption_id)).first()
    assert transition is not None
    session.delete(transition)
    session.flush()


@pytest.mark.parametrize(
    "tamper",
    [
        _core_update,
        _core_delete,
        _orm_update,
        _orm_delete,
        _sql("update", "transitions"),
        _sql("delete", "transitions"),
        _sql("update", "events"),
        _sql("delete", "events"),
    ],
    ids=[
        "core-update",
        "core-delete",
        "orm-update",
        "orm-delete",
        "sql-update-transitions",
        "sql-delete-transitions",
        "sql-update-events",
        "sql-delete-events",
    ],
)
def test_transitions_and_events_are_append_only(
    session: Session, world: World, tamper: Callable[[Session, uuid.UUID], None]
) -> None:
    loaded = open_adoption(session, world, gate=FULL_GATE)
    moved(session, world, loaded, MEMBER, "needs_assessment", reason="First look")
    adoption_id = loaded.adoption.id
    before_written = written(session, adoption_id)
    with pytest.raises(sa_exc.DBAPIError, match="append-only"), session.begin_nested():
        tamper(session, adoption_id)
    # The outer transaction lives on, and nothing changed.
    session.expire_all()
    assert written(session, adoption_id) == before_written
    rows = session.exec(
        select(Transition.reason, Transition.actor).where(Transition.adoption_id == adoption_id)
    ).all()
    assert [tuple(row) for row in rows] == [("First look", actor(session, world, MEMBER).label)]


def test_a_skip_straight_to_sustained_dates_the_adoption(session: Session, world: World) -> None:
    admin = principal_for(session, world.keys["admin"])
    loaded = adoptions.get(session, admin, world.adoption.id, for_update=True)
    pipeline.move(
        session,
        admin,
        loaded.adoption,
        pipeline.MoveRequest(
            to_stage="sustained", override=True, reason="adopted before joining the exchange"
        ),
        adopter_region=loaded.adopter_region,
        supplier_id=loaded.supplier_id,
    )
    assert loaded.adoption.adopted_at is not None
