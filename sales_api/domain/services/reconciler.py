"""Settling what the payment provider's lost answers left open: a PENDING capture, or a
credit still CREATED, is settled by asking the provider what it did under its reference
(the transaction's id, the credit's id)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sales_api.domain.clock import Clock
from sales_api.domain.payments import PaymentProvider, PaymentProviderNoAnswer
from sales_api.domain.ports import UnitOfWorkFactory
from sales_api.domain.services.credits import CREDITED, FAILED, settle_credits
from sales_api.domain.services.payments import Charged, Refused, settle_capture

log = logging.getLogger("sales_api.reconciler")
CHARGE = "CHARGE"
CREDIT = "CREDIT"


async def reconcile_captures(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    *,
    answer_within: timedelta,
    limit: int = 100,
) -> int:
    """Captures PENDING for longer than the provider may take to answer (`answer_within`):
    CAPTURED when the provider charged them, FAILED when it has no record of them once
    twice that time has passed (so a request still on its way cannot charge later).
    Several processes may reconcile at once: each capture is settled under its order's
    lock, once. Returns how many were settled."""
    now = clock.now()
    async with uow_factory() as uow:
        waiting = await uow.payments.unsettled_captures(now - answer_within, limit)
    settled = 0
    for transaction_id, sent_at in waiting:
        try:
            entry = await provider.outcome(transaction_id)
        except PaymentProviderNoAnswer:
            continue  # asked again next round
        answer: Charged | Refused
        if entry is not None and entry.operation == CHARGE:
            answer = Charged(entry.psp_reference, entry.masked_card_number)
        elif now - sent_at >= 2 * answer_within:
            answer = Refused("The payment provider has no record of the capture")
        else:
            continue
        async with uow_factory(write=True) as uow:
            done = await settle_capture(uow, transaction_id, answer, clock.now())
            await uow.commit()
        if done:
            settled += 1
            log.info(
                "capture settled by asking the provider",
                extra={"transaction": transaction_id, "outcome": type(answer).__name__},
            )
    return settled


async def reconcile_credits(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    *,
    answer_within: timedelta,
    limit: int = 100,
) -> int:
    """Credits sent whose answer never came: CREDITED when the provider credited them (and
    their refund completed once all its money is back), FAILED when it has no record of
    them after twice the time it may take. Returns how many were settled."""
    now = clock.now()
    async with uow_factory() as uow:
        waiting = await uow.payments.unsettled_credits(now - answer_within, limit)
    settled = 0
    for credit_id, refund_id, created_at in waiting:
        try:
            entry = await provider.outcome(credit_id)
        except PaymentProviderNoAnswer:
            continue
        if entry is not None and entry.operation == CREDIT:
            answer = CREDITED
        elif now - created_at >= 2 * answer_within:
            answer = FAILED
        else:
            continue
        async with uow_factory(write=True) as uow:
            await settle_credits(uow, refund_id, {credit_id: answer}, clock.now())
            await uow.commit()
        settled += 1
    return settled
