"""The adoption board in a browser: a card moved from identified to adopted
by keyboard alone, filling each gate on its adoption page on the way; a card
dragged to the next column; the conflict when someone else moved it first;
and the same move with JavaScript off.

Each test opens its own adoption (through the API, with a key an admin
issues on the API keys page), at a Cheshire and Merseyside organisation the
Innovation Agency's facilitator may move, so no test depends on another."""

import itertools
from collections.abc import Callable, Iterator
from typing import NamedTuple
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.conftest import CspWatch, check_accessibility, sign_in

# Kinds of organisation that adopt innovations.
ADOPTERS = ("nhs_trust", "icb", "primary_care", "social_care", "local_authority")


class Opened(NamedTuple):
    id: str
    innovation_id: str
    organisation_id: str

    @property
    def board(self) -> str:
        """The board filtered to this adoption's innovation and organisation."""
        return "/board?" + urlencode({"organisation": self.organisation_id, "innovation": self.innovation_id})


OpenAdoption = Callable[..., Opened]


@pytest.fixture(scope="session")
def api_key(browser: Browser, server: str) -> str:
    """An admin API key the exchange's admin issues on the API keys page."""
    watch = CspWatch()
    context = browser.new_context(base_url=server)
    watch.watch(context)
    page = context.new_page()
    sign_in(page, "admin")
    page.goto("/api-keys")
    page.get_by_label("Name").fill("browser tests")
    # An admin key: the exchange's own, to open adoptions at any organisation.
    page.get_by_label("Admin", exact=True).check()
    page.get_by_role("button", name="Issue key").click()
    expect(page.get_by_role("heading", name="API key issued")).to_be_visible()
    secret = page.locator("#api-key-secret").inner_text().strip()
    context.close()
    assert watch.violations == []
    return secret


@pytest.fixture(scope="session")
def open_adoption(server: str, api_key: str) -> Iterator[OpenAdoption]:
    """open_adoption(lead=False) → a new adoption at `identified`,
    of a published innovation by a north west organisation that has none."""
    client = httpx.Client(base_url=f"{server}/api/v1", headers={"Authorization": f"Bearer {api_key}"})
    organisations = [
        org["id"]
        for org in client.get("/organisations", params={"region": "north_west", "limit": 100}).json()["items"]
        if org["kind"] in ADOPTERS
    ]
    innovations = [
        item["id"]
        for item in client.get("/innovations", params={"status": "published", "limit": 100}).json()["items"]
    ]
    pairs = itertools.product(innovations, organisations)

    def make(lead: bool = False) -> Opened:
        for innovation_id, organisation_id in pairs:
            body: dict[str, object] = {"innovation_id": innovation_id, "organisation_id": organisation_id}
            if lead:
                body["lead"] = {"name": "Dr Ada Okafor", "email": "ada.okafor@nhs.example"}
            response = client.post("/adoptions", json=body)
            if response.status_code == 409:  # this organisation already adopts it
                continue
            response.raise_for_status()
            return Opened(str(response.json()["id"]), innovation_id, organisation_id)
        raise AssertionError("no innovation and organisation left without an adoption")

    yield make
    client.close()


def card(page: Page, adoption_id: str) -> Locator:
    return page.locator(f"#card-{adoption_id}")


def column(page: Page, stage: str) -> Locator:
    return page.locator(f"#cards-{stage}")


def press_move(page: Page, adoption_id: str) -> None:
    """From the card's stage choice, Tab to its Move button and press Enter."""
    choice = card(page, adoption_id).get_by_label("Move to")
    choice.focus()
    page.keyboard.press("Tab")  # "Add a reason": a closed details
    page.keyboard.press("Tab")
    move = card(page, adoption_id).get_by_role("button", name="Move")
    expect(move).to_be_focused()
    page.keyboard.press("Enter")


def follow(page: Page, link: Locator) -> None:
    """Follow a link by keyboard."""
    link.focus()
    page.keyboard.press("Enter")


