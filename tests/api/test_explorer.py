"""The explorer page over HTTP: everything it loads comes from the service, with a strict
Content-Security-Policy, and none of it is served when GraphiQL is off. The browser test
(tests/e2e/test_explorer_browser.py) runs the page itself."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from sales_api.app import create_app
from sales_api.settings import Settings
from sales_api.web.explorer import STATIC_DIR

PAGE = "/sales/v1/graphql"
ASSETS = "/sales/v1/graphql/explorer/"
HTML = {"Accept": "text/html"}


@pytest.fixture
async def client_without_graphiql(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"graphiql": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


async def test_the_page_sets_a_strict_policy_with_a_fresh_style_nonce(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get(PAGE, headers=HTML)
    second = await client.get(PAGE, headers=HTML)
    assert first.status_code == 200
    policy = _directives(first.headers["content-security-policy"])
    nonce = re.search(r'data-style-nonce="([^"]+)"', first.text)
    assert nonce is not None
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": f"'self' 'nonce-{nonce.group(1)}'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    assert nonce.group(1) not in second.text
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["cache-control"] == "no-store"


async def test_every_script_and_style_of_the_page_is_served_here(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get(PAGE, headers=HTML)).text
    assert "://" not in page  # no CDN, no other origin
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.DOTALL)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page and "style=" not in page
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {url.rsplit(".", 1)[1] for url in urls} == {"js", "css", "svg"}
    for url in urls:
        assert url.startswith(ASSETS), url
        response = await client.get(url)
        assert response.status_code == 200, url
        kind = {"js": "javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert kind[url.rsplit(".", 1)[1]] in response.headers["content-type"], url
        assert response.headers["x-content-type-options"] == "nosniff"
        vendored = url.startswith(f"{ASSETS}vendor/")
        immutable = "immutable" in response.headers["cache-control"]
        assert immutable == vendored, url


async def test_an_unchanged_asset_is_not_sent_again(client: httpx.AsyncClient) -> None:
    url = f"{ASSETS}sales-explorer.js"
    first = await client.get(url)
    again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_nothing_outside_the_assets_folder_is_served(client: httpx.AsyncClient) -> None:
    for path in ("../__init__.py", "..%2F__init__.py", "../page.html", "missing.js"):
        response = await client.get(f"{ASSETS}{path}")
        assert response.status_code == 404, path


async def test_a_get_that_is_not_from_a_browser_is_still_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(PAGE, headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_without_graphiql_neither_page_nor_assets_are_served(
    client_without_graphiql: httpx.AsyncClient,
) -> None:
    page = await client_without_graphiql.get(PAGE, headers=HTML)
    assert page.status_code == 405
    script = await client_without_graphiql.get(f"{ASSETS}sales-explorer.js")
    assert script.status_code == 404


def test_the_vendored_files_are_the_ones_their_readme_names() -> None:
    """Every vendored script and style is listed with its checksum, and none was changed."""
    vendor = STATIC_DIR / "vendor"
    readme = (vendor / "README.md").read_text("utf-8")
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    on_disk = {
        path.relative_to(vendor).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in vendor.rglob("*")
        if path.suffix in {".js", ".css"}
    }
    assert listed == on_disk
