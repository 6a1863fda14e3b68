"""The admins' pages: organisations and users, for the exchange's admins only."""

import html as html_module
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import Organisation
from app.models.event import Event
from app.models.user import User, UserCreate
from app.models.web_session import WebSession
from app.services import users
from tests.factories import World, make_org
from tests.web.conftest import PASSWORD, csrf_token

SignIn = Callable[[str], str]

PAGES = ["/admin/organisations", "/admin/organisations/new", "/admin/users", "/admin/users/new"]


def beside(html: str, field: str) -> str:
    """The error message shown beside a field (NHS error message markup)."""
    match = re.search(
        rf'id="{field}-error"[^>]*>\s*<span class="nhsuk-u-visually-hidden">Error:\s*</span>\s*([^<]+)<', html
    )
    assert match, f"no error beside {field}"
    return html_module.unescape(match.group(1).strip())


@pytest.mark.parametrize("path", PAGES)
def test_admins_see_each_page(client: TestClient, sign_in: SignIn, path: str) -> None:
    sign_in("admin")
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["vary"] == "HX-Request"
    assert answer.text.count("<h1") == 1
    assert 'class="nhsuk-header__navigation-link" href="/admin/organisations"' in answer.text


@pytest.mark.parametrize("who", ["trust", "supplier", "facilitator"])
def test_everyone_else_is_refused(client: TestClient, sign_in: SignIn, world: World, who: str) -> None:
    token = sign_in(who)
    for path in [*PAGES, f"/admin/organisations/{world.trust.id}/edit"]:
        assert client.get(path).status_code == 403, path
    posts = {
        "/admin/organisations/new": {"name": "Sneaky", "kind": "supplier"},
        f"/admin/organisations/{world.trust.id}/edit": {
            "name": "Renamed",
            "kind": "nhs_trust",
            "version": "1",
        },
        "/admin/users/new": {
            "name": "Sneaky",
            "email": "sneaky@example.org",
            "organisation_id": str(world.exchange.id),
            "role": "admin",
            "password": "a long password here",
        },
    }
    for path, data in posts.items():
        assert (
            client.post(path, data={**data, "csrf_token": token}, follow_redirects=False).status_code == 403
        ), path
    assert 'href="/admin/organisations"' not in client.get("/").text  # no Admin in their navigation


def test_signed_out_people_are_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/admin/users", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in?next=/admin/users"


# --- organisations ------------------------------------------------------------


def test_the_list_filters_by_kind_region_and_name(client: TestClient, sign_in: SignIn, world: World) -> None:
    sign_in("admin")
    networks = client.get("/admin/organisations", params={"kind": "health_innovation_network"}).text
    assert "Innovation Agency" in networks and "NeedleSmart" not in networks
    london = client.get("/admin/organisations", params={"region": "london"}).text
    assert "Health Innovation Network South London" in london and "Innovation Agency" not in london
    named = client.get("/admin/organisations", params={"q": "needle"}).text
    assert "NeedleSmart" in named and "Liverpool University Hospitals" not in named
    # A value that is not one of the vocabulary's is no filter at all.
    assert "NeedleSmart" in client.get("/admin/organisations", params={"kind": "spaceship"}).text
    assert f'href="/admin/organisations/{world.trust.id}/edit"' in client.get("/admin/organisations").text


def test_the_list_pages_forward_and_answers_htmx_with_the_results(
    client: TestClient, sign_in: SignIn, session: Session
) -> None:
    for number in range(25):
        make_org(session, "charity", "midlands", name=f"Charity {number:02}")
    sign_in("admin")
    first = client.get("/admin/organisations", params={"kind": "charity"}).text
    assert "Charity 00" in first and "Charity 19" in first and "Charity 20" not in first
    next_url = re.search(r'href="(/admin/organisations\?[^"]*cursor=[^"]+)"', first)
    assert next_url, "a next page link"
    second = client.get(next_url.group(1).replace("&amp;", "&")).text
    assert "Charity 20" in second and "Charity 24" in second and "Charity 00" not in second
    assert "First page" in second

    fragment = client.get("/admin/organisations", params={"kind": "charity"}, headers={"HX-Request": "true"})
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith(
        '<div id="organisation-results">'
    )
    assert "Charity 00" in fragment.text


