"""The Query root."""

from __future__ import annotations

import strawberry

from sales_api.queries.selection import Built
from sales_api.resolvers import (
    after_sale,
    catalogue,
    events,
    orders,
    reservations,
    tickets,
    webhooks,
)
from sales_api.resolvers import payments as payment_resolvers
from sales_api.schema.after_sale_types import ChangeOptionsType, RefundOptionsType
from sales_api.schema.event_types import OrderEventObject
from sales_api.schema.payment_types import CreditType, PaymentType_
from sales_api.schema.sale_types import DepartureType, OfferType, SeatMapType
from sales_api.schema.ticket_types import (
    ReceiptType,
    TicketDistributionType,
    TicketVerificationType,
)
from sales_api.schema.types import Connection, OrderType, ReservationType, StopPlaceType
from sales_api.schema.webhook_types import WebhookDeliveryType, WebhookSubscriptionType

READ = " Needs `sales:read`."


def _paged(order: str = "newest first") -> str:
    return f" A page of `perPage` items (1 to 100, default 20), {order}." + READ


@strawberry.type
class Query:
    order: Built | None = strawberry.field(
        graphql_type=OrderType | None,
        resolver=orders.order,
        description="The order with this id, or null when the caller's organisation has none."
        + READ,
    )
    orders: Built = strawberry.field(
        graphql_type=Connection[OrderType],
        resolver=orders.orders,
        description="The organisation's orders, filtered by `filter` (operators ANDed, run in"
        " SQL)." + _paged("sorted by `sort` (default newest first, id as tie-break)"),
    )

    stop_places: list[StopPlaceType] = strawberry.field(
        resolver=catalogue.stop_places,
        description="Every stop place of the catalogue." + READ,
    )
    departures: list[DepartureType] = strawberry.field(
        resolver=catalogue.departures,
        description="Departures from one stop place to another leaving on a date (Europe/Oslo)"
        " and not yet gone, earliest first. VALIDATION_FAILED (top-level) for an unknown stop"
        " place." + READ,
    )
    offers: list[OfferType] = strawberry.field(
        resolver=catalogue.offers,
        description="Every fare product priced for the travellers on each matching departure,"
        " with the free seats of its class. An offer's id is signed and expires after 15"
        " minutes; pass it to reserveOffers." + READ,
    )
    seat_map: SeatMapType = strawberry.field(
        resolver=catalogue.seat_map,
        description="Free and taken seats of every car for a segment of a service journey: a"
        " seat is taken when it is held on any leg of the segment." + READ,
    )

    reservations: Built = strawberry.field(
        graphql_type=Connection[ReservationType],
        resolver=reservations.reservations,
        description="The organisation's seat reservations." + _paged(),
    )

    payment: Built | None = strawberry.field(
        graphql_type=PaymentType_ | None,
        resolver=payment_resolvers.payment,
        description="The payment with this id, or null when the caller's organisation has"
        " none." + READ,
    )
    payments: Built = strawberry.field(
        graphql_type=Connection[PaymentType_],
        resolver=payment_resolvers.payments,
        description="The organisation's payments, with their transactions." + _paged(),
    )
    credits: Built = strawberry.field(
        graphql_type=Connection[CreditType],
        resolver=payment_resolvers.credits,
        description="The organisation's credits: money given back by refunds, cancels, resets"
        " and expiry." + _paged(),
    )

    ticket_distributions: Built = strawberry.field(
        graphql_type=Connection[TicketDistributionType],
        resolver=tickets.ticket_distributions,
        description="The organisation's tickets." + _paged(),
    )
    verify_ticket: TicketVerificationType = strawberry.field(
        resolver=tickets.verify_ticket,
        description="Checks a ticket token's signature and the ticket's current status (valid"
        " from an hour before departure to two hours after arrival); a ticket of another"
        " organisation is UNKNOWN." + READ,
    )
    receipts: Built = strawberry.field(
        graphql_type=Connection[ReceiptType],
        resolver=tickets.receipts,
        description="The organisation's receipts." + _paged(),
    )

    order_events: Built = strawberry.field(
        graphql_type=Connection[OrderEventObject],
        resolver=events.order_events,
        description="The organisation's order events, the audit trail." + _paged("oldest first"),
    )

    webhook_subscriptions: Built = strawberry.field(
        graphql_type=Connection[WebhookSubscriptionType],
        resolver=webhooks.webhook_subscriptions,
        description="The organisation's webhook subscriptions, deleted ones included"
        " (inactive)." + _paged(),
    )
    webhook_deliveries: Built = strawberry.field(
        graphql_type=Connection[WebhookDeliveryType],
        resolver=webhooks.webhook_deliveries,
        description="The organisation's webhook deliveries and their attempts." + _paged(),
    )

    change_options: ChangeOptionsType = strawberry.field(
        resolver=after_sale.change_options,
        description="Which changes the order and each of its lines allow now, and why not;"
        " from the rules the mutations use. NOT_FOUND (top-level) for an unknown order." + READ,
    )
    refund_options: RefundOptionsType = strawberry.field(
        resolver=after_sale.refund_options,
        description="Per order line: what was paid, the fee and what refundOrder would give"
        " back now. NOT_FOUND (top-level) for an unknown order or line." + READ,
    )
