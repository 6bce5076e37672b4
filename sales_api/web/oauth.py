"""HTTP endpoints of the built-in issuer: POST /oauth/token and GET /.well-known/jwks.json."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sales_api.web.issuer import DevIssuer, IssuerError

MAX_BODY = 16 * 1024


def token_endpoint(issuer: DevIssuer):  # type: ignore[no-untyped-def]
    async def token(request: Request) -> Response:
        try:
            params = await _read_params(request)
            client_id, client_secret = _client_credentials(request, params)
            if params.get("grant_type") != "client_credentials":
                raise IssuerError("unsupported_grant_type", "only client_credentials is supported")
            client = issuer.authenticate(client_id, client_secret)
            body = issuer.mint(client, params.get("audience"))
        except IssuerError as error:
            headers = {"WWW-Authenticate": "Basic"} if error.status == 401 else None
            return JSONResponse(
                {"error": error.error, "error_description": error.description},
                status_code=error.status,
                headers=headers,
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return token


def jwks_endpoint(issuer: DevIssuer):  # type: ignore[no-untyped-def]
    async def jwks(_request: Request) -> Response:
        return JSONResponse(issuer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    return jwks


async def _read_params(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise IssuerError("invalid_request", "request body too large", 413)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise IssuerError("invalid_request", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise IssuerError("invalid_request", "the body must be a JSON object")
        return {str(k): v for k, v in data.items() if isinstance(v, str)}
    if content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    raise IssuerError(
        "invalid_request", "send application/json or application/x-www-form-urlencoded"
    )


def _client_credentials(request: Request, params: dict[str, str]) -> tuple[str, str]:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
            client_id, _, client_secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise IssuerError("invalid_client", "malformed Basic credentials", 401) from None
        # RFC 6749 section 2.3.1: both are form-urlencoded before they are joined.
        return unquote_plus(client_id), unquote_plus(client_secret)
    if "client_id" not in params or "client_secret" not in params:
        raise IssuerError("invalid_client", "client_id and client_secret are required", 401)
    return params["client_id"], params["client_secret"]
