"""Ticket files and keys over plain HTTP: the PDF of a ticket (same bearer token as the
API) and the public ticket keys for inspectors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sales_api.domain.caller import Caller, PermissionDenied
from sales_api.web.graphql_view import graphql_error_body, verify_bearer
from sales_api.web.tokens import InvalidToken, VerifyToken

TicketPdf = Callable[[Caller, str], Awaitable[bytes | None]]


def ticket_pdf_endpoint(verify_token: VerifyToken, ticket_pdf: TicketPdf):  # type: ignore[no-untyped-def]
    async def download(request: Request) -> Response:
        correlation_id = request.scope.get("state", {}).get("correlation_id", "")
        try:
            verified = await verify_bearer(request.scope, verify_token)
        except InvalidToken as error:
            return Response(
                graphql_error_body(f"Unauthorized: {error}", "UNAUTHENTICATED", correlation_id),
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        caller = Caller(
            organisation_id=verified.organisation_id,
            client_id=verified.client_id,
            permissions=verified.permissions,
            correlation_id=correlation_id,
        )
        ticket_id = request.path_params["ticket_id"]
        # No ticket id holds a NUL ("%00"), and PostgreSQL fails a query that carries one.
        plausible = len(ticket_id) <= 32 and "\x00" not in ticket_id
        try:
            pdf = await ticket_pdf(caller, ticket_id) if plausible else None
        except PermissionDenied as error:
            return Response(
                graphql_error_body(str(error), "FORBIDDEN", correlation_id),
                status_code=403,
                media_type="application/json",
            )
        if pdf is None:
            return Response(
                graphql_error_body("Ticket not found", "NOT_FOUND", correlation_id),
                status_code=404,
                media_type="application/json",
            )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="ticket-{ticket_id}.pdf"',
                "Cache-Control": "private, no-store",
            },
        )

    return download


def ticket_keys_endpoint(jwks: Callable[[], Awaitable[dict[str, Any]]]):  # type: ignore[no-untyped-def]
    async def keys(_request: Request) -> Response:
        return JSONResponse(await jwks(), headers={"Cache-Control": "public, max-age=300"})

    return keys
