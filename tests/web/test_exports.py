"""The pages' "Download as CSV" links (innovations, challenges, the board):
each carries the filters chosen, and the file it gives holds what the page
would show on all its pages, for the person signed in."""

import csv
import html
import io
import re
from collections.abc import Callable, Iterator
from contextlib import nullcontext

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.exports import read_sessions
from tests.factories import World, make_adoption, make_challenge, make_innovation, make_org

HTMX = {"HX-Request": "true"}
SignIn = Callable[[str], str]


@pytest.fixture(autouse=True)
def exports_read_the_test_session(app: FastAPI, session: Session) -> Iterator[None]:
    """The exports read in sessions of their own; here, the test's."""
    app.dependency_overrides[read_sessions] = lambda: lambda: nullcontext(session)
    yield
    app.dependency_overrides.pop(read_sessions, None)


def download_link(page: str) -> str:
    match = re.search(r'<a href="([^"]*)">Download as CSV</a>', page)
    assert match, "the page offers a CSV download"
    return html.unescape(match.group(1))


def rows(answer: httpx2.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    body = answer.content
    assert body.startswith(b"\xef\xbb\xbf"), "a byte order mark, so that Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_innovations_list_links_to_its_csv_with_its_filters(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_innovation(session, world.supplier, name="Telehealth hub", categories=["digital"], maturity="ready")
    make_innovation(session, world.supplier, name="Telehealth pad", categories=["digital"])
    make_innovation(session, world.supplier, name="Sharps bin", categories=["medical_device"])
    sign_in("trust")
    page = client.get("/innovations?q=telehealth&category=digital&maturity=ready&care_setting=nonsense")
    link = download_link(page.text)
    assert link == "/exports/innovations.csv?q=telehealth&category=digital&maturity=ready"
    answer = client.get(link)
    assert answer.headers["content-disposition"].startswith('attachment; filename="innovations-')
    assert [r["Name"] for r in rows(answer)] == ["Telehealth hub"]
    # The fragment htmx swaps in as filters change carries the link too.
    fragment = client.get("/innovations?category=medical_device", headers=HTMX)
    assert download_link(fragment.text) == "/exports/innovations.csv?category=medical_device"
    everything = rows(client.get(download_link(client.get("/innovations").text)))
    assert {r["Name"] for r in everything} >= {"Telehealth hub", "Telehealth pad", "Sharps bin"}


def test_the_innovations_file_has_what_the_person_may_see(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_innovation(session, world.supplier, name="Secret draft", status="draft")
    sign_in("trust")
    assert "Secret draft" not in {r["Name"] for r in rows(client.get("/exports/innovations.csv"))}
    client.cookies.clear()
    sign_in("supplier")
    assert "Secret draft" in {r["Name"] for r in rows(client.get("/exports/innovations.csv"))}


def test_the_challenges_list_links_to_its_csv_with_its_filters(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    make_challenge(session, world.trust, title="Falls at night", categories=["digital"])
    make_challenge(session, world.trust, title="Falls by day", status="closed")
    make_challenge(session, world.trust, title="Own draft on falls", status="draft")
    sign_in("supplier")
    link = download_link(client.get("/challenges?q=falls&status=open").text)
    assert link == "/exports/challenges.csv?q=falls&status=open"
    got = rows(client.get(link))
    assert [r["Title"] for r in got] == ["Falls at night"]
    assert got[0]["Organisation"] == "Liverpool University Hospitals"
    assert "Own draft on falls" not in {r["Title"] for r in rows(client.get("/exports/challenges.csv"))}


def test_the_board_links_to_its_adoptions_csv_with_its_filters(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    digital = make_innovation(session, world.supplier, name="App", categories=["digital"])
    make_adoption(session, digital, world.trust, stage="co_design")
    london = make_innovation(session, world.supplier, name="London kit", categories=["digital"])
    make_adoption(session, london, world.other_trust)
    sign_in("facilitator")
    board = client.get(f"/board?region=north_west&category=digital&organisation={world.trust.id}")
    link = download_link(board.text)
    assert link == f"/exports/adoptions.csv?region=north_west&organisation={world.trust.id}&category=digital"
    got = rows(client.get(link))
    assert [(r["Innovation"], r["Stage"], r["Region"]) for r in got] == [("App", "Co-design", "north_west")]
    # Without filters: every adoption the board counts, not only the cards it shows.
    everything = rows(client.get(download_link(client.get("/board").text)))
    assert len(everything) == 3
    fragment = client.get("/board?region=london", headers=HTMX)
    assert download_link(fragment.text) == "/exports/adoptions.csv?region=london"


def test_the_board_file_has_only_the_adoptions_the_person_may_see(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    other_supplier = make_org(session, "supplier", "london", name="Other Supplier")
    theirs = make_innovation(session, other_supplier, name="Theirs")
    make_adoption(session, theirs, world.other_trust)
    sign_in("trust")
    got = rows(client.get("/exports/adoptions.csv"))
    assert [r["Adopting organisation"] for r in got] == ["Liverpool University Hospitals"]
    # A filter the board does not know is left out, as on the board.
    assert len(rows(client.get("/exports/adoptions.csv?region=atlantis&organisation=nope"))) == 1


def test_a_board_columns_file_holds_its_stage_and_the_boards_name_searches(
    client: TestClient, sign_in: SignIn, session: Session, world: World
) -> None:
    app = make_innovation(session, world.supplier, name="Virtual ward app")
    make_adoption(session, app, world.other_trust, stage="co_design")
    sign_in("admin")
    assert len(rows(client.get("/exports/adoptions.csv"))) == 2
    co_design = rows(client.get("/exports/adoptions.csv?stage=co_design"))
    assert [r["Innovation"] for r in co_design] == ["Virtual ward app"]
    named = rows(client.get("/exports/adoptions.csv?innovation_name=SHARPS&organisation_name=liverpool"))
    assert [r["Innovation"] for r in named] == ["Heat-based sharps destruction"]
    # a stage the pipeline does not have is left out, as the board leaves out what it does not know
    assert len(rows(client.get("/exports/adoptions.csv?stage=atlantis"))) == 2


def test_a_download_needs_signing_in(client: TestClient, world: World) -> None:
    answer = client.get("/exports/adoptions.csv?region=london", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")
