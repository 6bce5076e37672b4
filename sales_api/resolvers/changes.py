"""Resolvers of the after-sale changes: exchange, partial cancellation, longer holds, fees,
compensation, disruptions and rebooking."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import after_sale, disruptions
from sales_api.domain.services import order_changes as service
from sales_api.resolvers.after_sale import no_refund, refund_payload
from sales_api.resolvers.payloads import answer
from sales_api.schema.change_inputs import (
    AddFeeInput,
    CancelOrderLinesInput,
    CompensateOrderInput,
    DisruptionPayload,
    DisruptServiceJourneyInput,
    ExchangeOrderLinesInput,
    ExtendOrderExpiryInput,
    RebookDisruptedOrderLinesInput,
)
from sales_api.schema.context import Info
from sales_api.schema.types import OrderPayload, RefundPayload, SalesErrorType


def _ids(ids: list[strawberry.ID]) -> tuple[str, ...]:
    return tuple(str(i) for i in ids)


def _no_order(errors: list[SalesErrorType]) -> OrderPayload:
    return OrderPayload(order_id=None, errors=errors)


async def exchange_order_lines(
    info: Info,
    input: Annotated[
        ExchangeOrderLinesInput,
        strawberry.argument(description="The lines to replace and the offer replacing them."),
    ],
) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.ExchangeLines(
            order_id=str(input.order_id),
            order_line_ids=_ids(input.order_line_ids),
            offer_id=str(input.offer_id),
            seats=tuple(s.to_domain() for s in input.seats) if input.seats is not None else None,
            expected_version=input.expected_version,
            idempotency_key=input.idempotency_key,
        )
        changed = await service.exchange_order_lines(
            context.uow_factory,
            context.reference,
            context.clock,
            context.caller,
            command,
            context.holds,
        )
        return OrderPayload(order_id=changed.order_id, errors=[])

    return await answer(info, work, _no_order)


async def cancel_order_lines(
    info: Info,
    input: Annotated[
        CancelOrderLinesInput, strawberry.argument(description="The order and the lines.")
    ],
) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.CancelLines(
            order_id=str(input.order_id),
            order_line_ids=_ids(input.order_line_ids),
            expected_version=input.expected_version,
            idempotency_key=input.idempotency_key,
        )
        changed = await service.cancel_order_lines(
            context.uow_factory, context.clock, context.caller, command
        )
        return OrderPayload(order_id=changed.order_id, errors=[])

    return await answer(info, work, _no_order)


async def extend_order_expiry(
    info: Info,
    input: Annotated[ExtendOrderExpiryInput, strawberry.argument(description="The DRAFT order.")],
) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.ExtendExpiry(str(input.order_id), input.expected_version)
        changed = await service.extend_order_expiry(
            context.uow_factory, context.clock, context.caller, command, context.holds
        )
        return OrderPayload(order_id=changed.order_id, errors=[])

    return await answer(info, work, _no_order)


async def add_fee(
    info: Info,
    input: Annotated[AddFeeInput, strawberry.argument(description="The order and the fee.")],
) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.AddFee(
            order_id=str(input.order_id),
            type=input.type,
            amount=input.amount,
            description=input.description,
            expected_version=input.expected_version,
            idempotency_key=input.idempotency_key,
        )
        changed = await service.add_fee(
            context.uow_factory, context.clock, context.caller, command, context.holds
        )
        return OrderPayload(order_id=changed.order_id, errors=[])

    return await answer(info, work, _no_order)


async def compensate_order(
    info: Info,
    input: Annotated[
        CompensateOrderInput,
        strawberry.argument(description="The order, the amount to give back and why."),
    ],
) -> RefundPayload:
    context = info.context

    async def work() -> RefundPayload:
        command = after_sale.CompensateOrder(
            order_id=str(input.order_id),
            amount=input.amount,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
            expected_version=input.expected_version,
        )
        return refund_payload(
            await after_sale.compensate_order(
                context.uow_factory,
                context.clock,
                context.payment_provider,
                context.caller,
                command,
            )
        )

    return await answer(info, work, no_refund)


async def disrupt_service_journey(
    info: Info,
    input: Annotated[
        DisruptServiceJourneyInput,
        strawberry.argument(description="The dated service journey and why."),
    ],
) -> DisruptionPayload:
    context = info.context

    async def work() -> DisruptionPayload:
        command = disruptions.DisruptServiceJourney(
            str(input.service_journey_id), input.reason, input.idempotency_key
        )
        done = await disruptions.disrupt_service_journey(
            context.uow_factory, context.reference, context.clock, context.caller, command
        )
        return DisruptionPayload(
            service_journey_id=strawberry.ID(done.service_journey_id),
            affected_order_ids=[strawberry.ID(i) for i in done.affected_order_ids],
            errors=[],
        )

    return await answer(
        info,
        work,
        lambda errors: DisruptionPayload(
            service_journey_id=None, affected_order_ids=[], errors=errors
        ),
    )


async def rebook_disrupted_order_lines(
    info: Info,
    input: Annotated[
        RebookDisruptedOrderLinesInput,
        strawberry.argument(description="The disrupted lines and the journey to move them to."),
    ],
) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = disruptions.RebookLines(
            order_id=str(input.order_id),
            order_line_ids=_ids(input.order_line_ids),
            to_service_journey_id=str(input.to_service_journey_id),
            idempotency_key=input.idempotency_key,
            expected_version=input.expected_version,
        )
        changed = await disruptions.rebook_disrupted_order_lines(
            context.uow_factory, context.reference, context.clock, context.caller, command
        )
        return OrderPayload(order_id=changed.order_id, errors=[])

    return await answer(info, work, _no_order)
