"""The home page: for each kind of person, the adoptions they hold or lead,
what waits on them, and the open challenges that fit their organisation."""

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth import Principal
from app.models import Adoption, Organisation
from app.models.base import utcnow
from app.models.vocabulary import Role
from app.services import home
from tests.factories import World, admin_principal, make_adoption, make_challenge, make_innovation, make_org

SignIn = Callable[[str], str]


def part(html: str, heading_id: str) -> str:
    """The page from one heading to the next heading of a section or list,
    its white space collapsed."""
    start = html.index(f'id="{heading_id}"')
    ends = [html.find(marker, start + 1) for marker in ('<h2 id="', '<h3 id="', "</main>")]
    ends = [end for end in ends if end != -1]
    return re.sub(r"\s+", " ", html[start : min(ends)] if ends else html[start:])


def member(org: Organisation) -> Principal:
    """A member of `org`, as the services see them."""
    return replace(admin_principal(org), role=Role.member)


def age(session: Session, adoption: Adoption, days: int) -> None:
    adoption.stage_entered_at = utcnow() - timedelta(days=days)
    session.add(adoption)
    session.flush()


def test_the_page_and_its_fragment(client: TestClient, sign_in: SignIn) -> None:
    sign_in("trust")
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert "<html" in page.text and page.text.count("<h1") == 1

    fragment = client.get("/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text
    assert 'id="home-lists"' in fragment.text and "Waiting on you" in fragment.text

    restore = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_a_trust_member_sees_its_adoptions_what_waits_and_its_challenges(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    # world.adoption: the trust's, at `identified`, with no lead: needs a champion to move on.
    testing = make_adoption(
        session,
        make_innovation(session, world.supplier, name="Virtual wards kit"),
        world.trust,
        stage="needs_assessment",
        lead={"name": "Dr Asha Patel", "email": "asha.patel@nhs.net"},
    )
    age(session, testing, 40)
    elsewhere = make_adoption(
        session, make_innovation(session, world.supplier, name="Elsewhere only"), world.other_trust
    )
    mine = make_challenge(session, world.trust, title="Fewer missed outpatient appointments")
    make_challenge(session, world.trust, title="A draft of ours", status="draft")
    make_challenge(session, world.trust, title="A closed one of ours", status="closed")
    make_challenge(session, world.other_trust, title="Someone else's need")

    sign_in("trust")
    page = client.get("/").text

    yours = part(page, "yours-heading")
    assert f'href="/adoptions/{world.adoption.id}"' in yours
    assert f'href="/adoptions/{testing.id}"' in yours
    assert f"/adoptions/{elsewhere.id}" not in page
    assert "Dr Asha Patel" in yours and "Not named yet" in yours

    gates = part(page, "gates-heading")
    assert f'href="/adoptions/{world.adoption.id}"' in gates
    assert "Named adoption lead (champion)" in gates  # the label, not the key
    assert "Needs assessment summary" in gates and "Fit with the care pathway reviewed" in gates
    assert gates.index(str(testing.id)) < gates.index(str(world.adoption.id))  # waiting longest first

    stuck = part(page, "stuck-heading")
    assert stuck.index(str(testing.id)) < stuck.index(str(world.adoption.id))
    assert "40 days" in stuck
    assert "nhsuk-tag" in stuck and "Needs assessment" in stuck  # the stage as a tag, in words

    challenges = part(page, "challenges-heading")
    assert f'href="/challenges/{mine.id}"' in challenges
    assert "Fewer missed outpatient appointments" in challenges
    for absent in ("A draft of ours", "A closed one of ours", "Someone else&#39;s need"):
        assert absent not in challenges


def test_a_supplier_sees_its_innovations_adoptions_and_challenges_it_could_answer(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    # world.innovation: medical_device, acute_inpatient.
    london = make_adoption(session, world.innovation, world.other_trust, stage="co_design")
    other_supplier = make_org(session, "supplier", name="Someone Else Ltd")
    theirs = make_adoption(session, make_innovation(session, other_supplier, name="Not ours"), world.trust)
    by_category = make_challenge(session, world.trust, title="Sharps on wards", categories=["medical_device"])
    by_setting = make_challenge(
        session,
        world.other_trust,
        title="Inpatient falls",
        categories=["digital"],
        care_settings=["acute_inpatient"],
    )
    make_challenge(
        session,
        world.trust,
        title="Talking therapies",
        categories=["digital"],
        care_settings=["mental_health"],
    )
    make_challenge(
        session, world.trust, title="Closed sharps", categories=["medical_device"], status="closed"
    )

    sign_in("supplier")
    page = client.get("/").text

    yours = part(page, "yours-heading")
    assert str(world.adoption.id) in yours and str(london.id) in yours
    assert str(theirs.id) not in page
    # A supplier looks but does not move: nothing waits on it.
    assert "No adoption you can move is held up by its gate." in page
    assert "There are no adoptions in progress that you can move." in page

    challenges = part(page, "challenges-heading")
    assert f"/challenges/{by_category.id}" in challenges
    assert f"/challenges/{by_setting.id}" in challenges
    assert "Talking therapies" not in challenges and "Closed sharps" not in challenges
    assert "Shares with your innovations: Medical device" in challenges
    assert "Acute inpatient" in challenges


def test_a_supplier_with_no_innovations_is_offered_no_challenges(session: Session, world: World) -> None:
    bare = make_org(session, "supplier", name="New Start-up")
    make_challenge(session, world.trust, categories=["medical_device"])
    assert home.open_challenges(session, member(bare)) == []


def test_a_facilitator_sees_their_region_and_what_they_lead(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    led = make_adoption(
        session,
        make_innovation(session, world.supplier, name="Led from the north west"),
        world.other_trust,
        lead={"name": "Faye", "email": "Facilitator@example.nhs.uk"},  # the facilitator's, in other letters
    )
    london_only = make_adoption(
        session, make_innovation(session, world.supplier, name="London only"), world.other_trust
    )
    in_region = make_challenge(session, world.trust, title="North west need")
    make_challenge(session, world.other_trust, title="London need")

    sign_in("facilitator")
    page = client.get("/").text

    yours = part(page, "yours-heading")
    assert str(world.adoption.id) in yours  # the trust is in their region
    assert str(led.id) in yours and "> You </td>" in yours
    assert str(london_only.id) not in yours
    # They move only their region's adoptions: the London one they lead waits on London's network.
    gates = part(page, "gates-heading")
    assert str(world.adoption.id) in gates and str(led.id) not in gates

    challenges = part(page, "challenges-heading")
    assert f"/challenges/{in_region.id}" in challenges and "London need" not in challenges


def test_an_admin_sees_every_adoption_that_waits(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    london = make_adoption(
        session, make_innovation(session, world.supplier, name="London"), world.other_trust
    )
    sign_in("admin")
    gates = part(client.get("/").text, "gates-heading")
    assert str(world.adoption.id) in gates and str(london.id) in gates


def test_finished_paused_and_time_bound_adoptions_wait_on_no_one(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    innovation = make_innovation(session, world.supplier, name="Finished")
    sustained = make_adoption(session, innovation, world.trust, stage="sustained")
    adopted = make_adoption(
        session,
        make_innovation(session, world.supplier, name="Just adopted"),
        world.trust,
        stage="adopted",
        adopted_days_ago=10,
    )
    principal = admin_principal(world.exchange)
    waiting = [row.row.adoption.id for row in home.waiting_on_gates(session, principal, None)]
    stuck = [row.adoption.id for row in home.stuck_longest(session, principal, None)]
    assert sustained.id not in waiting and sustained.id not in stuck
    # `sustained` waits 180 days after `adopted`: that waits on time, not on anyone.
    assert adopted.id not in waiting
    assert adopted.id in stuck


def test_each_list_is_bounded(session: Session, world: World) -> None:
    for number in range(home.LIMIT + 2):
        adopter = make_org(session, name=f"Trust {number}")
        make_adoption(session, world.innovation, adopter)
        make_challenge(session, adopter, title=f"Need {number}")
    principal = admin_principal(world.exchange)
    lists = home.home(session, principal, None)
    assert len(lists.waiting) == len(lists.stuck) == len(lists.challenges) == home.LIMIT
    supplier = home.your_adoptions(session, member(world.supplier), None)
    assert len(supplier) == home.LIMIT


def test_user_text_is_escaped(client: TestClient, sign_in: SignIn, session: Session, world: World) -> None:
    evil = make_innovation(session, world.supplier, name='<script>alert("innovation")</script>')
    make_adoption(session, evil, world.trust, lead={"name": "<b>Bold</b> lead", "email": "lead@nhs.net"})
    make_challenge(session, world.trust, title="<img src=x onerror=alert(1)>")
    sign_in("trust")
    page = client.get("/").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;innovation&#34;)&lt;/script&gt;" in page
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt; lead" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
