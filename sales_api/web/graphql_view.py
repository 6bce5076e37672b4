"""The GraphQL endpoint: bearer token first, then Strawberry with a typed context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from sales_api.domain.caller import Caller
from sales_api.web.explorer import explorer_page
from sales_api.web.tokens import InvalidToken, VerifiedToken, VerifyToken

ContextFactory = Callable[[Caller], Any]
MAX_BODY_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is (or says it is) over the limit."""


def graphql_error_body(message: str, code: str, correlation_id: str) -> bytes:
    return orjson.dumps(
        {
            "data": None,
            "errors": [
                {"message": message, "extensions": {"code": code, "correlationId": correlation_id}}
            ],
        }
    )


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


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over the body already read, then listens to the client."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    if value is None:
        return None
    return value.strip()


class SalesGraphQLView(GraphQL[Any, None]):
    """POST JSON only (no queries in URLs, where tokens and data would be logged), one
    operation per request (no batches), at most `max_body_bytes`; GET from a browser serves
    GraphiQL when it is enabled."""

    def __init__(
        self,
        schema: BaseSchema,
        *,
        verify_token: VerifyToken,
        context_factory: ContextFactory,
        graphiql: bool,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=False,
        )
        self._verify_token = verify_token
        self._context_factory = context_factory
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _respond(send, 404, b'{"errors":[{"message":"not found"}]}')
            return
        correlation_id = scope.get("state", {}).get("correlation_id", "")
        method = scope["method"]
        if method == "GET":
            accepts = next((v for n, v in scope["headers"] if n == b"accept"), b"")
            if self.graphql_ide and b"text/html" in accepts:
                response = await self.render_graphql_ide(Request(scope))
                await response(scope, receive, send)
                return
            await _respond(
                send,
                405,
                graphql_error_body(
                    "Send GraphQL as a POST with a JSON body", "BAD_REQUEST", correlation_id
                ),
                [(b"allow", b"POST")],
            )
            return
        if method != "POST":
            await _respond(
                send,
                405,
                graphql_error_body("Use POST with a JSON body", "BAD_REQUEST", correlation_id),
                [(b"allow", b"GET, POST")],
            )
            return
        if declares_too_large(scope, self._max_body_bytes):
            await self._too_large(send, correlation_id)  # refused before reading a byte
            return
        try:
            verified = await self._verify(scope)
        except InvalidToken as error:
            await _respond(
                send,
                401,
                graphql_error_body(f"Unauthorized: {error}", "UNAUTHENTICATED", correlation_id),
                [(b"www-authenticate", b'Bearer error="invalid_token"')],
            )
            return
        scope["state"]["verified_token"] = verified
        scope["state"]["organisation_id"] = verified.organisation_id
        try:
            body = await read_body(scope, receive, self._max_body_bytes)
        except BodyTooLarge:
            await self._too_large(send, correlation_id)
            return
        except ClientDisconnect:
            return
        if body.lstrip()[:1] == b"[":
            # Strawberry refuses batches unless configured to; refused here whatever it does.
            await _respond(
                send,
                400,
                graphql_error_body(
                    "Batched operations are not supported: send one operation per request",
                    "BAD_REQUEST",
                    correlation_id,
                ),
            )
            return
        request = Request(scope=scope, receive=_replaying(body, receive))
        try:
            response = await self.run(request)
        except HTTPException as error:
            # Strawberry answers a request it cannot take (no query, an unknown
            # operationName, a body that is not JSON) in plain text; clients parse JSON.
            await _respond(
                send,
                error.status_code,
                graphql_error_body(error.reason, "BAD_REQUEST", correlation_id),
            )
            return
        await response(scope, receive, send)

    async def _too_large(self, send: Send, correlation_id: str) -> None:
        message = f"The request body is larger than {self._max_body_bytes} bytes"
        await _respond(send, 413, graphql_error_body(message, "PAYLOAD_TOO_LARGE", correlation_id))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page: every file from this service, no CDN, a strict CSP."""
        return explorer_page(request.url.path)

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Any,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Executes, and notes the operation and whether it failed for the access log and
        the metrics (both read the request's state when it is answered)."""
        state = request.scope["state"]
        state["operation_name"] = request_data.operation_name
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )
        state["graphql_errors"] = bool(result.errors)
        # The document's own name when the request names none (a schema extension notes it).
        state["operation_name"] = getattr(context, "operation_name", None) or (
            request_data.operation_name
        )
        return result

    async def _verify(self, scope: Scope) -> VerifiedToken:
        return await verify_bearer(scope, self._verify_token)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Any:
        assert isinstance(request, Request)
        state = request.scope["state"]
        verified: VerifiedToken = state["verified_token"]
        caller = Caller(
            organisation_id=verified.organisation_id,
            client_id=verified.client_id,
            permissions=verified.permissions,
            pos=_header(request, "entur-pos"),
            distribution_channel_id=_header(request, "entur-distribution-channel"),
            correlation_id=state.get("correlation_id", ""),
        )
        return self._context_factory(caller)

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["SalesGraphQLView", "graphql_error_body", "verify_bearer"]
