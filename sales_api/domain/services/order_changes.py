"""After-sale changes of an order: longer holds, cancelled lines, seller's fees, exchanges.
Each runs in one transaction with the order locked; those that take an idempotency key run
through `once` (claim, replay, complete)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sales_api.domain import order_changes
from sales_api.domain.after_sale import CAPTURING
from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.orders import FeeType, HoldRules, Order
from sales_api.domain.ports import ReferenceData, UnitOfWork, UnitOfWorkFactory
from sales_api.domain.seating import SeatRequest
from sales_api.domain.services import idempotency
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.orders import ensure_channel_allowed, ensure_no_money_moving
from sales_api.domain.services.reservations import (
    OfferConfiguration,
    ensure_not_disrupted,
    lines_for,
    plan_configuration,
)


@dataclass(frozen=True, slots=True)
class Changed:
    """The order a change left behind, by id (the payload is read after the commit)."""

    order_id: str
    replayed: bool = False


async def locked_order(
    uow: UnitOfWork, caller: Caller, order_id: str, expected_version: int | None
) -> Order:
    """The caller's order, locked, at the version the client expects, with no money of it
    being given back meanwhile."""
    order = await uow.orders.get_for_update(order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", ["input", "orderId"])
    order.check_version(expected_version)
    await ensure_no_money_moving(uow, order.id)
    return order


async def _change(
    uow_factory: UnitOfWorkFactory,
    caller: Caller,
    now: datetime,
    key: str | None,
    operation: str,
    command: object,
    work: Callable[[UnitOfWork], Awaitable[Order]],
) -> Changed:
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)

        async def run(_earlier: Result | None) -> Result:
            order = await work(uow)
            await uow.orders.save(order)
            return {"orderId": order.id}

        done = await idempotency.once(uow, caller, key, operation, command, now, run)
        await uow.commit()
    return Changed(str(done.result["orderId"]), done.replayed)


@dataclass(frozen=True, slots=True)
class ExtendExpiry:
    order_id: str
    expected_version: int | None = None


async def extend_order_expiry(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    caller: Caller,
    command: ExtendExpiry,
    hold: HoldRules,
) -> Changed:
    """A DRAFT's hold moved to now + the hold period, capped at its longest hold."""
    now = clock.now()

    async def work(uow: UnitOfWork) -> Order:
        order = await locked_order(uow, caller, command.order_id, command.expected_version)
        order_changes.extend_expiry(order, now, hold)
        uow.events.add(order_event(order, Event.ORDER_EXPIRY_EXTENDED, caller, now))
        return order

    return await _change(uow_factory, caller, now, None, "extendOrderExpiry", command, work)


@dataclass(frozen=True, slots=True)
class CancelLines:
    order_id: str
    order_line_ids: tuple[str, ...]
    expected_version: int | None = None
    idempotency_key: str | None = None


async def cancel_order_lines(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: CancelLines
) -> Changed:
    """Lines added in the current DRAFT version: CANCELLED, their seats freed at once."""
    now = clock.now()

    async def work(uow: UnitOfWork) -> Order:
        order = await locked_order(uow, caller, command.order_id, command.expected_version)
        # A capture still in flight may land after the lines are gone: more paid than owed.
        if any(p.in_flight_amount for p in await uow.payments.for_order(order.id)):
            raise SalesError(ErrorCode.INVALID_STATE, f"Order {order.id}: {CAPTURING}")
        lines = order_changes.cancel_lines(order, command.order_line_ids, now)
        uow.events.add(
            order_event(order, Event.ORDER_LINES_CANCELLED, caller, now, *(x.id for x in lines))
        )
        return order

    key = command.idempotency_key
    return await _change(uow_factory, caller, now, key, "cancelOrderLines", command, work)


@dataclass(frozen=True, slots=True)
class AddFee:
    order_id: str
    type: FeeType
    amount: Decimal
    description: str
    expected_version: int | None = None
    idempotency_key: str | None = None


async def add_fee(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    caller: Caller,
    command: AddFee,
    hold: HoldRules,
) -> Changed:
    """A BOOKING or MANUAL fee; on a CONFIRMED order a new DRAFT version owing the fee."""
    now = clock.now()
    order_changes.validate_fee(command.type, command.amount, command.description)

    async def work(uow: UnitOfWork) -> Order:
        order = await locked_order(uow, caller, command.order_id, command.expected_version)
        fee = order_changes.add_fee(
            order, command.type, command.amount, command.description, now, hold
        )
        uow.events.add(order_event(order, Event.FEE_ADDED, caller, now, fee.id))
        return order

    key = command.idempotency_key
    return await _change(uow_factory, caller, now, key, "addFee", command, work)


@dataclass(frozen=True, slots=True)
class ExchangeLines:
    order_id: str
    order_line_ids: tuple[str, ...]
    offer_id: str
    seats: tuple[SeatRequest, ...] | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


async def exchange_order_lines(
    uow_factory: UnitOfWorkFactory,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    command: ExchangeLines,
    hold: HoldRules,
) -> Changed:
    """CONFIRMED lines replaced by lines of another offer for the same travellers, in a new
    DRAFT version: the new seats held now (under the new journey's lock, taken before the
    order's, as reserveOffers does), the old seats and tickets valid until it confirms."""
    now = clock.now()
    catalogue = await reference.catalogue()
    codec = await reference.offer_codec()
    path = ["input", "offerId"]

    async def work(uow: UnitOfWork) -> Order:
        offer = codec.decode(command.offer_id, catalogue, now, path)
        if offer.segment.departure_time <= now:
            raise SalesError(ErrorCode.OFFER_EXPIRED, "The train has left", path)
        plan = plan_configuration(
            catalogue, offer, OfferConfiguration(command.offer_id, None, command.seats), ["input"]
        )
        journey_id = offer.segment.journey.id
        await uow.seats.lock_journey(journey_id)
        await uow.seats.release_expired(journey_id, now)
        await ensure_not_disrupted(uow, [plan])
        order = await locked_order(uow, caller, command.order_id, command.expected_version)
        if offer.currency != order.currency:
            raise SalesError(
                ErrorCode.CURRENCY_MISMATCH,
                f"The order is in {order.currency}; the offer is in {offer.currency}",
                path,
            )
        known = {t.id: t.user_type for t in order.travellers}
        for traveller in plan.travellers:
            if known.get(traveller.id, traveller.user_type) is not traveller.user_type:
                raise ValidationFailed(
                    f"Traveller {traveller.id} is {known[traveller.id].value} on this order, "
                    f"not {traveller.user_type.value}",
                    path,
                )
        # The order's rules first: a refused exchange holds no seat.
        order_changes.check_exchange(order, command.order_line_ids, now)
        new_lines = await lines_for(uow, order, [plan], now)
        fees = order_changes.exchange_lines(order, command.order_line_ids, new_lines, now, hold)
        subjects = [*command.order_line_ids, *(x.id for x in new_lines), *(f.id for f in fees)]
        uow.events.add(order_event(order, Event.ORDER_LINES_EXCHANGED, caller, now, *subjects))
        return order

    key = command.idempotency_key
    return await _change(uow_factory, caller, now, key, "exchangeOrderLines", command, work)
