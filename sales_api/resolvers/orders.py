"""Resolvers of orders: order, orders, createOrder, updateOrder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import strawberry
from strawberry.types.nodes import Selection

from sales_api.domain.orders import Order, OrderSummary
from sales_api.domain.paging import PageRequest
from sales_api.domain.payments import Credit
from sales_api.domain.services import lifecycle
from sales_api.domain.services import orders as service
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.filters import OrderFilter, OrderSort, list_query
from sales_api.schema.inputs import CreateOrderInput, UpdateOrderInput
from sales_api.schema.sale_types import OrderRefInput
from sales_api.schema.selection import asks_for, child, field_names
from sales_api.schema.types import (
    OrderConnection,
    OrderPayload,
    OrderType,
    order_aggregate_type,
    order_type,
)

T = TypeVar("T")


async def _load(
    load_many: Callable[[list[str]], Awaitable[list[T]]], ids: list[str], wanted: bool
) -> list[T] | None:
    return await load_many(ids) if wanted and ids else None


async def order_types(
    info: Info, orders: Sequence[OrderSummary], selections: list[Selection]
) -> list[OrderType]:
    """Schema orders with their nested lists filled by one batched load per list, and only
    for the lists the query asks for (no awaitable per item)."""
    ids = [order.id for order in orders]
    loaders = info.context.loaders
    asked = field_names(selections)
    line_fields = field_names(child(selections, "orderLines"))
    wants_lines = "orderLines" in asked
    wants_travellers = "travellers" in asked or "travellers" in line_fields
    wants_reservations = "reservations" in asked or "reservation" in line_fields
    wants_payments = "payments" in asked or "paymentRefs" in asked
    wants_groups = "ticketDistributionGroups" in asked or "ticketDistributions" in line_fields
    wants_receipts = "receipts" in asked
    # The lists are independent: their batches are read side by side, each on its own
    # short connection, rather than one after the other.
    (
        travellers,
        lines,
        reservations,
        payments,
        groups,
        receipts,
    ) = await asyncio.gather(
        _load(loaders.travellers_by_order_id.load_many, ids, wants_travellers),
        _load(loaders.order_lines_by_order_id.load_many, ids, wants_lines),
        _load(loaders.reservations_by_order_id.load_many, ids, wants_reservations),
        _load(loaders.payments_by_order_id.load_many, ids, wants_payments),
        _load(loaders.ticket_groups_by_order_id.load_many, ids, wants_groups),
        _load(loaders.receipts_by_order_id.load_many, ids, wants_receipts),
    )
    credits: dict[str, list[Credit]] = {}
    if payments is not None and asks_for(child(selections, "payments"), "credits"):
        payment_ids = [p.id for group in payments for p in group]
        if payment_ids:
            loaded = await loaders.credits_by_payment_id.load_many(payment_ids)
            credits = dict(zip(payment_ids, loaded, strict=True))
    return [
        order_type(
            order,
            travellers[index] if travellers is not None else [],
            lines[index] if lines is not None else [],
            reservations[index] if reservations is not None else [],
            payments[index] if payments is not None else [],
            groups[index] if groups is not None else [],
            receipts[index] if receipts is not None else [],
            credits,
            asked,
        )
        for index, order in enumerate(orders)
    ]


async def order(info: Info, id: strawberry.ID) -> OrderType | None:
    context = info.context
    found = await service.find_order(context.uow_factory, context.caller, str(id))
    if found is None:
        return None
    return (await order_types(info, [found], info.selected_fields[0].selections))[0]


async def orders(
    info: Info,
    page: int = 1,
    per_page: int = 20,
    filter: OrderFilter | None = None,
    sort: list[OrderSort] | None = None,
) -> OrderConnection:
    context = info.context
    result = await service.list_orders(
        context.uow_factory, context.caller, list_query(filter, sort), PageRequest(page, per_page)
    )
    items = child(info.selected_fields[0].selections, "items")
    return OrderConnection(
        items=await order_types(info, result.items, items),
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )


async def create_order(info: Info, input: CreateOrderInput) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.CreateOrder(
            currency=input.currency,
            contact_info=input.contact_info.to_domain() if input.contact_info else None,
            travellers=[t.to_domain() for t in input.travellers] if input.travellers else None,
            external_reference=input.external_reference,
        )
        created = await service.create_order(
            context.uow_factory, context.clock, context.caller, command
        )
        return OrderPayload(order=order_aggregate_type(created), errors=[])

    return await answer(work, lambda errors: OrderPayload(order=None, errors=errors))


async def update_order(info: Info, input: UpdateOrderInput) -> OrderPayload:
    context = info.context

    async def work() -> OrderPayload:
        command = service.UpdateOrder(
            order_id=str(input.order_id),
            expected_version=input.expected_version,
            contact_info=input.contact_info.to_domain() if input.contact_info else None,
            travellers=[t.to_domain() for t in input.travellers]
            if input.travellers is not None
            else None,
            external_reference=input.external_reference,
        )
        updated = await service.update_order(
            context.uow_factory, context.clock, context.caller, command
        )
        return OrderPayload(order=order_aggregate_type(updated), errors=[])

    return await answer(work, lambda errors: OrderPayload(order=None, errors=errors))


def _lifecycle(
    change: Callable[[Info, lifecycle.OrderRef], Awaitable[Order]],
) -> Callable[[Info, OrderRefInput], Awaitable[OrderPayload]]:
    async def resolve(info: Info, input: OrderRefInput) -> OrderPayload:
        async def work() -> OrderPayload:
            ref = lifecycle.OrderRef(str(input.order_id), input.expected_version)
            return OrderPayload(order=order_aggregate_type(await change(info, ref)), errors=[])

        return await answer(work, lambda errors: OrderPayload(order=None, errors=errors))

    return resolve


cancel_order = _lifecycle(
    lambda info, ref: lifecycle.cancel_order(info.context.uow_factory, info.context.caller, ref)
)
reset_order = _lifecycle(
    lambda info, ref: lifecycle.reset_order(info.context.uow_factory, info.context.caller, ref)
)
confirm_order = _lifecycle(
    lambda info, ref: lifecycle.confirm_order(
        info.context.uow_factory, info.context.clock, info.context.caller, ref
    )
)
