"""Applications to join: eligibility by postcode, the rate limit, the review
workflow and who may run it, and acceptance making exactly the supplier,
its first user and a draft innovation, or nothing at all."""

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.auth import Principal
from app.config import Settings
from app.db import Database
from app.errors import Conflict, Forbidden, NotFound, PreconditionFailed, TooManyRequests, ValidationFailed
from app.models import Application, ApplicationNote, Event, Innovation, Organisation, User
from app.models.application import ApplicationCreate, ApplicationStatus, NoteKind, Review
from app.models.base import utcnow
from app.models.user import UserCreate
from app.services import applications, areas, users
from app.services.pagination import PageRequest
from tests.factories import APPLICATION, World, make_application, make_key, make_org, principal_for

Status = ApplicationStatus


@pytest.fixture
def settings(database: Database) -> Settings:
    return database.settings


def _staff(session: Session, world: World, who: str = "admin") -> Principal:
    return principal_for(session, world.keys[who])


# --- eligibility ----------------------------------------------------------------

IN_AREA = {
    "L3 4BJ": "Liverpool",  # city centre
    "l18 1ha": "Liverpool",  # lower case, as typed
    "L369UQ": "Knowsley",  # no space
    "L20 3NJ": "Sefton",
    "PR9 0AA": "Sefton",  # Southport
    "WA10 1HJ": "St Helens",
    "CH41 5EE": "Wirral",
    "CH62 3RA": "Wirral",
    "WA7 1AB": "Halton",  # Runcorn
    "WA8 7QA": "Halton",  # Widnes
}
OUT_OF_AREA = [
    "M1 1AE",  # Manchester
    "SW1A 1AA",  # Westminster
    "CH64 3RY",  # Neston: Cheshire West, though a CH district
    "CH65 0AA",  # Ellesmere Port
    "L39 2AA",  # Ormskirk: West Lancashire, though an L district
    "L40 5TA",  # Burscough
    "WA5 1AA",  # Warrington
    "WN5 0AA",  # Wigan
    "LL11 1AA",  # Wrexham: starts with L, is not L
    "PR1 1AA",  # Preston: starts like Southport's PR9
]


@pytest.mark.parametrize(("postcode", "authority"), IN_AREA.items())
def test_a_postcode_in_the_liverpool_city_region_is_in_the_area(postcode: str, authority: str) -> None:
    assert areas.load("liverpool_city_region").local_authority_of(postcode) == authority


@pytest.mark.parametrize("postcode", OUT_OF_AREA)
def test_a_postcode_outside_the_region_is_not(postcode: str) -> None:
    assert areas.load("liverpool_city_region").local_authority_of(postcode) is None


def test_the_area_lists_its_six_local_authorities() -> None:
    area = areas.load("liverpool_city_region")
    assert area.name == "Liverpool City Region"
    assert sorted(area.local_authorities) == [
        "Halton",
        "Knowsley",
        "Liverpool",
        "Sefton",
        "St Helens",
        "Wirral",
    ]


@pytest.mark.parametrize("key", ["nowhere", "../settings", "Liverpool City Region"])
def test_an_unknown_programme_area_is_refused_by_name(key: str) -> None:
    with pytest.raises(ValueError, match="PROGRAMME_AREA"):
        areas.load(key)


def test_an_application_records_whether_it_is_in_the_area(session: Session, settings: Settings) -> None:
    inside = make_application(session, settings, postcode="wa7 1ab")
    outside = make_application(session, settings, postcode="M1 1AE")
    assert (inside.in_area, inside.area_district, inside.postcode) == (True, "Halton", "WA7 1AB")
    assert (outside.in_area, outside.area_district) == (False, None)
    assert applications.receipt(settings, inside).next_steps == applications.NEXT_STEPS
    assert "outside the Liverpool City Region" in applications.receipt(settings, outside).next_steps


# --- the form's rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_name", ""),
        ("companies_house_number", "1234"),
        ("companies_house_number", "ABC12345"),
        ("postcode", "not a postcode"),
        ("postcode", "L3"),
        ("website", "ftp://example.org"),
        ("website", "https://example.org/" + "a" * 500),
        ("company_size", "enormous"),
        ("contact_email", "sam at example"),
        ("product_description", "x" * 1001),
        ("care_settings", ["hospital"]),
        ("support_wanted", []),
        ("support_wanted", ["money"]),
        ("consent_to_contact", False),
        ("consent_to_data", False),
    ],
)
def test_the_schema_refuses_each_bad_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ApplicationCreate.model_validate({**APPLICATION, field: value})
    assert {error["loc"][0] for error in caught.value.errors()} == {field}