def test_an_admin_adds_an_organisation(client: TestClient, sign_in: SignIn, session: Session) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/admin/organisations/new",
        data={
            "csrf_token": token,
            "name": "Wirral University Teaching Hospital",
            "kind": "nhs_trust",
            "region": "north_west",
            "ods_code": "rbl",
            "external_ref": "",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    org = session.exec(
        select(Organisation).where(Organisation.name == "Wirral University Teaching Hospital")
    ).one()
    assert (org.kind, org.region, org.ods_code, org.external_ref) == ("nhs_trust", "north_west", "RBL", None)
    assert answer.headers["location"] == f"/admin/organisations?saved={org.id}"
    assert "Saved Wirral University Teaching Hospital" in client.get(answer.headers["location"]).text
    assert session.exec(
        select(Event).where(Event.type == "organisation.created", Event.resource_id == org.id)
    ).one()


def test_an_organisation_form_with_errors_comes_back_with_them(client: TestClient, sign_in: SignIn) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/admin/organisations/new",
        data={"csrf_token": token, "name": " ", "kind": "", "region": "atlantis", "ods_code": "no good!"},
    )
    assert answer.status_code == 422
    assert "There is a problem" in answer.text
    assert beside(answer.text, "name") == "Enter the organisation's name"
    assert beside(answer.text, "kind") == "Select the kind of organisation"
    assert beside(answer.text, "region") == "Select a region, or no region"
    assert beside(answer.text, "ods_code").startswith("Enter an ODS code of 3 to 10")
    assert 'href="#kind"' in answer.text  # the summary links to each field
    assert 'value="NO GOOD!"' in answer.text  # what they typed stays


def test_a_second_organisation_with_the_same_ods_code_is_refused_beside_it(
    client: TestClient, sign_in: SignIn, session: Session
) -> None:
    make_org(session, ods_code="RBQ")
    token = sign_in("admin")
    answer = client.post(
        "/admin/organisations/new",
        data={"csrf_token": token, "name": "Copy", "kind": "nhs_trust", "region": "", "ods_code": "RBQ"},
    )
    assert answer.status_code == 409
    assert "already exists" in beside(answer.text, "ods_code")
    # the unit of work survived the refused insert: the page still works
    assert client.get("/admin/organisations").status_code == 200


def test_organisation_posts_need_the_csrf_token(client: TestClient, sign_in: SignIn, world: World) -> None:
    sign_in("admin")
    assert client.post("/admin/organisations/new", data={"name": "X", "kind": "other"}).status_code == 403
    edit = f"/admin/organisations/{world.trust.id}/edit"
    assert client.post(edit, data={"name": "X", "kind": "other", "version": "1"}).status_code == 403


