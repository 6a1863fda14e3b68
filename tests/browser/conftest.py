"""Browser tests: Playwright drives Debian's Chromium against a real uvicorn
process on a free port, serving a fresh database with the demo data (on
SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set).

Every page a test visits is checked for Content-Security-Policy violations;
`check_accessibility(page)` runs axe-core (from npm, injected by the test)."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from app.services.demo import DEMO_PASSWORD
from tests.databases import BACKENDS, empty_database

CHROMIUM = Path(os.environ.get("HIE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROOT = Path(__file__).resolve().parents[2]

DEMO_EMAILS = {
    "admin": "admin@hie.example",
    "facilitator": "facilitator@innovationagency.example",
    "challenge_owner": "challenge.owner@liverpoolft.example",
    "supplier": "supplier@needlesmart.example",
}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}: browser tests skipped (apt-get install chromium)"
        print(f"\n*** {reason} ***", file=sys.stderr)
        for item in items:
            if "tests/browser" in str(item.path):
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hie(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=env, check=True, cwd=ROOT, capture_output=True
    )


@contextmanager
def running_service(backend: str, folder: Path) -> Iterator[str]:
    """A service on a free port, serving a fresh database with the demo data:
    its base URL."""
    with empty_database(backend, folder) as url:
        env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "LOG_LEVEL": "warning"}
        _hie(env, "migrate")
        _hie(env, "seed", "--demo")
        port = _free_port()
        log = (folder / "server.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
            log.close()


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running service with the demo data."""
    folder = tmp_path_factory.mktemp(f"browser-{request.param}")
    with running_service(request.param, folder) as base:
        yield base


def _wait_until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the service stopped while starting")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the service did not become ready")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class CspWatch:
    """Collects Content-Security-Policy violations reported by the browser."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.violations.append(text)

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self.on_console)


@pytest.fixture
def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
def new_context(browser: Browser, server: str, csp: CspWatch) -> Iterator[Callable[..., BrowserContext]]:
    """new_context(java_script_enabled=True) → a fresh browser context on the
    service (or on another, with base_url=...)."""
    contexts: list[BrowserContext] = []

    def make(**options: object) -> BrowserContext:
        options = {"base_url": server, "viewport": {"width": 1280, "height": 1000}, **options}
        context = browser.new_context(**options)  # type: ignore[arg-type]
        csp.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert csp.violations == [], f"Content-Security-Policy violations: {csp.violations}"


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


def sign_in(page: Page, who: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(DEMO_EMAILS[who])
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def check_accessibility(page: Page) -> None:
    """axe-core on the page as it stands: no serious or critical violation.
    Evaluated through the DevTools protocol, which the page's CSP allows."""
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, "
        "{runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}}))"
    )
    violations = [v for v in json.loads(result)["violations"] if v["impact"] in ("serious", "critical")]
    summary = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert not violations, f"axe found on {page.url}: {summary}"