@pytest.mark.parametrize(
    ("typed", "stored"), [("sc 123456", "SC123456"), ("01234567", "01234567"), ("  ", None)]
)
def test_companies_house_numbers_are_tidied(typed: str, stored: str | None) -> None:
    data = ApplicationCreate.model_validate({**APPLICATION, "companies_house_number": typed})
    assert data.companies_house_number == stored


def test_the_companies_house_number_is_optional() -> None:
    data = {key: value for key, value in APPLICATION.items() if key != "companies_house_number"}
    assert ApplicationCreate.model_validate(data).companies_house_number is None


# --- the rate limit and what is stored ----------------------------------------------


def test_one_address_may_send_only_so_many_in_the_window(session: Session, settings: Settings) -> None:
    limited = settings.model_copy(update={"applications_per_address": 2, "applications_window_minutes": 60})
    now = utcnow()
    applications.submit(session, limited, _data(), "198.51.100.1", now=now - timedelta(minutes=50))
    applications.submit(session, limited, _data(), "198.51.100.1", now=now - timedelta(minutes=10))
    with pytest.raises(TooManyRequests) as caught:
        applications.submit(session, limited, _data(), "198.51.100.1", now=now)
    # The first leaves the window in ten minutes.
    assert 9 * 60 < caught.value.retry_after <= 10 * 60 + 1
    applications.submit(session, limited, _data(), "198.51.100.2", now=now)  # another address
    applications.submit(session, limited, _data(), "198.51.100.1", now=now + timedelta(minutes=11))


def _data(**values: object) -> ApplicationCreate:
    return ApplicationCreate.model_validate({**APPLICATION, **values})


def test_the_client_address_is_kept_only_as_a_keyed_hash(session: Session, settings: Settings) -> None:
    application = make_application(session, settings, client="192.0.2.44")
    assert "192.0.2.44" not in application.client_hash
    assert application.client_hash == applications.client_hash(settings, "192.0.2.44")
    assert application.client_hash != applications.client_hash(
        settings.model_copy(update={"secret_key": "another secret"}), "192.0.2.44"
    )


def test_submitting_stores_it_with_a_reference_and_an_event_without_contact_details(
    session: Session, settings: Settings
) -> None:
    application = make_application(session, settings, suspected_spam=False)
    assert application.status == Status.submitted
    assert application.reference.startswith("HIE-") and len(application.reference) == 13
    event = session.exec(select(Event).where(Event.resource_id == application.id)).one()
    assert (event.type, event.actor, event.restricted) == ("application.submitted", "the applicant", True)
    assert APPLICATION["contact_email"] not in str(event.data)
    assert event.data["reference"] == application.reference


def test_references_are_read_forgivingly() -> None:
    assert applications.canonical_reference("hie 4k7q 9mxz") == "HIE-4K7Q-9MXZ"
    assert applications.canonical_reference("4K7Q9MXZ") == "HIE-4K7Q-9MXZ"
    assert applications.canonical_reference("HIE-4K7Q-9MXO") == "HIE-4K7Q-9MX0"  # O read as 0


# --- the applicant's view ---------------------------------------------------------------


def test_the_applicant_sees_the_status_with_reference_and_email(session: Session, settings: Settings) -> None:
    application = make_application(session, settings)
    seen = applications.status_for_applicant(
        session, application.reference.lower(), APPLICATION["contact_email"].upper()
    )
    assert (seen.reference, seen.status, seen.messages) == (application.reference, Status.submitted, [])


@pytest.mark.parametrize("wrong", ["reference", "email"])
def test_a_wrong_reference_or_email_shows_nothing(session: Session, settings: Settings, wrong: str) -> None:
    application = make_application(session, settings)
    reference = "HIE-0000-0000" if wrong == "reference" else application.reference
    email = "someone@else.example" if wrong == "email" else APPLICATION["contact_email"]
    with pytest.raises(NotFound):
        applications.status_for_applicant(session, reference, email)


