"""What the domain needs from the outside world, as Protocols; persistence implements them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from sales_api.domain.after_sale import MoneyInFlight
from sales_api.domain.catalogue import Catalogue
from sales_api.domain.events import EventLog
from sales_api.domain.offers import OfferCodec
from sales_api.domain.orders import Order
from sales_api.domain.outbox import OutboxMessage
from sales_api.domain.payments import Credit, Payment, TransactionStatus
from sales_api.domain.receipts import Receipt
from sales_api.domain.refunds import Refund
from sales_api.domain.seating import SeatKey
from sales_api.domain.tickets import TicketDistribution, TicketDistributionGroup
from sales_api.domain.webhooks import (
    DeliveryOutcome,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)


class OrderRepository(Protocol):
    def add(self, order: Order) -> None:
        """Stage a new order for insertion at commit."""

    async def get_for_update(self, order_id: str, organisation_id: int | None) -> Order | None:
        """The whole aggregate, locked against concurrent writers until commit;
        `organisation_id=None` is for system work only (expiry)."""

    async def find_reservation_order(
        self, reservation_id: str, organisation_id: int
    ) -> tuple[str, str] | None:
        """(order id, service journey id) of the caller's reservation."""

    async def expired_order_ids(self, now: datetime, limit: int) -> list[str]: ...

    async def with_confirmed_line_on(
        self, journey_id: str, organisation_id: int | None
    ) -> list[str]:
        """Orders with a CONFIRMED line on the service journey: the organisation's, or
        everyone's for system work (`None`)."""

    async def save(self, order: Order) -> None:
        """Write back an aggregate loaded with `get_for_update`."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    operation: str
    request_hash: str
    result: dict[str, Any]


class IdempotencyKeys(Protocol):
    async def claim(
        self, organisation_id: int, key: str, operation: str, request_hash: str, now: datetime
    ) -> IdempotencyRecord | None:
        """None when this transaction now owns the key; else the first claimant's record."""

    async def complete(self, organisation_id: int, key: str, result: dict[str, Any]) -> None:
        """Record what the owner's work produced, in the same transaction."""

    async def forget_older_than(self, moment: datetime) -> int:
        """Drop keys claimed before `moment`; returns how many."""


class SeatInventory(Protocol):
    async def lock_journey(self, journey_id: str) -> None: ...

    async def release_expired(self, journey_id: str, now: datetime) -> None: ...

    async def taken(
        self,
        journey_id: str,
        from_index: int,
        to_index: int,
        now: datetime,
        excluding: Sequence[str] = (),
    ) -> set[SeatKey]: ...

    async def sync(self, order: Order) -> None:
        """Make the holds match the order's reservations; SEAT_UNAVAILABLE if a seat it
        holds was taken by another sale meanwhile."""


class ReferenceData(Protocol):
    async def catalogue(self) -> Catalogue: ...

    async def offer_codec(self) -> OfferCodec: ...


class SalesReads(Protocol):
    """What use cases that only read (change and refund options, offers, seat maps, ticket
    checks) need from the read side, always the caller's own (others' are absent)."""

    async def order(self, order_id: str) -> Order | None:
        """The order as the rules see it (travellers, lines, reservations)."""

    async def ticket(self, ticket_id: str) -> TicketDistribution | None: ...

    async def disrupted(self, journey_ids: Sequence[str]) -> set[str]:
        """Which of the service journeys are disrupted (no longer sold)."""

    async def money_in_flight(self, order_id: str) -> MoneyInFlight:
        """What money of the (already read) order is moving now."""

    async def live_holds(
        self, journey_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[int, str, int]]]:
        """(car, seat, leg) of every live hold, per journey."""

    async def taken(
        self, journey_id: str, from_index: int, to_index: int, now: datetime
    ) -> set[SeatKey]: ...


