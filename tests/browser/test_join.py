"""Joining the exchange in a browser with JavaScript off, from the start page
to a first sign-in: a business applies (a mistake first, to meet the error
summary), checks its status, an admin finds it in the queue and accepts it,
and the new user follows the one-time link to set a password.

axe-core needs JavaScript (its timers), so each page is checked in a second,
JavaScript-on tab of the same service, on a copy of the page exactly as the
JavaScript-off browser got it."""

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import check_accessibility, sign_in


def test_apply_then_accept_without_javascript(new_context: Callable[..., BrowserContext]) -> None:
    twin = new_context().new_page()
    twin.goto("/join")

    def axe(page: Page) -> None:
        """axe-core on `page` as it stands, in the JavaScript-on twin."""
        twin.set_content(page.content())
        try:
            check_accessibility(twin)
        except AssertionError as exc:
            raise AssertionError(f"{page.url}: {exc}") from None

    suffix = uuid.uuid4().hex[:6]
    company = f"Mersey Induction Systems {suffix}"
    email = f"founder.{suffix}@induction.example"

    # --- the business applies --------------------------------------------------------
    applicant = new_context(java_script_enabled=False).new_page()
    applicant.goto("/join")
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Join the Health Innovation Exchange")
    expect(applicant.locator(".nhsuk-header__navigation")).to_have_count(0)
    axe(applicant)

    applicant.get_by_label("Your business's postcode").fill("ch41 5ee")
    applicant.get_by_role("button", name="Check postcode").click()
    expect(applicant.locator("#postcode-result")).to_contain_text(
        "CH41 5EE is in the Liverpool City Region, in Wirral. You can apply."
    )
    axe(applicant)

    applicant.get_by_role("button", name="Start now").click()
    expect(applicant).to_have_url(re.compile(r"/join/apply$"))
    label = applicant.get_by_label
    label("Company name", exact=True).fill(company)
    label("Companies House number (optional)", exact=True).fill("1234")  # the mistake
    label("Address", exact=True).fill("Hamilton Square, Birkenhead")
    label("Postcode", exact=True).fill("CH41 5EE")
    label("Full name", exact=True).fill("Morgan Ellis")
    label("Email address", exact=True).fill(email)
    label("Your role in the company", exact=True).fill("Founder")
    label("Name of the product or service", exact=True).fill("Induction needle destroyer")
    label("What it does today", exact=True).fill("Melts small metal parts in seconds with induction heating.")
    label("The sector it comes from", exact=True).fill("Engineering")
    label("Who uses it now", exact=True).fill("Precision engineering firms.")
    label("The problem it could solve", exact=True).fill("Needlestick injuries on wards.")
    label("Acute inpatient", exact=True).check()
    label("Clinical introductions", exact=True).check()
    label("I agree to the exchange team contacting me about this application").check()
    label("I agree to the exchange holding the information I give, as its privacy notice says").check()
    # The company size is left out too.
    with applicant.expect_response(lambda r: r.request.method == "POST") as answer:
        applicant.get_by_role("button", name="Send application").click()
    assert answer.value.status == 422
    expect(applicant).to_have_title(re.compile(r"^Error: Apply to join the exchange"))
    summary = applicant.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text(
        [
            "Enter a Companies House number of 8 characters, like 01234567 or SC123456",
            "Select the size of the company",
        ]
    )
    expect(label("Company name", exact=True)).to_have_value(company)  # nothing typed is lost
    axe(applicant)

    label("Companies House number (optional)", exact=True).fill("01234567")
    label("Small: 10 to 49 employees", exact=True).check()
    applicant.get_by_role("button", name="Send application").click()
    expect(applicant).to_have_url(re.compile(r"/join/applied/HIE-[0-9A-Z]{4}-[0-9A-Z]{4}\?"))
    expect(applicant.locator(".nhsuk-panel")).to_contain_text("Application sent")
    reference = applicant.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"HIE-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    axe(applicant)

    applicant.get_by_role("link", name="check the status of your application").click()
    axe(applicant)
    label("Reference number", exact=True).fill(reference.lower())
    label("Email address", exact=True).fill(email)
    applicant.get_by_role("button", name="Check status").click()
    expect(applicant.locator("#status")).to_have_text("Received: we have not started reading it yet.")
    axe(applicant)

    # --- the exchange team accepts it ---------------------------------------------------
    reviewer = new_context(java_script_enabled=False).new_page()
    sign_in(reviewer, "admin")
    reviewer.get_by_role("link", name="Applications", exact=True).click()
    expect(reviewer).to_have_url(re.compile(r"/applications$"))
    axe(reviewer)
    reviewer.get_by_role("link", name=company).click()
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(company)
    expect(reviewer.locator("main")).to_contain_text("Wirral, in the programme's area")
    axe(reviewer)

    reviewer.get_by_role("button", name="Accept application").click()
    expect(reviewer.locator(".nhsuk-panel")).to_contain_text("Application accepted")
    link = reviewer.locator("#set-password-link").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/set-password/[\w-]+", link), link
    axe(reviewer)
    reviewer.get_by_role("link", name="Back to the application").click()
    expect(reviewer.locator("main")).to_contain_text("Decision, told to the applicant")

    # --- the new supplier sets a password and signs in -----------------------------------
    newcomer = new_context(java_script_enabled=False).new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Set your password")
    axe(newcomer)
    newcomer.get_by_label("Password", exact=True).fill("a long new password")
    newcomer.get_by_label("Enter the password again", exact=True).fill("a long new password")
    newcomer.get_by_role("button", name="Set password").click()
    expect(newcomer).to_have_url(re.compile(r"/sign-in\?password_set=1$"))
    expect(newcomer.locator(".nhsuk-notification-banner")).to_contain_text("Your password is set")
    newcomer.get_by_label("Email address").fill(email)
    newcomer.get_by_label("Password", exact=True).fill("a long new password")
    newcomer.get_by_role("button", name="Sign in").click()
    newcomer.wait_for_url(lambda url: "/sign-in" not in url)
    expect(newcomer.locator("header")).to_contain_text(company)

    # The link worked once.
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("This link has expired or was used")
