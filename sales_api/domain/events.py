"""Order events: what happened to an order, who made it happen and through which request,
written in the same transaction as the change (the audit trail, and what webhooks and
subscriptions send)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sales_api.domain.caller import Caller
from sales_api.domain.ids import new_id


class OrderEventType(StrEnum):
    ORDER_CREATED = "ORDER_CREATED"
    ORDER_UPDATED = "ORDER_UPDATED"
    OFFERS_RESERVED = "OFFERS_RESERVED"
    SEATS_CHANGED = "SEATS_CHANGED"
    ORDER_LINES_CANCELLED = "ORDER_LINES_CANCELLED"
    ORDER_EXPIRY_EXTENDED = "ORDER_EXPIRY_EXTENDED"
    PAYMENT_CREATED = "PAYMENT_CREATED"
    PAYMENT_UPDATED = "PAYMENT_UPDATED"
    TRANSACTION_CREATED = "TRANSACTION_CREATED"
    TRANSACTION_CAPTURED = "TRANSACTION_CAPTURED"
    TRANSACTION_CANCELLED = "TRANSACTION_CANCELLED"
    TRANSACTION_FAILED = "TRANSACTION_FAILED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ORDER_RESET = "ORDER_RESET"
    ORDER_EXPIRED = "ORDER_EXPIRED"
    TICKETS_GENERATED = "TICKETS_GENERATED"
    TICKETS_DISTRIBUTED = "TICKETS_DISTRIBUTED"
    TICKETS_DISABLED = "TICKETS_DISABLED"
    RECEIPT_QUEUED = "RECEIPT_QUEUED"
    RECEIPT_SENT = "RECEIPT_SENT"
    RECEIPT_FAILED = "RECEIPT_FAILED"
    ORDER_REFUNDED = "ORDER_REFUNDED"
    ORDER_LINES_EXCHANGED = "ORDER_LINES_EXCHANGED"
    FEE_ADDED = "FEE_ADDED"
    ORDER_COMPENSATED = "ORDER_COMPENSATED"
    SERVICE_JOURNEY_DISRUPTED = "SERVICE_JOURNEY_DISRUPTED"
    ORDER_LINES_REBOOKED = "ORDER_LINES_REBOOKED"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    id: str
    organisation_id: int
    order_id: str
    order_version: int
    type: OrderEventType
    occurred_at: datetime
    client_id: str | None
    pos: str | None
    distribution_channel_id: str | None
    correlation_id: str | None
    subject_ids: tuple[str, ...]


class EventLog(Protocol):
    def add(self, event: OrderEvent) -> None:
        """Stage an event; it is written with the unit of work's commit, or not at all."""


class OrderLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def organisation_id(self) -> int: ...

    @property
    def version(self) -> int: ...


def order_event(
    order: OrderLike,
    type: OrderEventType,
    caller: Caller | None,
    now: datetime,
    *subject_ids: str,
) -> OrderEvent:
    """An event of `order` (at its version now), made by `caller`'s request, or by the
    service's own work when there is no caller (expiry, delivery, settling payments)."""
    return OrderEvent(
        id=new_id(),
        organisation_id=order.organisation_id,
        order_id=order.id,
        order_version=order.version,
        type=type,
        occurred_at=now,
        client_id=caller.client_id if caller else None,
        pos=caller.pos if caller else None,
        distribution_channel_id=caller.distribution_channel_id if caller else None,
        correlation_id=(caller.correlation_id or None) if caller else None,
        subject_ids=tuple(subject_ids),
    )
