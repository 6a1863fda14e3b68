"""The public pages to join the exchange: who it is for and the area, the
postcode check, the form field by field, the honeypot, the rate limit, the
size limit and CSRF, the confirmation that leaks nothing, and the applicant's
own status page with their reply."""

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models.application import Application, ApplicationStatus, NoteKind, Review
from app.models.event import Event
from app.services import applications
from tests.factories import APPLICATION, World, admin_principal, make_application
from tests.web.conftest import csrf_token

IN_AREA = [("L3 4BJ", "Liverpool"), ("CH41 5EE", "Wirral"), ("WA7 1AB", "Halton"), ("PR9 0AA", "Sefton")]
OUT_OF_AREA = ["M1 1AE", "CH64 3RY", "L39 2AA", "SW1A 1AA"]
AREA = "Liverpool City Region"
OUTSIDE = "If we cannot support you ourselves, we will put you in touch with the Health Innovation Network"


def form(token: str, **overrides: Any) -> dict[str, Any]:
    """The whole form as a browser posts it, from the factories' valid application."""
    values: dict[str, Any] = {key: ("yes" if value is True else value) for key, value in APPLICATION.items()}
    values["csrf_token"] = token
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def stored(session: Session) -> list[Application]:
    return list(session.exec(select(Application).order_by(Application.created_at)).all())


def event_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Event)).one()


def apply(client: TestClient, **overrides: Any) -> Any:
    return client.post("/join/apply", data=form(csrf_token(client), **overrides), follow_redirects=False)


def beside(html: str, field: str) -> str | None:
    """The error message beside a field."""
    found = re.search(
        rf'id="{field}-error">\s*<span class="nhsuk-u-visually-hidden">Error: </span>\s*([^<]+?)\s*<', html
    )
    return found.group(1) if found else None


def confirmation_of(answer: Any) -> tuple[str, dict[str, list[str]]]:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    match = re.fullmatch(r"/join/applied/(HIE-[0-9A-Z]{4}-[0-9A-Z]{4})", location.path)
    assert match, location
    return match.group(1), parse_qs(location.query)


# --- the start page --------------------------------------------------------------


def test_the_start_page_says_who_it_is_for_and_the_area(client: TestClient) -> None:
    page = client.get("/join")
    assert page.status_code == 200
    assert "If you have the specialism, ambition and growth potential, join us." in page.text
    assert "NeedleSmart took heat-based needle destruction from engineering to the NHS" in page.text
    assert f"businesses based in the {AREA}" in page.text
    for authority in ("Liverpool", "Knowsley", "Sefton", "St Helens", "Wirral", "Halton"):
        assert f"<li>{authority}</li>" in page.text
    assert "you can still apply" in page.text and OUTSIDE in page.text
    assert '<form method="get" action="/join#postcode-result"' in page.text
    assert 'href="/join/apply"' in page.text and "Start now" in page.text
    assert 'href="/privacy"' in page.text
    # Signed out: no navigation in the header, and the footer invites them in.
    assert "nhsuk-header__navigation" not in page.text
    assert 'href="/innovations"' not in page.text
    assert '<a class="nhsuk-footer__list-item-link" href="/join">Join the exchange</a>' in page.text


@pytest.mark.parametrize(("postcode", "authority"), IN_AREA)
def test_a_postcode_in_the_area(client: TestClient, postcode: str, authority: str) -> None:
    page = client.get("/join", params={"postcode": postcode.lower().replace(" ", "")})
    assert page.status_code == 200
    assert f"<strong>{postcode}</strong> is in the {AREA}, in {authority}. You can apply." in page.text


@pytest.mark.parametrize("postcode", OUT_OF_AREA)
def test_a_postcode_outside_the_area(client: TestClient, postcode: str) -> None:
    page = client.get("/join", params={"postcode": postcode})
    assert page.status_code == 200
    assert f"<strong>{postcode}</strong> is outside the {AREA}. You can still apply." in page.text


@pytest.mark.parametrize(
    ("postcode", "message"), [("", "Enter a postcode"), ("L3", "Enter a real postcode, like L3 4BJ")]
)
def test_a_postcode_check_that_is_no_postcode(client: TestClient, postcode: str, message: str) -> None:
    page = client.get("/join", params={"postcode": postcode})
    assert page.status_code == 422
    assert page.text.count(message) == 2  # in the error summary, and beside the field
    assert "<title>Error: Join the exchange" in page.text


# --- applying ----------------------------------------------------------------------


