"""The order life cycle: cancel, reset, confirm, and expiry of DRAFT orders."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import NotFound, SalesError
from sales_api.domain.orders import Order, OrderStatus
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory
from sales_api.domain.services.orders import ensure_channel_allowed

log = logging.getLogger("sales_api.expiry")


@dataclass(frozen=True, slots=True)
class OrderRef:
    order_id: str
    expected_version: int | None = None


async def _change(
    uow_factory: UnitOfWorkFactory,
    caller: Caller,
    ref: OrderRef,
    change: Callable[[Order], None],
) -> Order:
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await uow.orders.get_for_update(ref.order_id, caller.organisation_id)
        if order is None:
            raise NotFound("Order", ["input", "orderId"])
        order.check_version(ref.expected_version)
        draft_version = order.version if order.status is OrderStatus.DRAFT else None
        change(order)
        await deactivate_discarded_payments(uow, order, draft_version)
        await uow.orders.save(order)
        await uow.commit()
    return order


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


async def cancel_order(uow_factory: UnitOfWorkFactory, caller: Caller, ref: OrderRef) -> Order:
    """A DRAFT order nothing was paid on: CANCELLED, seats released."""
    return await _change(uow_factory, caller, ref, lambda order: order.cancel())


async def reset_order(uow_factory: UnitOfWorkFactory, caller: Caller, ref: OrderRef) -> Order:
    """Back to the last confirmed version, or cancelled when never confirmed."""
    return await _change(uow_factory, caller, ref, lambda order: order.reset())


async def confirm_order(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, ref: OrderRef
) -> Order:
    """Confirms an order whose balance is 0.00."""
    return await _change(uow_factory, caller, ref, lambda order: order.confirm(clock.now()))


async def expire_orders(uow_factory: UnitOfWorkFactory, clock: Clock, limit: int = 100) -> int:
    """Reset DRAFT orders past their expiry, each in its own transaction. Their seats were
    already free to others from the moment of expiry; this makes the orders say so too."""
    now = clock.now()
    async with uow_factory() as uow:
        candidates = await uow.orders.expired_order_ids(now, limit)
    done = 0
    for order_id in candidates:
        async with uow_factory(write=True) as uow:
            order = await uow.orders.get_for_update(order_id, None)
            if order is None or not order.is_expired(clock.now()):
                continue  # confirmed or changed since it was listed
            discarded = order.version
            try:
                order.reset(expired=True)
            except SalesError as refusal:
                # Partly paid: its seats are already free to others; the order waits for the
                # rest of the money (a capture re-checks the seats) or a refund.
                log.warning("expired order kept", extra={"order": order.id, "why": str(refusal)})
                order.expire_at = None
            else:
                await deactivate_discarded_payments(uow, order, discarded)
            await uow.orders.save(order)
            await uow.commit()
            done += 1
    if done:
        log.info("expired orders reset", extra={"count": done})
    return done
