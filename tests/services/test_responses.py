"""Responses to challenges (DOMAIN.md, "Response"): putting an innovation
forward, the workflow table of moves, who may make each, selecting opening
exactly one adoption (or linking the one there is), and that a refused move
writes nothing at all."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app.auth import Principal
from app.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from app.models import Adoption, Challenge, Event, Innovation, Response
from app.models.response import ResponseCreate, ResponseUpdate
from app.models.vocabulary import InnovationStatus, ResponseStatus
from app.services import responses
from app.services.pagination import PageRequest
from tests.factories import World, make_challenge, make_innovation, make_key, make_org, principal_for

S = ResponseStatus
PITCH = "It destroys needles at the bedside; two wards halved their injuries."
REASON = "Another innovation fits our wards better."

# Every move the workflow allows (DOMAIN.md and API.md): anything else is refused.
ALLOWED = {
    (S.submitted, S.shortlisted),
    (S.submitted, S.declined),
    (S.submitted, S.withdrawn),
    (S.shortlisted, S.selected),
    (S.shortlisted, S.declined),
    (S.shortlisted, S.withdrawn),
}
# How a response reaches each status from `submitted`, by an admin.
PATHS: dict[ResponseStatus, tuple[ResponseStatus, ...]] = {
    S.submitted: (),
    S.shortlisted: (S.shortlisted,),
    S.selected: (S.shortlisted, S.selected),
    S.declined: (S.declined,),
    S.withdrawn: (S.withdrawn,),
}
PAIRS = [(source, target) for source in S for target in S if source != target]


def as_(session: Session, world: World, who: str) -> Principal:
    return principal_for(session, world.keys[who])


@pytest.fixture
def challenge(session: Session, world: World) -> Challenge:
    return make_challenge(session, world.trust, title="Fewer needlestick injuries")


@pytest.fixture
def innovation(session: Session, world: World) -> Innovation:
    """Published, by the world's supplier, and adopted nowhere yet."""
    return make_innovation(session, world.supplier, name="Virtual wards")


def respond(
    session: Session, world: World, challenge: Challenge, innovation: Innovation, who: str = "supplier"
) -> responses.Loaded:
    data = ResponseCreate(innovation_id=innovation.id, pitch=PITCH)
    return responses.respond(session, as_(session, world, who), challenge, data)


def move(
    session: Session,
    world: World,
    loaded: responses.Loaded,
    to: ResponseStatus,
    who: str = "admin",
    **kw: Any,
) -> responses.Moved:
    fresh = responses.get(session, as_(session, world, who), loaded.response.id, for_update=True)
    reason = kw.pop("reason", REASON if to is S.declined else None)
    data = ResponseUpdate(status=to, reason=reason)
    return responses.move(session, as_(session, world, who), fresh, data, kw.pop("version", None))


def at_status(
    session: Session, world: World, challenge: Challenge, innovation: Innovation, status: ResponseStatus
) -> responses.Loaded:
    loaded = respond(session, world, challenge, innovation)
    for step in PATHS[status]:
        move(session, world, loaded, step)
    assert loaded.response.status == status
    return loaded


