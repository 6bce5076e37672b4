"""The order life cycle: cancel, reset, confirm, and expiry of DRAFT orders."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.order_changes import replaced_line_ids
from sales_api.domain.orders import Order, OrderStatus
from sales_api.domain.payments import PaymentProvider
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus
from sales_api.domain.services.credits import (
    ToSend,
    credit_error,
    disable_tickets,
    give_back_refund,
    record_credits,
    send_credits,
    settle_credits,
)
from sales_api.domain.services.orders import ensure_channel_allowed

log = logging.getLogger("sales_api.expiry")


@dataclass(frozen=True, slots=True)
class OrderRef:
    order_id: str
    expected_version: int | None = None


async def _locked(uow: UnitOfWork, caller: Caller, ref: OrderRef) -> Order:
    order = await uow.orders.get_for_update(ref.order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", ["input", "orderId"])
    order.check_version(ref.expected_version)
    return order


async def _discard(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    caller: Caller,
    ref: OrderRef,
    purpose: RefundPurpose,
) -> Order:
    """Reset, cancel or confirm a DRAFT version. Money taken for it (beyond what the
    confirmed version costs; when confirming, beyond what it costs) is given back first,
    through the provider and outside any transaction (credits.py); the order changes once
    it is all back."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _locked(uow, caller, ref)
        giving_back = await _giving_back(uow, order, purpose, now)
        if giving_back is None:
            await apply_change(uow, order, purpose, caller, now)
            await uow.orders.save(order)
            await uow.commit()
            return order
        refund, to_send = giving_back
        await uow.commit()
    await _give_back(uow_factory, provider, clock, refund, to_send, caller)
    async with uow_factory() as uow:
        done = await _locked(uow, caller, OrderRef(ref.order_id))
    return done


async def _giving_back(
    uow: UnitOfWork, order: Order, purpose: RefundPurpose, now: datetime
) -> tuple[Refund, list[ToSend]] | None:
    """Phase one of giving back a DRAFT version's money: None when there is none to give
    back (the order changes at once); else the refund (resumed, or new and checked
    against the change it is for) and the credits to send, recorded in `uow`."""
    order.ensure_changeable()
    if purpose is RefundPurpose.CONFIRM and order.surplus == 0:
        return None  # nothing paid beyond what it costs: it confirms at once
    payments = await uow.payments.for_order(order.id)
    if any(p.in_flight_amount for p in payments):
        raise SalesError(
            ErrorCode.INVALID_STATE,
            f"A capture of order {order.id} is waiting for the payment provider's answer; "
            "try again shortly",
        )
    pending = [r for r in await uow.refunds.pending(order.id) if r.purpose is purpose]
    if pending:
        refund = pending[0]
    else:
        amount = (
            order.surplus if purpose is RefundPurpose.CONFIRM else order.money_beyond_confirmed()
        )
        if amount == 0:
            return None
        _CHANGES[purpose](_dry_run(order, amount), now)  # refused now, before money moves
        refund = give_back_refund(order, purpose, amount, now)
        await uow.refunds.save(refund, new=True)
    return refund, await record_credits(uow, order, refund, payments, now)


async def _give_back(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    refund: Refund,
    to_send: list[ToSend],
    caller: Caller | None = None,
) -> None:
    """Phases two and three: the credits sent, their answers committed (the refund, and
    so the change it is for, completed once all the money is back); SalesError when it is
    not all back yet."""
    answers = await send_credits(provider, to_send)
    async with uow_factory(write=True) as uow:
        settled = await settle_credits(uow, refund.id, answers, clock.now(), caller)
        await uow.commit()
    if settled.status is not RefundStatus.COMPLETED:
        error = credit_error(answers, to_send)
        if error is not None:
            raise error


def _dry_run(order: Order, given_back: Decimal) -> Order:
    """A copy of the order as it will be once `given_back` is credited."""
    trial = copy.deepcopy(order)
    trial.credited_amount += given_back
    return trial


_CHANGES: dict[RefundPurpose, Callable[[Order, datetime], None]] = {
    RefundPurpose.CANCEL: lambda order, _now: order.cancel(),
    RefundPurpose.RESET: lambda order, _now: order.reset(),
    RefundPurpose.EXPIRE: lambda order, _now: order.reset(expired=True),
    RefundPurpose.CONFIRM: lambda order, now: order.confirm(now),
}


