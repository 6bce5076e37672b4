"""The explorer page over HTTP: everything it loads comes from the service, with a strict
Content-Security-Policy, and none of it is served when GraphiQL is off; in development it
offers a demo token, never in production. The browser test
(tests/e2e/test_explorer_browser.py) runs the page itself."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sales_api.app import create_app
from sales_api.settings import Settings
from sales_api.web.explorer import STATIC_DIR

PAGE = "/sales/v1/graphql"
ASSETS = "/sales/v1/graphql/explorer/"
HTML = {"Accept": "text/html"}
DEMO_BUTTON = re.compile(r'<button type="button" id="demo-token"([^>]*)>Use a demo token</button>')


@pytest.fixture
async def client_without_graphiql(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"graphiql": False}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


async def _page_without_the_builtin_issuer(settings: Settings, **changes: Any) -> str:
    """The explorer page of an app whose tokens come from an outside identity provider."""
    app = create_app(
        Settings(
            **{
                **settings.model_dump(),
                "builtin_issuer": False,
                "auth_jwks_url": "https://idp.example/.well-known/jwks.json",
                "graphiql": True,
                **changes,
            }
        )
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = await client.get(PAGE, headers=HTML)
            assert page.status_code == 200
            assert (await client.post("/oauth/token", json={})).status_code == 404
            return page.text
    finally:
        await app.state.reads.close()
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


async def test_in_development_the_page_offers_a_demo_token_that_opens_the_schema(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get(PAGE, headers=HTML)).text
    button = DEMO_BUTTON.search(page)
    assert button is not None, page
    asks = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', button.group(1)))
    assert asks["client-id"] == "demo-app" and asks["organisation"] == "1"
    # What the page's script sends: the service's token endpoint gives a token for it...
    response = await client.post(
        asks["token-url"],
        json={
            "grant_type": "client_credentials",
            "client_id": asks["client-id"],
            "client_secret": asks["client-secret"],
            "audience": asks["audience"],
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    # ...with which the explorer reads the schema for its docs.
    introspection = await client.post(
        PAGE,
        json={"query": "{ __schema { queryType { name fields { name } } } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    query_type = introspection.json()["data"]["__schema"]["queryType"]
    assert query_type["name"] == "Query"
    assert "orders" in {field["name"] for field in query_type["fields"]}


@pytest.mark.parametrize("env", ["development", "production"])
async def test_without_the_builtin_issuer_the_page_offers_no_demo_token(
    settings: Settings, env: str
) -> None:
    page = await _page_without_the_builtin_issuer(settings, env=env)
    assert 'id="graphiql"' in page
    assert DEMO_BUTTON.search(page) is None
    assert "demo-token" not in page and "<button" not in page


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
