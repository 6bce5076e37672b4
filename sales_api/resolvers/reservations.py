"""Resolvers of reserveOffers, changeSeats and reservations."""

from __future__ import annotations

from sales_api.domain.paging import PageRequest
from sales_api.domain.services import reservations as service
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.filters import list_query
from sales_api.schema.sale_types import ChangeSeatsInput, ReservationFilter, ReserveOffersInput
from sales_api.schema.types import (
    ReservationConnection,
    ReservationPayload,
    ReserveOffersPayload,
    order_aggregate_type,
    order_line_type,
    reservation_type,
)


async def reserve_offers(info: Info, input: ReserveOffersInput) -> ReserveOffersPayload:
    context = info.context

    async def work() -> ReserveOffersPayload:
        command = service.ReserveOffers(
            configurations=tuple(c.to_domain() for c in input.offer_configurations),
            order_id=str(input.order_id) if input.order_id is not None else None,
            expected_version=input.expected_version,
            idempotency_key=input.idempotency_key,
        )
        reserved = await service.reserve_offers(
            context.uow_factory, context.reference, context.clock, context.caller, command
        )
        if not reserved.replayed:
            context.events.seats_held(sum(len(r.seats) for r in reserved.reservations))
        travellers = {t.id: t for t in reserved.order.travellers}
        return ReserveOffersPayload(
            order=order_aggregate_type(reserved.order),
            order_lines=[
                order_line_type(line, travellers, line.reservation) for line in reserved.lines
            ],
            reservations=[reservation_type(r) for r in reserved.reservations],
            errors=[],
        )

    return await answer(
        work,
        lambda errors: ReserveOffersPayload(
            order=None, order_lines=[], reservations=[], errors=errors
        ),
    )


async def change_seats(info: Info, input: ChangeSeatsInput) -> ReservationPayload:
    context = info.context

    async def work() -> ReservationPayload:
        command = service.ChangeSeats(
            reservation_id=str(input.reservation_id),
            seats=tuple(s.to_domain() for s in input.seats),
        )
        reservation = await service.change_seats(
            context.uow_factory, context.reference, context.clock, context.caller, command
        )
        return ReservationPayload(reservation=reservation_type(reservation), errors=[])

    return await answer(work, lambda errors: ReservationPayload(reservation=None, errors=errors))


async def reservations(
    info: Info, page: int = 1, per_page: int = 20, filter: ReservationFilter | None = None
) -> ReservationConnection:
    context = info.context
    result = await service.list_reservations(
        context.uow_factory, context.caller, list_query(filter), PageRequest(page, per_page)
    )
    return ReservationConnection(
        items=[reservation_type(r) for r in result.items],
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )
