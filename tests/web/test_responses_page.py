"""Responses on the pages: a supplier puts an innovation forward from the
challenge page; the owner shortlists, selects and declines (with a reason)
there; the supplier withdraws from the innovation page. Every form posts
and answers 303, errors come back beside their fields with a summary, and
those a response does not concern never see it."""

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Adoption, Challenge, Innovation
from app.models.response import ResponseCreate
from app.services import responses
from tests.factories import World, admin_principal, make_challenge, make_innovation

SignIn = Callable[[str], str]
PITCH = "It destroys needles at the bedside; two wards halved their injuries."


@pytest.fixture
def challenge(session: Session, world: World) -> Challenge:
    return make_challenge(session, world.trust, title="Fewer needlestick injuries")


@pytest.fixture
def innovation(session: Session, world: World) -> Innovation:
    return make_innovation(session, world.supplier, name="Virtual wards")


def put_forward(
    session: Session, world: World, challenge: Challenge, innovation: Innovation
) -> responses.Loaded:
    data = ResponseCreate(innovation_id=innovation.id, pitch=PITCH)
    return responses.respond(session, admin_principal(world.exchange), challenge, data)


def switch_to(client: TestClient, sign_in: SignIn, who: str) -> str:
    client.cookies.clear()
    return sign_in(who)


def section(page: str) -> str:
    """The responses section of a page."""
    match = re.search(r'<section id="responses".*?</section>', page, re.S)
    assert match, "the page has a responses section"
    return match.group(0)


def has_button(panel: str, text: str) -> bool:
    """A response's action button, named for the innovation to screen readers."""
    return (
        re.search(rf">\s*{text}<span class=\"nhsuk-u-visually-hidden\"> the response of", panel) is not None
    )


def summary_links(page: str, field: str, text: str) -> bool:
    """The error summary links this message to its field."""
    return re.search(rf'href="#{field}">\s*{re.escape(text)}\s*</a>', page) is not None


