"""The GraphiQL explorer in a real browser: headless Chromium (Debian's `chromium`, never a
downloaded browser) driven by Playwright against the real app under uvicorn.

With tokens from an outside identity provider (as in production), a user opens the page,
sees the headers to fill in, pastes a token into the header editor, types a query and runs
it, and sees their order. In development the page gets a demo token by itself and shows the
schema's docs before any query; its button gets a fresh token. Along the way the page must
log no console error, break no rule of its Content-Security-Policy, and ask nothing of any
other origin (so it works on a machine without internet). Screenshots are saved under
SALES_ARTIFACTS_DIR (default `artifacts/`) and their paths printed, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from joserfc.jwk import ECKey
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect, sync_playwright
from starlette.applications import Starlette

from sales_api.app import GRAPHQL_PATH, create_app
from sales_api.settings import Settings
from sales_api.web.issuer import DevIssuer
from sales_api.web.tokens import StaticKeySource
from tests.served import DEMO_TOKEN_REQUEST

pytestmark = pytest.mark.slow

WEB_CHANNEL = "ENT:DistributionChannel:Web"
OUTSIDE_ISSUER = "https://idp.example/"
CHROMIUM_NAMES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CREATE_ORDER = """
mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id } errors { code message } }
}
"""
# Collects what the page's Content-Security-Policy refused; console errors say it too, but
# this names the directive. Injected by Playwright, so the page's CSP does not apply to it.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium (or another on PATH); the test is skipped only without one."""
    found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no chromium binary (apt-get install chromium; .ci/run installs it)")
    return found


@pytest.fixture(scope="session")
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """SALES_ARTIFACTS_DIR, or `artifacts/` in the project. Session-scoped so it is read
    before the autouse fixture that hides SALES_* variables from each test."""
    named = os.environ.get("SALES_ARTIFACTS_DIR")
    folder = Path(named) if named else request.config.rootpath / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


