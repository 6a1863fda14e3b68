"""The exchange team's review pages: who may see them, the queue and its
filters, one application with everything the business sent, and each step of
the review, up to accepting and the one-time link that lets the new supplier
set a password and sign in."""

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import Settings
from app.models import Innovation, Organisation
from app.models.application import Application, ApplicationCreate, ApplicationStatus, NoteKind, Review
from app.models.event import Event
from app.models.user import User, UserCreate
from app.services import applications, users
from tests.factories import APPLICATION, World, admin_principal, make_application
from tests.web.conftest import csrf_token

SignIn = Callable[[str], str]
Status = ApplicationStatus


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


@pytest.fixture
def application(app: FastAPI, session: Session) -> Application:
    return make_application(session, settings_of(app))


def act(client: TestClient, token: str, application: Application, step: str, **fields: Any) -> Any:
    data = {"csrf_token": token, "version": str(application.version), **fields}
    return client.post(f"/applications/{application.id}/{step}", data=data, follow_redirects=False)


def beside(html: str, field: str) -> str | None:
    found = re.search(
        rf'id="{field}-error">\s*<span class="nhsuk-u-visually-hidden">Error: </span>\s*([^<]+?)\s*<', html
    )
    return found.group(1) if found else None


def count(session: Session, model: Any, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


# --- who may see them -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "facilitator"])
def test_the_team_sees_the_queue_and_each_application(
    client: TestClient, sign_in: SignIn, application: Application, who: str
) -> None:
    sign_in(who)
    queue = client.get("/applications")
    assert queue.status_code == 200
    assert '<a class="nhsuk-header__navigation-link" href="/applications"' in queue.text
    assert f'href="/applications/{application.id}">Merseyside Thermal Engineering Ltd</a>' in queue.text
    detail = client.get(f"/applications/{application.id}")
    assert detail.status_code == 200
    assert "<h1>Merseyside Thermal Engineering Ltd</h1>" in detail.text


@pytest.mark.parametrize("who", ["supplier", "trust"])
def test_others_are_refused(
    client: TestClient, sign_in: SignIn, session: Session, application: Application, who: str
) -> None:
    token = sign_in(who)
    home = client.get("/")
    assert 'href="/applications"' not in home.text
    assert client.get("/applications").status_code == 403
    assert client.get(f"/applications/{application.id}").status_code == 403
    for step, fields in (
        ("notes", {"text": "Sneaky"}),
        ("start-review", {}),
        ("decline", {"message": "No"}),
        ("accept", {}),
        ("password-link", {}),
    ):
        assert act(client, token, application, step, **fields).status_code == 403, step
    session.refresh(application)
    assert application.status == Status.submitted
    assert count(session, Organisation, Organisation.name == application.company_name) == 0


def test_signed_out_people_are_sent_to_sign_in(client: TestClient, application: Application) -> None:
    for path in ("/applications", f"/applications/{application.id}"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/sign-in?next={path}"


# --- the queue --------------------------------------------------------------------------


def test_the_queue_counts_and_filters(
    app: FastAPI, client: TestClient, session: Session, sign_in: SignIn, world: World
) -> None:
    settings = settings_of(app)
    liverpool = make_application(session, settings, client="10.0.0.1", company_name="Liverpool Lasers")
    manchester = make_application(
        session, settings, client="10.0.0.2", company_name="Manchester Motors", postcode="M1 1AE"
    )
    reviewing = make_application(session, settings, client="10.0.0.3", company_name="Wirral Widgets")
    applications.review(
        session,
        admin_principal(world.exchange),
        reviewing,
        Review(status=Status.in_review),
        None,
    )
    robot = applications.submit(
        session,
        settings,
        ApplicationCreate.model_validate({**APPLICATION, "company_name": "Robot Spam Co"}),
        "10.0.0.4",
        suspected_spam=True,
    )
    sign_in("facilitator")

    page = client.get("/applications")
    assert "All (3)" in page.text and "Submitted (2)" in page.text and "In review (1)" in page.text
    assert "Accepted (0)" in page.text
    for name in ("Liverpool Lasers", "Manchester Motors", "Wirral Widgets"):
        assert name in page.text
    assert "Robot Spam Co" not in page.text  # suspected spam is hidden by default
    assert "Outside the area" in page.text  # Manchester's row

    submitted = client.get("/applications?status=submitted")
    assert "Liverpool Lasers" in submitted.text and "Wirral Widgets" not in submitted.text
    assert re.search(r'aria-current="page"><strong>Submitted \(2\)', submitted.text)

    outside = client.get("/applications?area=outside")
    assert "Manchester Motors" in outside.text and "Liverpool Lasers" not in outside.text

    spam = client.get("/applications?spam=1")
    assert "Robot Spam Co" in spam.text and "Liverpool Lasers" not in spam.text
    assert f'href="/applications/{robot.id}"' in spam.text

    search = client.get("/applications?q=widgets")
    assert "Wirral Widgets" in search.text and "Liverpool Lasers" not in search.text

    # Unknown filter values are ignored rather than refused.
    assert client.get("/applications?status=bogus&area=x&spam=maybe&cursor=junk").status_code == 200
    assert liverpool.in_area and not manchester.in_area


def test_the_queue_pages_by_keyset(
    app: FastAPI, client: TestClient, session: Session, sign_in: SignIn
) -> None:
    settings = settings_of(app)
    made = [
        make_application(session, settings, client=f"10.1.0.{i}", company_name=f"Company {i:02d}")
        for i in range(22)
    ]
    sign_in("admin")
    first = client.get("/applications")
    assert "Company 00" in first.text and "Company 19" in first.text and "Company 20" not in first.text
    next_url = re.search(r'<a class="nhsuk-pagination__link[^"]*" href="([^"]+)"[^>]*rel="next"', first.text)
    assert next_url, "a next page link"
    second = client.get(next_url.group(1).replace("&amp;", "&"))
    assert "Company 20" in second.text and "Company 21" in second.text and "Company 00" not in second.text
    assert len(made) == 22


# --- one application --------------------------------------------------------------------


def test_the_page_shows_everything_the_business_sent(
    client: TestClient, sign_in: SignIn, application: Application
) -> None:
    sign_in("admin")
    page = client.get(f"/applications/{application.id}").text
    for value in (
        application.reference,
        "01234567",
        "Unit 4, Brunswick Business Park, Liverpool",
        "L3 4BJ",
        'href="https://thermal.example.co.uk/"',
        "Small",
        "Sam Okafor",
        "sam@thermal.example.co.uk",
        "Managing director",
        "Induction sharps destroyer",
        "Induction heating that melts small metal parts in seconds.",
        "Engineering",
        "Precision engineering firms in the North West.",
        "Needlestick injuries when used sharps are carried to a bin.",
        "Acute inpatient, Community",
        "ISO 9001 certified.",
        "Clinical introductions, Regulation",
        "Liverpool, in the programme&#39;s area",
        "No notes yet.",
    ):
        assert value in page, value
    for action in ("notes", "start-review", "request-information", "accept", "decline"):
        assert f'action="/applications/{application.id}/{action}"' in page
    assert f'name="version" value="{application.version}"' in page


def test_an_unknown_application_is_not_found(client: TestClient, sign_in: SignIn) -> None:
    sign_in("admin")
    assert client.get(f"/applications/{uuid.uuid4()}").status_code == 404


# --- the review's steps ------------------------------------------------------------------


def test_add_a_note(client: TestClient, sign_in: SignIn, session: Session, application: Application) -> None:
    token = sign_in("facilitator")
    empty = act(client, token, application, "notes", text="  ")
    assert empty.status_code == 422
    assert beside(empty.text, "note_text") == "Enter the note"
    assert re.search(r'<a href="#note_text">\s*Enter the note', empty.text)

    added = act(client, token, application, "notes", text="Call them about the ward pilot.")
    assert added.status_code == 303
    assert added.headers["location"] == f"/applications/{application.id}#trail"
    page = client.get(f"/applications/{application.id}").text
    assert "Note for the team" in page and "Call them about the ward pilot." in page
    assert "by Facilitator &lt;facilitator@example.nhs.uk&gt;" in page


def test_start_the_review(
    client: TestClient, sign_in: SignIn, session: Session, application: Application
) -> None:
    token = sign_in("admin")
    answer = act(client, token, application, "start-review")
    assert answer.status_code == 303
    session.refresh(application)
    assert application.status == Status.in_review
    page = client.get(f"/applications/{application.id}").text
    assert "start-review" not in page  # already in review
    assert "request-information" in page


def test_ask_for_more_information(
    client: TestClient, sign_in: SignIn, session: Session, application: Application
) -> None:
    token = sign_in("admin")
    blank = act(client, token, application, "request-information", message="")
    assert blank.status_code == 422
    assert beside(blank.text, "request_message") == "Enter the question the applicant will read"
    session.refresh(application)
    assert application.status == Status.submitted

    asked = act(client, token, application, "request-information", message="Which wards used the pilot?")
    assert asked.status_code == 303
    session.refresh(application)
    assert application.status == Status.more_information_needed
    seen = applications.status_for_applicant(session, application.reference, application.contact_email)
    assert [m.text for m in seen.messages] == ["Which wards used the pilot?"]


def test_decline_needs_a_reason(
    client: TestClient, sign_in: SignIn, session: Session, application: Application
) -> None:
    token = sign_in("facilitator")
    blank = act(client, token, application, "decline", message=" ")
    assert blank.status_code == 422
    assert beside(blank.text, "decline_message") == "Enter the reason the applicant will read"

    declined = act(client, token, application, "decline", message="It does not yet serve a need in care.")
    assert declined.status_code == 303
    session.refresh(application)
    assert application.status == Status.declined and application.decided_at is not None
    page = client.get(f"/applications/{application.id}").text
    assert "Decision, told to the applicant" in page
    for action in ("start-review", "request-information", "accept", "decline"):
        assert f"/{action}" not in page  # the decision stands

    again = act(client, token, application, "accept")
    assert again.status_code == 409
    assert "the decision stands" in again.text


def test_a_stale_form_changes_nothing(
    client: TestClient, sign_in: SignIn, session: Session, world: World, application: Application
) -> None:
    token = sign_in("admin")
    opened = application.version
    applications.add_note(session, admin_principal(world.exchange), application, "Meanwhile")
    applications.review(
        session, admin_principal(world.exchange), application, Review(status=Status.in_review), None
    )
    data = {"csrf_token": token, "version": str(opened), "message": "We will not be taking this forward."}
    stale = client.post(f"/applications/{application.id}/decline", data=data)
    assert stale.status_code == 412
    assert "Someone else changed this application since you opened it" in stale.text
    assert "We will not be taking this forward." in stale.text  # what they typed is kept
    session.refresh(application)
    assert application.status == Status.in_review

    stale_accept = client.post(f"/applications/{application.id}/accept", data={**data, "message": ""})
    assert stale_accept.status_code == 412
    assert count(session, Organisation, Organisation.name == application.company_name) == 0


def test_accept_then_the_link_sets_a_password_and_signs_in(
    client: TestClient, sign_in: SignIn, session: Session, application: Application
) -> None:
    token = sign_in("admin")
    accepted = act(client, token, application, "accept", message="Welcome aboard.")
    assert accepted.status_code == 200
    assert accepted.headers["cache-control"].startswith("no-store")
    assert re.search(r'<h1 class="nhsuk-panel__heading"[^>]*>\s*Application accepted\s*</h1>', accepted.text)

    session.refresh(application)
    assert application.status == Status.accepted
    organisation = session.get(Organisation, application.organisation_id)
    user = session.get(User, application.user_id)
    innovation = session.get(Innovation, application.innovation_id)
    assert organisation and organisation.kind == "supplier" and organisation.name == application.company_name
    assert user and user.email == application.contact_email and user.password_hash is None
    assert innovation and innovation.status == "draft" and innovation.origin_sector == "Engineering"
    assert f'href="/admin/organisations/{organisation.id}/edit"' in accepted.text
    assert f'href="/innovations/{innovation.id}"' in accepted.text

    link = re.search(
        r'<code id="set-password-link">(http://testserver/set-password/[^<]+)</code>', accepted.text
    )
    assert link, "the one-time link, absolute"
    path = link.group(1).removeprefix("http://testserver")

    # The application's page now offers a new link, while no password is set.
    page = client.get(f"/applications/{application.id}").text
    assert f'action="/applications/{application.id}/password-link"' in page
    assert "Decision, told to the applicant" in page and "Welcome aboard." in page

    client.cookies.clear()
    assert client.get(path).status_code == 200
    set_it = client.post(
        path,
        data={
            "csrf_token": csrf_token(client),
            "password": "a brand new password",
            "confirm": "a brand new password",
        },
        follow_redirects=False,
    )
    assert set_it.status_code == 303 and set_it.headers["location"] == "/sign-in?password_set=1"
    signed_in = client.post(
        "/sign-in",
        data={
            "email": application.contact_email,
            "password": "a brand new password",
            "csrf_token": csrf_token(client),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    home = client.get("/")
    assert home.status_code == 200 and "Merseyside Thermal Engineering Ltd" in home.text


def test_a_facilitator_accepts_without_the_admin_link(
    client: TestClient, sign_in: SignIn, application: Application
) -> None:
    token = sign_in("facilitator")
    accepted = act(client, token, application, "accept")
    assert accepted.status_code == 200
    assert "/admin/organisations/" not in accepted.text
    assert "/set-password/" in accepted.text


def test_accepting_an_email_that_has_an_account_makes_nothing(
    client: TestClient, sign_in: SignIn, session: Session, world: World, application: Application
) -> None:
    users.create(
        session,
        None,
        UserCreate(email=application.contact_email, name="Already Here", organisation_id=world.supplier.id),
        None,
    )
    token = sign_in("admin")
    answer = act(client, token, application, "accept")
    assert answer.status_code == 409
    assert "A user with this email already exists." in answer.text
    session.refresh(application)
    assert application.status == Status.submitted and application.organisation_id is None
    assert count(session, Organisation, Organisation.name == application.company_name) == 0
    assert count(session, Innovation, Innovation.name == application.product_name) == 0


def test_a_new_link_replaces_the_old_one(
    client: TestClient, sign_in: SignIn, session: Session, application: Application
) -> None:
    token = sign_in("admin")
    accepted = act(client, token, application, "accept")
    first = re.search(r'id="set-password-link">http://testserver(/set-password/[^<]+)<', accepted.text)
    assert first
    again = act(client, token, application, "password-link")
    assert again.status_code == 200
    assert again.headers["cache-control"].startswith("no-store")
    assert "<h1>New link to set a password</h1>" in again.text
    second = re.search(r'id="set-password-link">http://testserver(/set-password/[^<]+)<', again.text)
    assert second and second.group(1) != first.group(1)
    assert client.get(first.group(1)).status_code == 404
    assert client.get(second.group(1)).status_code == 200

    user = session.get(User, application.user_id)
    assert user
    token_only = second.group(1).removeprefix("/set-password/")
    users.set_password_with_link(session, token_only, "the password they chose")
    page = client.get(f"/applications/{application.id}").text
    assert "password-link" not in page
    refused = act(client, token, application, "password-link")
    assert refused.status_code == 409
    assert "They have set their password already" in refused.text


def test_a_link_for_an_application_not_accepted_is_refused(
    client: TestClient, sign_in: SignIn, application: Application
) -> None:
    token = sign_in("admin")
    answer = act(client, token, application, "password-link")
    assert answer.status_code == 409
    assert "Only an accepted application has a user" in answer.text


def test_every_step_is_an_event(
    client: TestClient, sign_in: SignIn, session: Session, world: World, application: Application
) -> None:
    token = sign_in("admin")
    act(client, token, application, "notes", text="A note")
    act(client, token, application, "start-review")
    session.refresh(application)
    act(client, token, application, "accept")
    types = session.exec(
        select(Event.type).where(Event.resource_type == "application", Event.resource_id == application.id)
    ).all()
    assert sorted(types) == sorted(
        [
            "application.submitted",
            "application.note_added",
            "application.status_changed",
            "application.accepted",
        ]
    )
    notes = applications.notes(session, admin_principal(world.exchange), application)
    assert [n.kind for n in notes] == [NoteKind.note, NoteKind.decision]
