"""GraphQL subscriptions over WebSocket: the graphql-transport-ws protocol (the one
GraphiQL and the `graphql-ws` client speak) at the GraphQL address.

Written here rather than taken from Strawberry's view because the service runs its own
HTTP view and runner: authentication reads the `connection_init` payload (headers as an
object) with the same token verifier, the same limits apply to subscription documents
(the runner prepares them), a connection holds a bounded number of subscriptions, and the
socket is closed when its token expires.

Close codes (graphql-transport-ws): 4400 bad message, 4403 no valid token (or it
expired), 4406 wrong subprotocol, 4408 no connection_init in time, 4409 an id in use,
4429 connection_init sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import orjson
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from sales_api.domain.caller import Caller
from sales_api.web.tokens import InvalidToken, VerifiedToken, VerifyToken

PROTOCOL = "graphql-transport-ws"
MAX_MESSAGE_BYTES = 64 * 1024
log = logging.getLogger("sales_api.subscriptions")

OpenStream = Callable[[object, Caller], Awaitable[list[Any] | AsyncIterator[dict[str, Any]]]]
"""A subscribe payload for a caller: the errors of a refusal (a list), or the results."""


class Gauges(Protocol):
    """Where open sockets and subscriptions are counted (the metrics)."""

    def sockets(self, change: int) -> None: ...

    def subscriptions(self, change: int) -> None: ...


class _Uncounted:
    def sockets(self, change: int) -> None:
        return None

    def subscriptions(self, change: int) -> None:
        return None


class SubscriptionEndpoint:
    def __init__(
        self,
        open_stream: OpenStream,
        *,
        verify_token: VerifyToken,
        max_subscriptions: int,
        init_timeout: float = 10.0,
        gauges: Gauges | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._verify_token = verify_token
        self._max_subscriptions = max_subscriptions
        self._init_timeout = init_timeout
        self._gauges: Gauges = gauges or _Uncounted()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        if PROTOCOL not in scope.get("subprotocols", []):
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        self._gauges.sockets(+1)
        try:
            await _Connection(self, websocket).run()
        finally:
            self._gauges.sockets(-1)


class _Connection:
    """One socket: its caller once acknowledged, and its running subscriptions."""

    def __init__(self, endpoint: SubscriptionEndpoint, websocket: WebSocket) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self.caller: Caller | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False

    async def run(self) -> None:
        expiry: asyncio.Task[None] | None = None
        try:
            verified = await self._initialise()
            if verified is None:
                return
            if verified.expires_at is not None:
                expiry = asyncio.create_task(self._close_at(verified.expires_at))
            while not self._closed:
                message = await self._receive()
                if message is None:
                    return
                await self._handle(message)
        except WebSocketDisconnect:
            pass
        finally:
            if expiry is not None:
                expiry.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            for task in list(self.operations.values()):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _initialise(self) -> VerifiedToken | None:
        try:
            message = await asyncio.wait_for(self._receive(), self.endpoint._init_timeout)
        except TimeoutError:
            await self.close(4408, "Connection initialisation timeout")
            return None
        if message is None:
            return None
        if message.get("type") != "connection_init":
            await self.close(4401, "Unauthorized")
            return None
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return None
        headers = {str(k).lower(): v for k, v in payload.items() if isinstance(v, str)}
        try:
            verified = await self.endpoint._verify_token(_bearer(headers.get("authorization")))
        except InvalidToken:
            await self.close(4403, "Forbidden")
            return None
        self.caller = Caller(
            organisation_id=verified.organisation_id,
            client_id=verified.client_id,
            permissions=verified.permissions,
            pos=_text(headers.get("entur-pos")),
            distribution_channel_id=_text(headers.get("entur-distribution-channel")),
            correlation_id=_correlation_id(headers.get("correlationid")),
        )
        await self.send({"type": "connection_ack"})
        return verified

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        elif kind == "connection_init":
            await self.close(4429, "Too many initialisation requests")
        else:
            await self.close(4400, f"Unknown message type: {kind!r}")

    async def _subscribe(self, message: dict[str, Any]) -> None:
        operation_id = message.get("id")
        payload = message.get("payload")
        if not isinstance(operation_id, str) or not operation_id or len(operation_id) > 100:
            await self.close(4400, "A subscribe message needs an id")
            return
        if not isinstance(payload, dict):
            await self.close(4400, "A subscribe message needs a payload")
            return
        if operation_id in self.operations:
            await self.close(4409, f"Subscriber for {operation_id} already exists")
            return
        if len(self.operations) >= self.endpoint._max_subscriptions:
            await self.send(
                {
                    "id": operation_id,
                    "type": "error",
                    "payload": [
                        {
                            "message": f"A connection holds at most "
                            f"{self.endpoint._max_subscriptions} subscriptions; complete one "
                            "first",
                            "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
                        }
                    ],
                }
            )
            return
        task = asyncio.create_task(self._run_operation(operation_id, payload))
        self.operations[operation_id] = task

    async def _run_operation(self, operation_id: str, payload: dict[str, Any]) -> None:
        assert self.caller is not None
        gauges = self.endpoint._gauges
        gauges.subscriptions(+1)
        try:
            opened = await self.endpoint._open_stream(payload, self.caller)
            if isinstance(opened, list):
                await self.send({"id": operation_id, "type": "error", "payload": opened})
                return
            try:
                async for result in opened:
                    await self.send({"id": operation_id, "type": "next", "payload": result})
            finally:
                aclose = getattr(opened, "aclose", None)
                if aclose is not None:
                    await aclose()
            await self.send({"id": operation_id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription %s failed", operation_id)
            with contextlib.suppress(Exception):
                await self.send(
                    {
                        "id": operation_id,
                        "type": "error",
                        "payload": [
                            {
                                "message": "Unexpected error; quote the correlation id when "
                                "reporting it",
                                "extensions": {
                                    "code": "INTERNAL_SERVER_ERROR",
                                    "correlationId": self.caller.correlation_id,
                                },
                            }
                        ],
                    }
                )
        finally:
            gauges.subscriptions(-1)
            self.operations.pop(operation_id, None)

    async def _close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.close(4403, "Forbidden: the token expired")

    async def _receive(self) -> dict[str, Any] | None:
        """The next message as JSON; None once the socket is closed (4400 for one that is
        not a JSON object, or too big)."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self._closed = True
            return None
        text = message.get("text")
        if text is None:
            await self.close(4400, "WebSocket message type must be text")
            return None
        if len(text) > MAX_MESSAGE_BYTES:
            await self.close(4400, "Message too large")
            return None
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.close(4400, "WebSocket message must be valid JSON")
            return None
        if not isinstance(decoded, dict):
            await self.close(4400, "WebSocket message must be a JSON object")
            return None
        return decoded

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if self._closed or self.websocket.application_state != WebSocketState.CONNECTED:
                return
            await self.websocket.send_text(orjson.dumps(message).decode())

    async def close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=reason)
        for task in list(self.operations.values()):
            if task is not asyncio.current_task():
                task.cancel()


def _bearer(value: str | None) -> str:
    if value is None:
        raise InvalidToken("no Authorization in the connection_init payload")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Authorization must be 'Bearer <token>'")
    return token.strip()


def _text(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def _correlation_id(value: str | None) -> str:
    if value:
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(value))
    return str(uuid.uuid4())