def test_the_form_asks_in_sections_with_hints(client: TestClient) -> None:
    page = client.get("/join/apply")
    assert page.status_code == 200
    assert '<form method="post" action="/join/apply" novalidate>' in page.text
    assert 'name="csrf_token"' in page.text
    for legend in (
        "Your company",
        "About you",
        "Your product or service",
        "How it could serve health or care",
        "The support you want",
        "Your agreement",
    ):
        assert re.search(rf"<legend[^>]*>\s*<h2[^>]*>\s*{legend}\s*</h2>", page.text), legend
    assert "8 characters, like 01234567 or SC123456" in page.text
    for size in (
        "fewer than 10 employees",
        "10 to 49 employees",
        "50 to 249 employees",
        "250 or more employees",
    ):
        assert size in page.text
    for support in (
        "Clinical introductions",
        "Evidence and evaluation",
        "Regulation",
        "Market access",
        "Funding",
    ):
        assert support in page.text
    honeypot = re.search(r'<div class="app-honeypot" aria-hidden="true">.*?</div>', page.text, re.S)
    assert honeypot and "Leave this blank" in honeypot.group(0)
    assert 'name="fax_number"' in honeypot.group(0) and 'tabindex="-1"' in honeypot.group(0)
    assert 'autocomplete="off"' in honeypot.group(0)


@pytest.mark.parametrize(("postcode", "authority"), IN_AREA)
def test_apply_from_inside_the_area(
    client: TestClient, session: Session, postcode: str, authority: str
) -> None:
    reference, query = confirmation_of(apply(client, postcode=postcode.lower()))
    [application] = stored(session)
    assert application.reference == reference
    assert (application.in_area, application.area_district) == (True, authority)
    assert application.postcode == postcode
    assert application.status == ApplicationStatus.submitted and not application.suspected_spam
    assert query["area"] == ["in"]

    page = client.get(f"/join/applied/{reference}", params={k: v[0] for k, v in query.items()})
    assert page.status_code == 200
    assert re.search(rf'<strong class="app-reference" id="reference">{reference}</strong>', page.text)
    assert "nhsuk-panel" in page.text and "What happens next" in page.text
    assert "reply by email within 10 working days" in page.text
    assert OUTSIDE not in page.text
    assert 'href="/join/status"' in page.text


@pytest.mark.parametrize("postcode", OUT_OF_AREA)
def test_apply_from_outside_the_area(client: TestClient, session: Session, postcode: str) -> None:
    reference, query = confirmation_of(apply(client, postcode=postcode))
    [application] = stored(session)
    assert (application.in_area, application.area_district) == (False, None)
    page = client.get(f"/join/applied/{reference}", params={k: v[0] for k, v in query.items()})
    assert page.status_code == 200
    assert OUTSIDE in page.text and reference in page.text


def test_what_the_form_stores(client: TestClient, session: Session) -> None:
    confirmation_of(
        apply(
            client,
            companies_house_number="sc 123 456",
            website="",
            evidence="",
            care_settings=None,
            support_wanted=["funding", "market_access"],
        )
    )
    [application] = stored(session)
    assert application.companies_house_number == "SC123456"
    assert application.website is None and application.evidence == ""
    assert application.care_settings == [] and application.support_wanted == ["funding", "market_access"]
    assert application.contact_email == APPLICATION["contact_email"]
    assert session.exec(select(Event.type).where(Event.type == "application.submitted")).all()


VALIDATION = [
    ("company_name", "", "Enter the company name"),
    ("company_name", "x" * 201, "The company name must be 200 characters or fewer"),
    (
        "companies_house_number",
        "1234",
        "Enter a Companies House number of 8 characters, like 01234567 or SC123456",
    ),
    ("address", "", "Enter the company address"),
    ("postcode", "", "Enter the postcode"),
    ("postcode", "L3", "Enter a real postcode, like L3 4BJ"),
    ("website", "not a website", "Enter the website as a full web address, like https://www.example.org"),
    ("company_size", "", "Select the size of the company"),
    ("company_size", "enormous", "Select the size of the company"),
    ("contact_name", "", "Enter your full name"),
    ("contact_email", "", "Enter your email address"),
    ("contact_email", "sam@", "Enter an email address in the correct format, like name@example.com"),
    ("contact_role", "", "Enter your role in the company"),
    ("product_name", "", "Enter the name of the product or service"),
    ("product_description", "", "Enter what it does today"),
    ("product_description", "x" * 1001, "What it does today must be 1000 characters or fewer"),
    ("origin_sector", "", "Enter the sector it comes from"),
    ("current_users", "", "Enter who uses it now"),
    ("health_problem", "", "Enter the problem it could solve in health or care"),
    ("care_settings", ["space_station"], "Select the care settings"),
    ("evidence", "x" * 2001, "The evidence or accreditations must be 2000 characters or fewer"),
    ("support_wanted", None, "Select the support you want"),
    ("consent_to_contact", None, "Select that you agree to us contacting you about your application"),
    ("consent_to_data", None, "Select that you agree to us holding the information you give"),
]