def count(session: Session, model: Any, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def snapshot(session: Session) -> dict[str, int]:
    return {m.__name__: count(session, m) for m in (Response, Adoption, Event)}


@contextmanager
def writes_nothing(session: Session, loaded: responses.Loaded | None = None) -> Iterator[None]:
    """The block raises, and leaves every row and the response as they were."""
    before = snapshot(session)
    state = (loaded.response.status, loaded.response.version, loaded.response.adoption_id) if loaded else None
    yield
    assert snapshot(session) == before
    if loaded is not None:
        session.refresh(loaded.response)
        after = (loaded.response.status, loaded.response.version, loaded.response.adoption_id)
        assert after == state


def events_of(session: Session, response_id: uuid.UUID) -> list[Event]:
    stmt = select(Event).where(Event.resource_id == response_id).order_by(col(Event.id))
    return list(session.exec(stmt).all())


# --- putting an innovation forward --------------------------------------------------


def test_a_supplier_puts_an_innovation_forward(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    loaded = respond(session, world, challenge, innovation)
    response = loaded.response
    assert (response.status, response.pitch, response.version) == (S.submitted, PITCH, 1)
    assert (response.challenge_id, response.innovation_id) == (challenge.id, innovation.id)
    assert response.submitted_by_org_id == world.supplier.id
    assert (loaded.supplier_id, loaded.owner_id) == (world.supplier.id, world.trust.id)
    [event] = events_of(session, response.id)
    assert event.type == "response.created" and event.resource_type == "response"
    assert event.data["status"] == "submitted" and event.data["pitch"] == PITCH
    # Seen by the two organisations it concerns, facilitators and admins only.
    assert event.restricted
    assert {event.subject_org_id, event.related_org_id} == {world.trust.id, world.supplier.id}


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("supplier", True),
        ("facilitator", True),
        ("other_facilitator", True),
        ("admin", True),
        ("trust", False),  # the challenge owner answers no challenge with another's innovation
        ("other_trust", False),
    ],
)
def test_who_may_put_an_innovation_forward(
    session: Session, world: World, challenge: Challenge, innovation: Innovation, who: str, allowed: bool
) -> None:
    if allowed:
        loaded = respond(session, world, challenge, innovation, who)
        assert loaded.response.status == S.submitted
        assert loaded.response.submitted_by_org_id == as_(session, world, who).organisation_id
        return
    with writes_nothing(session), pytest.raises(Forbidden):
        respond(session, world, challenge, innovation, who)


@pytest.mark.parametrize("status", ["draft", "closed", "awarded", "withdrawn"])
def test_only_an_open_challenge_takes_responses(
    session: Session, world: World, innovation: Innovation, status: str
) -> None:
    challenge = make_challenge(session, world.trust, status=status)
    with writes_nothing(session), pytest.raises(Conflict, match="only while it is open"):
        respond(session, world, challenge, innovation, "admin")


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_only_a_published_innovation_is_put_forward(
    session: Session, world: World, challenge: Challenge, status: str
) -> None:
    innovation = make_innovation(session, world.supplier, name="Not ready", status=status)
    with writes_nothing(session), pytest.raises(ValidationFailed) as raised:
        respond(session, world, challenge, innovation)
    assert raised.value.errors[0]["field"] == "body.innovation_id"


def test_an_innovation_another_may_not_see_is_unknown(
    session: Session, world: World, challenge: Challenge
) -> None:
    rival = make_org(session, "supplier", "london")
    world.keys["rival"] = make_key(session, rival)
    draft = make_innovation(session, world.supplier, name="Secret draft", status="draft")
    with writes_nothing(session), pytest.raises(ValidationFailed, match="No innovation"):
        respond(session, world, challenge, draft, "rival")


def test_one_response_per_innovation_to_a_challenge(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    first = respond(session, world, challenge, innovation)
    with writes_nothing(session), pytest.raises(Conflict) as raised:
        respond(session, world, challenge, innovation, "facilitator")
    assert raised.value.extra["existing_id"] == str(first.response.id)
    # Another challenge is another matter.
    other = make_challenge(session, world.other_trust, title="Sharps in London")
    assert respond(session, world, other, innovation).response.id != first.response.id


# --- the workflow ---------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_the_workflow_table(
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
    source: ResponseStatus,
    target: ResponseStatus,
) -> None:
    loaded = at_status(session, world, challenge, innovation, source)
    version = loaded.response.version
    if (source, target) not in ALLOWED:
        with writes_nothing(session, loaded), pytest.raises(Conflict) as raised:
            move(session, world, loaded, target)
        assert raised.value.extra["current_status"] == source
        return
    before = len(events_of(session, loaded.response.id))
    moved = move(session, world, loaded, target)
    assert moved.changed
    assert loaded.response.status == target
    assert loaded.response.version == version + 1
    events = events_of(session, loaded.response.id)
    assert len(events) == before + 1
    assert events[-1].type == "response.status_changed"
    assert events[-1].data["status"] == target and events[-1].data["from_status"] == source