def test_an_admin_edits_an_organisation(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    form = client.get(f"/admin/organisations/{world.trust.id}/edit").text
    assert 'name="version" value="1"' in form and 'value="Liverpool University Hospitals"' in form
    answer = client.post(
        f"/admin/organisations/{world.trust.id}/edit",
        data={
            "csrf_token": token,
            "version": "1",
            "name": "Liverpool University Hospitals NHS FT",
            "kind": "nhs_trust",
            "region": "north_west",
            "ods_code": "REM",
            "external_ref": "",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    session.refresh(world.trust)
    assert (world.trust.name, world.trust.ods_code, world.trust.version) == (
        "Liverpool University Hospitals NHS FT",
        "REM",
        2,
    )


def test_an_invalid_edit_is_422_beside_the_field(client: TestClient, sign_in: SignIn, world: World) -> None:
    token = sign_in("admin")
    answer = client.post(
        f"/admin/organisations/{world.trust.id}/edit",
        data={"csrf_token": token, "version": "1", "name": "", "kind": "nhs_trust", "region": "north_west"},
    )
    assert answer.status_code == 422
    assert beside(answer.text, "name").startswith("Enter")


def test_a_stale_edit_shows_what_changed_and_overwrites_nothing(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    first = {
        "csrf_token": token,
        "version": "1",
        "name": "First rename",
        "kind": "nhs_trust",
        "region": "north_west",
        "ods_code": "",
        "external_ref": "",
    }
    assert (
        client.post(
            f"/admin/organisations/{world.trust.id}/edit", data=first, follow_redirects=False
        ).status_code
        == 303
    )
    second = {**first, "name": "Second rename", "region": "london"}
    answer = client.post(f"/admin/organisations/{world.trust.id}/edit", data=second)
    assert answer.status_code == 412
    assert "Someone else changed this organisation" in answer.text
    assert "Second rename" in answer.text and "First rename" in answer.text  # theirs beside the current
    assert "London" in answer.text and "North West" in answer.text
    assert f'href="/admin/organisations/{world.trust.id}/edit"' in answer.text  # reload
    session.refresh(world.trust)
    assert (world.trust.name, world.trust.region, world.trust.version) == ("First rename", "north_west", 2)


def test_the_edit_form_answers_htmx_with_the_form(client: TestClient, sign_in: SignIn, world: World) -> None:
    token = sign_in("admin")
    answer = client.post(
        f"/admin/organisations/{world.trust.id}/edit",
        data={"csrf_token": token, "version": "1", "name": "", "kind": "nhs_trust"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422
    assert "<html" not in answer.text and 'id="organisation-form"' in answer.text


def test_an_unknown_organisation_is_404(client: TestClient, sign_in: SignIn) -> None:
    sign_in("admin")
    assert client.get("/admin/organisations/0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e/edit").status_code == 404


# --- users -------------------------------------------------------------------


def test_the_user_list_shows_organisation_and_role(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    users.create(
        session,
        None,
        UserCreate(
            email="faye@ia.example",
            name="Faye <Facilitator>",
            organisation_id=world.network.id,
            role="facilitator",
        ),
        None,
    )
    sign_in("admin")
    page = client.get("/admin/users").text
    row = re.search(r"Faye &lt;Facilitator&gt;.*?</tr>", page, re.S)
    assert row, "the user, escaped"
    assert "Innovation Agency" in row.group(0) and "Facilitator" in row.group(0) and "Active" in row.group(0)
    fragment = client.get("/admin/users", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "Faye &lt;Facilitator&gt;" in fragment


def test_the_user_list_pages(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    for number in range(22):
        users.create(
            session,
            None,
            UserCreate(
                email=f"u{number}@example.org", name=f"User {number:02}", organisation_id=world.trust.id
            ),
            None,
        )
    sign_in("admin")
    first = client.get("/admin/users").text
    assert "User 00" in first and "User 21" not in first
    next_url = re.search(r'href="(/admin/users\?cursor=[^"]+)"', first)
    assert next_url
    assert "User 21" in client.get(next_url.group(1)).text


def test_an_admin_adds_a_user_who_can_then_sign_in(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    form = client.get(f"/admin/users/new?organisation_id={world.network.id}").text
    assert re.search(
        rf'<option value="{world.network.id}"\s+selected', form
    )  # preselected from the list's link
    answer = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "name": "Nadia Hussain",
            "email": "Nadia.Hussain@IA.example",
            "organisation_id": str(world.network.id),
            "role": "facilitator",
            "password": "correct horse battery",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    user = session.exec(select(User).where(User.email == "nadia.hussain@ia.example")).one()
    assert (user.name, user.organisation_id, user.role, user.is_active) == (
        "Nadia Hussain",
        world.network.id,
        "facilitator",
        True,
    )
    assert "Added Nadia Hussain" in client.get(answer.headers["location"]).text

    client.cookies.clear()
    signed = client.post(
        "/sign-in",
        data={
            "email": "nadia.hussain@ia.example",
            "password": "correct horse battery",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303


def test_a_user_form_with_errors_comes_back_with_them(client: TestClient, sign_in: SignIn) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/admin/users/new",
        data={"csrf_token": token, "name": "", "email": "not an email", "organisation_id": ""},
    )
    assert answer.status_code == 422
    assert beside(answer.text, "name").startswith("Enter")
    assert beside(answer.text, "email").startswith("Enter an email address in the correct format")
    assert beside(answer.text, "organisation_id") == "Select their organisation"
    assert beside(answer.text, "role") == "Select a role"
    assert beside(answer.text, "password") == "Enter an initial password"
    assert 'value="not an email"' in answer.text
    blank = client.post("/admin/users/new", data={"csrf_token": token, "email": " "})
    assert beside(blank.text, "email") == "Enter their email address"


def test_a_facilitator_must_belong_to_a_network(client: TestClient, sign_in: SignIn, world: World) -> None:
    token = sign_in("admin")
    answer = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "name": "Wrong Place",
            "email": "wrong@trust.example",
            "organisation_id": str(world.trust.id),
            "role": "facilitator",
            "password": "a long enough password",
        },
    )
    assert answer.status_code == 422
    assert beside(answer.text, "role") == "A facilitator belongs to a Health Innovation Network."
    assert "a long enough password" not in answer.text  # a password is never sent back


def test_a_short_password_and_a_taken_email_are_refused_beside_them(
    client: TestClient, sign_in: SignIn, world: World
) -> None:
    token = sign_in("admin")
    data = {
        "csrf_token": token,
        "name": "Someone",
        "email": "Admin@Example.nhs.uk",
        "organisation_id": str(world.trust.id),
        "role": "member",
    }
    short = client.post("/admin/users/new", data={**data, "email": "new@example.org", "password": "short"})
    assert short.status_code == 422 and beside(short.text, "password") == "Use at least 12 characters."
    taken = client.post("/admin/users/new", data={**data, "password": "a long enough password"})
    assert taken.status_code == 409 and "already exists" in beside(taken.text, "email")


def test_user_posts_need_the_csrf_token(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    sign_in("admin")
    other = users.create(
        session, None, UserCreate(email="o@example.org", name="O", organisation_id=world.trust.id), None
    )
    assert client.post("/admin/users/new", data={"name": "X"}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/deactivate", data={"version": "1"}).status_code == 403
    assert client.post(f"/admin/users/{other.id}/reactivate", data={"version": "1"}).status_code == 403


def test_an_admin_deactivates_and_reactivates_a_user(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    sign_in("trust")
    trust_user = session.exec(select(User).where(User.email == "trust@example.nhs.uk")).one()
    assert session.exec(select(WebSession).where(WebSession.user_id == trust_user.id)).all()
    client.cookies.clear()
    token = sign_in("admin")

    page = client.get("/admin/users").text
    assert f'action="/admin/users/{trust_user.id}/deactivate"' in page
    answer = client.post(
        f"/admin/users/{trust_user.id}/deactivate",
        data={"csrf_token": token, "version": str(trust_user.version), "back": "/admin/users"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users"
    session.refresh(trust_user)
    assert not trust_user.is_active
    assert (
        session.exec(select(WebSession).where(WebSession.user_id == trust_user.id)).all() == []
    )  # signed out
    assert "Deactivated" in client.get("/admin/users").text

    answer = client.post(
        f"/admin/users/{trust_user.id}/reactivate",
        data={"csrf_token": token, "version": str(trust_user.version), "back": "https://elsewhere.example/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users"  # never off-site
    session.refresh(trust_user)
    assert trust_user.is_active
    types = session.exec(
        select(Event.type).where(Event.resource_id == trust_user.id).order_by(col(Event.id))
    ).all()
    assert types[-2:] == ["user.deactivated", "user.reactivated"]


def test_a_deactivated_user_cannot_sign_in(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    other = users.create(
        session,
        None,
        UserCreate(email="gone@example.org", name="Gone", organisation_id=world.trust.id),
        PASSWORD,
    )
    client.post(f"/admin/users/{other.id}/deactivate", data={"csrf_token": token, "version": "1"})
    client.cookies.clear()
    refused = client.post(
        "/sign-in", data={"email": "gone@example.org", "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 422


def test_a_stale_deactivation_is_412_and_changes_nothing(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    token = sign_in("admin")
    other = users.create(
        session, None, UserCreate(email="o@example.org", name="Olive", organisation_id=world.trust.id), None
    )
    answer = client.post(f"/admin/users/{other.id}/deactivate", data={"csrf_token": token, "version": "7"})
    assert answer.status_code == 412
    assert "Olive&#39;s account was changed by someone else" in answer.text
    session.refresh(other)
    assert other.is_active and other.version == 1


def test_an_admin_cannot_deactivate_themselves(client: TestClient, sign_in: SignIn, session: Session) -> None:
    token = sign_in("admin")
    me = session.exec(select(User).where(User.email == "admin@example.nhs.uk")).one()
    assert f"/admin/users/{me.id}/deactivate" not in client.get("/admin/users").text
    answer = client.post(f"/admin/users/{me.id}/deactivate", data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 403
    session.refresh(me)
    assert me.is_active


def test_others_cannot_deactivate_anyone(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    other = users.create(
        session, None, UserCreate(email="o@example.org", name="O", organisation_id=world.trust.id), None
    )
    token = sign_in("trust")
    answer = client.post(f"/admin/users/{other.id}/deactivate", data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 403
    session.refresh(other)
    assert other.is_active
