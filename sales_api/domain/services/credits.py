"""Giving money back, never inside a database transaction: a refund's credits are recorded
first (CREATED, each its own reference for the provider), then sent, then what the
provider answered is committed, and once every credit of the refund is CREDITED the refund
completes by its purpose (lines refunded, or a DRAFT version reset, cancelled or expired).
A credit whose answer never came stays CREATED: sent again under the same reference (the
provider credits a reference once) or settled by the reconciler. Money is never given back
without a record, nor twice."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sales_api.domain.caller import Caller
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.order_changes import compensate
from sales_api.domain.orders import Order
from sales_api.domain.payments import (
    Credit,
    CreditStatus,
    Payment,
    PaymentProvider,
    PaymentProviderNoAnswer,
    PaymentProviderUnavailable,
    TransactionStatus,
)
from sales_api.domain.ports import UnitOfWork
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus, allocate_credits
from sales_api.domain.tickets import TicketStatus

CREDITED = "CREDITED"
FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class ToSend:
    """A recorded credit, as the provider is asked for it."""

    credit_id: str
    capture_reference: str | None
    amount: Decimal
    currency: str


async def record_credits(
    uow: UnitOfWork, order: Order, refund: Refund, payments: list[Payment], now: datetime
) -> list[ToSend]:
    """Phase one, in the caller's unit of work (the order locked): the credits the refund
    still needs, recorded CREATED, with those sent before whose answer never came. The
    caller commits before sending them."""
    credits = await uow.payments.credits_for_order(order.id)
    mine = [c for c in credits if c.refund_id == refund.id]
    credited = sum((c.amount for c in mine if c.status is CreditStatus.CREDITED), Decimal(0))
    waiting = [c for c in mine if c.status is CreditStatus.CREATED]
    missing = refund.amount - credited - sum((c.amount for c in waiting), Decimal(0))
    in_flight: dict[str, Decimal] = defaultdict(Decimal)
    for credit in credits:
        if credit.status is CreditStatus.CREATED:
            in_flight[credit.transaction_id] += credit.amount
    if missing > 0:
        for payment_id, transaction_id, part in allocate_credits(payments, missing, in_flight):
            credit = Credit(
                id=new_id(),
                order_id=order.id,
                order_version=refund.order_version,
                payment_id=payment_id,
                transaction_id=transaction_id,
                amount=part,
                currency=refund.currency,
                status=CreditStatus.CREATED,
                created_at=now,
                refund_id=refund.id,
            )
            await uow.payments.save_credit(credit, new=True)
            waiting.append(credit)
    references = {t.id: t.psp_reference for p in payments for t in p.transactions}
    return [ToSend(c.id, references.get(c.transaction_id), c.amount, c.currency) for c in waiting]


async def send_credits(provider: PaymentProvider, credits: list[ToSend]) -> dict[str, str]:
    """Phase two, outside any transaction: each credit asked of the provider. Answers by
    credit id: CREDITED or FAILED; a credit whose answer never came is left out."""
    answers: dict[str, str] = {}
    for credit in credits:
        try:
            await provider.credit(
                credit.credit_id, credit.capture_reference, credit.amount, credit.currency
            )
        except PaymentProviderUnavailable:
            answers[credit.credit_id] = FAILED
        except PaymentProviderNoAnswer:
            continue
        else:
            answers[credit.credit_id] = CREDITED
    return answers


async def settle_credits(
    uow: UnitOfWork,
    refund_id: str,
    answers: dict[str, str],
    now: datetime,
    caller: Caller | None = None,
) -> Refund:
    """Phase three, in its own unit of work: the answers committed, and the refund completed
    by its purpose once all of its money is credited. Returns the refund as it stands. The
    events name `caller`, or none when the service settles it on its own (the reconciler)."""
    found = await uow.refunds.get(refund_id)
    assert found is not None
    order = await uow.orders.get_for_update(found.order_id, None)
    assert order is not None
    # Read again under the order's lock: a racing settlement of the same refund (a retry
    # with its key) may have completed it while this one waited for the lock.
    refund = await uow.refunds.get(refund_id)
    assert refund is not None
    payments = await uow.payments.for_order(order.id)
    transactions = {t.id: (p, t) for p in payments for t in p.transactions}
    credits = [
        c for c in await uow.payments.credits_for_order(order.id) if c.refund_id == refund.id
    ]
    for credit in credits:
        answer = answers.get(credit.id)
        if credit.status is not CreditStatus.CREATED or answer is None:
            continue
        if answer == FAILED:
            credit.status = CreditStatus.FAILED
        else:
            credit.status = CreditStatus.CREDITED
            payment, transaction = transactions[credit.transaction_id]
            transaction.credited_amount += credit.amount
            transaction.log("CREDIT", credit.amount, now)
            if transaction.credited_amount == transaction.amount:
                transaction.status = TransactionStatus.CREDITED
        await uow.payments.save_credit(credit, new=False)
    credited = sum((c.amount for c in credits if c.status is CreditStatus.CREDITED), Decimal(0))
    if refund.status is RefundStatus.PENDING and credited == refund.amount:
        await _complete(uow, order, refund, payments, now, caller)
    await uow.refunds.save(refund, new=False)
    for payment in payments:
        await uow.payments.save(payment)
    return refund


async def _complete(
    uow: UnitOfWork,
    order: Order,
    refund: Refund,
    payments: list[Payment],
    now: datetime,
    caller: Caller | None,
) -> None:
    """All of the refund's money is back: what it was for happens now."""
    from sales_api.domain.services.lifecycle import apply_change

    if refund.purpose is RefundPurpose.LINES:
        refund.disabled_ticket_ids = await disable_tickets(uow, order.id, refund.line_ids)
        order.refund_lines(refund.line_ids, refund.amount, now)
        uow.events.add(
            order_event(order, Event.ORDER_REFUNDED, caller, now, refund.id, *refund.line_ids)
        )
        if refund.disabled_ticket_ids:
            uow.events.add(
                order_event(order, Event.TICKETS_DISABLED, caller, now, *refund.disabled_ticket_ids)
            )
    elif refund.purpose is RefundPurpose.COMPENSATE:
        fee = compensate(order, refund.amount, refund.reason or "", now)
        uow.events.add(order_event(order, Event.ORDER_COMPENSATED, caller, now, refund.id, fee.id))
    else:
        order.credited_amount += refund.amount
        # The order may have moved on meanwhile (paid up, say): then the money given back
        # stays in its books, and its balance shows what is owed again.
        with contextlib.suppress(SalesError):
            await apply_change(uow, order, refund.purpose, caller, now, refund.id)
    refund.status = RefundStatus.COMPLETED
    refund.order_version = order.version
    await uow.orders.save(order)


