"""The pages in a browser: search innovations as you type, add an innovation
(its errors first), post a challenge, axe-core on every page, and the
README's screenshots. Every page visited is also watched for
Content-Security-Policy violations (the `new_context` fixture)."""

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import ROOT, check_accessibility, running_service, sign_in

SCREENSHOTS = ROOT / "docs" / "screenshots"


def results(page: Page) -> Locator:
    return page.locator("#results")


def test_search_innovations_as_you_type(page: Page) -> None:
    sign_in(page, "challenge_owner")
    page.goto("/innovations")
    expect(results(page)).to_contain_text("NeedleSmart")
    expect(results(page)).to_contain_text("KardiaMobile")
    # Set on this document: a page load would lose it.
    page.evaluate("() => { window.stillTheSamePage = true; }")

    search = page.get_by_label("Search innovations")
    search.press_sequentially("needle")
    expect(page).to_have_url(re.compile(r"/innovations\?q=needle$"))
    expect(results(page)).to_contain_text("NeedleSmart")
    expect(results(page)).not_to_contain_text("KardiaMobile")
    expect(page.get_by_role("status")).to_contain_text("1 innovation")

    # Another search in one go, as a paste would: one step in the history.
    search.fill("atrial fibrillation")
    expect(page).to_have_url(re.compile(r"/innovations\?q=atrial\+fibrillation$"))
    expect(results(page)).to_contain_text("KardiaMobile")
    expect(results(page)).not_to_contain_text("NeedleSmart")
    assert page.evaluate("() => window.stillTheSamePage === true"), "the search loaded a new page"

    # The back button restores the search before, results and all.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/innovations\?q=needle$"))
    expect(results(page)).to_contain_text("NeedleSmart")
    expect(results(page)).not_to_contain_text("KardiaMobile")
    expect(page.get_by_label("Search innovations")).to_have_value("needle")

    # The address can be shared: opened afresh, it shows the same results.
    page.goto("/innovations?q=atrial+fibrillation")
    expect(page.get_by_label("Search innovations")).to_have_value("atrial fibrillation")
    expect(results(page)).to_contain_text("KardiaMobile")
    expect(results(page)).not_to_contain_text("NeedleSmart")
    check_accessibility(page)