def to_board(page: Page) -> None:
    follow(page, page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Adoption board"))
    expect(page).to_have_url("/board")


def to_adoption(page: Page, adoption_id: str) -> None:
    follow(page, card(page, adoption_id).get_by_role("link").first)
    expect(page).to_have_url(f"/adoptions/{adoption_id}")


def save_gate(page: Page, stage: str) -> None:
    """Tab from the last field to the stage's Save button, press Enter, and
    see the gate met."""
    page.keyboard.press("Tab")
    gate = page.locator(f"#gate-{stage}")
    expect(gate.get_by_role("button", name="Save")).to_be_focused()
    page.keyboard.press("Enter")
    expect(gate.get_by_role("status")).to_contain_text("gate record saved")
    expect(gate.get_by_role("heading")).to_contain_text("Gate met")


def test_move_from_identified_to_adopted_by_keyboard_alone(page: Page, open_adoption: OpenAdoption) -> None:
    adoption_id = open_adoption().id
    sign_in(page, "facilitator")
    page.goto("/board")
    expect(column(page, "identified").locator(card(page, adoption_id))).to_be_visible()

    # Without a named lead the move is refused, and the card says what is missing.
    press_move(page, adoption_id)
    problem = card(page, adoption_id).locator(".app-move-problem")
    expect(problem).to_contain_text("It cannot move to Needs assessment until its gate record shows")
    expect(problem).to_contain_text("Named adoption lead (champion)")
    expect(column(page, "identified").locator(card(page, adoption_id))).to_be_visible()
    check_accessibility(page)

    follow(page, problem.get_by_role("link", name="Fill in the gate record"))
    expect(page).to_have_url(f"/adoptions/{adoption_id}#gate-needs_assessment")
    page.locator("#gate-item-champion").focus()
    page.keyboard.type("Dr Ada Okafor")
    save_gate(page, "needs_assessment")
    to_board(page)
    press_move(page, adoption_id)
    expect(column(page, "needs_assessment").locator(card(page, adoption_id))).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("from Identified to Needs assessment")

    to_adoption(page, adoption_id)
    page.locator("#gate-item-needs_assessment_summary").focus()
    page.keyboard.type("Fewer needlestick injuries on the wards that give most injections.")
    for _ in range(4):  # evidence, regulation, cost, fit with the pathway
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
    for item in ("evidence", "regulation", "cost", "pathway_fit"):
        expect(page.locator(f"#gate-item-{item}_reviewed")).to_be_checked()
    save_gate(page, "co_design")
    to_board(page)
    press_move(page, adoption_id)
    expect(column(page, "co_design").locator(card(page, adoption_id))).to_be_visible()

    to_adoption(page, adoption_id)
    page.locator("#gate-item-funding_source").focus()
    page.keyboard.type("The trust's innovation fund")
    for text in ("Six months on two wards", "Injuries reported per month", "Trained with ward staff"):
        page.keyboard.press("Tab")
        page.keyboard.type(text)
    save_gate(page, "real_world_testing")
    to_board(page)
    press_move(page, adoption_id)
    expect(column(page, "real_world_testing").locator(card(page, adoption_id))).to_be_visible()

    to_adoption(page, adoption_id)
    gate = page.locator("#gate-adopted")
    gate.get_by_label("Positive").focus()
    page.keyboard.press("Space")
    expect(gate.get_by_label("Positive")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("NHS Supply Chain framework")
    save_gate(page, "adopted")
    to_board(page)
    press_move(page, adoption_id)
    expect(column(page, "adopted").locator(card(page, adoption_id))).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("from Real-world testing to Adopted")

    # Its page tells the story.
    to_adoption(page, adoption_id)
    history = page.locator("#adoption-history")
    for step in ("Identified to Needs assessment", "Co-design to Real-world testing", "to Adopted"):
        expect(history).to_contain_text(step)
    expect(history).to_contain_text("Faye Facilitator")
    check_accessibility(page)


def drag(page: Page, item: Locator, target: Locator) -> None:
    """Drag `item` onto `target` with the mouse, in small steps, as SortableJS's
    pointer dragging (forceFallback) expects."""
    item.scroll_into_view_if_needed()
    start = item.bounding_box()
    end = target.bounding_box()
    assert start and end
    x, y = start["x"] + start["width"] / 2, start["y"] + 10
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=20)
    page.mouse.up()


def test_move_a_card_by_drag_and_drop(page: Page, open_adoption: OpenAdoption) -> None:
    opened = open_adoption(lead=True)
    adoption_id = opened.id
    sign_in(page, "facilitator")
    # The board filtered to its card, so that both columns are in view.
    page.goto(opened.board)
    moving = card(page, adoption_id)
    expect(column(page, "identified").locator(moving)).to_be_visible()
    expect(page.locator("#count-identified")).to_have_text("1 adoption")
    expect(page.locator("#count-needs_assessment")).to_have_text("0 adoptions")
    # The card's organisation line: a part of the card that is not a control.
    drag(page, moving.locator(".app-card__organisation"), column(page, "needs_assessment"))
    expect(column(page, "needs_assessment").locator(moving)).to_be_visible()
    expect(column(page, "identified").locator(moving)).to_have_count(0)
    expect(page.locator("#count-identified")).to_have_text("0 adoptions")
    expect(page.locator("#count-needs_assessment")).to_have_text("1 adoption")
    expect(page.get_by_role("status")).to_contain_text("from Identified to Needs assessment")
    # Nothing the drag left behind: no inline style (the policy refuses them).
    expect(page.locator(".app-board [style]")).to_have_count(0)


def test_a_card_someone_else_moved_first_is_not_moved_again(
    new_context: Callable[..., BrowserContext], open_adoption: OpenAdoption
) -> None:
    adoption_id = open_adoption(lead=True).id
    first, second = new_context().new_page(), new_context().new_page()
    sign_in(first, "facilitator")
    sign_in(second, "admin")
    for page in (first, second):
        page.goto("/board")
        expect(column(page, "identified").locator(card(page, adoption_id))).to_be_visible()

    card(first, adoption_id).get_by_role("button", name="Move").click()
    expect(column(first, "needs_assessment").locator(card(first, adoption_id))).to_be_visible()

    # The second board still shows it at Identified, offering Needs assessment.
    stale = card(second, adoption_id)
    expect(stale.get_by_label("Move to")).to_have_value("needs_assessment")
    stale.get_by_role("button", name="Move").click()
    problem = stale.locator(".app-move-problem")
    expect(problem).to_contain_text(
        "Someone else changed this adoption first: it is now at Needs assessment. Your move was not made."
    )
    expect(problem.get_by_role("link", name="Reload the board")).to_be_visible()
    expect(second.get_by_role("status")).to_contain_text("Not moved")
    # The stale card offers no form to try again with; it stays where it was until reloaded.
    expect(stale.get_by_role("button", name="Move")).to_have_count(0)
    check_accessibility(second)

    problem.get_by_role("link", name="Reload the board").click()
    expect(column(second, "needs_assessment").locator(card(second, adoption_id))).to_be_visible()
    expect(column(second, "identified").locator(card(second, adoption_id))).to_have_count(0)


def test_move_a_card_with_javascript_off(
    new_context: Callable[..., BrowserContext], open_adoption: OpenAdoption
) -> None:
    adoption_id = open_adoption(lead=True).id
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, "facilitator")
    page.goto("/board")
    expect(column(page, "identified").locator(card(page, adoption_id))).to_be_visible()
    card(page, adoption_id).get_by_role("button", name="Move").click()
    expect(page).to_have_url("/board")
    expect(column(page, "needs_assessment").locator(card(page, adoption_id))).to_be_visible()
    expect(column(page, "identified").locator(card(page, adoption_id))).to_have_count(0)
    # (No axe here: it needs the page's JavaScript timers, which are off.)
