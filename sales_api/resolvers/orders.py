"""Resolvers of orders: order, orders, createOrder, updateOrder, and the life cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from sales_api.domain.orders import Order
from sales_api.domain.services import lifecycle
from sales_api.domain.services import orders as service
from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.filters import OrderFilter, OrderSort
from sales_api.schema.inputs import CreateOrderInput, UpdateOrderInput
from sales_api.schema.reads import read_one
from sales_api.schema.sale_types import OrderRefInput
from sales_api.schema.types import OrderPayload


async def order(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The order's id.")]
) -> Built | None:
    return await read_one(info, "Order", str(id))


async def orders(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[OrderFilter | None, strawberry.argument(description=FILTER)] = None,
    sort: Annotated[
        list[OrderSort] | None,
        strawberry.argument(
            description="Sort keys, the first deciding first; default createdAt DESC (newest"
            " first), id as tie-break."
        ),
    ] = None,
) -> Built:
    return await page_of(info, "Order", filter, page, per_page, sort)


async def create_order(
    info: Info,
    input: Annotated[CreateOrderInput, strawberry.argument(description="The new order's details.")],
) -> OrderPayload:
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
        return OrderPayload(order_id=created.id, errors=[])

    return await answer(info, work, lambda errors: OrderPayload(order_id=None, errors=errors))


async def update_order(
    info: Info,
    input: Annotated[
        UpdateOrderInput,
        strawberry.argument(description="The order and the details to change; absent: kept."),
    ],
) -> OrderPayload:
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
            context.uow_factory, context.clock, context.caller, command, context.holds
        )
        return OrderPayload(order_id=updated.id, errors=[])

    return await answer(info, work, lambda errors: OrderPayload(order_id=None, errors=errors))


def _lifecycle(
    change: Callable[[Info, lifecycle.OrderRef], Awaitable[Order]],
) -> Callable[[Info, OrderRefInput], Awaitable[OrderPayload]]:
    async def resolve(
        info: Info,
        input: Annotated[
            OrderRefInput,
            strawberry.argument(description="The order, and the version it is expected at."),
        ],
    ) -> OrderPayload:
        async def work() -> OrderPayload:
            ref = lifecycle.OrderRef(str(input.order_id), input.expected_version)
            return OrderPayload(order_id=(await change(info, ref)).id, errors=[])

        return await answer(info, work, lambda errors: OrderPayload(order_id=None, errors=errors))

    return resolve


cancel_order = _lifecycle(
    lambda info, ref: lifecycle.cancel_order(
        info.context.uow_factory,
        info.context.payment_provider,
        info.context.clock,
        info.context.caller,
        ref,
    )
)
reset_order = _lifecycle(
    lambda info, ref: lifecycle.reset_order(
        info.context.uow_factory,
        info.context.payment_provider,
        info.context.clock,
        info.context.caller,
        ref,
    )
)
confirm_order = _lifecycle(
    lambda info, ref: lifecycle.confirm_order(
        info.context.uow_factory,
        info.context.payment_provider,
        info.context.clock,
        info.context.caller,
        ref,
    )
)
