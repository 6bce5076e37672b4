"""uvicorn with the limits it lacks against slow and idle clients.

uvicorn closes a keep-alive connection idle after a response, but a connection that never
sends a request stays open for ever, and so does one that sends its headers or its body a
byte at a time: enough of them exhaust the process's file descriptors, and /health/live
fails with everything else. This protocol (uvicorn's httptools one, with timers) closes:

- a connection whose request headers are not complete `header_timeout` seconds after it
  opened or after its last response (idle and slow-header sockets);
- a request whose body is not complete `body_timeout` seconds after its headers;

and keeps at most `max_connections` open: a new connection beyond the cap makes room by
closing the longest idle one (no request in progress); when none is idle, the request is
answered 503 (Retry-After), except /health/live, which always answers. Past twice the
cap, new connections are closed at once (the file descriptors are what is protected).

Chosen over another server (Hypercorn, Granian): uvicorn is what the service runs on and
is measured with; its protocol class is meant to be chosen (`http=`), and these timers are
a few callbacks on it.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEALTH_LIVE = "/health/live"


class Limits:
    """The limits of one server, set from the service's settings before it starts."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_connections = 1000


class GuardedProtocol(HttpToolsProtocol):
    limits = Limits

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._request_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self.idle_since = time.monotonic()

    # -------------------------------------------------------------- the cap

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.limits.max_connections
        if len(self.connections) > cap:
            self._make_room()
        if len(self.connections) > 2 * cap:
            transport.close()
            return
        self.idle_since = time.monotonic()
        self._arm_request_timer()

    def _make_room(self) -> None:
        """Close the connection idle the longest (not this one)."""
        idle = [
            c
            for c in self.connections
            if c is not self and isinstance(c, GuardedProtocol) and c.is_idle()
        ]
        if idle:
            oldest = min(idle, key=lambda c: c.idle_since)
            oldest.transport.close()

    def is_idle(self) -> bool:
        """No request in progress: none yet, or the last one answered."""
        return self.cycle is None or self.cycle.response_complete

    def on_headers_complete(self) -> None:
        self._cancel_request_timer()
        over = len(self.connections) > self.limits.max_connections
        path = self.url.split(b"?", 1)[0]
        if over and path != HEALTH_LIVE.encode():
            app, self.app = self.app, over_capacity
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()
        if not self.parser.should_upgrade() and self._expects_body():
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._too_slow)

    def _expects_body(self) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                return value.strip() not in (b"", b"0")
            if name == b"transfer-encoding":
                return True
        return False

    # -------------------------------------------------------------- the timers

    def on_message_complete(self) -> None:
        self._cancel_body_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self.idle_since = time.monotonic()
            self._arm_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_request_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def _arm_request_timer(self) -> None:
        self._cancel_request_timer()
        self._request_timer = self.loop.call_later(self.limits.header_timeout, self._too_slow)

    def _cancel_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _too_slow(self) -> None:
        """Headers or body not in time: the connection is closed (an application waiting
        for the body is told the client disconnected)."""
        if not self.transport.is_closing():
            self.transport.close()


OVER_CAPACITY = (
    b'{"data":null,"errors":[{"message":"The service has too many open connections; retry '
    b'after the Retry-After seconds","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}'
)


async def over_capacity(scope: Any, receive: Any, send: Any) -> None:
    """The answer beyond the connection cap, before the application sees the request."""
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(OVER_CAPACITY)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": OVER_CAPACITY})


def configure_limits(header_timeout: float, body_timeout: float, max_connections: int) -> None:
    Limits.header_timeout = header_timeout
    Limits.body_timeout = body_timeout
    Limits.max_connections = max_connections


def raise_open_file_limit(wanted: int) -> int:
    """The process's soft limit of open files raised towards `wanted` (never above the hard
    limit): a listening server needs one per connection. Returns the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
