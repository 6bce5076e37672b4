"""Order use cases: create, update and read orders of the calling organisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.money import normalise_currency
from sales_api.domain.orders import (
    DEFAULT_HOLD,
    ContactInfo,
    HoldRules,
    Order,
    Traveller,
    validate_external_reference,
    validate_travellers,
)
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class CreateOrder:
    currency: str | None = None
    contact_info: ContactInfo | None = None
    travellers: Sequence[Traveller] | None = None
    external_reference: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateOrder:
    order_id: str
    expected_version: int | None = None
    contact_info: ContactInfo | None = None
    travellers: Sequence[Traveller] | None = None
    external_reference: str | None = None


async def ensure_channel_allowed(uow: UnitOfWork, caller: Caller) -> None:
    """Mutations sell through a registered channel that is open to the caller's organisation."""
    channel = caller.distribution_channel_id
    if channel is None or not await uow.channels.allows(channel, caller.organisation_id):
        raise SalesError(
            ErrorCode.DISTRIBUTION_CHANNEL_NOT_ALLOWED,
            f"Distribution channel {channel!r} is not open to "
            f"organisation {caller.organisation_id}",
        )


async def ensure_no_money_moving(uow: UnitOfWork, order_id: str) -> None:
    """No new version starts while money of the order is being given back: the refund,
    once settled, would be applied to a version it was not planned on (and confirm it
    unpaid). The refund finishes first (retried with its key, or by the service)."""
    pending = await uow.refunds.pending(order_id)
    if pending:
        raise SalesError(
            ErrorCode.INVALID_STATE,
            f"Money of order {order_id} is being given back (refund {pending[0].id}); "
            "try again once it is settled",
        )


async def create_order(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: CreateOrder
) -> Order:
    caller.require(Permission.SALES_WRITE)
    order = Order(
        id=new_id(),
        organisation_id=caller.organisation_id,
        currency=normalise_currency(command.currency),
        pos=caller.pos or "",
        distribution_channel_id=caller.distribution_channel_id or "",
        created_at=clock.now(),
        external_reference=(
            validate_external_reference(command.external_reference)
            if command.external_reference is not None
            else None
        ),
        contact_info=(
            command.contact_info.validated(["input", "contactInfo"])
            if command.contact_info is not None
            else None
        ),
        travellers=validate_travellers(command.travellers or []),
    )
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        uow.orders.add(order)
        uow.events.add(order_event(order, Event.ORDER_CREATED, caller, order.created_at))
        await uow.commit()
    return order


async def update_order(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    caller: Caller,
    command: UpdateOrder,
    hold: HoldRules = DEFAULT_HOLD,
) -> Order:
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await uow.orders.get_for_update(command.order_id, caller.organisation_id)
        if order is None:
            raise NotFound("Order", ["input", "orderId"])
        order.check_version(command.expected_version)
        if command.travellers is not None:
            await ensure_no_money_moving(uow, order.id)
        now = clock.now()
        order.update_details(
            now,
            contact_info=command.contact_info,
            travellers=command.travellers,
            external_reference=command.external_reference,
            hold=hold,
        )
        await uow.orders.save(order)
        uow.events.add(order_event(order, Event.ORDER_UPDATED, caller, now))
        await uow.commit()
    return order