@pytest.mark.parametrize(("field", "value", "message"), VALIDATION)
def test_each_field_is_checked(
    client: TestClient, session: Session, field: str, value: Any, message: str
) -> None:
    events = event_count(session)
    answer = apply(client, **{field: value})
    assert answer.status_code == 422
    assert "<title>Error: Apply to join the exchange" in answer.text
    summary = re.search(r'<div class="nhsuk-error-summary".*?</ul>', answer.text, re.S)
    assert summary, "an error summary"
    assert re.findall(r'<a href="#([^"]+)"[^>]*>\s*([^<]+?)\s*</a>', summary.group(0)) == [(field, message)]
    assert beside(answer.text, field) == message
    assert stored(session) == [] and event_count(session) == events  # nothing written
    # What they typed is kept.
    assert 'value="Merseyside Thermal Engineering Ltd"' in answer.text or field == "company_name"


def test_an_empty_form_lists_every_required_answer_in_order(client: TestClient, session: Session) -> None:
    answer = client.post("/join/apply", data={"csrf_token": csrf_token(client)})
    assert answer.status_code == 422
    fields = re.findall(r'<li>\s*<a href="#([^"]+)"', answer.text)
    assert fields == [
        "company_name",
        "address",
        "postcode",
        "company_size",
        "contact_name",
        "contact_email",
        "contact_role",
        "product_name",
        "product_description",
        "origin_sector",
        "current_users",
        "health_problem",
        "support_wanted",
        "consent_to_contact",
        "consent_to_data",
    ]
    assert stored(session) == []


def test_the_honeypot_is_stored_as_suspected_spam_and_confirmed_the_same(
    client: TestClient, session: Session
) -> None:
    person, person_query = confirmation_of(apply(client))
    robot, robot_query = confirmation_of(apply(client, fax_number="+44 151 000 0000"))
    by_reference = {a.reference: a for a in stored(session)}
    assert not by_reference[person].suspected_spam
    assert by_reference[robot].suspected_spam
    pages = [
        client.get(f"/join/applied/{ref}", params={k: v[0] for k, v in query.items()})
        for ref, query in ((person, person_query), (robot, robot_query))
    ]
    assert [p.status_code for p in pages] == [200, 200]
    assert pages[0].text.replace(person, "REF") == pages[1].text.replace(robot, "REF")


def test_too_many_applications_from_one_address(app: FastAPI, client: TestClient, session: Session) -> None:
    app.state.settings = app.state.settings.model_copy(update={"applications_per_address": 2})
    confirmation_of(apply(client))
    confirmation_of(apply(client, fax_number="filled"))  # a robot's counts too
    answer = apply(client, company_name="Third Time Ltd")
    assert answer.status_code == 429
    assert 3500 <= int(answer.headers["retry-after"]) <= 3601
    assert "Too many applications from your network. Try again in 60 minutes." in answer.text
    assert 'value="Third Time Ltd"' in answer.text  # the form again, nothing lost
    assert len(stored(session)) == 2


def test_an_oversized_form_is_refused(client: TestClient, session: Session) -> None:
    answer = apply(client, product_description="x" * 200_000)
    assert answer.status_code == 413
    assert stored(session) == []


