"""Requests outside GraphQL (ticket PDFs, ticket keys, readiness) whose database did not
answer in time: 503 with Retry-After and SERVICE_UNAVAILABLE, as GraphQL answers them."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales_api.web.graphql_view import graphql_error_body

RETRY_AFTER_SECONDS = 5


class UnavailableMiddleware:
    """A pure ASGI middleware: an exception `unavailable` recognises, raised before the
    response started, becomes a 503; anything else goes on up."""

    def __init__(self, app: ASGIApp, unavailable: Callable[[BaseException], bool]) -> None:
        self.app = app
        self.unavailable = unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception as error:
            if started or not self.unavailable(error):
                raise
            correlation_id = scope.get("state", {}).get("correlation_id", "")
            body = graphql_error_body(
                "The database is not answering; retry after the Retry-After seconds",
                "SERVICE_UNAVAILABLE",
                correlation_id,
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
