"""The innovation pages: the list with search as you type, filters and pages;
the record with its evidence and spread; the forms with their errors and
conflicts; and who may see and do what."""

import re
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models.innovation import Innovation, InnovationUpdate
from app.services import innovations
from tests.factories import World, admin_principal, make_adoption, make_innovation, make_org

HTMX = {"HX-Request": "true"}
SignIn = Callable[[str], str]


def switch_to(client: TestClient, sign_in: SignIn, who: str) -> str:
    """Sign out whoever is signed in, and sign in as `who`."""
    client.cookies.clear()
    return sign_in(who)


def valid_form(token: str, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": token,
        "name": "Ward sharps burner",
        "summary": "Destroys needles at the bedside.",
        "description": "Heat from engineering.\n\nNow on wards.",
        "categories": ["medical_device", "ppe"],
        "care_settings": ["acute_inpatient"],
        "maturity": "ready",
        "origin_sector": "Engineering",
        "origin_use": "Heat treatment of metal parts",
        "evidence-0-type": "real_world",
        "evidence-0-summary": "Pilot on two wards",
        "evidence-0-url": "https://example.org/pilot",
        "evidence-1-type": "",
        "evidence-1-summary": "",
        "evidence-1-url": "",
        "ukca_class": "class_i",
        "dtac": "yes",
        "cost_summary": "£1,200 per unit",
        "website": "https://example.org",
        "status": "published",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def new_id(answer: Any) -> str:
    match = re.fullmatch(r"/innovations/([0-9a-f-]{36})", answer.headers["location"])
    assert match, answer.headers["location"]
    return match.group(1)


# --- the list ---------------------------------------------------------------------


def test_the_list_is_a_page_and_its_results_a_fragment(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    sign_in("trust")
    page = client.get("/innovations")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert "<html" in page.text and "<h1>Innovations</h1>" in page.text
    assert "Heat-based sharps destruction" in page.text
    # search as you type, into the results, keeping the query in the address bar
    search = re.search(r'<input[^>]+id="q"[^>]*>', page.text)
    assert search
    assert 'hx-get="/innovations"' in search.group(0)
    assert 'hx-trigger="input changed delay:300ms, search"' in search.group(0)
    assert 'hx-target="#results"' in search.group(0)
    assert 'hx-push-url="true"' in search.group(0)
    # and without JavaScript, a form with a button does the same
    assert '<form method="get" action="/innovations"' in page.text

    fragment = client.get("/innovations?q=sharps&category=&maturity=", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text and "<h1>" not in fragment.text
    assert "Heat-based sharps destruction" in fragment.text
    assert 'hx-swap-oob="innerHTML"' in fragment.text  # the announced count
    assert fragment.headers["hx-push-url"] == "/innovations?q=sharps"  # empty filters left out

    restore = client.get("/innovations?q=sharps", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_search_and_each_filter(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    make_innovation(
        session,
        world.supplier,
        name="Telehealth texts",
        summary="Simple telehealth by text message.",
        categories=["digital"],
        care_settings=["community"],
        maturity="advanced",
        origin_sector="Retail",
    )
    make_innovation(
        session,
        world.supplier,
        name="Pit-stop theatre turnaround",
        summary="Motor racing pit-stop drills.",
        categories=["models_of_care"],
        care_settings=["acute_inpatient"],
        maturity="ready",
        origin_sector="Automotive",
    )
    sign_in("trust")

    def names(query: str) -> set[str]:
        text = client.get(f"/innovations?{query}", headers=HTMX).text
        return set(re.findall(r'<a href="/innovations/[^"]+">([^<]+)</a>', text))

    assert names("q=telehealth") == {"Telehealth texts"}
    assert names("q=pit") == {"Pit-stop theatre turnaround"}
    assert names("category=digital") == {"Telehealth texts"}
    assert names("care_setting=acute_inpatient") == {
        "Heat-based sharps destruction",
        "Pit-stop theatre turnaround",
    }
    assert names("maturity=ready") == {"Pit-stop theatre turnaround"}
    assert names("origin_sector=Automotive") == {"Pit-stop theatre turnaround"}
    assert names("category=digital&maturity=ready") == set()
    assert names("category=not-a-category") == names("")  # an unknown filter is no filter

    page = client.get("/innovations?origin_sector=Retail")
    assert '<option value="Retail" selected>Retail</option>' in page.text
    assert '<option value="Automotive">Automotive</option>' in page.text
    assert "Clear search and filters" in page.text
    none = client.get("/innovations?q=nothingmatcheszzz")
    assert "No innovations match your search" in none.text


def test_pages_of_results(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    for n in range(22):
        make_innovation(session, world.supplier, name=f"Paged innovation {n:02d}", categories=["digital"])
    sign_in("trust")
    first = client.get("/innovations?category=digital")
    assert first.text.count('class="app-record"') == 20
    assert "with more on the next page" in first.text
    next_link = re.search(
        r'href="(/innovations\?category=digital&amp;cursor=[^"]+)"[^>]*rel="next"', first.text
    )
    assert next_link, "a Next page link that keeps the filter"
    assert "First page" not in first.text

    second = client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="app-record"') == 2
    assert 'href="/innovations?category=digital"' in second.text  # First page, still filtered
    assert 'rel="next"' not in second.text

    forged = client.get("/innovations?category=digital&cursor=not-a-cursor")
    assert forged.status_code == 200
    assert forged.text.count('class="app-record"') == 20


def test_drafts_are_seen_only_by_their_supplier_and_the_exchange(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    draft = make_innovation(
        session, world.supplier, name="Secret prototype", status="draft", origin_sector="Gaming"
    )
    sign_in("other_trust")
    listed = client.get("/innovations").text
    assert "Secret prototype" not in listed
    assert "Gaming" not in listed  # not even its sector, in the filter
    assert client.get(f"/innovations/{draft.id}").status_code == 404

    switch_to(client, sign_in, "supplier")
    listed = client.get("/innovations").text
    assert "Secret prototype" in listed and '<option value="Gaming">Gaming</option>' in listed
    page = client.get(f"/innovations/{draft.id}")
    assert page.status_code == 200 and "Draft" in page.text

    switch_to(client, sign_in, "facilitator")
    assert client.get(f"/innovations/{draft.id}").status_code == 200


def test_the_pages_ask_to_sign_in(client: TestClient, world: World) -> None:
    answer = client.get("/innovations?q=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/innovations%3Fq%3Dx"


# --- one innovation -----------------------------------------------------------------


def test_the_record_with_evidence_regulatory_marks_and_spread(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    innovation = make_innovation(
        session,
        world.supplier,
        name="Spread widely",
        origin_sector="Engineering",
        origin_use="Heat treatment of metal parts",
        cost_summary="£1,200 per unit",
        website="https://example.org/product",
        evidence=[
            {"type": "real_world", "summary": "Pilot on two wards", "url": "https://example.org/pilot"}
        ],
        regulatory={"ukca_class": "class_iia", "dtac": True, "dcb0129": False},
    )
    make_adoption(session, innovation, world.trust, stage="adopted")
    make_adoption(session, innovation, world.other_trust, stage="co_design")
    sign_in("trust")
    page = client.get(f"/innovations/{innovation.id}")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    text = page.text
    for expected in (
        "NeedleSmart",
        "Medical device",
        "Acute inpatient",
        "Engineering",
        "Heat treatment of metal parts",
        "£1,200 per unit",
        'href="https://example.org/product"',
        "Published",
        "Real-world",
        "Pilot on two wards",
        'href="https://example.org/pilot"',
        "Class IIa",
        "Adopted by 1 organisation",
        "Liverpool University Hospitals",
        "North West",
    ):
        assert expected in text, expected
    # counts per stage
    assert re.search(r"Co-design</td>\s*<td[^>]*>1</td>", text)
    assert re.search(r"Adopted</td>\s*<td[^>]*>1</td>", text)
    assert "Change this innovation" not in text  # a trust does not change a supplier's record

    fragment = client.get(f"/innovations/{innovation.id}", headers=HTMX)
    assert "<html" not in fragment.text
    assert "Where it has spread" in fragment.text and "Regulatory marks" not in fragment.text


def test_the_supplier_and_the_exchange_see_the_change_link(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    sign_in("supplier")
    page = client.get(f"/innovations/{world.innovation.id}")
    assert f'href="/innovations/{world.innovation.id}/edit"' in page.text
    assert 'href="/innovations/new"' in client.get("/innovations").text


def test_an_unknown_innovation_is_not_found(client: TestClient, sign_in: SignIn, world: World) -> None:
    sign_in("trust")
    assert client.get("/innovations/01900000-0000-7000-8000-000000000000").status_code == 404
    assert client.get("/innovations/not-an-id").status_code == 404  # a malformed id names no page


# --- adding -----------------------------------------------------------------------


def test_a_supplier_adds_an_innovation_for_itself(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("supplier")
    form_page = client.get("/innovations/new")
    assert form_page.status_code == 200
    assert 'name="supplier_id"' not in form_page.text  # their own organisation, shown as text
    assert "NeedleSmart" in form_page.text
    assert 'action="/innovations/new"' in form_page.text and 'name="csrf_token"' in form_page.text
    assert "<html" not in client.get("/innovations/new", headers=HTMX).text

    other = make_org(session, "supplier", name="Someone Else Ltd")
    answer = client.post(
        "/innovations/new", data=valid_form(token, supplier_id=str(other.id)), follow_redirects=False
    )
    assert answer.status_code == 303
    created = session.get(Innovation, uuid.UUID(new_id(answer)))
    assert created is not None
    assert created.supplier_id == world.supplier.id  # not the one posted
    assert created.name == "Ward sharps burner"
    assert created.categories == ["medical_device", "ppe"]
    assert created.maturity == "ready"
    assert created.evidence == [
        {"type": "real_world", "summary": "Pilot on two wards", "url": "https://example.org/pilot"}
    ]
    assert created.regulatory == {"ukca_class": "class_i", "dtac": True, "dcb0129": False}
    assert created.website == "https://example.org/"
    assert created.status == "published"
    assert client.get(answer.headers["location"]).status_code == 200


def test_errors_are_listed_and_shown_beside_each_field(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    token = sign_in("supplier")
    answer = client.post(
        "/innovations/new",
        data=valid_form(
            token,
            name="",
            maturity=None,
            website="not a web address",
            **{
                "evidence-0-type": "",
                "evidence-0-summary": "A trial with no type",
                "evidence-1-url": "ftp://x",
            },
        ),
    )
    assert answer.status_code == 422
    text = answer.text
    assert "<title>Error: Add an innovation" in text
    assert "There is a problem" in text
    for field, message in (
        ("name", "Enter the name"),
        ("maturity", "Select the maturity"),
        ("website", "Enter the website as a full web address"),
        ("evidence-0-type", "Select the type of evidence"),
        ("evidence-1-type", "Select the type of evidence"),
    ):
        assert f'href="#{field}"' in text, field  # the summary links to the field
        assert re.search(
            rf'id="{field}-error"[^>]*>\s*<span class="nhsuk-u-visually-hidden">Error: </span>{message}', text
        ), field
    assert 'id="evidence-1-url-error"' in text  # ftp is not a web address
    assert "A trial with no type" in text  # what they typed is kept
    assert 'value="medical_device" checked' in text


def test_the_exchange_chooses_the_supplier(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("facilitator")
    page = client.get("/innovations/new")
    select = re.search(r'<select[^>]+name="supplier_id".*?</select>', page.text, re.S)
    assert select
    assert "NeedleSmart" in select.group(0)
    assert "Liverpool University Hospitals" not in select.group(0)  # only suppliers

    missing = client.post("/innovations/new", data=valid_form(token))
    assert missing.status_code == 422
    assert "Select the supplier" in missing.text

    answer = client.post(
        "/innovations/new", data=valid_form(token, supplier_id=str(world.supplier.id)), follow_redirects=False
    )
    assert answer.status_code == 303
    created = session.get(Innovation, uuid.UUID(new_id(answer)))
    assert created is not None and created.supplier_id == world.supplier.id


def test_posting_needs_the_csrf_token(client: TestClient, sign_in: SignIn, world: World) -> None:
    token = sign_in("supplier")
    form = valid_form(token)
    del form["csrf_token"]
    assert client.post("/innovations/new", data=form).status_code == 403
    assert (
        client.post(f"/innovations/{world.innovation.id}/edit", data={**form, "version": "1"}).status_code
        == 403
    )


# --- changing -----------------------------------------------------------------------


def edit_form(client: TestClient, innovation_id: Any) -> dict[str, Any]:
    """The edit form as the browser would send it, unchanged."""
    page = client.get(f"/innovations/{innovation_id}/edit").text
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


def test_the_supplier_changes_its_innovation(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    sign_in("supplier")
    page = client.get(f"/innovations/{world.innovation.id}/edit")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert 'name="version" value="1"' in page.text
    fragment = client.get(f"/innovations/{world.innovation.id}/edit", headers=HTMX)
    assert "<html" not in fragment.text and 'name="version"' in fragment.text

    form = edit_form(client, world.innovation.id)
    assert form["name"] == "Heat-based sharps destruction"
    form["name"] = "Heat-based sharps destruction, mark 2"
    form["maturity"] = "advanced"
    answer = client.post(f"/innovations/{world.innovation.id}/edit", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/innovations/{world.innovation.id}"
    session.refresh(world.innovation)
    assert world.innovation.name == "Heat-based sharps destruction, mark 2"
    assert world.innovation.maturity == "advanced"
    assert world.innovation.categories == ["medical_device"]  # unchanged fields stay
    assert world.innovation.version == 2

    bad = client.post(f"/innovations/{world.innovation.id}/edit", data={**form, "name": "", "version": "2"})
    assert bad.status_code == 422
    assert "Enter the name" in bad.text


def test_editing_keeps_every_evidence_item(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    evidence = [{"type": "real_world", "summary": f"Study {n}", "url": None} for n in range(4)]
    innovation = make_innovation(session, world.supplier, name="Well evidenced", evidence=evidence)
    sign_in("supplier")
    form = edit_form(client, innovation.id)
    assert form["evidence-3-summary"] == "Study 3"
    assert form["evidence-4-summary"] == ""  # one blank row to add another
    form["evidence-4-type"], form["evidence-4-summary"] = "pre_clinical", "Bench test"
    assert (
        client.post(f"/innovations/{innovation.id}/edit", data=form, follow_redirects=False).status_code
        == 303
    )
    session.refresh(innovation)
    assert [item["summary"] for item in innovation.evidence] == [
        "Study 0",
        "Study 1",
        "Study 2",
        "Study 3",
        "Bench test",
    ]


def test_a_supplier_cannot_change_another_suppliers_innovation(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    rival = make_org(session, "supplier", name="Rival Ltd")
    theirs = make_innovation(session, rival, name="Rival gadget")
    token = sign_in("supplier")
    assert "Change this innovation" not in client.get(f"/innovations/{theirs.id}").text
    assert client.get(f"/innovations/{theirs.id}/edit").status_code == 403
    answer = client.post(f"/innovations/{theirs.id}/edit", data=valid_form(token, version="1"))
    assert answer.status_code == 403
    assert "Not allowed" in answer.text
    session.refresh(theirs)
    assert theirs.name == "Rival gadget"


def test_a_trust_cannot_change_an_innovation(client: TestClient, sign_in: SignIn, world: World) -> None:
    sign_in("trust")
    assert client.get(f"/innovations/{world.innovation.id}/edit").status_code == 403
    assert 'href="/innovations/new"' not in client.get("/innovations").text


def test_a_stale_save_shows_both_versions_and_never_overwrites(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    sign_in("supplier")
    form = edit_form(client, world.innovation.id)  # opened at version 1
    # meanwhile, someone else saves
    innovations.update(
        session,
        admin_principal(world.exchange),
        world.innovation,
        InnovationUpdate.model_validate({"name": "Their newer name", "maturity": "ready"}),
        1,
    )
    session.flush()
    form["name"] = "My stale name"
    answer = client.post(f"/innovations/{world.innovation.id}/edit", data=form)
    assert answer.status_code == 412
    text = answer.text
    assert "Someone else changed this innovation since you opened it" in text
    assert "My stale name" in text and "Their newer name" in text
    assert re.search(r"Maturity</th>\s*<td[^>]*>Discovery</td>\s*<td[^>]*>Ready for adoption</td>", text)
    assert ">Categories</th>" not in text and ">Summary</th>" not in text  # only what differs
    assert f'href="/innovations/{world.innovation.id}/edit"' in text  # reload the saved version
    assert 'name="version" value="2"' in text
    session.refresh(world.innovation)
    assert world.innovation.name == "Their newer name"
    assert world.innovation.version == 2

    # a form without its version cannot save over anything either
    del form["version"]
    assert client.post(f"/innovations/{world.innovation.id}/edit", data=form).status_code == 412


def test_user_text_is_escaped(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    script = "<script>alert('x')</script>"
    innovation = make_innovation(
        session,
        world.supplier,
        name=f"Evil {script}",
        summary=f"Sum {script}",
        description=script,
        origin_sector=script,
        evidence=[{"type": "real_world", "summary": script, "url": None}],
    )
    token = sign_in("supplier")
    pages = [
        client.get("/innovations"),
        client.get("/innovations?q=evil", headers=HTMX),
        client.get(f"/innovations/{innovation.id}"),
        client.get(f"/innovations/{innovation.id}/edit"),
        client.post("/innovations/new", data=valid_form(token, name="", summary=script)),
    ]
    for page in pages:
        assert script not in page.text, page.url
        assert "&lt;script&gt;" in page.text, page.url
