"""The simulated payment provider's books over HTTP, in development only: a test (or a
curious developer) compares them with the service's own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from sales_api.domain.payments import ProviderEntry

Entries = Callable[[], Awaitable[list[ProviderEntry]]]


def ledger_endpoint(entries: Entries) -> Callable[[Request], Awaitable[JSONResponse]]:
    """GET /simulator/psp/ledger[?reference=<transaction or credit id>]:
    {"entries": [{"reference", "operation", "amount", "currency", "at"}]}."""

    async def ledger(request: Request) -> JSONResponse:
        reference = request.query_params.get("reference")
        found = [e for e in await entries() if reference is None or e.reference == reference]
        return JSONResponse(
            {
                "entries": [
                    {
                        "reference": e.reference,
                        "operation": e.operation,
                        "amount": f"{e.amount:.2f}",
                        "currency": e.currency,
                        "at": e.at.isoformat(),
                    }
                    for e in found
                ]
            }
        )

    return ledger
