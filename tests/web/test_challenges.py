"""The challenge pages: the list, a challenge with the innovations answering
it, the forms with their errors and conflicts, closing and withdrawing, and
who may see and do what."""

import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.challenge import Challenge, ChallengeUpdate
from app.services import challenges
from tests.factories import World, admin_principal, make_adoption, make_challenge, make_innovation, make_org

HTMX = {"HX-Request": "true"}
SignIn = Callable[[str], str]


def switch_to(client: TestClient, sign_in: SignIn, who: str) -> str:
    """Sign out whoever is signed in, and sign in as `who`."""
    client.cookies.clear()
    return sign_in(who)


def valid_form(token: str, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": token,
        "title": "Reduce missed outpatient appointments",
        "problem_statement": "One in ten appointments is missed.\n\nWe need reminders that work.",
        "care_settings": ["acute_outpatient"],
        "categories": ["digital", "ai"],
        "desired_outcomes": "Fewer missed appointments",
        "success_measures": "Did-not-attend rate below 5%",
        "budget_min": "£10,000",
        "budget_max": "50000",
        "opens_on-day": "1",
        "opens_on-month": "12",
        "opens_on-year": "2026",
        "closes_on-day": "28",
        "closes_on-month": "2",
        "closes_on-year": "2027",
        "status": "open",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def new_id(answer: Any) -> uuid.UUID:
    match = re.fullmatch(r"/challenges/([0-9a-f-]{36})", answer.headers["location"])
    assert match, answer.headers["location"]
    return uuid.UUID(match.group(1))


# --- the list ---------------------------------------------------------------------


def test_the_list_is_a_page_and_its_results_a_fragment(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_challenge(session, world.trust, title="Safer sharps disposal on wards")
    sign_in("supplier")
    page = client.get("/challenges")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert "<h1>Challenges</h1>" in page.text and "Safer sharps disposal on wards" in page.text
    assert "Posted by Liverpool University Hospitals" in page.text
    search = re.search(r'<input[^>]+id="q"[^>]*>', page.text)
    assert search and 'hx-get="/challenges"' in search.group(0) and 'hx-push-url="true"' in search.group(0)
    assert '<form method="get" action="/challenges"' in page.text

    fragment = client.get("/challenges?q=sharps&status=", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text and "Safer sharps disposal on wards" in fragment.text
    assert fragment.headers["hx-push-url"] == "/challenges?q=sharps"


def test_search_filters_and_pages(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_challenge(
        session,
        world.trust,
        title="Falls at night in care homes",
        care_settings=["care_home"],
        categories=["data_monitoring"],
    )
    make_challenge(session, world.trust, title="Missed appointments", categories=["digital"], status="closed")
    for n in range(21):
        make_challenge(session, world.other_trust, title=f"Paged challenge {n:02d}", categories=["education"])
    sign_in("trust")

    def titles(query: str) -> set[str]:
        text = client.get(f"/challenges?{query}", headers=HTMX).text
        return set(re.findall(r'<a href="/challenges/[^"]+">([^<]+)</a>', text))

    assert titles("q=falls") == {"Falls at night in care homes"}
    assert titles("status=closed") == {"Missed appointments"}
    assert titles("care_setting=care_home") == {"Falls at night in care homes"}
    assert titles("category=digital") == {"Missed appointments"}
    assert titles("category=digital&status=open") == set()

    first = client.get("/challenges?category=education")
    assert first.text.count('class="app-record"') == 20
    next_link = re.search(r'href="(/challenges\?category=education&amp;cursor=[^"]+)"', first.text)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="app-record"') == 1
    assert 'href="/challenges?category=education"' in second.text  # First page


def test_drafts_are_seen_only_by_their_owner_and_the_exchange(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    draft = make_challenge(session, world.trust, title="Not ready to share", status="draft")
    sign_in("other_trust")
    assert "Not ready to share" not in client.get("/challenges").text
    assert client.get(f"/challenges/{draft.id}").status_code == 404
    switch_to(client, sign_in, "trust")
    assert "Not ready to share" in client.get("/challenges").text
    assert client.get(f"/challenges/{draft.id}").status_code == 200
    switch_to(client, sign_in, "facilitator")
    assert client.get(f"/challenges/{draft.id}").status_code == 200


# --- one challenge ----------------------------------------------------------------


def test_the_challenge_and_the_innovations_answering_it(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(
        session,
        world.trust,
        title="Safer sharps",
        problem_statement="Needlestick injuries.\n\nThey cost time and worry.",
        care_settings=["acute_inpatient"],
        categories=["medical_device"],
        budget_min=10000,
        budget_max=50000,
        opens_on="2026-12-01",
        closes_on="2027-02-28",
    )
    answer = make_innovation(session, world.supplier, name="Ward sharps burner")
    adoption = make_adoption(
        session,
        answer,
        world.trust,
        challenge_id=challenge.id,
        stage="needs_assessment",
        gate={"champion": "Dr Patel"},
    )
    unrelated = make_innovation(session, world.supplier, name="Unrelated gadget")
    make_adoption(session, unrelated, world.trust)

    sign_in("trust")
    page = client.get(f"/challenges/{challenge.id}")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    text = page.text
    for expected in (
        "Liverpool University Hospitals",
        "Open",
        "Acute inpatient",
        "Medical device",
        "£10,000 to £50,000",
        "1 December 2026",
        "28 February 2027",
        "<p>Needlestick injuries.</p>",
        "<p>They cost time and worry.</p>",
        "Innovations answering it",
        "Ward sharps burner",
        "Needs assessment",
        f'href="/adoptions/{adoption.id}"',
    ):
        assert expected in text, expected
    # Not among the innovations answering it (it may be among the possible ones).
    assert "Unrelated gadget" not in text.split('<div id="answers">')[1].split("</div>")[0]
    assert (
        "Change this challenge" in text
        and "Close this challenge" in text
        and "Withdraw this challenge" in text
    )

    fragment = client.get(f"/challenges/{challenge.id}", headers=HTMX)
    assert "<html" not in fragment.text
    assert "Ward sharps burner" in fragment.text and "The problem" not in fragment.text

    # the adoption is seen by its supplier and the exchange, not by an unrelated trust
    switch_to(client, sign_in, "supplier")
    assert "Ward sharps burner" in client.get(f"/challenges/{challenge.id}").text
    switch_to(client, sign_in, "other_facilitator")
    assert "Ward sharps burner" in client.get(f"/challenges/{challenge.id}").text
    switch_to(client, sign_in, "other_trust")
    other = client.get(f"/challenges/{challenge.id}").text
    assert "Ward sharps burner" not in other.split('<div id="answers">')[1].split("</div>")[0]
    assert "No innovation you can see is being adopted for this challenge yet" in other
    for button in ("Change this challenge", "Close this challenge", "Withdraw this challenge"):
        assert button not in other


# --- posting ----------------------------------------------------------------------


def test_a_trust_posts_a_challenge_for_itself(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("trust")
    page = client.get("/challenges/new")
    assert page.status_code == 200
    assert 'name="owner_id"' not in page.text and "Liverpool University Hospitals" in page.text
    assert 'name="opens_on-day"' in page.text and 'id="opens_on"' in page.text  # an NHS date input
    assert "<html" not in client.get("/challenges/new", headers=HTMX).text

    answer = client.post(
        "/challenges/new", data=valid_form(token, owner_id=str(world.other_trust.id)), follow_redirects=False
    )
    assert answer.status_code == 303
    created = session.get(Challenge, new_id(answer))
    assert created is not None
    assert created.owner_id == world.trust.id  # not the one posted
    assert created.budget_min == 10000 and created.budget_max == 50000
    assert created.opens_on == date(2026, 12, 1) and created.closes_on == date(2027, 2, 28)
    assert created.categories == ["digital", "ai"]
    assert created.status == "open"


def test_errors_are_listed_and_shown_beside_each_field(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    token = sign_in("trust")
    answer = client.post(
        "/challenges/new",
        data=valid_form(
            token,
            title="",
            budget_min="lots",
            **{"opens_on-day": "31", "opens_on-month": "2", "closes_on-day": "", "closes_on-year": "27"},
        ),
    )
    assert answer.status_code == 422
    text = answer.text
    assert "<title>Error: Post a challenge" in text and "There is a problem" in text
    for field, message in (
        ("title", "Enter the title"),
        ("budget_min", "The lowest budget must be a whole number"),
        ("opens_on", "Opening date must be a real date"),
        ("closes_on", "Closing date must include a day"),
    ):
        assert f'href="#{field}"' in text, field
        assert message in text, message
    assert 'id="budget_min-error"' in text and 'id="opens_on-date-error"' in text
    assert 'value="lots"' in text and 'name="opens_on-day" type="text" value="31"' in text

    ranges = client.post(
        "/challenges/new",
        data=valid_form(token, budget_min="60000", **{"closes_on-year": "2025"}),
    )
    assert ranges.status_code == 422
    assert "The highest budget must be the same as or more than the lowest" in ranges.text
    assert "The closing date must be the same as or after the opening date" in ranges.text


def test_the_exchange_chooses_the_owner(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("facilitator")
    page = client.get("/challenges/new")
    select = re.search(r'<select[^>]+name="owner_id".*?</select>', page.text, re.S)
    assert select
    assert "Liverpool University Hospitals" in select.group(0)
    assert "NeedleSmart" not in select.group(0)  # suppliers do not post challenges
    assert "Select the organisation" in client.post("/challenges/new", data=valid_form(token)).text
    answer = client.post(
        "/challenges/new", data=valid_form(token, owner_id=str(world.other_trust.id)), follow_redirects=False
    )
    assert answer.status_code == 303
    created = session.get(Challenge, new_id(answer))
    assert created is not None and created.owner_id == world.other_trust.id


def test_posting_needs_the_csrf_token(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust)
    token = sign_in("trust")
    form = valid_form(token)
    del form["csrf_token"]
    assert client.post("/challenges/new", data=form).status_code == 403
    assert client.post(f"/challenges/{challenge.id}/close", data={"version": "1"}).status_code == 403
    assert client.post(f"/challenges/{challenge.id}/withdraw", data={"version": "1"}).status_code == 403
    session.refresh(challenge)
    assert challenge.status == "open"


# --- changing, closing, withdrawing ----------------------------------------------


def edit_form(client: TestClient, challenge_id: Any) -> dict[str, Any]:
    """The edit form as the browser would send it, unchanged."""
    page = client.get(f"/challenges/{challenge_id}/edit").text
    form: dict[str, Any] = dict(
        re.findall(r'<input(?![^>]*type="(?:checkbox|radio)")[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    )
    for tag in re.findall(r'<input[^>]*type="(?:checkbox|radio)"[^>]*>', page):
        if " checked" not in tag:
            continue
        name = re.findall(r'name="([^"]+)"', tag)[0]
        value = re.findall(r'value="([^"]*)"', tag)[0]
        if name in ("categories", "care_settings"):
            form.setdefault(name, []).append(value)
        else:
            form[name] = value
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        form[name] = body
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    return form


def test_the_owner_changes_its_challenge(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust, budget_max=20000, closes_on="2027-01-31")
    sign_in("trust")
    page = client.get(f"/challenges/{challenge.id}/edit")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request"
    assert "<html" not in client.get(f"/challenges/{challenge.id}/edit", headers=HTMX).text
    form = edit_form(client, challenge.id)
    assert form["version"] == "1" and form["budget_max"] == "20000" and form["closes_on-month"] == "1"
    form["title"] = "Safer sharps disposal, everywhere"
    form["budget_max"] = "£25,000"
    answer = client.post(f"/challenges/{challenge.id}/edit", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/challenges/{challenge.id}"
    session.refresh(challenge)
    assert challenge.title == "Safer sharps disposal, everywhere"
    assert challenge.budget_max == 25000
    assert challenge.closes_on == date(2027, 1, 31)
    assert challenge.version == 2


def test_a_stale_save_shows_both_versions_and_never_overwrites(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust, title="The first title")
    sign_in("trust")
    form = edit_form(client, challenge.id)
    challenges.update(
        session, admin_principal(world.exchange), challenge, ChallengeUpdate(title="A facilitator's title"), 1
    )
    session.flush()
    form["title"] = "My late title"
    answer = client.post(f"/challenges/{challenge.id}/edit", data=form)
    assert answer.status_code == 412
    assert "Someone else changed this challenge since you opened it" in answer.text
    assert re.search(
        r"Title</th>\s*<td[^>]*>My late title</td>\s*<td[^>]*>A facilitator&#39;s title</td>", answer.text
    )
    assert f'href="/challenges/{challenge.id}/edit"' in answer.text
    session.refresh(challenge)
    assert challenge.title == "A facilitator's title"


def test_the_owner_closes_and_the_exchange_withdraws(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust)
    token = sign_in("trust")
    answer = client.post(
        f"/challenges/{challenge.id}/close",
        data={"csrf_token": token, "version": "1"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/challenges/{challenge.id}"
    session.refresh(challenge)
    assert challenge.status == "closed"
    page = client.get(f"/challenges/{challenge.id}").text
    assert "Close this challenge" not in page and "Withdraw this challenge" in page

    token = switch_to(client, sign_in, "facilitator")
    answer = client.post(
        f"/challenges/{challenge.id}/withdraw",
        data={"csrf_token": token, "version": "2"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    session.refresh(challenge)
    assert challenge.status == "withdrawn"
    assert "Withdraw this challenge" not in client.get(f"/challenges/{challenge.id}").text


def test_others_cannot_close_or_withdraw(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust)
    for who in ("other_trust", "supplier"):
        token = switch_to(client, sign_in, who)
        for action in ("close", "withdraw"):
            answer = client.post(
                f"/challenges/{challenge.id}/{action}", data={"csrf_token": token, "version": "1"}
            )
            assert answer.status_code == 403, (who, action)
            assert "Not allowed" in answer.text
        assert client.get(f"/challenges/{challenge.id}/edit").status_code == 403
        assert (
            client.post(f"/challenges/{challenge.id}/edit", data=valid_form(token, version="1")).status_code
            == 403
        )
    session.refresh(challenge)
    assert challenge.status == "open" and challenge.version == 1


def test_a_stale_close_is_refused(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    challenge = make_challenge(session, world.trust)
    token = sign_in("trust")
    challenges.update(
        session, admin_principal(world.exchange), challenge, ChallengeUpdate(title="Renamed"), 1
    )
    session.flush()
    answer = client.post(f"/challenges/{challenge.id}/close", data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 412
    assert "Someone else changed this challenge since you opened it" in answer.text
    assert "Renamed" in answer.text  # the page as it is now
    session.refresh(challenge)
    assert challenge.status == "open"


def test_user_text_is_escaped(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    script = "<script>alert('x')</script>"
    supplier_org = make_org(session, "supplier", name=f"Org {script}")
    innovation = make_innovation(session, supplier_org, name=f"Inn {script}")
    challenge = make_challenge(
        session, world.trust, title=f"Evil {script}", problem_statement=script, desired_outcomes=script
    )
    make_adoption(session, innovation, world.trust, challenge_id=challenge.id)
    token = sign_in("trust")
    pages = [
        client.get("/challenges"),
        client.get("/challenges?q=evil", headers=HTMX),
        client.get(f"/challenges/{challenge.id}"),
        client.get(f"/challenges/{challenge.id}/edit"),
        client.post("/challenges/new", data=valid_form(token, title="", problem_statement=script)),
    ]
    for page in pages:
        assert script not in page.text, page.url
        assert "&lt;script&gt;" in page.text, page.url