async def disable_tickets(uow: UnitOfWork, order_id: str, line_ids: list[str]) -> list[str]:
    """The tickets of the lines DISABLED; their ids."""
    disabled = []
    for group in await uow.tickets.groups_for_order(order_id):
        for ticket in group.tickets:
            if ticket.order_line_id in line_ids and ticket.status is not TicketStatus.DISABLED:
                ticket.status = TicketStatus.DISABLED
                await uow.tickets.save_ticket(ticket)
                disabled.append(ticket.id)
    return disabled


def credit_error(answers: dict[str, str], sent: list[ToSend]) -> SalesError | None:
    """Why the money is not all back yet: a refusal, or an answer that never came."""
    if any(answer == FAILED for answer in answers.values()):
        return SalesError(
            ErrorCode.PAYMENT_DECLINED,
            "The payment provider did not give the money back; the order is unchanged, "
            "retry (with the same idempotencyKey where the mutation takes one)",
        )
    if any(credit.credit_id not in answers for credit in sent):
        return SalesError(
            ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
            "The payment provider did not answer; the money goes back once it does (asked "
            "again with the same idempotencyKey, or by the service), never twice",
        )
    return None


def give_back_refund(
    order: Order, purpose: RefundPurpose, amount: Decimal, now: datetime
) -> Refund:
    """A refund of no lines: the money taken for a DRAFT version that will never be
    confirmed, given back before it is reset, cancelled or expired."""
    return Refund(
        id=new_id(),
        order_id=order.id,
        status=RefundStatus.PENDING,
        order_version=order.version,
        amount=amount,
        fee=Decimal("0.00"),
        currency=order.currency,
        line_ids=[],
        created_at=now,
        reason=f"money of version {order.version} given back ({purpose.value.lower()})",
        purpose=purpose,
    )