def test_the_team_asks_and_the_applicant_answers(session: Session, settings: Settings, world: World) -> None:
    facilitator = _staff(session, world, "facilitator")
    application = make_application(session, settings)
    applications.add_note(session, facilitator, application, "Looks promising; ask about wards.")
    applications.review(
        session, facilitator, application, Review(status="more_information_needed", message="Which wards?"), 1
    )
    assert application.status == Status.more_information_needed

    applications.reply(session, application.reference, APPLICATION["contact_email"], "Wards 3 and 4.")
    assert application.status == Status.in_review
    seen = applications.status_for_applicant(session, application.reference, APPLICATION["contact_email"])
    # The team's own note stays with the team.
    assert [(m.text, m.from_applicant) for m in seen.messages] == [
        ("Which wards?", False),
        ("Wards 3 and 4.", True),
    ]
    kinds = [n.kind for n in applications.notes(session, facilitator, application)]
    assert kinds == [NoteKind.note, NoteKind.request, NoteKind.reply]
    with pytest.raises(Conflict):  # nothing is asked now
        applications.reply(session, application.reference, APPLICATION["contact_email"], "More.")


# --- the review -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supplier", "trust", "trust_read_only"])
def test_only_the_exchange_team_reviews(session: Session, settings: Settings, world: World, who: str) -> None:
    outsider = _staff(session, world, who)
    application = make_application(session, settings)
    for attempt in (
        lambda: applications.list_(session, outsider, applications.ApplicationFilters(), _page()),
        lambda: applications.get(session, outsider, application.id),
        lambda: applications.add_note(session, outsider, application, "hello"),
        lambda: applications.review(session, outsider, application, Review(status="in_review"), None),
        lambda: applications.accept(session, settings, outsider, application, "", None),
        lambda: applications.counts(session, outsider),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert application.status == Status.submitted


def _page() -> PageRequest:
    return PageRequest(limit=50)


@pytest.mark.parametrize("who", ["admin", "facilitator", "other_facilitator"])
def test_admins_and_facilitators_see_the_queue(
    session: Session, settings: Settings, world: World, who: str
) -> None:
    staff = _staff(session, world, who)
    first = make_application(session, settings)
    spam = make_application(session, settings, suspected_spam=True)
    queue = applications.list_(session, staff, applications.ApplicationFilters(suspected_spam=False), _page())
    ids = [a.id for a in queue.items]
    assert first.id in ids and spam.id not in ids
    assert applications.counts(session, staff)["submitted"] >= 1


def test_the_queue_filters(session: Session, settings: Settings, world: World) -> None:
    admin = _staff(session, world)
    inside = make_application(session, settings, company_name="Wirral Widgets")
    outside = make_application(session, settings, postcode="M1 1AE", company_name="Manchester Makers")
    applications.review(session, admin, outside, Review(status="in_review"), None)

    def found(**filters: object) -> set:
        page = applications.list_(session, admin, applications.ApplicationFilters(**filters), _page())
        return {a.id for a in page.items} & {inside.id, outside.id}

    assert found(in_area=False) == {outside.id}
    assert found(status="in_review") == {outside.id}
    assert found(q="widgets") == {inside.id}
    assert found(q=inside.reference.lower()) == {inside.id}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["in_review"], True),
        (["more_information_needed", "in_review", "more_information_needed"], True),
        (["in_review", "in_review"], False),
        (["declined", "in_review"], False),
        (["declined", "declined"], False),
    ],
)
def test_the_status_moves(
    session: Session, settings: Settings, world: World, path: list[str], allowed: bool
) -> None:
    admin = _staff(session, world)
    application = make_application(session, settings)

    def run() -> None:
        for status in path:
            applications.review(session, admin, application, Review(status=status, message="Why"), None)

    if allowed:
        run()
        assert application.status == path[-1]
    else:
        with pytest.raises(Conflict):
            run()


@pytest.mark.parametrize("status", ["more_information_needed", "declined"])
def test_asking_or_declining_needs_the_words_for_the_applicant(
    session: Session, settings: Settings, world: World, status: str
) -> None:
    application = make_application(session, settings)
    with pytest.raises(ValidationFailed) as caught:
        applications.review(session, _staff(session, world), application, Review(status=status), None)
    assert caught.value.errors[0]["field"] == "body.message"
    assert application.status == Status.submitted