async def apply_change(
    uow: UnitOfWork,
    order: Order,
    purpose: RefundPurpose,
    caller: Caller | None,
    now: datetime,
    *subject_ids: str,
) -> None:
    """The change a DRAFT version's money waited for (or needed none): it is confirmed (the
    tickets of lines it replaced disabled), reset, cancelled or expired, with its event.
    Raises SalesError, changing nothing, when the order does not allow it."""
    if purpose is RefundPurpose.CONFIRM:
        replaced = replaced_line_ids(order)
        order.confirm(now)
        uow.events.add(order_event(order, Event.ORDER_CONFIRMED, caller, now, *subject_ids))
        disabled = await disable_tickets(uow, order.id, replaced)
        if disabled:
            uow.events.add(order_event(order, Event.TICKETS_DISABLED, caller, now, *disabled))
        return
    discarded = order.version if order.status is OrderStatus.DRAFT else None
    _CHANGES[purpose](order, now)
    await deactivate_discarded_payments(uow, order, discarded)
    uow.events.add(order_event(order, DISCARD_EVENTS[purpose], caller, now, *subject_ids))


DISCARD_EVENTS: dict[RefundPurpose, Event] = {
    RefundPurpose.CANCEL: Event.ORDER_CANCELLED,
    RefundPurpose.RESET: Event.ORDER_RESET,
    RefundPurpose.EXPIRE: Event.ORDER_EXPIRED,
}


async def deactivate_discarded_payments(
    uow: UnitOfWork, order: Order, discarded_version: int | None
) -> None:
    """Payments opened for a DRAFT version that a reset, cancel or expiry discarded become
    inactive (PAYMENT_INACTIVE) until reactivated for the order's current state."""
    if discarded_version is None or (
        order.status is not OrderStatus.CANCELLED and order.version == discarded_version
    ):
        return
    for payment in await uow.payments.for_order(order.id):
        if payment.order_version == discarded_version and payment.active:
            payment.active = False
            await uow.payments.save(payment)


async def cancel_order(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    caller: Caller,
    ref: OrderRef,
) -> Order:
    """A DRAFT order never confirmed: CANCELLED, seats released, money taken for it given
    back."""
    return await _discard(uow_factory, provider, clock, caller, ref, RefundPurpose.CANCEL)


async def reset_order(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    caller: Caller,
    ref: OrderRef,
) -> Order:
    """Back to the last confirmed version, or cancelled when never confirmed; money taken
    for the discarded version given back."""
    return await _discard(uow_factory, provider, clock, caller, ref, RefundPurpose.RESET)


async def confirm_order(
    uow_factory: UnitOfWorkFactory,
    provider: PaymentProvider,
    clock: Clock,
    caller: Caller,
    ref: OrderRef,
) -> Order:
    """Confirms an order whose balance is 0.00. When an exchange made it cost less than was
    paid, the difference is credited back first (newest capture first), then it confirms."""
    return await _discard(uow_factory, provider, clock, caller, ref, RefundPurpose.CONFIRM)


async def expire_orders(
    uow_factory: UnitOfWorkFactory, provider: PaymentProvider, clock: Clock, limit: int = 100
) -> int:
    """Reset DRAFT orders past their expiry, each in its own transaction. Their seats were
    already free to others from the moment of expiry; this makes the orders say so too.
    Money taken for an expired version is given back first (a capture still waiting for
    the provider's answer keeps its order until the next round)."""
    now = clock.now()
    async with uow_factory() as uow:
        candidates = await uow.orders.expired_order_ids(now, limit)
    done = 0
    for order_id in candidates:
        giving_back: tuple[Refund, list[ToSend]] | None = None
        async with uow_factory(write=True) as uow:
            order = await uow.orders.get_for_update(order_id, None)
            if order is None or not order.is_expired(clock.now()):
                continue  # confirmed or changed since it was listed
            try:
                giving_back = await _giving_back(uow, order, RefundPurpose.EXPIRE, now)
            except SalesError as refusal:
                log.warning("expired order kept", extra={"order": order.id, "why": str(refusal)})
                continue
            if giving_back is None:
                await apply_change(uow, order, RefundPurpose.EXPIRE, None, now)
                await uow.orders.save(order)
            await uow.commit()
        if giving_back is not None:
            try:
                await _give_back(uow_factory, provider, clock, *giving_back)
            except SalesError as refusal:
                log.warning(
                    "expired order's money not all given back yet",
                    extra={"order": order_id, "why": refusal.message},
                )
                continue
        done += 1
    if done:
        log.info("expired orders reset", extra={"count": done})
    return done
