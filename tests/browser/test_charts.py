"""The charts in a browser, on the demo data: each SVG drawn and visible,
named by its title, with its table beside it; the dashboard's filters by
htmx and without JavaScript; axe-core on the dashboard. Every page is also
watched for Content-Security-Policy violations (the `new_context` fixture)."""

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import check_accessibility, sign_in

CHARTS = {
    "funnel-chart": ("Pipeline funnel", "funnel-table"),
    "time-in-stage-chart": ("Time in each stage", "time-table"),
    "stops-chart": ("Reasons for not progressing", "stops-table"),
}


def expect_chart(page: Page, chart_id: str, title: str, table_id: str) -> None:
    chart = page.locator(f"svg#{chart_id}")
    expect(chart).to_be_visible()
    expect(page.get_by_role("img", name=title)).to_be_visible()
    expect(chart.locator("title")).to_have_text(title)
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50, box
    # Its bars are drawn, and coloured by the stylesheet (no inline style).
    bar = chart.locator("rect").first
    expect(bar).to_be_visible()
    fill = bar.evaluate("el => getComputedStyle(el).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)"), fill
    table = page.locator(f"table#{table_id}")
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() >= 1


def test_the_dashboard_draws_each_chart_with_its_table(page: Page) -> None:
    sign_in(page, "facilitator")
    page.get_by_role("link", name="Analytics").first.click()
    expect(page).to_have_url(re.compile(r"/analytics$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline analytics")
    for chart_id, (title, table_id) in CHARTS.items():
        expect_chart(page, chart_id, title, table_id)
    expect(page.locator("#funnel-table tbody tr").first).to_contain_text("Identified")
    expect(page.locator("#stops-table")).to_contain_text("No funding")
    # The stuck list links to the adoptions.
    stuck = page.locator("#stuck-table tbody a").first
    expect(stuck).to_be_visible()
    stuck.click()
    expect(page).to_have_url(re.compile(r"/adoptions/[0-9a-f-]{36}$"))
    page.go_back()
    check_accessibility(page)


def test_filtering_swaps_the_results_in_place(page: Page) -> None:
    sign_in(page, "admin")
    page.goto("/analytics")
    # Other browser tests may add adoptions to this server before this one runs.
    expect(page.locator(".app-analytics__summary")).to_contain_text(re.compile(r"\d+ adoptions\."))
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.get_by_label("Region of the adopting organisation").select_option("london")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/analytics\?region=london"))
    expect(page.locator(".app-analytics__summary")).to_contain_text("match the filters")
    assert page.evaluate("() => window.stillTheSamePage === true"), "the filter loaded a new page"
    for chart_id, (title, table_id) in CHARTS.items():
        if chart_id != "stops-chart":  # London's adoptions have not stopped
            expect_chart(page, chart_id, title, table_id)
    check_accessibility(page)


def test_filters_work_with_javascript_off(new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, "admin")
    page.goto("/analytics")
    page.get_by_label("Category").select_option("digital")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/analytics\?.*category=digital"))
    expect(page.locator(".app-analytics__summary")).to_contain_text("match the filters")
    expect_chart(page, "funnel-chart", "Pipeline funnel", "funnel-table")


def test_the_innovation_page_charts_its_spread(page: Page) -> None:
    sign_in(page, "challenge_owner")
    page.goto("/innovations?q=flo")
    page.get_by_role("link", name=re.compile("^Flo")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Flo")
    expect_chart(page, "spread-chart", "Adoptions per quarter", "spread-table")
    # Several quarters, each a column and a row.
    assert page.locator("svg#spread-chart rect").count() >= 5
    assert page.locator("#spread-table tbody tr").count() >= 5
    check_accessibility(page)
