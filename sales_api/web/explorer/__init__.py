"""The GraphQL explorer: our own GraphiQL page and the scripts and styles it loads, all
served by the service itself so it works offline and under a strict Content-Security-Policy."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from sales_api.web.issuer import DEMO_CLIENTS, IssuerClient

# Every script and style comes from this service; the page has no inline script or style.
# GraphiQL sets element.style from script (CSP allows that) and embeds its fonts as data:
# URLs. Its dialogs add one <style> element (the scroll lock of react-remove-scroll), let in
# by a nonce made per response: no 'unsafe-inline', no 'unsafe-eval'.
POLICY = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'nonce-{style_nonce}'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
# Vendored files carry their version in the path, so a browser may keep them for good;
# our own boot script and styles are revalidated (ETag) so a deploy is seen at once.
VENDOR_CACHE = "public, max-age=31536000, immutable"
OWN_CACHE = "no-cache"
PAGE_TEMPLATE = Path(__file__).with_name("page.html")
STATIC_DIR = Path(__file__).with_name("static").resolve()
# The page's one addition in development: sales-explorer.js asks for the token with what
# the button carries, once on load and again on each press.
DEMO_TOKEN_BAR = Template(
    '<header class="sales-explorer-bar">\n'
    '      <button type="button" id="demo-token" data-token-url="${token_url}"'
    ' data-client-id="${client_id}" data-client-secret="${client_secret}"'
    ' data-audience="${audience}" data-organisation="${organisation}">'
    "Use a demo token</button>\n"
    '      <span id="demo-token-status" role="status"></span>\n'
    "    </header>"
)


@dataclass(frozen=True, slots=True)
class DemoToken:
    """How the page gets a token by itself: client credentials of the built-in issuer's
    demo client (organisation 1) at its token endpoint. Development only: the built-in
    issuer is refused in production, and these credentials are no secret."""

    audience: str
    client: IssuerClient = DEMO_CLIENTS[0]
    token_url: str = "/oauth/token"

    def bar(self) -> str:
        """The page's bar with the "Use a demo token" button."""
        return DEMO_TOKEN_BAR.substitute(
            token_url=escape(self.token_url, quote=True),
            client_id=escape(self.client.client_id, quote=True),
            client_secret=escape(self.client.client_secret, quote=True),
            audience=escape(self.audience, quote=True),
            organisation=self.client.organisation_id,
        )


def assets_path(graphql_path: str) -> str:
    """Where the explorer's files are served: beside the endpoint, so a gateway that
    routes the API's prefix reaches them too."""
    return f"{graphql_path.rstrip('/')}/explorer"


def content_security_policy(style_nonce: str) -> str:
    """The page's Content-Security-Policy, naming the nonce its dialogs' <style> carries."""
    return "; ".join(POLICY).format(style_nonce=style_nonce)


def explorer_page(graphql_path: str, demo_token: DemoToken | None = None) -> HTMLResponse:
    """The GraphiQL page for the endpoint at `graphql_path`, with its security headers;
    with `demo_token`, a button that puts a demo token into the headers (and the page does
    so once as it loads)."""
    style_nonce = secrets.token_urlsafe(18)
    html = Template(PAGE_TEMPLATE.read_text("utf-8")).substitute(
        graphql_url=escape(graphql_path, quote=True),
        assets=escape(assets_path(graphql_path), quote=True),
        style_nonce=style_nonce,
        demo_token_bar=demo_token.bar() if demo_token is not None else "",
    )
    headers = {
        "Content-Security-Policy": content_security_policy(style_nonce),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # A nonce is good for one response only.
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)


class ExplorerAssets(StaticFiles):
    """The explorer's static files, with cache headers and nosniff."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = Path(full_path).relative_to(STATIC_DIR).parts[0] == "vendor"
        response.headers["Cache-Control"] = VENDOR_CACHE if vendored else OWN_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


__all__ = [
    "DemoToken",
    "ExplorerAssets",
    "assets_path",
    "content_security_policy",
    "explorer_page",
]