def test_the_form_needs_its_csrf_token(client: TestClient, session: Session) -> None:
    csrf_token(client)
    data = form("")
    del data["csrf_token"]
    answer = client.post("/join/apply", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert client.post("/join/apply", data=form("forged"), follow_redirects=False).status_code == 403
    assert stored(session) == []


def test_the_confirmation_shows_nothing_without_its_check(client: TestClient, session: Session) -> None:
    reference, query = confirmation_of(apply(client))
    check = query["check"][0]
    assert client.get(f"/join/applied/{reference}").status_code == 404
    assert client.get(f"/join/applied/{reference}", params={"area": "out", "check": check}).status_code == 404
    assert (
        client.get(f"/join/applied/{reference}", params={"area": "in", "check": "0" * 32}).status_code == 404
    )
    # A reference that does not exist answers the same as one that does.
    guess = client.get("/join/applied/HIE-AAAA-AAAA", params={"area": "in", "check": check})
    assert guess.status_code == 404
    assert "Page not found" in guess.text and "HIE-AAAA-AAAA" not in guess.text


# --- the applicant's status ----------------------------------------------------------


def ask_status(client: TestClient, reference: str, email: str) -> Any:
    return client.post(
        "/join/status", data={"csrf_token": csrf_token(client), "reference": reference, "email": email}
    )


def test_the_status_by_reference_and_email(app: FastAPI, client: TestClient, session: Session) -> None:
    application = make_application(session, app.state.settings)
    lookup = client.get("/join/status")
    assert (
        lookup.status_code == 200 and '<form method="post" action="/join/status" novalidate>' in lookup.text
    )

    page = ask_status(client, application.reference.lower().replace("-", " "), "SAM@thermal.example.co.uk")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Received: we have not started reading it yet." in page.text
    assert "We have not written to you about this application yet." in page.text
    assert "Reply to us" not in page.text


@pytest.mark.parametrize(
    ("reference", "email", "field", "message"),
    [
        ("HIE-AAAA-AAAA", APPLICATION["contact_email"], "reference", "No application matches"),
        (None, "someone.else@example.com", "reference", "No application matches"),
        ("", APPLICATION["contact_email"], "reference", "Enter your reference"),
        (None, "", "email", "Enter your email address"),
        (None, "not-an-email", "email", "Enter an email address in the correct format"),
    ],
)
def test_a_status_question_that_matches_nothing(
    app: FastAPI,
    client: TestClient,
    session: Session,
    reference: str | None,
    email: str,
    field: str,
    message: str,
) -> None:
    application = make_application(session, app.state.settings)
    page = ask_status(client, application.reference if reference is None else reference, email)
    assert page.status_code == 422
    assert re.search(rf'<a href="#{field}">\s*{message}', page.text)
    assert "Received:" not in page.text


def test_the_applicant_reads_the_question_and_replies(
    app: FastAPI, client: TestClient, session: Session, world: World
) -> None:
    application = make_application(session, app.state.settings)
    team = admin_principal(world.exchange)
    applications.add_note(session, team, application, "Internal: looks promising.")
    applications.review(
        session,
        team,
        application,
        Review(status=ApplicationStatus.more_information_needed, message="Which wards used the pilot?"),
        None,
    )
    email = APPLICATION["contact_email"]
    page = ask_status(client, application.reference, email)
    assert "We need more information from you" in page.text
    assert "From the exchange team" in page.text and "Which wards used the pilot?" in page.text
    assert "Internal: looks promising." not in page.text  # the team's own notes stay with the team
    assert '<form method="post" action="/join/status/reply" novalidate>' in page.text

    reply = {"csrf_token": csrf_token(client), "reference": application.reference, "email": email}
    empty = client.post("/join/status/reply", data={**reply, "text": " "})
    assert empty.status_code == 422
    assert re.search(r'<a href="#text">\s*Enter your reply', empty.text)

    sent = client.post("/join/status/reply", data={**reply, "text": "Two surgical wards at the Royal."})
    assert sent.status_code == 200
    assert "We have your reply" in sent.text
    assert "In review: the exchange team is reading it." in sent.text
    assert "Your reply" in sent.text and "Two surgical wards at the Royal." in sent.text
    assert "Reply to us" not in sent.text
    session.refresh(application)
    assert application.status == ApplicationStatus.in_review
    kinds = [n.kind for n in applications.notes(session, team, application)]
    assert kinds == [NoteKind.note, NoteKind.request, NoteKind.reply]

    again = client.post("/join/status/reply", data={**reply, "text": "And one more thing."})
    assert again.status_code == 409
    assert "We have not asked you for more information" in again.text

    stranger = client.post("/join/status/reply", data={**reply, "email": "x@example.com", "text": "Hi"})
    assert stranger.status_code == 422 and "No application matches" in stranger.text


# --- links in ------------------------------------------------------------------------


def test_sign_in_and_privacy_point_to_joining(client: TestClient) -> None:
    sign_in = client.get("/sign-in")
    assert '<a href="/join">join the exchange</a>' in sign_in.text
    privacy = client.get("/privacy")
    assert '<h2 id="applications">Applications to join the exchange</h2>' in privacy.text
    for part in ("What we hold", "Why", "Who sees it", "For how long"):
        assert f"<p>{part}:" in privacy.text
