"""The Mutation root."""

from __future__ import annotations

import strawberry

from sales_api.resolvers import after_sale, orders, reservations, tickets, webhooks
from sales_api.resolvers import payments as payment_resolvers
from sales_api.schema.types import (
    OrderPayload,
    PaymentPayload,
    ReceiptPayload,
    RefundPayload,
    ReservationPayload,
    ReserveOffersPayload,
    TicketDistributionsPayload,
    TransactionPayload,
)
from sales_api.schema.webhook_types import WebhookDeliveryPayload, WebhookSubscriptionPayload


@strawberry.type
class Mutation:
    create_order: OrderPayload = strawberry.mutation(resolver=orders.create_order)
    update_order: OrderPayload = strawberry.mutation(resolver=orders.update_order)
    cancel_order: OrderPayload = strawberry.mutation(
        resolver=orders.cancel_order,
        description="Cancels an unpaid order and releases its seats.",
    )
    reset_order: OrderPayload = strawberry.mutation(
        resolver=orders.reset_order,
        description=(
            "Discards unconfirmed changes: back to the last confirmed version, "
            "or cancelled if never confirmed."
        ),
    )
    confirm_order: OrderPayload = strawberry.mutation(
        resolver=orders.confirm_order,
        description="Confirms an order whose balance is 0.00 (capture confirms automatically).",
    )

    reserve_offers: ReserveOffersPayload = strawberry.mutation(resolver=reservations.reserve_offers)
    change_seats: ReservationPayload = strawberry.mutation(resolver=reservations.change_seats)

    create_payment: PaymentPayload = strawberry.mutation(resolver=payment_resolvers.create_payment)
    update_payment: PaymentPayload = strawberry.mutation(resolver=payment_resolvers.update_payment)
    create_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.create_transaction
    )
    capture_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.capture_transaction
    )
    cancel_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.cancel_transaction
    )

    generate_tickets: TicketDistributionsPayload = strawberry.mutation(
        resolver=tickets.generate_tickets
    )
    distribute_tickets: TicketDistributionsPayload = strawberry.mutation(
        resolver=tickets.distribute_tickets
    )
    send_receipt: ReceiptPayload = strawberry.mutation(resolver=tickets.send_receipt)

    refund_order: RefundPayload = strawberry.mutation(resolver=after_sale.refund_order)

    create_webhook_subscription: WebhookSubscriptionPayload = strawberry.mutation(
        resolver=webhooks.create_webhook_subscription
    )
    delete_webhook_subscription: WebhookSubscriptionPayload = strawberry.mutation(
        resolver=webhooks.delete_webhook_subscription
    )
    redeliver_webhook: WebhookDeliveryPayload = strawberry.mutation(
        resolver=webhooks.redeliver_webhook
    )
