"""The Query root."""

from __future__ import annotations

import strawberry

from sales_api.resolvers import after_sale, catalogue, orders, reservations, tickets
from sales_api.resolvers import payments as payment_resolvers
from sales_api.schema.after_sale_types import ChangeOptionsType, RefundOptionsType
from sales_api.schema.payment_types import CreditConnection, PaymentConnection, PaymentType_
from sales_api.schema.sale_types import DepartureType, OfferType, SeatMapType
from sales_api.schema.ticket_types import (
    ReceiptConnection,
    TicketDistributionConnection,
    TicketVerificationType,
)
from sales_api.schema.types import (
    OrderConnection,
    OrderType,
    ReservationConnection,
    StopPlaceType,
)


@strawberry.type
class Query:
    order: OrderType | None = strawberry.field(resolver=orders.order)
    orders: OrderConnection = strawberry.field(resolver=orders.orders)

    stop_places: list[StopPlaceType] = strawberry.field(resolver=catalogue.stop_places)
    departures: list[DepartureType] = strawberry.field(resolver=catalogue.departures)
    offers: list[OfferType] = strawberry.field(resolver=catalogue.offers)
    seat_map: SeatMapType = strawberry.field(resolver=catalogue.seat_map)

    reservations: ReservationConnection = strawberry.field(resolver=reservations.reservations)

    payment: PaymentType_ | None = strawberry.field(resolver=payment_resolvers.payment)
    payments: PaymentConnection = strawberry.field(resolver=payment_resolvers.payments)
    credits: CreditConnection = strawberry.field(resolver=payment_resolvers.credits)

    ticket_distributions: TicketDistributionConnection = strawberry.field(
        resolver=tickets.ticket_distributions
    )
    verify_ticket: TicketVerificationType = strawberry.field(resolver=tickets.verify_ticket)
    receipts: ReceiptConnection = strawberry.field(resolver=tickets.receipts)

    change_options: ChangeOptionsType = strawberry.field(resolver=after_sale.change_options)
    refund_options: RefundOptionsType = strawberry.field(resolver=after_sale.refund_options)