def test_a_supplier_puts_an_innovation_forward(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    token = sign_in("supplier")
    page = client.get(f"/challenges/{challenge.id}")
    assert page.status_code == 200
    panel = section(page.text)
    assert '<h2 id="responses-title">Responses</h2>' in panel
    assert "You have not put an innovation forward for this challenge." in panel
    assert f'<form method="post" action="/challenges/{challenge.id}/responses"' in panel
    assert 'name="csrf_token"' in panel
    assert f'<option value="{innovation.id}">Virtual wards</option>' in panel

    posted = client.post(
        f"/challenges/{challenge.id}/responses",
        data={"csrf_token": token, "innovation_id": str(innovation.id), "pitch": PITCH},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/challenges/{challenge.id}?response=submitted#responses"
    panel = section(client.get(posted.headers["location"]).text)
    assert "Your innovation has been put forward for this challenge." in panel
    assert "Virtual wards" in panel and PITCH in panel and "Submitted" in panel
    # Put forward once: the form no longer offers it; the supplier may withdraw it.
    assert f'<option value="{innovation.id}">' not in panel
    assert has_button(panel, "Withdraw") and not has_button(panel, "Shortlist")


def test_putting_forward_without_a_choice_or_pitch_shows_the_errors(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    token = sign_in("supplier")
    got = client.post(
        f"/challenges/{challenge.id}/responses",
        data={"csrf_token": token, "innovation_id": "", "pitch": "  "},
    )
    assert got.status_code == 422
    assert "<title>Error: Put an innovation forward" in got.text
    assert "There is a problem" in got.text
    assert summary_links(got.text, "innovation_id", "Select the innovation to put forward")
    assert summary_links(got.text, "pitch", "Enter your pitch")
    assert re.search(r'id="pitch-error"[^>]*>\s*<span[^>]*>Error:\s*</span>\s*Enter your pitch', got.text)
    assert responses.rows_for_challenge(session, admin_principal(world.exchange), challenge.id) == []

    # An innovation already put forward is said beside the choice.
    put_forward(session, world, challenge, innovation)
    again = client.post(
        f"/challenges/{challenge.id}/responses",
        data={"csrf_token": token, "innovation_id": str(innovation.id), "pitch": PITCH},
    )
    assert again.status_code == 422
    assert "already been put forward" in again.text and 'href="#innovation_id"' in again.text


def test_the_owner_shortlists_and_selects_and_an_adoption_opens(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    loaded = put_forward(session, world, challenge, innovation)
    token = sign_in("trust")
    panel = section(client.get(f"/challenges/{challenge.id}").text)
    assert PITCH in panel and "from NeedleSmart" in panel
    assert (
        has_button(panel, "Shortlist")
        and not has_button(panel, "Select")
        and not has_button(panel, "Withdraw")
    )
    assert f'action="/responses/{loaded.response.id}/decline"' in panel
    assert "<summary" in panel  # the decline form opens without JavaScript
    assert "Put an innovation forward" not in panel

    form = {"csrf_token": token, "version": "1", "return_to": f"/challenges/{challenge.id}"}
    shortlisted = client.post(f"/responses/{loaded.response.id}/shortlist", data=form, follow_redirects=False)
    assert shortlisted.status_code == 303
    assert shortlisted.headers["location"] == f"/challenges/{challenge.id}?response=shortlisted#responses"
    panel = section(client.get(shortlisted.headers["location"]).text)
    assert (
        "The response has been shortlisted." in panel
        and "Shortlisted" in panel
        and has_button(panel, "Select")
    )

    selected = client.post(
        f"/responses/{loaded.response.id}/select", data={**form, "version": "2"}, follow_redirects=False
    )
    assert selected.status_code == 303
    adoption = session.exec(select(Adoption).where(Adoption.innovation_id == innovation.id)).one()
    assert (adoption.organisation_id, adoption.challenge_id) == (world.trust.id, challenge.id)
    panel = section(client.get(selected.headers["location"]).text)
    assert "an adoption opened for it" in panel
    assert f'href="/adoptions/{adoption.id}"' in panel
    assert not has_button(panel, "Decline") and not has_button(panel, "Shortlist")


def test_selecting_links_the_adoption_already_open(
    client: TestClient, sign_in: SignIn, session: Session, world: World, challenge: Challenge
) -> None:
    loaded = put_forward(session, world, challenge, world.innovation)
    token = sign_in("trust")
    form = {"csrf_token": token, "return_to": f"/challenges/{challenge.id}"}
    client.post(f"/responses/{loaded.response.id}/shortlist", data={**form, "version": "1"})
    selected = client.post(
        f"/responses/{loaded.response.id}/select", data={**form, "version": "2"}, follow_redirects=False
    )
    assert selected.headers["location"] == f"/challenges/{challenge.id}?response=linked#responses"
    panel = section(client.get(selected.headers["location"]).text)
    assert "linked to the adoption your organisation already has" in panel
    assert f'href="/adoptions/{world.adoption.id}"' in panel


def test_declining_needs_a_reason(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    loaded = put_forward(session, world, challenge, innovation)
    token = sign_in("trust")
    url = f"/responses/{loaded.response.id}/decline"
    missing = client.post(url, data={"csrf_token": token, "version": "1", "reason": " "})
    assert missing.status_code == 422
    assert "<title>Error: Decline this response" in missing.text
    assert summary_links(missing.text, "reason", "Enter the reason for declining it")
    assert re.search(
        r'id="reason-error"[^>]*>\s*<span[^>]*>Error:\s*</span>\s*Enter the reason', missing.text
    )
    assert f'<form method="post" action="{url}"' in missing.text

    page = client.get(url)
    assert page.status_code == 200 and 'id="reason"' in page.text

    declined = client.post(
        url, data={"csrf_token": token, "version": "1", "reason": "Not for our wards"}, follow_redirects=False
    )
    assert declined.status_code == 303
    panel = section(client.get(declined.headers["location"]).text)
    assert "Declined" in panel and "Reason given:</strong> Not for our wards" in panel


def test_a_stale_form_or_a_refused_move_changes_nothing(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    loaded = put_forward(session, world, challenge, innovation)
    token = sign_in("trust")
    stale = client.post(
        f"/responses/{loaded.response.id}/shortlist", data={"csrf_token": token, "version": "9"}
    )
    assert stale.status_code == 412
    assert "Someone else changed this response since you opened the page" in stale.text
    refused = client.post(
        f"/responses/{loaded.response.id}/select", data={"csrf_token": token, "version": "1"}
    )
    assert refused.status_code == 409
    assert "selected only from shortlisted" in refused.text
    session.refresh(loaded.response)
    assert (loaded.response.status, loaded.response.version) == ("submitted", 1)
    unknown = client.post(
        f"/responses/{loaded.response.id}/approve", data={"csrf_token": token, "version": "1"}
    )
    assert unknown.status_code == 404
    forged = client.post(f"/responses/{loaded.response.id}/shortlist", data={"version": "1"})
    assert forged.status_code == 403


def test_those_it_does_not_concern_do_not_see_it(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    loaded = put_forward(session, world, challenge, innovation)
    token = sign_in("other_trust")
    page = client.get(f"/challenges/{challenge.id}")
    assert page.status_code == 200
    panel = section(page.text)
    assert PITCH not in panel and "Virtual wards" not in panel
    assert client.get(f"/responses/{loaded.response.id}/decline").status_code == 404
    moved = client.post(
        f"/responses/{loaded.response.id}/shortlist", data={"csrf_token": token, "version": "1"}
    )
    assert moved.status_code == 404
    # Nor on the innovation's page, which shows no responses section to them.
    assert '<section id="responses"' not in client.get(f"/innovations/{innovation.id}").text


def test_the_supplier_withdraws_from_the_innovation_page(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    loaded = put_forward(session, world, challenge, innovation)
    token = sign_in("supplier")
    page = client.get(f"/innovations/{innovation.id}")
    panel = section(page.text)
    assert "Responses to challenges" in panel
    assert (
        f'href="/challenges/{challenge.id}#response-{loaded.response.id}">Fewer needlestick injuries</a>'
        in panel
    )
    assert f'action="/responses/{loaded.response.id}/withdraw"' in panel
    assert f'name="return_to" value="/innovations/{innovation.id}"' in panel

    withdrawn = client.post(
        f"/responses/{loaded.response.id}/withdraw",
        data={"csrf_token": token, "version": "1", "return_to": f"/innovations/{innovation.id}"},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"] == f"/innovations/{innovation.id}?response=withdrawn#responses"
    panel = section(client.get(withdrawn.headers["location"]).text)
    assert "The response has been withdrawn." in panel and "Withdrawn" in panel
    assert f'action="/responses/{loaded.response.id}/withdraw"' not in panel

    # A return address elsewhere is not followed: back to the challenge instead.
    other = put_forward(session, world, challenge, world.innovation)
    away = client.post(
        f"/responses/{other.response.id}/withdraw",
        data={"csrf_token": token, "version": "1", "return_to": "https://example.com/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == f"/challenges/{challenge.id}?response=withdrawn#responses"


def test_the_owner_sees_responses_on_the_innovation_page_without_withdrawing(
    client: TestClient,
    sign_in: SignIn,
    session: Session,
    world: World,
    challenge: Challenge,
    innovation: Innovation,
) -> None:
    put_forward(session, world, challenge, innovation)
    sign_in("trust")
    panel = section(client.get(f"/innovations/{innovation.id}").text)
    assert "Fewer needlestick injuries" in panel and "Submitted" in panel
    assert "/withdraw" not in panel and "/shortlist" not in panel
