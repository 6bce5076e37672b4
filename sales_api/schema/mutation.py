"""The Mutation root."""

from __future__ import annotations

import strawberry

from sales_api.resolvers import after_sale, changes, orders, reservations, tickets, webhooks
from sales_api.resolvers import payments as payment_resolvers
from sales_api.schema.change_inputs import DisruptionPayload
from sales_api.schema.error_reference import errors_line
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

# Who may call: the permission each mutation needs in the token (else a top-level
# FORBIDDEN); every mutation but the webhook ones also needs an Entur-Distribution-Channel
# open to the caller's organisation.
WRITE = " Needs `sales:write`."
PAY = " Needs `payments:write`."
KEY = (
    " With an idempotencyKey, a retry of the same input answers the first result (nothing"
    " done twice); the key with other input is IDEMPOTENCY_KEY_REUSED."
)


def _about(mutation: str, text: str) -> str:
    return f"{text} {errors_line(mutation)}"


@strawberry.type
class Mutation:
    create_order: OrderPayload = strawberry.mutation(
        resolver=orders.create_order,
        description=_about(
            "createOrder",
            "Creates an empty DRAFT order, version 1, in the caller's organisation, recording"
            " the request's Entur-POS and distribution channel; add lines with"
            " reserveOffers." + WRITE,
        ),
    )
    update_order: OrderPayload = strawberry.mutation(
        resolver=orders.update_order,
        description=_about(
            "updateOrder",
            "Changes contact info, external reference or travellers. Contact info and"
            " reference keep the version; new travellers on a CONFIRMED order start a new"
            " DRAFT version. A traveller on an order line cannot be removed." + WRITE,
        ),
    )
    cancel_order: OrderPayload = strawberry.mutation(
        resolver=orders.cancel_order,
        description=_about(
            "cancelOrder",
            "Cancels a DRAFT order that has no paid confirmed version and releases its seats;"
            " money captured for it is credited back first. A paid, confirmed order is"
            " refunded (refundOrder) instead." + WRITE,
        ),
    )
    reset_order: OrderPayload = strawberry.mutation(
        resolver=orders.reset_order,
        description=_about(
            "resetOrder",
            "Discards unconfirmed changes: back to the last confirmed version, or cancelled"
            " if never confirmed; money captured for the discarded version is credited back"
            " first and its payments become inactive." + WRITE,
        ),
    )
    confirm_order: OrderPayload = strawberry.mutation(
        resolver=orders.confirm_order,
        description=_about(
            "confirmOrder",
            "Confirms a DRAFT order whose balance is 0.00 (a capture that brings the balance"
            ' to "0.00" confirms by itself).' + WRITE,
        ),
    )

    reserve_offers: ReserveOffersPayload = strawberry.mutation(
        resolver=reservations.reserve_offers,
        description=_about(
            "reserveOffers",
            "Turns offers into DRAFT order lines, one per traveller, with their seats held in"
            " the same transaction (the seats asked for, or the best free ones); adds to"
            " orderId, or creates an order. A CONFIRMED order gets a new DRAFT version; the"
            " order's seats are held until expireAt, 20 minutes after this change." + WRITE + KEY,
        ),
    )
    change_seats: ReservationPayload = strawberry.mutation(
        resolver=reservations.change_seats,
        description=_about(
            "changeSeats",
            "Moves a reservation to other free seats, atomically (one seat per seat held);"
            " keeps the order's version and expiry. Refused after departure and for products"
            " that are not changeable." + WRITE,
        ),
    )

    create_payment: PaymentPayload = strawberry.mutation(
        resolver=payment_resolvers.create_payment,
        description=_about(
            "createPayment",
            "Opens a payment for the order's current version, for its balance or part of"
            " it." + PAY + KEY,
        ),
    )
    update_payment: PaymentPayload = strawberry.mutation(
        resolver=payment_resolvers.update_payment,
        description=_about(
            "updatePayment",
            "Deactivates or reactivates a payment, or changes its amount while nothing of it"
            " is captured. Reactivating needs the order's current version and a balance that"
            " covers what the payment still asks." + PAY,
        ),
    )
    create_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.create_transaction,
        description=_about(
            "createTransaction",
            "Adds a transaction (CREATED) to an active payment, for at most what is unpaid on"
            " the payment and the order's balance; nothing is charged until"
            " captureTransaction." + PAY + KEY,
        ),
    )
    capture_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.capture_transaction,
        description=_about(
            "captureTransaction",
            "Captures a CREATED transaction through the payment provider: CAPTURED reduces"
            ' the balance, and at "0.00" the order is CONFIRMED. Declined: FAILED, nothing'
            " charged. No answer in time: the transaction stays PENDING and is settled later."
            + PAY
            + KEY,
        ),
    )
    cancel_transaction: TransactionPayload = strawberry.mutation(
        resolver=payment_resolvers.cancel_transaction,
        description=_about(
            "cancelTransaction",
            "Cancels a CREATED transaction; nothing was charged." + PAY + KEY,
        ),
    )

    generate_tickets: TicketDistributionsPayload = strawberry.mutation(
        resolver=tickets.generate_tickets,
        description=_about(
            "generateTickets",
            "Makes a ticket distribution group per CONFIRMED order line and a signed ticket"
            " per traveller on it; calling it again makes only what is missing." + WRITE,
        ),
    )
    distribute_tickets: TicketDistributionsPayload = strawberry.mutation(
        resolver=tickets.distribute_tickets,
        description=_about(
            "distributeTickets",
            "Hands the order's tickets (not DISABLED) to a channel and marks them"
            " DISTRIBUTED; EMAIL also queues their PDFs for sending. Call generateTickets"
            " first." + WRITE,
        ),
    )
    send_receipt: ReceiptPayload = strawberry.mutation(
        resolver=tickets.send_receipt,
        description=_about(
            "sendReceipt",
            "Builds the receipt of the order's current version (lines with VAT) and queues it"
            " for e-mail or SMS; only for a version that had a payment or a credit." + WRITE + KEY,
        ),
    )

    refund_order: RefundPayload = strawberry.mutation(
        resolver=after_sale.refund_order,
        description=_about(
            "refundOrder",
            "Refunds order lines: credits the captured transactions (newest first, never more"
            " than captured), marks the lines REFUNDED, frees their seats, disables their"
            " tickets and makes a new CONFIRMED version (CANCELLED when no line is left)."
            " Needs `refunds:write`. The idempotencyKey is required: if the provider refuses or"
            " does not answer, nothing changes and the same key finishes the refund.",
        ),
    )
    exchange_order_lines: OrderPayload = strawberry.mutation(
        resolver=changes.exchange_order_lines,
        description=_about(
            "exchangeOrderLines",
            "Replaces CONFIRMED lines of a changeable product (or on a disrupted journey)"
            " with lines of another offer for the same travellers, in a new DRAFT version:"
            " the new seats held, the old lines CANCELLED in it but their seats and tickets"
            " valid until it is confirmed (resetOrder or expiry goes back). A CHANGE fee per"
            " line by the product's rules. Pay the balance, or when it costs no more than was"
            " paid, confirmOrder credits the difference back; then the old seats are released"
            " and their tickets DISABLED." + WRITE + KEY,
        ),
    )
    cancel_order_lines: OrderPayload = strawberry.mutation(
        resolver=changes.cancel_order_lines,
        description=_about(
            "cancelOrderLines",
            "Cancels lines added in the current DRAFT version (never confirmed): they stay"
            " on the order as CANCELLED, out of its totals, and their seats are freed at"
            " once. Confirmed lines are refunded instead; refused when it would leave more"
            " paid than owed." + WRITE + KEY,
        ),
    )
    extend_order_expiry: OrderPayload = strawberry.mutation(
        resolver=changes.extend_order_expiry,
        description=_about(
            "extendOrderExpiry",
            "Moves a DRAFT order's expireAt (and its seats' holds) to now + the hold period,"
            " never beyond the longest hold after its DRAFT version began; at that limit"
            " HOLD_LIMIT_REACHED." + WRITE,
        ),
    )
    add_fee: OrderPayload = strawberry.mutation(
        resolver=changes.add_fee,
        description=_about(
            "addFee",
            "Adds a BOOKING or MANUAL fee (VAT included) that counts in the totals and on the"
            " receipt; on a CONFIRMED order it starts a new DRAFT version whose balance is the"
            " fee." + WRITE + KEY,
        ),
    )
    compensate_order: RefundPayload = strawberry.mutation(
        resolver=changes.compensate_order,
        description=_about(
            "compensateOrder",
            "Gives goodwill back without touching a line: credits the captured transactions"
            " (newest first), then a new CONFIRMED version with a COMPENSATION fee of minus"
            " the amount. At most what was captured and not yet credited. Needs"
            " `refunds:write`. The idempotencyKey is required: one credit per key.",
        ),
    )
    disrupt_service_journey: DisruptionPayload = strawberry.mutation(
        resolver=changes.disrupt_service_journey,
        description=_about(
            "disruptServiceJourney",
            "Marks a dated service journey disrupted for everyone: no longer offered or"
            " reserved; its lines may be refunded at fee 0.00, exchanged without fee or"
            " rebooked. Answers the caller's orders with a confirmed line on it, each given a"
            " SERVICE_JOURNEY_DISRUPTED event. Needs `sales:disruptions` (else"
            " PERMISSION_DENIED). The idempotencyKey is required.",
        ),
    )
    rebook_disrupted_order_lines: OrderPayload = strawberry.mutation(
        resolver=changes.rebook_disrupted_order_lines,
        description=_about(
            "rebookDisruptedOrderLines",
            "Moves lines of a disrupted journey, in one step and with no payment (a price"
            " difference is waived), to another dated journey between the same stops, same"
            " product and fare class, seats allocated: a new CONFIRMED version, the old lines"
            " CANCELLED (seats released, tickets DISABLED), the new ready for"
            " generateTickets." + WRITE + " The idempotencyKey is required.",
        ),
    )

    create_webhook_subscription: WebhookSubscriptionPayload = strawberry.mutation(
        resolver=webhooks.create_webhook_subscription,
        description=_about(
            "createWebhookSubscription",
            "Subscribes a URL to the organisation's order events (at most 20 active"
            " subscriptions); answers the signing secret, once." + WRITE + KEY,
        ),
    )
    delete_webhook_subscription: WebhookSubscriptionPayload = strawberry.mutation(
        resolver=webhooks.delete_webhook_subscription,
        description=_about(
            "deleteWebhookSubscription",
            "Makes a subscription inactive (kept with its deliveries); its pending deliveries"
            " are FAILED. Deleting it again changes nothing." + WRITE,
        ),
    )
    redeliver_webhook: WebhookDeliveryPayload = strawberry.mutation(
        resolver=webhooks.redeliver_webhook,
        description=_about(
            "redeliverWebhook",
            "Makes a new delivery of the same event (same webhook-id) to the same active"
            " subscription, due at once." + WRITE,
        ),
    )
