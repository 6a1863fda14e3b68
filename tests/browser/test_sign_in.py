from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import CspWatch, check_accessibility, sign_in


def test_sign_in_page_is_accessible(page: Page) -> None:
    page.goto("/sign-in")
    check_accessibility(page)


def test_a_wrong_password_is_shown_beside_the_field(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill("admin@hie.example")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator("#email-error")).to_contain_text("The email address or password is not right")
    check_accessibility(page)


def test_sign_in_and_out(page: Page) -> None:
    sign_in(page, "challenge_owner")
    expect(page.get_by_role("banner")).to_contain_text("Liverpool University Hospitals")
    check_accessibility(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/sign-in")


def test_public_pages_are_accessible(page: Page) -> None:
    for path in ("/accessibility", "/privacy"):
        page.goto(path)
        check_accessibility(page)


def test_the_policy_watch_sees_a_violation(browser: Browser, server: str) -> None:
    """The check every browser test relies on does catch an inline script."""
    watch = CspWatch()
    context = browser.new_context(base_url=server)
    watch.watch(context)
    page = context.new_page()
    page.goto("/sign-in")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    context.close()
    assert watch.violations
