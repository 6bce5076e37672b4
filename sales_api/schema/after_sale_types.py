"""Change options, refund options and refunds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from sales_api.domain import after_sale as domain
from sales_api.domain.orders import Order, OrderLine
from sales_api.schema.payment_types import CreditType

ChangeType = strawberry.enum(domain.ChangeType, name="ChangeType")


@strawberry.type(name="ChangeOption")
class ChangeOptionType:
    type: domain.ChangeType
    allowed: bool
    reason: str | None = strawberry.field(description="Why it is not allowed, when it is not.")
    fee: Decimal | None
    deadline: datetime | None


@strawberry.type(name="OrderLineChangeOptions")
class OrderLineChangeOptionsType:
    order_line_id: strawberry.ID
    options: list[ChangeOptionType]


@strawberry.type(name="ChangeOptions")
class ChangeOptionsType:
    order_id: strawberry.ID
    order_version: int
    options: list[ChangeOptionType]
    order_lines: list[OrderLineChangeOptionsType]


@strawberry.type(name="OrderLineRefundOption")
class OrderLineRefundOptionType:
    order_line_id: strawberry.ID
    refundable: bool
    reason: str | None
    paid_amount: Decimal
    fee: Decimal
    refundable_amount: Decimal


@strawberry.type(name="RefundOptions")
class RefundOptionsType:
    order_id: strawberry.ID
    order_version: int
    currency: str
    total_refundable_amount: Decimal
    order_lines: list[OrderLineRefundOptionType]


@strawberry.type(name="Refund")
class RefundType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_version: int = strawberry.field(description="The order version the refund produced.")
    amount: Decimal
    fee: Decimal
    currency: str
    credits: list[CreditType]
    affected_order_line_ids: list[strawberry.ID]
    disabled_ticket_distribution_ids: list[strawberry.ID]
    created_at: datetime


@strawberry.input(name="RefundOrderInput")
class RefundOrderInput:
    order_id: strawberry.ID = strawberry.field(description="The CONFIRMED order.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="Refuse with VERSION_CONFLICT unless the order is at this version.",
    )
    order_line_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Defaults to every refundable order line."
    )
    reason: str | None = strawberry.field(
        default=None, description="Why, kept with the refund; at most 500 characters."
    )
    idempotency_key: str = strawberry.field(
        description=(
            "Required, 1 to 200 characters: a retry with the same key and input answers the first "
            "refund, or finishes it when the provider refused or did not answer; the key with "
            "other input is IDEMPOTENCY_KEY_REUSED."
        )
    )


def _option(option: domain.ChangeOption) -> ChangeOptionType:
    return ChangeOptionType(
        type=option.type,
        allowed=option.allowed,
        reason=option.reason,
        fee=option.fee,
        deadline=option.deadline,
    )


def change_options_type(
    order: Order,
    order_options: list[domain.ChangeOption],
    line_options: list[tuple[OrderLine, list[domain.ChangeOption]]],
) -> ChangeOptionsType:
    return ChangeOptionsType(
        order_id=strawberry.ID(order.id),
        order_version=order.version,
        options=[_option(o) for o in order_options],
        order_lines=[
            OrderLineChangeOptionsType(
                order_line_id=strawberry.ID(line.id), options=[_option(o) for o in options]
            )
            for line, options in line_options
        ],
    )


def refund_options_type(order: Order, options: list[domain.LineRefundOption]) -> RefundOptionsType:
    return RefundOptionsType(
        order_id=strawberry.ID(order.id),
        order_version=order.version,
        currency=order.currency,
        total_refundable_amount=sum((o.refundable_amount for o in options), Decimal("0.00")),
        order_lines=[
            OrderLineRefundOptionType(
                order_line_id=strawberry.ID(o.line.id),
                refundable=o.refundable,
                reason=o.reason,
                paid_amount=o.paid_amount,
                fee=o.fee,
                refundable_amount=o.refundable_amount,
            )
            for o in options
        ],
    )