def test_add_an_innovation_its_errors_first(page: Page) -> None:
    sign_in(page, "supplier")
    page.goto("/innovations")
    page.get_by_role("button", name="Add an innovation").click()
    expect(page).to_have_url("/innovations/new")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add innovation").click()
    assert answer.value.status == 422
    expect(page).to_have_title(re.compile(r"^Error: Add an innovation"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    for message in ("Enter the name", "Enter the summary", "Select the maturity"):
        expect(summary.get_by_role("link", name=message)).to_be_visible()
    expect(page.locator("#name-error")).to_contain_text("Enter the name")
    expect(page.locator("#summary-error")).to_contain_text("Enter the summary")
    expect(page.locator("#maturity-error")).to_contain_text("Select the maturity")
    name_field = page.get_by_label("Name", exact=True)
    expect(name_field).to_have_attribute("aria-describedby", re.compile("name-error"))
    check_accessibility(page)
    # A link in the summary takes you to its field.
    summary.get_by_role("link", name="Enter the name").click()
    expect(name_field).to_be_focused()

    name = f"Sharps tray {uuid.uuid4().hex[:6]}"
    name_field.fill(name)
    page.get_by_label("Summary", exact=True).fill("A tray that destroys needles at the bedside.")
    page.get_by_role("group", name="Categories").get_by_label("Medical device").check()
    page.get_by_role("group", name="Care settings").get_by_label("Community").check()
    page.get_by_role("group", name="Maturity").get_by_label("Advanced").check()
    page.get_by_role("group", name="Status").get_by_label("Published").check()
    page.get_by_role("button", name="Add innovation").click()

    expect(page).to_have_url(re.compile(r"/innovations/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("main")).to_contain_text("A tray that destroys needles at the bedside.")
    expect(page.locator("main")).to_contain_text("NeedleSmart")
    check_accessibility(page)


def test_post_a_challenge(page: Page) -> None:
    sign_in(page, "challenge_owner")
    page.goto("/challenges")
    page.get_by_role("button", name="Post a challenge").click()
    expect(page).to_have_url("/challenges/new")

    page.get_by_role("button", name="Post challenge").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("link", name="Enter the title")).to_be_visible()
    expect(page.locator("#title-error")).to_contain_text("Enter the title")
    expect(page.locator("#problem_statement-error")).to_contain_text("Enter the problem")

    title = f"Fewer missed outpatient appointments {uuid.uuid4().hex[:6]}"
    page.get_by_label("Title").fill(title)
    problem = "One in ten outpatients misses an appointment; the slots go unused."
    page.get_by_label("The problem").fill(problem)
    page.get_by_role("group", name="Care settings").get_by_label("Acute outpatient").check()
    page.get_by_role("group", name="Categories").get_by_label("Digital").check()
    page.get_by_label("How success is measured (optional)").fill("Missed appointments per month")
    closes = page.get_by_role("group", name="Closes on (optional)")
    closes.get_by_label("Day").fill("1")
    closes.get_by_label("Month").fill("12")
    closes.get_by_label("Year").fill("2031")
    page.get_by_role("group", name="Status").get_by_label("Open").check()
    page.get_by_role("button", name="Post challenge").click()

    expect(page).to_have_url(re.compile(r"/challenges/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    main = page.locator("main")
    expect(main).to_contain_text("Liverpool University Hospitals NHS Foundation Trust")
    expect(main).to_contain_text("1 December 2031")
    check_accessibility(page)

    page.goto("/challenges")
    expect(page.locator("main").get_by_role("link", name=title)).to_be_visible()


# --- every page through axe-core -------------------------------------------------------


def first_result(page: Page) -> None:
    """A record's page: the first in the list on the page."""
    page.locator("main ul li h3 a").first.click()
    expect(page).to_have_url(re.compile(r"/[0-9a-f-]{36}$"))


def submit_empty(button: str) -> Callable[[Page], None]:
    def submit(page: Page) -> None:
        page.get_by_role("button", name=button).click()
        expect(page.locator(".nhsuk-error-summary")).to_be_visible()

    return submit


def demo_adoption(page: Page) -> None:
    """NeedleSmart at Liverpool University Hospitals: sustained, with its history."""
    page.goto("/board")
    sustained = page.locator("#cards-sustained > li").filter(has_text="Liverpool University Hospitals")
    sustained.filter(has_text="NeedleSmart").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/adoptions/[0-9a-f-]{36}$"))
    expect(page.locator("#adoption-history li").first).to_be_visible()


# (id, who signs in (None: nobody), the address, what to do there)
Step = Callable[[Page], None] | None
PAGES: list[tuple[str, str | None, str, Step]] = [
    ("home-admin", "admin", "/", None),
    ("home-facilitator", "facilitator", "/", None),
    ("home-challenge-owner", "challenge_owner", "/", None),
    ("home-supplier", "supplier", "/", None),
    ("innovations", "supplier", "/innovations", None),
    ("innovations-search", "supplier", "/innovations?q=needle&maturity=ready_for_adoption", None),
    ("innovation", "challenge_owner", "/innovations", first_result),
    ("innovation-new", "supplier", "/innovations/new", None),
    ("innovation-new-errors", "supplier", "/innovations/new", submit_empty("Add innovation")),
    ("challenges", "challenge_owner", "/challenges", None),
    ("challenge", "supplier", "/challenges", first_result),
    ("challenge-new", "challenge_owner", "/challenges/new", None),
    ("challenge-new-errors", "challenge_owner", "/challenges/new", submit_empty("Post challenge")),
    ("board", "facilitator", "/board", None),
    ("board-filtered", "facilitator", "/board?region=north_west&category=digital", None),
    ("adoption", "facilitator", "/board", demo_adoption),
    ("adoption-read-only", "supplier", "/board", demo_adoption),
    ("admin-organisations", "admin", "/admin/organisations", None),
    ("admin-organisation-new", "admin", "/admin/organisations/new", None),
    ("admin-users", "admin", "/admin/users", None),
    ("admin-user-new", "admin", "/admin/users/new", None),
    ("api-keys", "admin", "/api-keys", None),
    ("accessibility", None, "/accessibility", None),
    ("privacy", None, "/privacy", None),
    ("sign-in", None, "/sign-in", None),
    ("not-found", "supplier", f"/innovations/{uuid.UUID(int=1)}", None),
    ("not-found-signed-out", None, "/no-such-page", None),
]


@pytest.mark.parametrize(("who", "path", "step"), [p[1:] for p in PAGES], ids=[p[0] for p in PAGES])
def test_every_page_is_accessible(page: Page, who: str | None, path: str, step: Step) -> None:
    if who:
        sign_in(page, who)
    answer = page.goto(path)
    assert answer is not None
    if step:
        step(page)
    elif path.startswith(("/no-such-page", "/innovations/00000000")):
        assert answer.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("not found", re.IGNORECASE))
    else:
        assert answer.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    check_accessibility(page)


# --- the README's screenshots -------------------------------------------------------------


@pytest.fixture
def demo_only(server: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, base URL) of a service of its own, with the demo data and
    nothing the other tests added to the session's service."""
    backend = request.node.callspec.params["server"]
    with running_service(backend, tmp_path) as base:
        yield backend, base


def test_screenshots_for_the_readme(
    new_context: Callable[..., BrowserContext], demo_only: tuple[str, str], tmp_path: Path
) -> None:
    """The board and an adoption page, from the demo data, as the facilitator
    sees them. Saved from the SQLite run only; every run takes them."""
    backend, base = demo_only
    folder = SCREENSHOTS if backend == "sqlite" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    # Wide enough for the board's widest layout (its page is at most 1600 pixels).
    page = new_context(base_url=base, viewport={"width": 1680, "height": 1000}).new_page()

    def shot(name: str) -> None:
        # caret="initial": hiding the caret adds an inline style, which the policy refuses.
        page.screenshot(path=folder / name, full_page=True, caret="initial")

    sign_in(page, "facilitator")
    page.goto("/board")
    expect(page.locator("#cards-sustained > li").first).to_be_visible()
    expect(page.locator("#board")).to_contain_text("36 adoptions.")
    shot("board.png")
    page.set_viewport_size({"width": 1280, "height": 1000})
    demo_adoption(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("NeedleSmart")
    shot("adoption.png")