def test_a_stale_version_changes_nothing(session: Session, settings: Settings, world: World) -> None:
    admin = _staff(session, world)
    application = make_application(session, settings)
    applications.review(session, admin, application, Review(status="in_review"), 1)
    with pytest.raises(PreconditionFailed):
        applications.review(session, admin, application, Review(status="declined", message="No"), 1)
    with pytest.raises(PreconditionFailed):
        applications.accept(session, settings, admin, application, "", 1)
    assert application.status == Status.in_review


def test_declining_tells_the_applicant_why(session: Session, settings: Settings, world: World) -> None:
    application = make_application(session, settings)
    applications.review(
        session,
        _staff(session, world),
        application,
        Review(status="declined", message="Not yet ready."),
        None,
    )
    assert application.decided_at is not None
    seen = applications.status_for_applicant(session, application.reference, APPLICATION["contact_email"])
    assert (seen.status, [m.text for m in seen.messages]) == (Status.declined, ["Not yet ready."])


def test_every_step_is_an_event(session: Session, settings: Settings, world: World) -> None:
    admin = _staff(session, world)
    application = make_application(session, settings)
    applications.add_note(session, admin, application, "Note")
    applications.review(
        session, admin, application, Review(status="more_information_needed", message="?"), None
    )
    applications.reply(session, application.reference, APPLICATION["contact_email"], "!")
    applications.accept(session, settings, admin, application, "Welcome", None)
    types = session.exec(
        select(Event.type).where(Event.resource_id == application.id).order_by(col(Event.id))
    ).all()
    assert types == [
        "application.submitted",
        "application.note_added",
        "application.status_changed",
        "application.replied",
        "application.accepted",
    ]


# --- accepting ----------------------------------------------------------------------


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_accepting_makes_the_supplier_its_first_user_and_a_draft_innovation(
    session: Session, settings: Settings, world: World
) -> None:
    facilitator = _staff(session, world, "facilitator")
    application = make_application(session, settings)
    before = {model: _count(session, model) for model in (Organisation, User, Innovation)}

    made = applications.accept(session, settings, facilitator, application, "Welcome aboard", 1)

    assert {model: _count(session, model) - n for model, n in before.items()} == {
        Organisation: 1,
        User: 1,
        Innovation: 1,
    }
    org, user, innovation = made.organisation, made.user, made.innovation
    assert (org.name, org.kind, org.region) == (APPLICATION["company_name"], "supplier", "north_west")
    assert (user.email, user.name, user.role, user.organisation_id) == (
        APPLICATION["contact_email"],
        APPLICATION["contact_name"],
        "admin",
        org.id,
    )
    assert user.password_hash is None  # until they use the link
    assert innovation.status == "draft" and innovation.supplier_id == org.id
    assert innovation.name == APPLICATION["product_name"]
    assert innovation.summary == APPLICATION["product_description"]
    assert innovation.origin_sector == "Engineering"
    assert APPLICATION["current_users"] in (innovation.origin_use or "")
    assert APPLICATION["health_problem"] in innovation.description
    assert innovation.care_settings == ["acute_inpatient", "community"]
    assert innovation.website == "https://thermal.example.co.uk/"
    assert (
        application.status,
        application.organisation_id,
        application.user_id,
        application.innovation_id,
    ) == (
        Status.accepted,
        org.id,
        user.id,
        innovation.id,
    )
    for resource in (org.id, user.id, innovation.id):
        assert session.exec(select(Event).where(Event.resource_id == resource)).first() is not None


def test_an_out_of_area_supplier_has_no_region_until_someone_sets_it(
    session: Session, settings: Settings, world: World
) -> None:
    application = make_application(session, settings, postcode="SW1A 1AA")
    made = applications.accept(session, settings, _staff(session, world), application, "", None)
    assert made.organisation.region is None


def test_the_one_time_link_sets_a_password_once(session: Session, settings: Settings, world: World) -> None:
    application = make_application(session, settings)
    made = applications.accept(session, settings, _staff(session, world), application, "", None)
    assert made.password_expires_at - utcnow() > timedelta(days=settings.password_link_days - 1)

    assert users.user_of_password_link(session, made.password_token).id == made.user.id
    with pytest.raises(ValidationFailed):
        users.set_password_with_link(session, made.password_token, "short")
    users.set_password_with_link(session, made.password_token, "a long enough password")
    assert made.user.password_hash is not None
    with pytest.raises(NotFound):
        users.set_password_with_link(session, made.password_token, "another long password")
    with pytest.raises(Conflict):  # nothing to make a new link for: the password is set
        applications.new_password_link(session, settings, _staff(session, world), application)