class PaymentRepository(Protocol):
    async def order_of_payment(self, payment_id: str, organisation_id: int) -> str | None: ...

    async def payment_of_transaction(
        self, transaction_id: str, organisation_id: int | None
    ) -> tuple[str, str] | None:
        """(order id, payment id) of the caller's transaction (None: any, for system work)."""

    async def transaction_status(self, transaction_id: str) -> TransactionStatus | None: ...

    async def unsettled_captures(
        self, sent_before: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        """(id, sent at) of transactions PENDING since before `sent_before`."""

    async def for_order(self, order_id: str) -> list[Payment]:
        """Every payment of an order, with its transactions."""

    async def credits_for_order(self, order_id: str) -> list[Credit]: ...

    async def unsettled_credits(
        self, created_before: datetime, limit: int
    ) -> list[tuple[str, str, datetime]]:
        """(id, refund id, created at) of credits still CREATED since before then."""

    async def save(self, payment: Payment) -> None: ...

    async def save_credit(self, credit: Credit, *, new: bool) -> None: ...


class TicketRepository(Protocol):
    async def groups_for_order(self, order_id: str) -> list[TicketDistributionGroup]: ...

    async def add_group(self, group: TicketDistributionGroup) -> None: ...

    async def save_ticket(self, ticket: TicketDistribution) -> None: ...


class ReceiptRepository(Protocol):
    async def add(self, receipt: Receipt) -> None: ...


class RefundRepository(Protocol):
    async def get(self, refund_id: str) -> Refund | None: ...

    async def pending(self, order_id: str) -> list[Refund]:
        """The order's refunds whose credits are not all answered yet."""

    async def pending_line_ids(self, order_id: str) -> set[str]:
        """Lines of the order's refunds that the provider has not finished."""

    async def save(self, refund: Refund, *, new: bool) -> None: ...


class DistributionChannels(Protocol):
    async def allows(self, channel_id: str, organisation_id: int) -> bool:
        """Whether the organisation may sell and refund through this channel."""


class WebhookSubscriptions(Protocol):
    """An organisation's webhook subscriptions, and deliveries asked for again."""

    async def add(self, subscription: WebhookSubscription) -> None: ...

    async def get_for_update(
        self, subscription_id: str, organisation_id: int
    ) -> WebhookSubscription | None: ...

    async def deactivate(self, subscription_id: str, now: datetime) -> None:
        """Inactive for good; its PENDING deliveries FAILED (nothing more is sent to it)."""

    async def count_active(self, organisation_id: int) -> int: ...

    async def redeliver(self, delivery_id: str, organisation_id: int, now: datetime) -> str | None:
        """A new PENDING delivery of the same event to the same (active) subscription, due
        now; its id, or None when the delivery is not the organisation's or its
        subscription is inactive."""


class WebhookStore(Protocol):
    """The webhook outbox as the delivery worker sees it: leased, then finished, each in a
    short transaction of its own (never open while a receiver is asked)."""

    async def claim_due(
        self, now: datetime, limit: int, lease: timedelta
    ) -> list[WebhookDelivery]: ...

    async def finish(
        self,
        delivery: WebhookDelivery,
        outcome: DeliveryOutcome,
        now: datetime,
        retry_at: datetime | None,
    ) -> WebhookDeliveryStatus:
        """Record an attempt: DELIVERED on a 2xx; else PENDING until `retry_at`, or FAILED
        when it is None. Returns the status recorded."""


class WebhookSender(Protocol):
    async def send(self, delivery: WebhookDelivery) -> DeliveryOutcome:
        """POST the event to the subscription's URL, signed; never raises."""


class Disruptions(Protocol):
    async def disrupt(
        self, journey_id: str, reason: str, organisation_id: int, client_id: str, now: datetime
    ) -> bool:
        """Mark the journey disrupted and every line sold on it; False when it already was."""

    async def disrupted_among(self, journey_ids: Iterable[str]) -> set[str]: ...


class UnitOfWork(Protocol):
    """One database transaction. Leaving the block without `commit()` rolls everything back."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def channels(self) -> DistributionChannels: ...

    @property
    def seats(self) -> SeatInventory: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def receipts(self) -> ReceiptRepository: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def refunds(self) -> RefundRepository: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def webhooks(self) -> WebhookSubscriptions: ...

    @property
    def disruptions(self) -> Disruptions: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """A unit of work; `write=True` takes the write lock up front (SQLite IMMEDIATE)."""


class OutboxStore(Protocol):
    """Messages waiting for delivery. Claiming leases them to one worker at a time, so
    several processes on one database never deliver a message twice."""

    def add(self, message: OutboxMessage) -> None:
        """Stage a message in the caller's transaction (written at commit)."""

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """PENDING messages due by `now`, leased until now + lease (in their own transaction)."""

    async def mark_sent(self, message_id: str, now: datetime) -> None: ...

    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime) -> None: ...

    async def mark_failed(self, message_id: str, error: str, now: datetime) -> None: ...

    async def backlog(self) -> int:
        """How many messages are PENDING."""
