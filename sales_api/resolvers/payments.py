"""Resolvers of payments, transactions and credits."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import payments as service
from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.resolvers.payloads import answer, sales_error_type
from sales_api.schema.context import Info
from sales_api.schema.payment_types import (
    CreatePaymentInput,
    CreateTransactionInput,
    CreditFilter,
    PaymentFilter,
    TransactionRefInput,
    UpdatePaymentInput,
)
from sales_api.schema.reads import read_one
from sales_api.schema.types import PaymentPayload, SalesErrorType, TransactionPayload


async def payment(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The payment's id.")]
) -> Built | None:
    return await read_one(info, "Payment", str(id))


async def payments(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[PaymentFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    return await page_of(info, "Payment", filter, page, per_page)


async def credits(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[CreditFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    return await page_of(info, "Credit", filter, page, per_page)


def _no_payment(errors: list[SalesErrorType]) -> PaymentPayload:
    return PaymentPayload(payment_id=None, errors=errors)


async def create_payment(
    info: Info,
    input: Annotated[
        CreatePaymentInput,
        strawberry.argument(description="The order, and the amount asked (default: its balance)."),
    ],
) -> PaymentPayload:
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
        return PaymentPayload(payment_id=created, errors=[])

    return await answer(info, work, _no_payment)


async def update_payment(
    info: Info,
    input: Annotated[
        UpdatePaymentInput,
        strawberry.argument(description="The payment and what to change; absent: kept."),
    ],
) -> PaymentPayload:
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
        return PaymentPayload(payment_id=updated, errors=[])

    return await answer(info, work, _no_payment)


def _transaction_payload(outcome: service.MoneyOutcome) -> TransactionPayload:
    return TransactionPayload(
        transaction_id=outcome.transaction_id,
        payment_id=outcome.payment_id,
        order_id=outcome.order_id,
        errors=[sales_error_type(outcome.error)] if outcome.error else [],
    )


def _refused(errors: list[SalesErrorType]) -> TransactionPayload:
    return TransactionPayload(transaction_id=None, payment_id=None, order_id=None, errors=errors)


async def create_transaction(
    info: Info,
    input: Annotated[
        CreateTransactionInput,
        strawberry.argument(description="The payment, the amount and the provider's token."),
    ],
) -> TransactionPayload:
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

    return await answer(info, work, _refused)


async def capture_transaction(
    info: Info,
    input: Annotated[
        TransactionRefInput, strawberry.argument(description="The transaction to capture.")
    ],
) -> TransactionPayload:
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
        if outcome.captured is not None:
            context.events.payment_captured(*outcome.captured)
        return _transaction_payload(outcome)

    return await answer(info, work, _refused)


async def cancel_transaction(
    info: Info,
    input: Annotated[
        TransactionRefInput, strawberry.argument(description="The transaction to cancel.")
    ],
) -> TransactionPayload:
    context = info.context

    async def work() -> TransactionPayload:
        command = service.TransactionRef(str(input.transaction_id), input.idempotency_key)
        return _transaction_payload(
            await service.cancel_transaction(
                context.uow_factory, context.clock, context.caller, command
            )
        )

    return await answer(info, work, _refused)
