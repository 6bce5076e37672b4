"""The GraphQL endpoint: the bearer token first, then the body, then the schema's runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from sales_api.domain.caller import Caller
from sales_api.web.explorer import DemoToken, explorer_page
from sales_api.web.json_body import MalformedBody, decode_body
from sales_api.web.tokens import InvalidToken, VerifiedToken, VerifyToken

MAX_BODY_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is (or says it is) over the limit."""


JSON = b"application/json"
GRAPHQL_RESPONSE = b"application/graphql-response+json"


def graphql_error_body(
    message: str, code: str, correlation_id: str, *, with_data: bool = True
) -> bytes:
    error = {"message": message, "extensions": {"code": code, "correlationId": correlation_id}}
    if not with_data:
        return orjson.dumps({"errors": [error]})
    return orjson.dumps({"data": None, "errors": [error]})


def response_media_type(accept: bytes) -> bytes:
    """The answer's media type by the request's Accept header (GraphQL over HTTP):
    application/graphql-response+json when the client accepts it at least as much as
    application/json; else application/json (also without an Accept header, as the
    specification asks of servers during its transition)."""
    if GRAPHQL_RESPONSE not in accept.lower():
        return JSON
    weights: dict[bytes, float] = {}
    for part in accept.lower().split(b","):
        media, *parameters = part.split(b";")
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition(b"=")
            if name.strip() == b"q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        weights[media.strip()] = max(weight, weights.get(media.strip(), 0.0))
    wanted = weights.get(GRAPHQL_RESPONSE, 0.0)
    if wanted > 0 and wanted >= weights.get(JSON, 0.0):
        return GRAPHQL_RESPONSE
    return JSON


async def verify_bearer(scope: Scope, verify_token: VerifyToken) -> VerifiedToken:
    """The verified identity of `Authorization: Bearer <token>` (never a URL parameter)."""
    authorization = next(
        (value for name, value in scope["headers"] if name == b"authorization"), None
    )
    if authorization is None:
        raise InvalidToken("an Authorization: Bearer token is required")
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return await verify_token(token.strip())


def declares_too_large(scope: Scope, limit: int) -> bool:
    declared = next((v for n, v in scope["headers"] if n == b"content-length"), b"")
    return declared.isdigit() and int(declared) > limit


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body, refused with BodyTooLarge as soon as it passes `limit` bytes:
    at once when Content-Length says so, else while it streams in (chunked, or a
    Content-Length that lies), so an oversized body is never held in memory."""
    if declares_too_large(scope, limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


Respond = Callable[[object, Caller], Awaitable[Any]]
"""Answers a decoded JSON body for a caller: an object with `status`, `body` (a dict),
`operation_name` and `failed` (the schema's GraphQLRunner.respond)."""


class SalesGraphQLView:
    """POST JSON only (no queries in URLs, where tokens and data would be logged), one
    operation per request (no batches), at most `max_body_bytes`; GET from a browser serves
    GraphiQL when it is enabled, with a button for a demo token when `demo_token` is given
    (the built-in issuer is on)."""

    def __init__(
        self,
        respond: Respond,
        *,
        verify_token: VerifyToken,
        graphiql: bool,
        demo_token: DemoToken | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._respond = respond
        self._verify_token = verify_token
        self.graphiql = graphiql
        self._demo_token = demo_token
        self._max_body_bytes = max_body_bytes
        self._too_large = f"The request body is larger than {max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _respond(send, 404, b'{"errors":[{"message":"not found"}]}')
            return
        correlation_id = scope.get("state", {}).get("correlation_id", "")
        method = scope["method"]
        accepts = next((v for n, v in scope["headers"] if n == b"accept"), b"")
        media = response_media_type(accepts)

        async def refuse(
            status: int, message: str, code: str, headers: list[tuple[bytes, bytes]] | None = None
        ) -> None:
            body = graphql_error_body(message, code, correlation_id, with_data=media == JSON)
            await _respond(send, status, body, headers, media)

        if method == "GET":
            if self.graphiql and b"text/html" in accepts:
                response = explorer_page(scope["path"], self._demo_token)
                await response(scope, receive, send)
                return
            await refuse(
                405, "Send GraphQL as a POST with a JSON body", "BAD_REQUEST", [(b"allow", b"POST")]
            )
            return
        if method != "POST":
            await refuse(
                405, "Use POST with a JSON body", "BAD_REQUEST", [(b"allow", b"GET, POST")]
            )
            return
        too_large = self._too_large
        if declares_too_large(scope, self._max_body_bytes):
            await refuse(413, too_large, "PAYLOAD_TOO_LARGE")  # before reading a byte
            return
        try:
            verified = await verify_bearer(scope, self._verify_token)
        except InvalidToken as error:
            await refuse(
                401,
                f"Unauthorized: {error}",
                "UNAUTHENTICATED",
                [(b"www-authenticate", b'Bearer error="invalid_token"')],
            )
            return
        state = scope["state"]
        state["verified_token"] = verified
        state["organisation_id"] = verified.organisation_id
        try:
            body = await read_body(scope, receive, self._max_body_bytes)
        except BodyTooLarge:
            await refuse(413, too_large, "PAYLOAD_TOO_LARGE")
            return
        except ClientDisconnect:
            return
        refusal = _body_problem(scope, body)
        if refusal is not None:
            await refuse(400, refusal, "BAD_REQUEST")
            return
        try:
            decoded = decode_body(body)
        except MalformedBody as malformed:
            await refuse(400, str(malformed), "BAD_REQUEST")
            return
        answer = await self._respond(decoded, _caller(scope, verified, correlation_id))
        state["operation_name"] = answer.operation_name
        state["graphql_errors"] = answer.failed
        status, result = answer.status, answer.body
        if media == GRAPHQL_RESPONSE and answer.request_error:
            # A request error under application/graphql-response+json: a 4xx status and
            # no `data` entry (nothing was executed).
            status = 400 if status == 200 else status
            result = {key: value for key, value in result.items() if key != "data"}
        await _respond(send, status, orjson.dumps(result), list(answer.headers), media)


def _body_problem(scope: Scope, body: bytes) -> str | None:
    """Why the body cannot be a GraphQL request, before it is decoded."""
    content_type = next((v for n, v in scope["headers"] if n == b"content-type"), b"")
    if b"application/json" not in content_type.lower():
        return "Unsupported content type: send the request body as application/json"
    if body.lstrip()[:1] == b"[":
        return "Batched operations are not supported: send one operation per request"
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    value = next((v for n, v in scope["headers"] if n == name), None)
    return None if value is None else value.decode("latin-1").strip()


def _caller(scope: Scope, verified: VerifiedToken, correlation_id: str) -> Caller:
    return Caller(
        organisation_id=verified.organisation_id,
        client_id=verified.client_id,
        permissions=verified.permissions,
        pos=_header(scope, b"entur-pos"),
        distribution_channel_id=_header(scope, b"entur-distribution-channel"),
        correlation_id=correlation_id,
    )


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    media: bytes = JSON,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media + b"; charset=utf-8" if media != JSON else media),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["SalesGraphQLView", "graphql_error_body", "verify_bearer"]
