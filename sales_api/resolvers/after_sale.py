"""Resolvers of changeOptions, refundOptions and refundOrder."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import after_sale as service
from sales_api.resolvers.payloads import answer, sales_error_type
from sales_api.schema.after_sale_types import (
    ChangeOptionsType,
    RefundOptionsType,
    RefundOrderInput,
    change_options_type,
    refund_options_type,
)
from sales_api.schema.context import Info
from sales_api.schema.types import RefundPayload, SalesErrorType


async def change_options(
    info: Info,
    order_id: Annotated[strawberry.ID, strawberry.argument(description="The order's id.")],
) -> ChangeOptionsType:
    context = info.context
    order, order_options, line_options = await service.find_change_options(
        context.reader, context.clock, context.caller, str(order_id), context.holds
    )
    return change_options_type(order, order_options, line_options)


async def refund_options(
    info: Info,
    order_id: Annotated[strawberry.ID, strawberry.argument(description="The order's id.")],
    order_line_ids: Annotated[
        list[strawberry.ID] | None,
        strawberry.argument(description="Only these lines of the order; default: every line."),
    ] = None,
) -> RefundOptionsType:
    context = info.context
    order, options = await service.find_refund_options(
        context.reader,
        context.clock,
        context.caller,
        str(order_id),
        [str(i) for i in order_line_ids] if order_line_ids is not None else None,
    )
    return refund_options_type(order, options)


async def refund_order(
    info: Info,
    input: Annotated[
        RefundOrderInput,
        strawberry.argument(description="The order, the lines to refund and the key."),
    ],
) -> RefundPayload:
    context = info.context

    async def work() -> RefundPayload:
        command = service.RefundOrder(
            order_id=str(input.order_id),
            idempotency_key=input.idempotency_key,
            expected_version=input.expected_version,
            order_line_ids=tuple(str(i) for i in input.order_line_ids)
            if input.order_line_ids is not None
            else None,
            reason=input.reason,
        )
        return refund_payload(
            await service.refund_order(
                context.uow_factory,
                context.clock,
                context.payment_provider,
                context.caller,
                command,
            )
        )

    return await answer(info, work, no_refund)


def refund_payload(outcome: service.RefundOutcome) -> RefundPayload:
    """The payload of a mutation that gives money back (its refund read after the commit)."""
    return RefundPayload(
        refund_id=outcome.refund_id,
        order_id=outcome.order_id,
        errors=[sales_error_type(outcome.error)] if outcome.error else [],
    )


def no_refund(errors: list[SalesErrorType]) -> RefundPayload:
    return RefundPayload(refund_id=None, order_id=None, errors=errors)