def test_a_new_link_ends_the_old_one_and_links_expire(
    session: Session, settings: Settings, world: World
) -> None:
    admin = _staff(session, world)
    application = make_application(session, settings)
    made = applications.accept(session, settings, admin, application, "", None)
    token, _ = applications.new_password_link(session, settings, admin, application)
    with pytest.raises(NotFound):
        users.user_of_password_link(session, made.password_token)
    later = utcnow() + timedelta(days=settings.password_link_days + 1)
    with pytest.raises(NotFound):
        users.user_of_password_link(session, token, now=later)
    assert users.user_of_password_link(session, token).id == made.user.id


def test_a_decision_stands(session: Session, settings: Settings, world: World) -> None:
    admin = _staff(session, world)
    application = make_application(session, settings)
    applications.accept(session, settings, admin, application, "", None)
    with pytest.raises(Conflict, match="decision stands"):
        applications.accept(session, settings, admin, application, "", None)
    with pytest.raises(Conflict):
        applications.review(session, admin, application, Review(status="declined", message="No"), None)


def test_a_failure_midway_through_accepting_leaves_nothing(fresh_database: Database) -> None:
    """The contact's email already has an account: the user cannot be made
    after the organisation was, so the transaction rolls back whole."""
    settings = fresh_database.settings
    with fresh_database.session(write=True) as setup:
        world_here = _world(setup)
        application = make_application(setup, settings, contact_email=world_here["email"])
        application_id = application.id
        setup.commit()
        before = {model: _count(setup, model) for model in (Organisation, User, Innovation, Event)}

    with fresh_database.session(write=True) as session, pytest.raises(Conflict):
        admin = principal_for(session, world_here["key"])
        application = applications.get(session, admin, application_id, for_update=True)
        applications.accept(session, settings, admin, application, "", None)
        session.commit()

    with fresh_database.session(write=False) as after:
        assert {model: _count(after, model) for model in before} == before
        stored = after.get(Application, application_id)
        assert stored is not None and stored.status == Status.submitted
        notes = after.exec(
            select(ApplicationNote).where(ApplicationNote.application_id == application_id)
        ).all()
        assert notes == []


def _world(session: Session) -> dict[str, str]:
    """An exchange admin's key, and a user whose email an applicant will reuse."""
    exchange = make_org(session, "other", "north_west", name="Exchange", is_exchange=True)
    users.create(
        session,
        None,
        UserCreate(email="taken@example.co.uk", name="Taken", organisation_id=exchange.id),
        None,
    )
    return {"key": make_key(session, exchange, ("read", "write", "admin")), "email": "taken@example.co.uk"}


def test_applications_are_deleted_two_years_after_the_decision(
    session: Session, settings: Settings, world: World
) -> None:
    admin = _staff(session, world)
    decided_long_ago = make_application(session, settings, company_name="Old Co")
    decided_lately = make_application(session, settings, company_name="New Co")
    undecided = make_application(session, settings, company_name="Waiting Co")
    applications.add_note(session, admin, decided_long_ago, "A note that goes with it")
    long_ago = utcnow() - timedelta(days=settings.application_retention_days + 1)
    applications.review(
        session, admin, decided_long_ago, Review(status="declined", message="No"), None, now=long_ago
    )
    applications.review(session, admin, decided_lately, Review(status="declined", message="No"), None)
    gone = decided_long_ago.id

    assert applications.purge(session, settings) == 1
    session.expire_all()
    assert session.get(Application, gone) is None
    assert session.exec(select(ApplicationNote).where(ApplicationNote.application_id == gone)).all() == []
    assert session.get(Application, decided_lately.id) is not None
    assert session.get(Application, undecided.id) is not None
    # What the audit trail keeps names no person.
    kept = session.exec(select(Event.data).where(Event.resource_id == gone)).all()
    assert kept and all(APPLICATION["contact_email"] not in str(data) for data in kept)
