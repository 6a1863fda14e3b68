"""Matching on the pages: a challenge page's "Possible innovations" and an
innovation page's "Challenges it could answer", each with its reasons in
plain words and links to the records; and the warning, on the form that
adds an innovation, that it may already be on the exchange, which never
blocks: submitting again adds it."""

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Innovation
from tests.factories import World, make_challenge, make_innovation

SignIn = Callable[[str], str]
FACETS: dict[str, Any] = {"care_settings": ["acute_inpatient"], "categories": ["medical_device"]}
WARNING = "This innovation may already be on the exchange"


def form(token: str, **values: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Ward sharps burner",
        "summary": "Burns needles on the ward.",
        "maturity": "ready",
        "status": "published",
        **values,
    }


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Innovation)).one()


def section(page: str, heading: str) -> str:
    """The <section> of a page whose h2 is `heading`."""
    match = re.search(rf"<section[^>]*>\s*<h2[^>]*>{heading}</h2>.*?</section>", page, re.S)
    assert match, f"no section {heading!r}"
    return match.group(0)


# --- the panels ---------------------------------------------------------------------------


def test_a_challenge_page_lists_possible_innovations_and_why(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    need = make_challenge(session, world.trust, **FACETS)
    make_innovation(session, world.supplier, name="Draft sharps bin", status="draft", **FACETS)
    sign_in("trust")

    panel = section(client.get(f"/challenges/{need.id}").text, "Possible innovations")

    assert f'<a href="/innovations/{world.innovation.id}">Heat-based sharps destruction</a>' in panel
    assert "From NeedleSmart." in panel
    for reason in (
        "shares care setting: acute inpatient",
        "shares category: medical device",
        "words in common: sharps",
    ):
        assert f"<li>{reason}</li>" in panel
    assert "Draft sharps bin" not in panel


def test_an_innovation_page_lists_the_challenges_it_could_answer(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    ready = make_innovation(
        session, world.supplier, name="Sharps burner", maturity="ready", regulatory={"dtac": True}, **FACETS
    )
    need = make_challenge(session, world.trust, closes_on="2027-02-28", **FACETS)
    make_challenge(session, world.trust, title="Closed sharps challenge", status="closed", **FACETS)
    sign_in("supplier")

    panel = section(client.get(f"/innovations/{ready.id}").text, "Challenges it could answer")

    assert f'<a href="/challenges/{need.id}">Safer sharps disposal on wards</a>' in panel
    assert "Posted by Liverpool University Hospitals; closes on 28 February 2027." in panel
    assert "<li>shares care setting: acute inpatient</li>" in panel
    assert "<li>words in common: sharps, needles</li>" in panel
    # What is true of the innovation whatever the challenge is on its own page already.
    assert "ready for adoption" not in panel and "DTAC" not in panel
    assert "Closed sharps challenge" not in panel


def test_the_panels_say_when_nothing_fits(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    need = make_challenge(session, world.trust, title="Parking", problem_statement="Too few spaces.")
    sign_in("trust")
    assert "No published innovation shares" in section(
        client.get(f"/challenges/{need.id}").text, "Possible innovations"
    )
    page = client.get(f"/innovations/{world.innovation.id}").text
    assert "No open challenge shares" in section(page, "Challenges it could answer")


# --- the duplicate warning ---------------------------------------------------------------------------


def test_adding_an_innovation_like_another_warns_and_a_second_submit_adds_it(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("supplier")
    before = count(session)
    like = form(
        token, name="Sharps destruction by heat", summary="Destroys used needles at the point of care."
    )

    warned = client.post("/innovations/new", data=like, follow_redirects=False)

    assert warned.status_code == 200
    assert WARNING in warned.text
    assert f'href="/innovations/{world.innovation.id}"' in warned.text
    assert "Heat-based sharps destruction (opens in a new tab)" in warned.text
    assert "Error:" not in warned.text and "There is a problem" not in warned.text
    # What was typed is kept, and nothing was saved.
    assert 'value="Sharps destruction by heat"' in warned.text
    assert count(session) == before
    checked = re.search(r'name="duplicates_checked" value="([0-9a-f]+)"', warned.text)
    assert checked

    added = client.post(
        "/innovations/new", data={**like, "duplicates_checked": checked.group(1)}, follow_redirects=False
    )

    assert added.status_code == 303
    assert count(session) == before + 1


def test_a_changed_name_and_summary_are_checked_again(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("supplier")
    first = form(
        token, name="Sharps destruction by heat", summary="Destroys used needles at the point of care."
    )
    checked = re.search(
        r'name="duplicates_checked" value="([0-9a-f]+)"', client.post("/innovations/new", data=first).text
    )
    assert checked
    changed = {**first, "name": "Heat sharps destruction", "duplicates_checked": checked.group(1)}

    again = client.post("/innovations/new", data=changed, follow_redirects=False)

    assert again.status_code == 200 and WARNING in again.text


def test_an_innovation_like_no_other_is_added_without_a_warning(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("supplier")
    added = client.post(
        "/innovations/new",
        data=form(token, name="Virtual ward kit", summary="Remote monitoring at home."),
        follow_redirects=False,
    )
    assert added.status_code == 303


def test_only_innovations_the_person_may_see_are_named(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_innovation(
        session,
        world.supplier,
        name="Bedside falls sensor",
        summary="Alerts nurses at night.",
        status="draft",
    )
    same = {"name": "Bedside falls sensor", "summary": "Alerts nurses at night."}
    # A draft is secret but to its supplier (and the exchange's staff).
    token = sign_in("trust")
    assert WARNING not in client.post("/innovations/new", data=form(token, **same)).text
    client.cookies.clear()
    token = sign_in("supplier")
    assert WARNING in client.post("/innovations/new", data=form(token, **same)).text
