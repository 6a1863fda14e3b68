"""An adoption's page: summary, gate record forms generated from the
pipeline's gate items, the lead, the history, and the move form; who may see
and change it; validation errors, conflicts and htmx fragments."""

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Adoption
from app.services import adoptions, pipeline
from tests.factories import World, admin_principal, make_adoption

HTMX = {"HX-Request": "true"}


def url(adoption: Adoption, tail: str = "") -> str:
    return f"/adoptions/{adoption.id}{tail}"


def current(session: Session, adoption: Adoption) -> Adoption:
    session.expire_all()
    found = session.get(Adoption, adoption.id)
    assert found is not None
    return found


def post_gate(
    client: TestClient, token: str, adoption: Adoption, stage: str, values: dict[str, str], **options: Any
) -> Any:
    data = {
        "csrf_token": token,
        "version": str(options.pop("version", adoption.version)),
        "stage": stage,
        **values,
    }
    return client.post(url(adoption, "/gate"), data=data, follow_redirects=False, **options)


# --- the page -------------------------------------------------------------------


def test_the_page_shows_the_summary_gate_forms_lead_history_and_move(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    sign_in("trust")
    page = client.get(url(world.adoption))
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    text = page.text
    assert text.count("<h1") == 1
    assert "Heat-based sharps destruction" in text and "at Liverpool University Hospitals" in text
    assert "<strong>Identified</strong>" in text
    assert "Less than 1 day, since" in text
    assert "Needs assessment: still to show Named adoption lead (champion)" in text
    # a form per stage with gate items, each saying whether its gate is met
    for stage in ("needs_assessment", "co_design", "real_world_testing", "adopted"):
        assert f'<section id="gate-{stage}" class="app-gate"' in text
        assert f'<input type="hidden" name="stage" value="{stage}">' in text
    assert text.count("Gate not met") == 5  # and sustained, computed
    # the controls come from the gate items' kinds
    assert '<input class="nhsuk-input" id="gate-item-champion" name="champion" type="text"' in text
    assert '<textarea class="nhsuk-textarea" id="gate-item-needs_assessment_summary"' in text
    assert 'id="gate-item-evidence_reviewed" name="evidence_reviewed" type="checkbox" value="true"' in text
    for choice in ("positive", "mixed", "negative"):
        assert f'name="evaluation_outcome" type="radio" value="{choice}"' in text
    assert "<legend" in text and "Evaluation outcome" in text
    # the lead, the history, the move form
    assert (
        'id="lead-name" name="lead_name"' in text and 'id="lead-email" name="lead_email" type="email"' in text
    )
    assert "It has not moved since it was identified." in text
    assert f'<form method="post" action="/adoptions/{world.adoption.id}/move"' in text
    assert f'name="return_to" value="/adoptions/{world.adoption.id}"' in text
    assert 'hx-target="#adoption-move"' in text
    assert 'id="adoption-status" class="app-status" role="status" aria-live="polite"' in text


def test_an_htmx_request_gets_only_the_adoption_block(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    sign_in("trust")
    fragment = client.get(url(world.adoption), headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert fragment.text.lstrip().startswith('<div id="adoption"')
    assert "<html" not in fragment.text


def test_an_unrelated_organisation_is_told_it_does_not_exist(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    token = sign_in("other_trust")
    assert client.get(url(world.adoption)).status_code == 404
    assert post_gate(client, token, world.adoption, "needs_assessment", {"champion": "X"}).status_code == 404


def test_the_supplier_sees_it_all_but_changes_nothing(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("supplier")
    page = client.get(url(world.adoption))
    assert page.status_code == 200
    assert '<form method="post"' not in page.text.split("</header>", 1)[1].split("<footer", 1)[0]
    assert "Named adoption lead (champion)" in page.text and "Not shown yet" in page.text
    assert "The adopting organisation, the facilitators of its region and admins move it." in page.text
    assert post_gate(client, token, world.adoption, "needs_assessment", {"champion": "X"}).status_code == 403
    lead = {"csrf_token": token, "version": "1", "lead_name": "X", "lead_email": "not an email"}
    assert client.post(url(world.adoption, "/lead"), data=lead).status_code == 403
    move = {"csrf_token": token, "version": "1", "to_stage": "not_progressed"}
    assert client.post(url(world.adoption, "/move"), data=move).status_code == 403
    assert current(session, world.adoption).gate == {}


# --- the gate record -----------------------------------------------------------


def test_the_gate_form_saves_its_stage_values(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    values = {
        "needs_assessment_summary": "Sharps injuries on three wards",
        "evidence_reviewed": "true",
        "cost_reviewed": "true",
    }
    answer = post_gate(client, token, world.adoption, "co_design", values)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/adoptions/{world.adoption.id}?saved=gate#gate-co_design"
    saved = current(session, world.adoption)
    assert saved.gate == {
        "needs_assessment_summary": "Sharps injuries on three wards",
        "evidence_reviewed": True,
        "cost_reviewed": True,
    }
    page = client.get(answer.headers["location"]).text
    assert "Gate record saved." in page
    assert "Still to show: Regulation reviewed, Fit with the care pathway reviewed." in page
    assert re.search(
        r'id="gate-item-evidence_reviewed" name="evidence_reviewed" type="checkbox" value="true"\s*checked',
        page,
    )

    # unticking a box or blanking an answer clears it
    answer = post_gate(client, token, saved, "co_design", {"evidence_reviewed": "true"})
    assert answer.status_code == 303
    assert current(session, world.adoption).gate == {"evidence_reviewed": True}


def test_a_met_gate_says_so(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    post_gate(client, token, world.adoption, "needs_assessment", {"champion": "Dr Asha Patel"})
    page = client.get(url(world.adoption)).text
    section = page[page.index('<section id="gate-needs_assessment"') :]
    assert "Gate met" in section[: section.index("</h3>")]
    assert "Needs assessment: met" in page


def test_the_gate_form_by_htmx_answers_its_section_the_summary_and_new_versions(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    answer = post_gate(
        client, token, world.adoption, "needs_assessment", {"champion": "Dr Asha Patel"}, headers=HTMX
    )
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert text.lstrip().startswith('<section id="gate-needs_assessment"')
    assert "Needs assessment: gate record saved." in text
    version = current(session, world.adoption).version
    assert version == 2
    assert '<div id="adoption-summary" hx-swap-oob="true">' in text
    for form in ("move", "lead", "gate-co_design", "gate-adopted"):
        assert (
            f'<input type="hidden" name="version" id="{form}-version" value="{version}" hx-swap-oob="true">'
            in text
        )
    assert '<template><div hx-swap-oob="innerHTML:#adoption-status">' in text


def test_the_gate_form_shows_errors_beside_the_fields(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    answer = post_gate(
        client,
        token,
        world.adoption,
        "adopted",
        {"evaluation_outcome": "excellent", "procurement_route": "Framework"},
    )
    assert answer.status_code == 422
    text = answer.text
    assert "<title>Error:" in text and "There is a problem" in text
    assert 'href="#gate-item-evaluation_outcome"' in text
    assert 'id="gate-item-evaluation_outcome-error"' in text
    assert "Must be one of: positive, mixed, negative." in text
    # what they typed is kept
    assert 'name="procurement_route" type="text" value="Framework"' in text
    assert current(session, world.adoption).gate == {}

    fragment = post_gate(
        client, token, world.adoption, "co_design", {"needs_assessment_summary": "x" * 5001}, headers=HTMX
    )
    assert fragment.status_code == 422
    assert fragment.text.lstrip().startswith('<section id="gate-co_design"')
    assert "Must be text of at most 5000 characters." in fragment.text


def test_a_stale_gate_save_shows_what_changed_and_overwrites_nothing(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    opened = world.adoption.version
    loaded = adoptions.get(session, admin_principal(world.exchange), world.adoption.id)
    from app.models.adoption import AdoptionUpdate

    adoptions.update(
        session,
        admin_principal(world.exchange),
        loaded,
        AdoptionUpdate(gate={"champion": "Dr Someone Else"}),
        None,
    )
    answer = post_gate(
        client, token, world.adoption, "needs_assessment", {"champion": "Dr Asha Patel"}, version=opened
    )
    assert answer.status_code == 412
    text = answer.text
    assert "Someone else changed this adoption since you opened it" in text
    assert "Your changes have not been saved. It is now at Identified." in text
    assert re.search(
        r"Named adoption lead \(champion\)</th>\s*"
        r"<td[^>]*>Dr Asha Patel</td>\s*<td[^>]*>Dr Someone Else</td>",
        text,
    )
    assert (
        f'<a href="/adoptions/{world.adoption.id}">Discard your changes and reload the adoption</a>' in text
    )
    assert current(session, world.adoption).gate == {"champion": "Dr Someone Else"}
    # their value stays in the form, now at the current version: saving again is their choice
    assert 'name="champion" type="text" value="Dr Asha Patel"' in text
    assert f'id="gate-needs_assessment-version" value="{current(session, world.adoption).version}"' in text

    fragment = post_gate(
        client,
        token,
        world.adoption,
        "needs_assessment",
        {"champion": "Dr Asha Patel"},
        version=opened,
        headers=HTMX,
    )
    assert fragment.status_code == 412
    assert fragment.text.lstrip().startswith('<section id="gate-needs_assessment"')


def test_a_gate_save_without_the_csrf_token_is_refused(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    sign_in("trust")
    data = {"version": "1", "stage": "needs_assessment", "champion": "X"}
    assert client.post(url(world.adoption, "/gate"), data=data).status_code == 403
    assert current(session, world.adoption).gate == {}


def test_a_stage_without_a_gate_record_is_not_found(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    token = sign_in("trust")
    assert post_gate(client, token, world.adoption, "sustained", {}).status_code == 404
    assert post_gate(client, token, world.adoption, "nonsense", {}).status_code == 404


# --- the lead -------------------------------------------------------------------


def test_the_lead_is_named_changed_and_cleared(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": "1",
        "lead_name": "Dr Asha Patel",
        "lead_email": "asha.patel@nhs.net",
    }
    answer = client.post(url(world.adoption, "/lead"), data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/adoptions/{world.adoption.id}?saved=lead"
    saved = current(session, world.adoption)
    assert (saved.lead_name, saved.lead_email) == ("Dr Asha Patel", "asha.patel@nhs.net")
    # the lead counts as the champion of the needs assessment gate
    page = client.get(url(world.adoption)).text
    assert "Needs assessment: met" in page
    assert "Left blank, the adoption lead (Dr Asha Patel) counts." in page

    bad = {"csrf_token": token, "version": str(saved.version), "lead_name": "", "lead_email": "asha"}
    answer = client.post(url(world.adoption, "/lead"), data=bad)
    assert answer.status_code == 422
    assert "Enter the lead&#39;s name" in answer.text
    assert "Enter the lead&#39;s email address in the correct format" in answer.text
    assert 'href="#lead-name"' in answer.text and 'id="lead-email-error"' in answer.text

    cleared = {"csrf_token": token, "version": str(saved.version), "lead_name": "", "lead_email": ""}
    answer = client.post(url(world.adoption, "/lead"), data=cleared, headers=HTMX)
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="adoption-lead"')
    assert "Adoption lead saved." in answer.text
    assert '<div id="adoption-summary" hx-swap-oob="true">' in answer.text
    assert current(session, world.adoption).lead_name is None


def test_a_stale_lead_save_is_412(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": "0",
        "lead_name": "Dr Asha Patel",
        "lead_email": "asha.patel@nhs.net",
    }
    answer = client.post(url(world.adoption, "/lead"), data=data)
    assert answer.status_code == 412
    assert re.search(r"Name</th>\s*<td[^>]*>Dr Asha Patel</td>\s*<td[^>]*>Not given</td>", answer.text)
    assert current(session, world.adoption).lead_name is None


# --- moving from the page -----------------------------------------------------------


def test_a_move_from_the_page_comes_back_to_it(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    post_gate(client, token, world.adoption, "needs_assessment", {"champion": "Dr Asha Patel"})
    adoption = current(session, world.adoption)
    data = {
        "csrf_token": token,
        "version": str(adoption.version),
        "to_stage": "needs_assessment",
        "return_to": url(adoption),
    }
    answer = client.post(url(adoption, "/move"), data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/adoptions/{adoption.id}?saved=move"
    page = client.get(answer.headers["location"]).text
    assert "<strong>Needs assessment</strong>" in page
    assert re.search(r"Identified to Needs assessment\s*</h3>", page)
    assert "by Trust &lt;trust@example.nhs.uk&gt;" in page


def test_a_move_from_the_page_by_htmx_answers_its_blocks(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": "1",
        "to_stage": "paused",
        "reason": "Ward closed",
        "return_to": url(world.adoption),
    }
    answer = client.post(url(world.adoption, "/move"), data=data, headers=HTMX)
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert text.lstrip().startswith('<section id="adoption-move"')
    assert "Resume at Identified" in text
    assert '<div id="adoption-summary" hx-swap-oob="true">' in text
    assert (
        '<section id="adoption-history" class="app-adoption__history" '
        'aria-labelledby="history-heading" hx-swap-oob="true">' in text
    )
    assert "Reason: Ward closed" in text
    assert 'id="lead-version" value="2" hx-swap-oob="true"' in text
    assert (
        "Moved Heat-based sharps destruction at Liverpool University Hospitals from Identified to Paused."
        in text
    )


def test_a_refused_move_on_the_page_links_to_the_gate_form(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": "1",
        "to_stage": "needs_assessment",
        "return_to": url(world.adoption),
    }
    fragment = client.post(url(world.adoption, "/move"), data=data, headers=HTMX)
    assert fragment.status_code == 409
    assert fragment.text.lstrip().startswith('<section id="adoption-move"')
    assert "<li>Named adoption lead (champion)</li>" in fragment.text
    assert '<a href="#gate-needs_assessment">Fill in the gate record</a>' in fragment.text

    page = client.post(url(world.adoption, "/move"), data=data)
    assert page.status_code == 409
    assert "There is a problem" in page.text and 'href="#adoption-move"' in page.text

    stale = client.post(url(world.adoption, "/move"), data={**data, "version": "0"}, headers=HTMX)
    assert stale.status_code == 412
    assert "Reload the adoption" in stale.text and "<form" not in stale.text

    missing = client.post(url(world.adoption, "/move"), data={**data, "to_stage": "paused"})
    assert missing.status_code == 422
    assert 'href="#move-reason"' in missing.text and 'id="move-reason-error"' in missing.text


def test_the_history_shows_who_when_why_and_overrides(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = make_adoption(session, world.innovation, world.other_trust, stage="co_design")
    loaded = adoptions.get(session, admin_principal(world.exchange), adoption.id)
    adoptions.move(
        session,
        admin_principal(world.exchange),
        loaded,
        pipeline.MoveRequest(
            to_stage="not_progressed", reason_code="no_funding", reason="<script>alert('ICB')</script>"
        ),
        None,
    )
    sign_in("admin")
    page = client.get(url(adoption)).text
    history = page[page.index('id="adoption-history"') :]
    assert history.count('<li class="app-timeline__item">') == 3
    assert re.search(r"Identified to Needs assessment\s*</h3>", history)
    assert "Gate overridden" in history  # the factory walks it forward with override
    assert "Reason: set up by the tests" in history
    assert "Reason code: No funding" in history
    assert "&lt;script&gt;alert(&#39;ICB&#39;)&lt;/script&gt;" in history and "<script>alert" not in page
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} \w+ \d{4} at \d{1,2}:\d\d(am|pm)</time>, by tests',
        history,
    )
    # reopening is for facilitators and admins
    assert "Reopen at Identified" in page


def test_user_text_on_the_page_is_escaped(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    post_gate(client, token, world.adoption, "needs_assessment", {"champion": "<img src=x onerror=alert(1)>"})
    page = client.get(url(world.adoption)).text
    assert "<img src=x" not in page
    assert 'value="&lt;img src=x onerror=alert(1)&gt;"' in page
