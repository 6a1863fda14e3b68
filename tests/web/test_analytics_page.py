"""The analytics dashboard and the innovation page's spread chart: each chart
an accessible SVG with its table, the filters as a GET form (and by htmx),
who sees what, and nothing the Content-Security-Policy forbids."""

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import World
from tests.services.test_analytics import Exchange, day

HTMX = {"HX-Request": "true"}


@pytest.fixture
def exchange(session: Session, world: World) -> Exchange:
    return Exchange(session, world)


def table(page: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body, as text, row by row."""
    start = page.index(f'id="{table_id}"')
    body = page[page.index("<tbody", start) : page.index("</tbody>", start)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def svg(page: str, chart_id: str) -> str:
    start = page.index(f'<svg id="{chart_id}"')
    return page[start : page.index("</svg>", start)]


def test_each_chart_is_an_svg_named_by_its_title_with_its_table(
    client: TestClient, sign_in: Callable[[str], str], exchange: Exchange
) -> None:
    sign_in("admin")
    page = client.get("/analytics")
    assert page.status_code == 200
    text = page.text
    for chart_id, title in (
        ("funnel-chart", "Pipeline funnel"),
        ("time-in-stage-chart", "Time in each stage"),
        ("stops-chart", "Reasons for not progressing"),
    ):
        drawn = svg(text, chart_id)
        assert 'role="img"' in drawn
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in drawn
        assert f'<title id="{chart_id}-title">{title}</title>' in drawn
        assert f'<desc id="{chart_id}-desc">' in drawn
        assert "<rect" in drawn
    assert table(text, "funnel-table") == [
        ["Identified", "6", "83%"],
        ["Needs assessment", "5", "60%"],
        ["Co-design", "3", "33%"],
        ["Real-world testing", "1", "100%"],
        ["Adopted", "1", "0%"],
        ["Sustained", "0", "Last stage"],
    ]
    assert table(text, "time-table")[:4] == [
        ["Identified", "6", "10", "40"],
        ["Needs assessment", "4", "4", "20"],
        ["Co-design", "3", "20", "30"],
        ["Real-world testing", "1", "40", "40"],
    ]
    assert table(text, "time-table")[4] == ["Adopted", "0", "None yet", "None yet"]
    assert table(text, "stops-table") == [["No funding", "2"], ["No capacity", "1"]]
    assert table(text, "stops-by-stage-table") == [
        ["Identified", "1"],
        ["Needs assessment", "1"],
        ["Co-design", "1"],
    ]
    # Days in stage are counted to today.
    since = [(datetime.now(UTC) - day(n)).days for n in (50, 55, 150)]
    assert table(text, "stuck-table") == [
        ["Text reminders at Trust A", "Paused", f"{since[0]:,}"],
        ["Text reminders at Practice B", "Needs assessment", f"{since[1]:,}"],
        [f"{exchange.i1.name} at {exchange.world.trust.name}", "Identified", f"{since[2]:,}"],
    ]
    assert f'href="/adoptions/{exchange.a3.adoption.id}"' in text
    # The description says the numbers too, for a screen reader that reads the picture.
    assert "Needs assessment 5 (83%)" in svg(text, "funnel-chart")
    # No inline style: the CSP (style-src 'self') would refuse it.
    assert "style=" not in text


def test_filters_are_a_get_form_and_htmx_swaps_the_results(
    client: TestClient, sign_in: Callable[[str], str], exchange: Exchange
) -> None:
    sign_in("facilitator")
    page = client.get("/analytics")
    assert re.search(r'<form method="get" action="/analytics"', page.text)
    for name in ("region", "category", "organisation_name", "innovation_name"):
        assert f'name="{name}"' in page.text
    # Searches by name, not lists of every organisation and innovation.
    assert "Trust A</option>" not in page.text
    assert re.search(r'<a class="nhsuk-header__navigation-link" href="/analytics"', page.text)

    london = client.get("/analytics?region=london")
    assert "3 adoptions match the filters" in london.text
    assert table(london.text, "stages-table")[1] == ["Needs assessment", "1"]
    assert '<option value="london" selected' in london.text

    fragment = client.get("/analytics?category=digital", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="analytics-results"')
    assert "3 adoptions match the filters" in fragment.text

    # By all or part of a name, as on the board; or by id from a shared link,
    # shown as a ticked box.
    by_name = client.get("/analytics?organisation_name=trust+a")
    assert "2 adoptions match the filters" in by_name.text
    by_id = client.get(f"/analytics?organisation={exchange.a.id}")
    assert "2 adoptions match the filters" in by_id.text
    assert f'value="{exchange.a.id}" checked' in by_id.text and "Only Trust A" in by_id.text

    # A value the filter does not know is ignored, as on the board.
    assert "6 adoptions." in client.get("/analytics?region=atlantis").text


def test_each_sees_only_the_adoptions_they_may(
    client: TestClient, sign_in: Callable[[str], str], exchange: Exchange
) -> None:
    sign_in("other_trust")  # a6 only
    page = client.get("/analytics")
    assert "1 adoption." in page.text
    assert table(page.text, "stops-table") == [["No funding", "1"]]
    assert "Trust A" not in page.text


def test_an_empty_exchange_says_so(client: TestClient, sign_in: Callable[[str], str], world: World) -> None:
    sign_in("other_trust")
    page = client.get("/analytics")
    assert page.status_code == 200
    assert "0 adoptions." in page.text
    assert "No adoption has stopped." in page.text
    assert "No completed stays yet." in svg(page.text, "time-in-stage-chart")


def test_signed_out_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/analytics?region=london", follow_redirects=False)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/sign-in?next=/analytics")


def test_the_innovation_page_charts_adoptions_per_quarter(
    client: TestClient, sign_in: Callable[[str], str], exchange: Exchange
) -> None:
    sign_in("trust")
    page = client.get(f"/innovations/{exchange.i1.id}")
    assert page.status_code == 200
    drawn = svg(page.text, "spread-chart")
    assert '<title id="spread-chart-title">Adoptions per quarter</title>' in drawn
    assert "2025 Q2: 1" in drawn  # a1, adopted on day 100
    assert table(page.text, "spread-table") == [["2025 Q2", "1"]]
    assert "style=" not in page.text
    # The spread block alone, as htmx asks for it, carries the chart too.
    fragment = client.get(f"/innovations/{exchange.i1.id}", headers=HTMX)
    assert 'id="spread-chart"' in fragment.text
