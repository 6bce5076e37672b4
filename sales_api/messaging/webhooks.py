"""Sends webhook deliveries: POST the event as JSON with the Standard Webhooks headers,
signed by the reference `standardwebhooks` code (the same receivers verify with).

The SSRF guard sits where the connection is made: the receiver's name is resolved there,
every address it resolves to is checked, and the connection goes to a checked address
(so a name cannot be pointed at an internal address between the check and the connect).
Redirects are not followed; the answer's body is never read."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpcore
import orjson
from standardwebhooks import Webhook

from sales_api.domain.webhooks import (
    DeliveryOutcome,
    WebhookDelivery,
    address_allowed,
    address_refusal,
    webhook_body,
)

USER_AGENT = b"sales-api-webhooks/1"


class AddressRefused(Exception):
    """The receiver resolves to an address webhooks are not sent to."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the rules allow, resolving names itself."""

    def __init__(self, *, allow_loopback: bool, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_loopback = allow_loopback
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
        )
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise AddressRefused(f"{host} does not resolve")
        for address in addresses:
            parsed = ipaddress.ip_address(address.split("%", 1)[0])
            if not address_allowed(
                parsed, allow_loopback=self._allow_loopback, allow_private=self._allow_private
            ):
                raise AddressRefused(address_refusal(f"{host} ({address})"))
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("webhooks are not sent to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HttpWebhookSender:
    """WebhookSender over HTTP(S). `timeout` bounds a whole attempt."""

    def __init__(self, *, timeout: float, allow_loopback: bool, allow_private: bool) -> None:
        self._timeout = timeout
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=100,
            keepalive_expiry=30,
            network_backend=GuardedBackend(
                allow_loopback=allow_loopback, allow_private=allow_private
            ),
        )

    async def send(self, delivery: WebhookDelivery) -> DeliveryOutcome:
        body = orjson.dumps(webhook_body(delivery.event)).decode()
        # The attempt's own wall-clock time: receivers check it against theirs.
        now = datetime.fromtimestamp(int(time.time()), UTC)
        signature = Webhook(delivery.secret).sign(delivery.event.id, now, body)
        headers = [
            (b"content-type", b"application/json"),
            (b"user-agent", USER_AGENT),
            (b"webhook-id", delivery.event.id.encode()),
            (b"webhook-timestamp", str(int(now.timestamp())).encode()),
            (b"webhook-signature", signature.encode()),
        ]
        limits = {"connect": self._timeout, "read": self._timeout, "write": self._timeout}
        try:
            async with asyncio.timeout(self._timeout):
                async with self._pool.stream(
                    "POST",
                    delivery.url,
                    headers=headers,
                    content=body.encode(),
                    extensions={"timeout": limits},
                ) as response:
                    status = response.status
        except AddressRefused as refused:
            return DeliveryOutcome(None, str(refused))
        except TimeoutError:
            return DeliveryOutcome(None, f"no answer within {self._timeout:g} s")
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as error:
            return DeliveryOutcome(None, f"{type(error).__name__}: {error}"[:300] or "no answer")
        except (httpcore.UnsupportedProtocol, OSError, ValueError) as error:
            return DeliveryOutcome(None, f"{type(error).__name__}: {error}"[:300])
        if 200 <= status < 300:
            return DeliveryOutcome(status)
        return DeliveryOutcome(status, f"the receiver answered {status}")

    async def close(self) -> None:
        await self._pool.aclose()