def test_a_move_to_the_status_it_has_changes_nothing(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    loaded = at_status(session, world, challenge, innovation, S.shortlisted)
    before = snapshot(session)
    assert move(session, world, loaded, S.shortlisted) == responses.Moved(changed=False)
    assert snapshot(session) == before and loaded.response.version == 2


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_declining_needs_a_reason(
    session: Session, world: World, challenge: Challenge, innovation: Innovation, reason: str | None
) -> None:
    loaded = respond(session, world, challenge, innovation)
    with writes_nothing(session, loaded), pytest.raises(ValidationFailed) as raised:
        move(session, world, loaded, S.declined, reason=reason)
    assert raised.value.errors == [{"field": "body.reason", "message": "Give the reason for declining it."}]


def test_the_reason_is_kept_and_shown_in_the_event(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    loaded = respond(session, world, challenge, innovation)
    move(session, world, loaded, S.declined, who="trust", reason=f"  {REASON} ")
    assert loaded.response.reason == REASON
    assert events_of(session, loaded.response.id)[-1].data["reason"] == REASON


def test_a_stale_version_is_refused(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    loaded = respond(session, world, challenge, innovation)
    move(session, world, loaded, S.shortlisted, version=1)
    with writes_nothing(session, loaded), pytest.raises(PreconditionFailed) as raised:
        move(session, world, loaded, S.selected, version=1)
    assert raised.value.extra["etag"] == '"2"'


# --- who may move it ----------------------------------------------------------------

# (who, target, outcome): "ok", or the error. The response is the world's
# supplier's, to a challenge of the trust in the north west.
RIGHTS = [
    *[(who, S.shortlisted, "ok") for who in ("trust", "facilitator", "other_facilitator", "admin")],
    *[(who, S.declined, "ok") for who in ("trust", "facilitator", "other_facilitator", "admin")],
    ("supplier", S.shortlisted, Forbidden),
    ("supplier", S.declined, Forbidden),
    # Selecting opens an adoption at the owner: the adoption's rule applies.
    ("trust", S.selected, "ok"),
    ("facilitator", S.selected, "ok"),
    ("admin", S.selected, "ok"),
    ("other_facilitator", S.selected, Forbidden),
    ("supplier", S.selected, Forbidden),
    ("supplier", S.withdrawn, "ok"),
    ("facilitator", S.withdrawn, "ok"),
    ("admin", S.withdrawn, "ok"),
    ("trust", S.withdrawn, Forbidden),
    # Those it does not concern are told it does not exist.
    *[("other_trust", target, NotFound) for target in (S.shortlisted, S.selected, S.declined, S.withdrawn)],
]


@pytest.mark.parametrize(("who", "target", "outcome"), RIGHTS)
def test_who_may_move_a_response(
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
    who: str,
    target: ResponseStatus,
    outcome: Any,
) -> None:
    source = S.shortlisted if target is S.selected else S.submitted
    loaded = at_status(session, world, challenge, innovation, source)
    if outcome == "ok":
        move(session, world, loaded, target, who=who)
        assert loaded.response.status == target
        return
    with writes_nothing(session, loaded), pytest.raises(outcome):
        move(session, world, loaded, target, who=who)


# --- selecting opens an adoption ------------------------------------------------------


def test_selecting_opens_exactly_one_adoption_at_the_owner(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    loaded = at_status(session, world, challenge, innovation, S.shortlisted)
    before = count(session, Adoption)
    moved = move(session, world, loaded, S.selected, who="trust")
    assert moved == responses.Moved(changed=True, adoption_existed=False)
    assert count(session, Adoption) == before + 1
    [adoption] = session.exec(select(Adoption).where(Adoption.innovation_id == innovation.id)).all()
    assert (adoption.organisation_id, adoption.challenge_id, adoption.stage) == (
        world.trust.id,
        challenge.id,
        "identified",
    )
    assert loaded.response.adoption_id == adoption.id
    changed = events_of(session, loaded.response.id)[-1]
    assert changed.data["adoption_id"] == str(adoption.id) and changed.data["adoption_existed"] is False
    [opened] = events_of(session, adoption.id)
    assert opened.type == "adoption.created"
    # Selecting again changes nothing, and opens nothing more.
    move(session, world, loaded, S.selected, who="trust")
    assert count(session, Adoption) == before + 1


def test_selecting_links_the_adoption_the_owner_already_has(
    session: Session, world: World, challenge: Challenge
) -> None:
    # The world's innovation is already being adopted by the trust.
    loaded = at_status(session, world, challenge, world.innovation, S.shortlisted)
    before = count(session, Adoption)
    moved = move(session, world, loaded, S.selected, who="facilitator")
    assert moved.adoption_existed
    assert count(session, Adoption) == before
    assert loaded.response.adoption_id == world.adoption.id
    changed = events_of(session, loaded.response.id)[-1]
    assert changed.data["adoption_existed"] is True and changed.data["adoption_id"] == str(world.adoption.id)


def test_a_refused_selection_opens_no_adoption(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    submitted = respond(session, world, challenge, innovation)
    with writes_nothing(session, submitted), pytest.raises(Conflict):
        move(session, world, submitted, S.selected)  # not shortlisted
    move(session, world, submitted, S.shortlisted)
    innovation.status = InnovationStatus.archived
    session.add(innovation)
    session.flush()
    with writes_nothing(session, submitted), pytest.raises(Conflict, match="archived"):
        move(session, world, submitted, S.selected)
    assert count(session, Adoption, col(Adoption.innovation_id) == innovation.id) == 0


# --- who sees responses -----------------------------------------------------------------


def test_a_response_is_seen_by_those_it_concerns(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    rival = make_org(session, "supplier", "north_west")
    world.keys["rival"] = make_key(session, rival)
    loaded = respond(session, world, challenge, innovation)
    for who in ("supplier", "trust", "facilitator", "other_facilitator", "admin"):
        assert responses.get(session, as_(session, world, who), loaded.response.id).response.id == (
            loaded.response.id
        )
    for who in ("other_trust", "rival"):
        with pytest.raises(NotFound):
            responses.get(session, as_(session, world, who), loaded.response.id)


def test_lists_show_each_person_what_they_may_see(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    rival = make_org(session, "supplier", "north_west")
    world.keys["rival"] = make_key(session, rival)
    ours = respond(session, world, challenge, innovation).response.id
    theirs_innovation = make_innovation(session, rival, name="Safety syringes")
    theirs = respond(session, world, challenge, theirs_innovation, "rival").response.id
    expected = {
        "trust": {ours, theirs},
        "facilitator": {ours, theirs},
        "admin": {ours, theirs},
        "supplier": {ours},
        "rival": {theirs},
        "other_trust": set(),
    }
    for who, ids in expected.items():
        principal = as_(session, world, who)
        page = responses.list_for_challenge(session, principal, challenge, PageRequest(limit=100))
        assert {item.id for item in page.items} == ids, who
        rows = responses.rows_for_challenge(session, principal, challenge.id)
        assert {row.response.id for row in rows} == ids, who
    shortlisted = responses.list_for_challenge(
        session, as_(session, world, "trust"), challenge, PageRequest(), S.shortlisted
    )
    assert shortlisted.items == []


def test_the_form_offers_only_what_is_left_to_put_forward(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    make_innovation(session, world.supplier, name="A draft", status="draft")
    supplier = as_(session, world, "supplier")
    names = [c.name for c in responses.innovations_to_put_forward(session, supplier, challenge)]
    assert names == sorted([world.innovation.name, "Virtual wards"])
    respond(session, world, challenge, innovation)
    names = [c.name for c in responses.innovations_to_put_forward(session, supplier, challenge)]
    assert names == [world.innovation.name]
    assert responses.innovations_to_put_forward(session, as_(session, world, "trust"), challenge) == []


def test_rights_are_checked_before_the_workflow(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> None:
    """Someone who may not make a move hears 403 whatever the status, never
    which moves the workflow would allow."""
    submitted = respond(session, world, challenge, innovation)
    with writes_nothing(session, submitted), pytest.raises(Forbidden):
        move(session, world, submitted, S.selected, who="other_facilitator")
    with writes_nothing(session, submitted), pytest.raises(Forbidden):
        move(session, world, submitted, S.withdrawn, who="trust")
