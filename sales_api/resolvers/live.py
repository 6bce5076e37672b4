"""Resolvers of subscriptions. Each starts listening before its first read, so no change
committed in between is missed; each message is read afresh through the read side, as
the subscriber's organisation (one short read per message: no connection is held open)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry

from sales_api.domain.caller import Permission
from sales_api.domain.errors import NotFound
from sales_api.domain.events import OrderEventType
from sales_api.domain.live import EventHub, EventNotice
from sales_api.domain.services import catalogue as service
from sales_api.queries.selection import Built
from sales_api.schema.context import Info
from sales_api.schema.reads import read_one
from sales_api.schema.sale_types import SeatMapType, seat_map_type


def _hub(info: Info) -> EventHub:
    hub = info.context.hub
    if hub is None:
        raise RuntimeError("subscriptions need the event hub in the context")
    return hub


async def order_updated(
    info: Info,
    order_id: Annotated[
        strawberry.ID,
        strawberry.argument(description="The order's id; NOT_FOUND when the caller has none."),
    ],
) -> AsyncIterator[Built]:
    """The order now, then after every change committed to it."""
    caller = info.context.caller
    caller.require(Permission.SALES_READ)
    wanted = str(order_id)
    organisation = caller.organisation_id
    listener = _hub(info).listen(
        lambda n: n.order_id == wanted and n.organisation_id == organisation
    )
    try:
        first = await read_one(info, "Order", wanted)
        if first is None:
            raise NotFound("Order", ["orderId"])
    except BaseException:
        listener.close()
        raise

    async def stream() -> AsyncIterator[Built]:
        try:
            yield first
            while True:
                await listener.next()
                order = await read_one(info, "Order", wanted)
                if order is not None:
                    yield order
        finally:
            listener.close()

    return stream()


async def seat_map_updated(
    info: Info,
    service_journey_id: Annotated[
        strawberry.ID, strawberry.argument(description="The service journey (a train run).")
    ],
    from_stop_place_id: Annotated[
        strawberry.ID, strawberry.argument(description="The stop place the segment starts at.")
    ],
    to_stop_place_id: Annotated[
        strawberry.ID, strawberry.argument(description="The stop place the segment ends at.")
    ],
) -> AsyncIterator[SeatMapType]:
    """The seat map now, then each time it looks different after a change on the journey
    (seats are public to every seller, so every organisation's changes count)."""
    context = info.context
    journey = str(service_journey_id)
    listener = _hub(info).listen(lambda n: journey in n.journey_ids)

    async def read() -> tuple[object, list[object], SeatMapType]:
        segment, cars = await service.seat_map(
            context.reader,
            context.reference,
            context.clock,
            context.caller,
            journey,
            str(from_stop_place_id),
            str(to_stop_place_id),
        )
        return segment, list(cars), seat_map_type(segment, cars)

    try:
        _segment, shown, first = await read()
    except BaseException:
        listener.close()
        raise

    async def stream() -> AsyncIterator[SeatMapType]:
        nonlocal shown
        try:
            yield first
            while True:
                await listener.next()
                _segment, cars, seat_map = await read()
                if cars != shown:
                    shown = cars
                    yield seat_map
        finally:
            listener.close()

    return stream()


async def order_events(
    info: Info,
    types: Annotated[
        list[OrderEventType] | None,
        strawberry.argument(description="Only events of these types; default: every type."),
    ] = None,
) -> AsyncIterator[Built]:
    """The caller's organisation's events as they are committed (of `types`, if named)."""
    caller = info.context.caller
    caller.require(Permission.SALES_READ)
    organisation = caller.organisation_id
    kinds = frozenset(types) if types else None

    def wanted(notice: EventNotice) -> bool:
        return notice.organisation_id == organisation and (kinds is None or notice.type in kinds)

    listener = _hub(info).listen(wanted)

    async def stream() -> AsyncIterator[Built]:
        try:
            while True:
                for notice in await listener.next():
                    event = await read_one(info, "OrderEvent", notice.event_id)
                    if event is not None:
                        yield event
        finally:
            listener.close()

    return stream()
