"""Prometheus metrics: requests by operation and outcome, seats held, payments captured,
and the outbox backlog, in a registry of the app's own (never the process-wide default)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales_api.domain.live import EventNotice
from sales_api.domain.webhooks import WebhookDeliveryStatus

OutboxBacklog = Callable[[], Awaitable[int]]

# Operation names come from clients: only GraphQL names, and only so many distinct ones,
# become label values, so a client cannot grow the registry without bound.
MAX_OPERATIONS = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
ANONYMOUS = "anonymous"
OTHER = "other"
UNMATCHED = "unmatched"
log = logging.getLogger("sales_api.metrics")


class SalesMetrics:
    """The service's counters. Also the schema's SaleEvents: resolvers report seats held and
    payments captured here, so the domain never knows metrics exist."""

    def __init__(self, outbox_backlog: OutboxBacklog) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._outbox_backlog = outbox_backlog
        self._operations: set[str] = set()
        self.requests = Counter(
            "sales_requests",
            "Requests answered, by GraphQL operation name (or route path) and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "sales_request_seconds",
            "Time to answer a request, by GraphQL operation name (or route path)",
            ["operation"],
            registry=self.registry,
        )
        self.seat_holds = Counter(
            "sales_seat_holds",
            "Seats held by successful reserveOffers",
            registry=self.registry,
        )
        self.payments_captured = Counter(
            "sales_payments_captured",
            "Transactions captured",
            registry=self.registry,
        )
        self.payments_captured_amount = Counter(
            "sales_payments_captured_amount",
            "Money captured, in minor units (øre), by currency",
            ["currency"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "sales_outbox_backlog",
            "Outbox messages PENDING delivery, read at scrape time",
            registry=self.registry,
        )
        self.events_written = Counter(
            "sales_order_events",
            "Order events committed by this process, by type",
            ["type"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "sales_webhook_attempts",
            "Webhook delivery attempts by the status they left the delivery in "
            "(DELIVERED, PENDING: to be retried, FAILED: given up)",
            ["status"],
            registry=self.registry,
        )
        self.open_subscriptions = Gauge(
            "sales_open_subscriptions",
            "GraphQL subscriptions open on this process",
            registry=self.registry,
        )
        self.open_sockets = Gauge(
            "sales_open_websockets",
            "WebSocket connections (graphql-transport-ws) open on this process",
            registry=self.registry,
        )

    # -- SaleEvents --------------------------------------------------------------------------

    def seats_held(self, count: int) -> None:
        if count > 0:
            self.seat_holds.inc(count)

    def payment_captured(self, amount: Decimal, currency: str) -> None:
        self.payments_captured.inc()
        # Integer minor units: a float of kroner would drift; øre are exact up to 2**53.
        self.payments_captured_amount.labels(currency).inc(int(amount * 100))

    # -- events ------------------------------------------------------------------------------

    def events_committed(self, notices: Sequence[EventNotice]) -> None:
        for notice in notices:
            self.events_written.labels(notice.type.value).inc()

    def webhook_attempt(self, status: WebhookDeliveryStatus) -> None:
        self.webhook_deliveries.labels(status.value).inc()

    def sockets(self, change: int) -> None:
        self.open_sockets.inc(change)

    def subscriptions(self, change: int) -> None:
        self.open_subscriptions.inc(change)

    # -- requests ----------------------------------------------------------------------------

    def operation_label(self, name: str) -> str:
        """`name` as a label value: itself while few names are known, else `other`."""
        if name in self._operations:
            return name
        if len(self._operations) >= MAX_OPERATIONS:
            return OTHER
        self._operations.add(name)
        return name

    def record_request(self, operation: str, outcome: str, seconds: float) -> None:
        label = self.operation_label(operation)
        self.requests.labels(label, outcome).inc()
        self.request_seconds.labels(label).observe(seconds)

    async def exposition(self) -> bytes:
        """The text format, with the outbox backlog read now."""
        try:
            self.outbox_backlog.set(await self._outbox_backlog())
        except Exception:
            # A scrape still answers the request counters when the database does not.
            log.warning("outbox backlog could not be read", exc_info=True)
            self.outbox_backlog.set(float("nan"))
        return generate_latest(self.registry)


def graphql_operation_label(operation_name: str | None) -> str:
    """What GraphQL requests are counted under: the operation name, or `anonymous`."""
    if operation_name is None:
        return ANONYMOUS
    return operation_name if _OPERATION_NAME.fullmatch(operation_name) else OTHER


def _operation(scope: Scope) -> str:
    state = scope.get("state", {})
    if "graphql_errors" in state:  # the GraphQL view executed an operation
        return graphql_operation_label(state.get("operation_name"))
    # The route's template ("/sales/v1/tickets/{ticket_id}.pdf"), never the raw path:
    # raw paths carry ids, and unknown paths are anyone's to invent.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def request_outcome(status: int, scope: Scope) -> str:
    """ok, error (an HTTP error or GraphQL errors in the answer) or unauthorized."""
    if status == 401:
        return "unauthorized"
    if status >= 400 or scope.get("state", {}).get("graphql_errors"):
        return "error"
    return "ok"


class MetricsMiddleware:
    """Counts and times every HTTP request, as a pure ASGI middleware."""

    def __init__(self, app: ASGIApp, metrics: SalesMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.record_request(
                _operation(scope), request_outcome(status, scope), time.perf_counter() - started
            )


def metrics_endpoint(metrics: SalesMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(_request: Request) -> Response:
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return scrape
