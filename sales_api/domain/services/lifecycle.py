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
from sales_api.domain.orders import Order, OrderStatus
from sales_api.domain.payments import PaymentProvider
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus
from sales_api.domain.services.credits import (
    ToSend,
    credit_error,
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


async def _change(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    caller: Caller,
    ref: OrderRef,
    change: Callable[[Order], None],
    event: Event,
) -> Order:
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _locked(uow, caller, ref)
        draft_version = order.version if order.status is OrderStatus.DRAFT else None
        change(order)
        await deactivate_discarded_payments(uow, order, draft_version)
        await uow.orders.save(order)
        uow.events.add(order_event(order, event, caller, clock.now()))
        await uow.commit()
    return order


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
    """Reset or cancel a DRAFT version. Money taken for it (beyond what the confirmed version
    costs) is given back first, through the provider and outside any transaction
    (credits.py); the order changes once it is all back."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    change = _CHANGES[purpose]
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _locked(uow, caller, ref)
        giving_back = await _giving_back(uow, order, purpose, now)
        if giving_back is None:
            discarded = order.version if order.status is OrderStatus.DRAFT else None
            change(order)
            await deactivate_discarded_payments(uow, order, discarded)
            await uow.orders.save(order)
            uow.events.add(order_event(order, DISCARD_EVENTS[purpose], caller, now))
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
        amount = order.money_beyond_confirmed()
        if amount == 0:
            return None
        _CHANGES[purpose](_dry_run(order, amount))  # refused now, before money moves
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


_CHANGES: dict[RefundPurpose, Callable[[Order], None]] = {
    RefundPurpose.CANCEL: lambda order: order.cancel(),
    RefundPurpose.RESET: lambda order: order.reset(),
    RefundPurpose.EXPIRE: lambda order: order.reset(expired=True),
}

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
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, ref: OrderRef
) -> Order:
    """Confirms an order whose balance is 0.00."""
    return await _change(
        uow_factory,
        clock,
        caller,
        ref,
        lambda order: order.confirm(clock.now()),
        Event.ORDER_CONFIRMED,
    )


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
                discarded = order.version
                order.reset(expired=True)
                await deactivate_discarded_payments(uow, order, discarded)
                await uow.orders.save(order)
                uow.events.add(order_event(order, Event.ORDER_EXPIRED, None, now))
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
