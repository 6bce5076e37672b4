"""Resolvers of payments, transactions and credits."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types.nodes import Selection

from sales_api.domain.paging import PageRequest
from sales_api.domain.payments import Payment, TransactionStatus
from sales_api.domain.services import payment_queries
from sales_api.domain.services import payments as service
from sales_api.resolvers.payloads import answer, sales_error_type
from sales_api.schema.context import Info
from sales_api.schema.filters import list_query
from sales_api.schema.payment_types import (
    CreatePaymentInput,
    CreateTransactionInput,
    CreditConnection,
    CreditFilter,
    PaymentConnection,
    PaymentFilter,
    PaymentType_,
    TransactionRefInput,
    UpdatePaymentInput,
    credit_type,
    payment_type,
    transaction_type,
)
from sales_api.schema.selection import asks_for, child
from sales_api.schema.types import (
    PaymentPayload,
    SalesErrorType,
    TransactionPayload,
    order_aggregate_type,
)


async def payment_types(
    info: Info, payments: Sequence[Payment], selections: list[Selection]
) -> list[PaymentType_]:
    """Payments with their credits loaded in one batch, when the query asks for them."""
    if not asks_for(selections, "credits") or not payments:
        return [payment_type(p) for p in payments]
    credits = await info.context.loaders.credits_by_payment_id.load_many([p.id for p in payments])
    return [payment_type(p, c) for p, c in zip(payments, credits, strict=True)]


async def payment(info: Info, id: strawberry.ID) -> PaymentType_ | None:
    context = info.context
    found = await payment_queries.find_payment(context.uow_factory, context.caller, str(id))
    if found is None:
        return None
    return (await payment_types(info, [found], info.selected_fields[0].selections))[0]


async def payments(
    info: Info, page: int = 1, per_page: int = 20, filter: PaymentFilter | None = None
) -> PaymentConnection:
    context = info.context
    result = await payment_queries.list_payments(
        context.uow_factory, context.caller, list_query(filter), PageRequest(page, per_page)
    )
    items = child(info.selected_fields[0].selections, "items")
    return PaymentConnection(
        items=await payment_types(info, result.items, items),
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )


async def credits(
    info: Info, page: int = 1, per_page: int = 20, filter: CreditFilter | None = None
) -> CreditConnection:
    context = info.context
    result = await payment_queries.list_credits(
        context.uow_factory, context.caller, list_query(filter), PageRequest(page, per_page)
    )
    return CreditConnection(
        items=[credit_type(c) for c in result.items],
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )


async def create_payment(info: Info, input: CreatePaymentInput) -> PaymentPayload:
    context = info.context

    async def work() -> PaymentPayload:
        command = service.CreatePayment(
            order_id=str(input.order_id),
            order_version=input.order_version,
            total_amount=input.total_amount,
            currency=input.currency,
            idempotency_key=input.idempotency_key,
        )
        created = await service.create_payment(
            context.uow_factory, context.clock, context.caller, command
        )
        return PaymentPayload(payment=payment_type(created), errors=[])

    return await answer(work, lambda errors: PaymentPayload(payment=None, errors=errors))


async def update_payment(info: Info, input: UpdatePaymentInput) -> PaymentPayload:
    context = info.context

    async def work() -> PaymentPayload:
        command = service.UpdatePayment(
            payment_id=str(input.payment_id),
            active=input.active,
            total_amount=input.total_amount,
        )
        updated = await service.update_payment(
            context.uow_factory, context.clock, context.caller, command
        )
        return PaymentPayload(payment=payment_type(updated), errors=[])

    return await answer(work, lambda errors: PaymentPayload(payment=None, errors=errors))


def _transaction_payload(outcome: service.MoneyOutcome) -> TransactionPayload:
    return TransactionPayload(
        transaction=transaction_type(outcome.transaction) if outcome.transaction else None,
        payment=payment_type(outcome.payment),
        order=order_aggregate_type(outcome.order, outcome.payments),
        errors=[sales_error_type(outcome.error)] if outcome.error else [],
    )


def _refused(errors: list[SalesErrorType]) -> TransactionPayload:
    return TransactionPayload(transaction=None, payment=None, order=None, errors=errors)


async def create_transaction(info: Info, input: CreateTransactionInput) -> TransactionPayload:
    context = info.context

    async def work() -> TransactionPayload:
        command = service.CreateTransaction(
            payment_id=str(input.payment_id),
            payment_type=input.payment_type,
            amount=input.amount,
            payment_token=input.payment_token,
            idempotency_key=input.idempotency_key,
        )
        return _transaction_payload(
            await service.create_transaction(
                context.uow_factory, context.clock, context.caller, command
            )
        )

    return await answer(work, _refused)


async def capture_transaction(info: Info, input: TransactionRefInput) -> TransactionPayload:
    context = info.context

    async def work() -> TransactionPayload:
        command = service.TransactionRef(str(input.transaction_id), input.idempotency_key)
        outcome = await service.capture_transaction(
            context.uow_factory,
            context.clock,
            context.payment_provider,
            context.caller,
            command,
        )
        captured = outcome.transaction
        if (
            captured is not None
            and captured.status is TransactionStatus.CAPTURED
            and outcome.error is None
            and not outcome.replayed
        ):
            context.events.payment_captured(captured.amount, captured.currency)
        return _transaction_payload(outcome)

    return await answer(work, _refused)


async def cancel_transaction(info: Info, input: TransactionRefInput) -> TransactionPayload:
    context = info.context

    async def work() -> TransactionPayload:
        command = service.TransactionRef(str(input.transaction_id), input.idempotency_key)
        return _transaction_payload(
            await service.cancel_transaction(
                context.uow_factory, context.clock, context.caller, command
            )
        )

    return await answer(work, _refused)
