"""Liveness and readiness probes for the platform: no token, no database access of their own.
The readiness check is injected, so this module never imports persistence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""None when the service can take traffic; otherwise one sentence saying what is wrong."""
Endpoint = Callable[[Request], Awaitable[JSONResponse]]

READINESS_TIMEOUT_SECONDS = 3.0
log = logging.getLogger("sales_api.health")


def _forget(task: asyncio.Task[str | None]) -> None:
    """Collects an abandoned check's outcome, so it is never reported as unretrieved."""
    if not task.cancelled():
        task.exception()


def live_endpoint() -> Endpoint:
    """200 while the process runs and its event loop answers; nothing else is checked, so
    a database outage never gets the process restarted."""

    async def live(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return live


def ready_endpoint(
    check: ReadinessCheck, timeout_seconds: float = READINESS_TIMEOUT_SECONDS
) -> Endpoint:
    """200 when `check` finds nothing wrong; 503 with the reason otherwise. A check that
    hangs (a database behind a dead network) is a 503 after `timeout_seconds`, not a hang."""

    async def ready(_request: Request) -> JSONResponse:
        # The check runs as a task of its own and is abandoned at the timeout: waiting for
        # a cancelled connect to unwind (asyncio.wait_for does) took seconds more.
        task = asyncio.ensure_future(check())
        done, _ = await asyncio.wait({task}, timeout=timeout_seconds)
        if not done:
            task.cancel()
            task.add_done_callback(_forget)
            problem: str | None = f"the readiness check did not finish within {timeout_seconds:g}s"
        elif task.exception() is not None:
            error = task.exception()
            log.warning("readiness check failed", exc_info=error)
            problem = f"the readiness check failed ({type(error).__name__})"
        else:
            problem = task.result()
        if problem is not None:
            log.warning("not ready: %s", problem)
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    return ready
