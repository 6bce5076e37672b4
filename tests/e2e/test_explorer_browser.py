"""The GraphiQL explorer in a real browser: headless Chromium (Debian's `chromium`, never a
downloaded browser) driven by Playwright against the real app under uvicorn.

A user opens the page, sees the headers to fill in, pastes a token into the header editor,
types a query and runs it, and sees their order. Along the way the page must log no console
error, break no rule of its Content-Security-Policy, and ask nothing of any other origin
(so it works on a machine without internet). A screenshot is saved under
SALES_ARTIFACTS_DIR (default `artifacts/`) and its path printed, pass or fail.
"""

from __future__ import annotations

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
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect, sync_playwright

from sales_api.app import GRAPHQL_PATH, create_app
from sales_api.settings import Settings
from tests.served import DEMO_TOKEN_REQUEST

pytestmark = pytest.mark.slow

WEB_CHANNEL = "ENT:DistributionChannel:Web"
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


@pytest.fixture
def service(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        # log_config=None: uvicorn leaves the process's logging set-up alone.
        uvicorn.Config(create_app(settings), log_config=None, log_level="warning", access_log=False)
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


def test_the_explorer_runs_a_query_with_a_pasted_token_offline_under_its_csp(
    chromium: str,
    service: str,
    artifacts_dir: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _token(service)
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

    assert csp_violations == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.failures == []
    assert log.foreign_requests() == []
    # The run went to the service with the pasted token and the API's headers.
    sent = log.graphql_headers[-1]
    assert sent["authorization"] == f"Bearer {token}"
    assert sent["entur-pos"] == "e2e-explorer"
    assert sent["entur-distribution-channel"] == WEB_CHANNEL
