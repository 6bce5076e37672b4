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


@strawberry.type
class Query:
    order: Built | None = strawberry.field(graphql_type=OrderType | None, resolver=orders.order)
    orders: Built = strawberry.field(graphql_type=Connection[OrderType], resolver=orders.orders)

    stop_places: list[StopPlaceType] = strawberry.field(resolver=catalogue.stop_places)
    departures: list[DepartureType] = strawberry.field(resolver=catalogue.departures)
    offers: list[OfferType] = strawberry.field(resolver=catalogue.offers)
    seat_map: SeatMapType = strawberry.field(resolver=catalogue.seat_map)

    reservations: Built = strawberry.field(
        graphql_type=Connection[ReservationType], resolver=reservations.reservations
    )

    payment: Built | None = strawberry.field(
        graphql_type=PaymentType_ | None, resolver=payment_resolvers.payment
    )
    payments: Built = strawberry.field(
        graphql_type=Connection[PaymentType_], resolver=payment_resolvers.payments
    )
    credits: Built = strawberry.field(
        graphql_type=Connection[CreditType], resolver=payment_resolvers.credits
    )

    ticket_distributions: Built = strawberry.field(
        graphql_type=Connection[TicketDistributionType], resolver=tickets.ticket_distributions
    )
    verify_ticket: TicketVerificationType = strawberry.field(resolver=tickets.verify_ticket)
    receipts: Built = strawberry.field(
        graphql_type=Connection[ReceiptType], resolver=tickets.receipts
    )

    order_events: Built = strawberry.field(
        graphql_type=Connection[OrderEventObject], resolver=events.order_events
    )

    webhook_subscriptions: Built = strawberry.field(
        graphql_type=Connection[WebhookSubscriptionType], resolver=webhooks.webhook_subscriptions
    )
    webhook_deliveries: Built = strawberry.field(
        graphql_type=Connection[WebhookDeliveryType], resolver=webhooks.webhook_deliveries
    )

    change_options: ChangeOptionsType = strawberry.field(resolver=after_sale.change_options)
    refund_options: RefundOptionsType = strawberry.field(resolver=after_sale.refund_options)