@contextlib.contextmanager
def _serving(app: Starlette) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port, in a thread; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        # log_config=None: uvicorn leaves the process's logging set-up alone.
        uvicorn.Config(app, log_config=None, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def service(settings: Settings) -> Iterator[str]:
    """The real app in development (with the built-in issuer); its base URL."""
    with _serving(create_app(settings)) as base:
        yield base


@pytest.fixture
def service_without_issuer(settings: Settings) -> Iterator[tuple[str, Callable[[], str]]]:
    """The real app taking tokens from an outside identity provider, as in production (the
    built-in issuer off); its base URL and a function that makes a token for organisation 1.
    """
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    key.ensure_kid()
    outside = DevIssuer(  # stands in for the identity provider
        key,
        issuer=OUTSIDE_ISSUER,
        audience=settings.auth_audience,
        organisation_claim=settings.auth_organisation_claim,
    )
    app = create_app(
        Settings(
            **{
                **settings.model_dump(),
                "builtin_issuer": False,
                "auth_issuer": OUTSIDE_ISSUER,
                "auth_jwks_url": f"{OUTSIDE_ISSUER}.well-known/jwks.json",
            }
        ),
        key_source=StaticKeySource(outside.jwks),
    )
    with _serving(app) as base:
        yield base, lambda: str(outside.mint(outside.client("demo-app"))["access_token"])


def _token(base: str) -> str:
    response = httpx.post(
        f"{base}/oauth/token",
        json=DEMO_TOKEN_REQUEST,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _update_order(base: str, token: str, order_id: str) -> None:
    response = httpx.post(
        f"{base}{GRAPHQL_PATH}",
        json={
            "query": "mutation($id: ID!) { updateOrder(input: {orderId: $id, "
            'externalReference: "seen-live"}) { errors { code } } }',
            "variables": {"id": order_id},
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Entur-POS": "e2e-explorer",
            "Entur-Distribution-Channel": WEB_CHANNEL,
        },
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["data"]["updateOrder"]["errors"] == []


def _create_order(base: str, token: str) -> str:
    response = httpx.post(
        f"{base}{GRAPHQL_PATH}",
        json={
            "query": CREATE_ORDER,
            "variables": {
                "input": {
                    "travellers": [{"id": "t1", "userType": "ADULT"}],
                    "contactInfo": {"email": "kari@example.no"},
                }
            },
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Entur-POS": "e2e-explorer",
            "Entur-Distribution-Channel": WEB_CHANNEL,
        },
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    payload = body["data"]["createOrder"]
    assert payload["errors"] == [], payload
    order_id: str = payload["order"]["id"]
    return order_id


@dataclass
class BrowserLog:
    """What the page did that a user would not see: console, errors, requests."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    graphql_headers: list[dict[str, str]] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failures.append(f"{r.url}: {r.failure}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        if request.method == "POST" and urlsplit(request.url).path == GRAPHQL_PATH:
            self.graphql_headers.append(request.headers)

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failures.append(f"{response.url}: HTTP {response.status}")

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith("data:") and not url.startswith(f"{self.origin}/")
        ]


def _run_the_explorer(
    page: Page, base: str, token: str, order_id: str, change_order: Callable[[], None]
) -> None:
    page.goto(f"{base}{GRAPHQL_PATH}", wait_until="networkidle")
    # Without the built-in issuer the page offers no demo token.
    expect(page.get_by_role("button", name="Use a demo token")).to_have_count(0)

    # A new user sees the headers this API needs, and what to do about the token.
    headers = page.get_by_role("region", name="Headers")
    for name in ("Authorization", "Bearer <paste a token", "Entur-POS", WEB_CHANNEL):
        expect(headers).to_contain_text(name)
    result = page.get_by_role("region", name="Result Window")
    expect(result).to_contain_text("No token yet")

    # A dialog: GraphiQL adds a <style> element for it, which the CSP must let in.
    page.get_by_role("button", name="Open settings dialog").click()
    expect(page.get_by_role("dialog")).to_contain_text("Theme")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # Replace the headers through the header editor, as a user does: the JSON typed key by
    # key, the token pasted (one input event, as from the clipboard).
    page.get_by_role("button", name="Headers", exact=True).click()
    headers.locator(".CodeMirror").filter(visible=True).click()
    page.keyboard.press("ControlOrMeta+a")
    before, after = json.dumps(
        {
            "Authorization": "Bearer TOKEN",
            "Entur-POS": "e2e-explorer",
            "Entur-Distribution-Channel": WEB_CHANNEL,
        }
    ).split("TOKEN")
    page.keyboard.type(before)
    page.keyboard.insert_text(token)
    page.keyboard.type(after)

    # Type a query for the order (on one line: Enter would pick a completion) and run it.
    page.get_by_role("region", name="Query Editor").locator(".CodeMirror").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(f'query MyOrder {{ order(id: "{order_id}") {{ id status }} }}')
    # GraphiQL reads the operation name (the tab's title) 100 ms after the last keystroke;
    # a run before that would send the old one, "Orders". No person types that fast.
    expect(page.get_by_role("tab", name="MyOrder")).to_be_visible()
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(result).to_contain_text(f'"id": "{order_id}"', timeout=20_000)
    expect(result).to_contain_text('"status": "DRAFT"')

    # A subscription runs over the WebSocket with the same headers: the order at once,
    # then again when it changes (here over HTTP, from elsewhere).
    page.get_by_role("region", name="Query Editor").locator(".CodeMirror").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(
        f'subscription Watch {{ orderUpdated(orderId: "{order_id}") {{ id externalReference }} }}'
    )
    expect(page.get_by_role("tab", name="Watch")).to_be_visible()
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(result).to_contain_text('"externalReference": null', timeout=20_000)
    change_order()
    expect(result).to_contain_text('"externalReference": "seen-live"', timeout=20_000)
    page.get_by_role("button", name=re.compile("Stop")).click()

    # The token stays in the page: nothing GraphiQL keeps (tabs, history) holds it.
    stored = page.evaluate("() => Object.values(localStorage).join(' ')")
    assert "MyOrder" in stored and token not in stored


def _assert_a_clean_page(log: BrowserLog, csp_violations: object) -> None:
    """No CSP violation, console or page error, failed request, or request elsewhere."""
    assert csp_violations == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.failures == []
    assert log.foreign_requests() == []


def test_the_explorer_runs_a_query_with_a_pasted_token_offline_under_its_csp(
    chromium: str,
    service_without_issuer: tuple[str, Callable[[], str]],
    artifacts_dir: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service, make_token = service_without_issuer
    token = make_token()
    order_id = _create_order(service, token)
    screenshot = artifacts_dir / f"explorer-{database_url.split(':', 1)[0].split('+')[0]}.png"
    log = BrowserLog(origin=service)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            page.add_init_script(CSP_LISTENER)
            log.attach(page)
            try:
                _run_the_explorer(
                    page,
                    service,
                    token,
                    order_id,
                    lambda: _update_order(service, token, order_id),
                )
                csp_violations = page.evaluate("window.__cspViolations")
            finally:
                print(log)  # shown when the test fails
                page.screenshot(path=screenshot, full_page=True)
                with capsys.disabled():
                    print(f"\nscreenshot: {screenshot}")
        finally:
            browser.close()

    _assert_a_clean_page(log, csp_violations)
    assert not [url for url in log.requests if urlsplit(url).path == "/oauth/token"]
    # The run went to the service with the pasted token and the API's headers.
    sent = log.graphql_headers[-1]
    assert sent["authorization"] == f"Bearer {token}"
    assert sent["entur-pos"] == "e2e-explorer"
    assert sent["entur-distribution-channel"] == WEB_CHANNEL


def _total_orders(base: str, token: str) -> int:
    response = httpx.post(
        f"{base}{GRAPHQL_PATH}",
        json={"query": "{ orders { totalItems } }"},
        headers={
            "Authorization": f"Bearer {token}",
            "Entur-POS": "e2e-explorer",
            "Entur-Distribution-Channel": WEB_CHANNEL,
        },
        timeout=10,
    )
    assert response.status_code == 200 and not response.json().get("errors"), response.text
    total: int = response.json()["data"]["orders"]["totalItems"]
    return total


def _is_introspection(request: Request) -> bool:
    return (
        request.method == "POST"
        and urlsplit(request.url).path == GRAPHQL_PATH
        and "IntrospectionQuery" in (request.post_data or "")
    )


def _bearer_in(headers_editor: str) -> str:
    match = re.search(r'"Authorization": "Bearer ([^"\s]+)"', headers_editor)
    assert match is not None, headers_editor
    return match.group(1)


def _use_the_demo_token(page: Page, base: str, total_orders: int) -> tuple[str, str]:
    """Opens the explorer in development, presses "Use a demo token" and runs a query;
    returns the token the page got as it loaded and the one the button got."""
    page.goto(f"{base}{GRAPHQL_PATH}", wait_until="networkidle")
    button = page.get_by_role("button", name="Use a demo token")
    headers = page.get_by_role("region", name="Headers")
    docs = page.get_by_role("region", name="Documentation Explorer")

    # Before any query: a token in the header editor, where the user sees it, beside the
    # API's other headers, and the schema's docs.
    expect(page.get_by_role("status")).to_contain_text("demo token for demo-app (organisation 1)")
    expect(headers).to_contain_text('"Authorization": "Bearer ey')
    expect(headers).to_contain_text(WEB_CHANNEL)
    first = _bearer_in(headers.inner_text())
    expect(docs).to_contain_text("Root Types")
    expect(docs).to_contain_text("query: Query")

    # The button, pressed from the keyboard, puts a fresh token into the header editor and
    # fetches the schema again with it.
    with page.expect_request(_is_introspection) as introspection:
        button.focus()
        page.keyboard.press("Enter")
    fresh = introspection.value.headers["authorization"].removeprefix("Bearer ")
    assert fresh != first
    expect(headers).to_contain_text(fresh)
    docs.get_by_role("link", name="Query", exact=True).click()
    expect(docs.get_by_role("link", name="orders", exact=True)).to_be_visible()

    # A query with it (on one line: Enter would pick a completion), its answer on the right.
    page.get_by_role("region", name="Query Editor").locator(".CodeMirror").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("query Totals { orders { totalItems } }")
    expect(page.get_by_role("tab", name="Totals")).to_be_visible()
    page.get_by_role("button", name=re.compile("Execute query")).click()
    result = page.get_by_role("region", name="Result Window")
    expect(result).to_contain_text(f'"totalItems": {total_orders}', timeout=20_000)
    return first, fresh


def test_in_development_the_explorer_gets_a_demo_token_and_shows_the_docs_at_once(
    chromium: str,
    service: str,
    artifacts_dir: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _token(service)
    _create_order(service, token)
    total_orders = _total_orders(service, token)
    database = database_url.split(":", 1)[0].split("+")[0]
    screenshot = artifacts_dir / f"explorer-demo-token-{database}.png"
    log = BrowserLog(origin=service)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            page.add_init_script(CSP_LISTENER)
            log.attach(page)
            try:
                first, fresh = _use_the_demo_token(page, service, total_orders)
                stored = page.evaluate("() => Object.values(localStorage).join(' ')")
                csp_violations = page.evaluate("window.__cspViolations")
            finally:
                print(log)  # shown when the test fails
                page.screenshot(path=screenshot, full_page=True)
                with capsys.disabled():
                    print(f"\nscreenshot: {screenshot}")
        finally:
            browser.close()

    _assert_a_clean_page(log, csp_violations)
    # A token asked for twice, as the page loaded and on the press, from the service itself.
    token_requests = [url for url in log.requests if urlsplit(url).path == "/oauth/token"]
    assert token_requests == [f"{service}/oauth/token"] * 2
    assert log.graphql_headers[-1]["authorization"] == f"Bearer {fresh}"
    # Neither token outlives the page: nothing GraphiQL keeps holds them.
    assert "Totals" in stored and first not in stored and fresh not in stored
