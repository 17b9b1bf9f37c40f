"""Tests in a real browser: Debian's Chromium, driven by Playwright's Python client.

Playwright never downloads a browser here (no `playwright install`): it launches the system's
`/usr/bin/chromium` (`make test` installs it with apt when missing: the Makefile's `$(CHROMIUM)` target).
The browser starts once per test process (an xdist worker): `browser`, session scope, about 1 s;
each test gets a fresh context (no cookies, storage or cache of another test's) and a page in it.

The network is closed for the page: a request to any host but loopback (the local API a test serves,
`local_api`) is aborted and its URL recorded in `foreign_requests`, which a test asserts empty to show
the page needs nothing from the internet. After each test its page is saved as
`build/screenshots/<module>.<test>.png` (a test artifact; CI keeps build/).

    def test_docs_render(page, local_api, foreign_requests):
        page.goto(local_api + "/docs")
        ...
        assert foreign_requests == []
"""

import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.project import PROJECT_DIR

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_CHROMIUM = "apt-get install -y --no-install-recommends chromium"
# Headless, no sandbox (tests run as root in containers), and none of Chromium's own traffic: without the
# background-networking flags it keeps calling Google's services, which flood a closed network.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
SCREENSHOTS = PROJECT_DIR / "build" / "screenshots"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
WAIT_MS = 10_000  # the longest a page's action or assertion waits (a busy 2-core machine)


def is_loopback(url: str) -> bool:
    """Whether the browser may fetch `url`: this machine, or a page's own data (`data:`, `blob:`, `about:`)."""
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or parts.hostname in LOOPBACK_HOSTS


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, launched once per test process, with a fresh profile of its own."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `{INSTALL_CHROMIUM}` as root (`make test` does)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # `launch` gives Chromium a fresh user-data-dir of its own (a temporary one, removed at close)
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def foreign_requests() -> list[str]:
    """The URLs this test's page asked of a host other than loopback (each aborted)."""
    return []


@pytest.fixture
def page(browser, foreign_requests, request):
    """A page in a fresh browser context whose network reaches loopback only; saved as a screenshot after the test."""
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
    context.set_default_timeout(WAIT_MS)

    def closed_network(route):
        if is_loopback(route.request.url):
            route.continue_()
        else:
            foreign_requests.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", closed_network)
    tab = context.new_page()
    try:
        yield tab
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", f"{request.module.__name__.rpartition('.')[2]}.{request.node.name}")
        try:
            tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # the viewport: a long page's whole takes seconds
        finally:
            context.close()


@pytest.fixture(scope="module")
def local_api(chalice_app):
    """The app served over HTTP on a free loopback port by chalice local's server (as `make run` serves it,
    infra/api_server.py), over this process's emulated AWS: its base URL, `http://127.0.0.1:<port>`."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    server = LocalDevServer(chalice_app, Config.create(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)
