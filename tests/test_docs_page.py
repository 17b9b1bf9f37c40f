"""`/docs` works with no internet: the API serves the page and its renderer (Redoc) itself, and a real browser
(Debian's Chromium, tests/support/browser.py), whose network reaches only the local API, renders the operations."""

from chalicelib.api import openapi
from chalicelib.api.routing import ENDPOINTS

RENDER_MS = 90_000  # Redoc renders ~80 operations in one pass: 12 s seen on 2 cores loaded 4 times over, 60 s at 7 times


def test_the_docs_page_renders_every_operation_offline(page, local_api, foreign_requests):
    checkout_endpoint = next(e for e in ENDPOINTS if (e.method, e.path) == ("POST", "/checkouts"))  # routes declared
    page.goto(local_api + "/docs")
    checkout = page.locator(f"[data-section-id='operation/{checkout_endpoint.name}']")
    checkout.wait_for(timeout=RENDER_MS)
    assert checkout.locator("h2").inner_text() == checkout_endpoint.summary
    assert "/checkouts" in checkout.inner_text()  # its method and path, as Redoc shows them
    sections = page.eval_on_selector_all("[data-section-id^='operation/']",
                                         "found => found.map(section => section.dataset.sectionId)")
    assert sorted(sections) == sorted(f"operation/{e.name}" for e in ENDPOINTS)  # every operation, once
    assert foreign_requests == []  # nothing was asked of another host: a closed network changes nothing


def test_the_renderer_is_public_and_cacheable(api):
    response = api.get("/docs/redoc.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript"
    assert response.headers["Cache-Control"] == openapi.RENDERER_CACHE_CONTROL
    assert response.body == openapi.RENDERER.read_bytes()
