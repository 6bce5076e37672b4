"""Order events: the audit trail (events.graphql)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sales_api.domain import events as domain
from sales_api.schema.filters import DateTimeFilter, IdFilter

OrderEventType = strawberry.enum(domain.OrderEventType, name="OrderEventType")


@strawberry.type(
    name="OrderEvent",
    description="Something that happened to an order, kept for good: its audit trail.",
)
class OrderEventObject:
    id: strawberry.ID = strawberry.field(
        description="Unique and stable: a webhook receiver deduplicates on it."
    )
    order_id: strawberry.ID
    order_version: int = strawberry.field(description="The order's version after the event.")
    type: domain.OrderEventType
    occurred_at: datetime
    client_id: str | None = strawberry.field(
        description=(
            "The OAuth2 client that caused it; null for the service's own work (expiry, delivery)."
        )
    )
    pos: str | None
    distribution_channel_id: str | None
    correlation_id: str | None = strawberry.field(
        description="The request that caused it; null for the service's own work."
    )
    subject_ids: list[strawberry.ID] = strawberry.field(
        description=(
            "Ids of what it concerns: order lines, payment, transaction, receipt, refund, ..."
        )
    )


@strawberry.input(name="OrderEventTypeFilter")
class OrderEventTypeFilter:
    eq: domain.OrderEventType | None = strawberry.field(default=None, description="This type.")
    ne: domain.OrderEventType | None = strawberry.field(
        default=None, description="Any type but this."
    )
    in_: list[domain.OrderEventType] | None = strawberry.field(
        default=None, name="in", description="One of these types."
    )
    nin: list[domain.OrderEventType] | None = strawberry.field(
        default=None, description="None of these types."
    )


@strawberry.input(name="OrderEventFilter")
class OrderEventFilter:
    order_id: IdFilter | None = strawberry.field(
        default=None, description="The order it happened to."
    )
    type: OrderEventTypeFilter | None = strawberry.field(
        default=None, description="The event's type."
    )
    occurred_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it happened."
    )
