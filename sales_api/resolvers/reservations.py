"""Resolvers of reserveOffers, changeSeats and reservations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import reservations as service
from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.sale_types import ChangeSeatsInput, ReservationFilter, ReserveOffersInput
from sales_api.schema.types import ReservationPayload, ReserveOffersPayload


async def reserve_offers(
    info: Info,
    input: Annotated[
        ReserveOffersInput,
        strawberry.argument(
            description="The offers, with travellers and seats, and the order to add to."
        ),
    ],
) -> ReserveOffersPayload:
    context = info.context

    async def work() -> ReserveOffersPayload:
        command = service.ReserveOffers(
            configurations=tuple(c.to_domain() for c in input.offer_configurations),
            order_id=str(input.order_id) if input.order_id is not None else None,
            expected_version=input.expected_version,
            idempotency_key=input.idempotency_key,
        )
        reserved = await service.reserve_offers(
            context.uow_factory,
            context.reference,
            context.clock,
            context.caller,
            command,
            context.holds,
        )
        context.events.seats_held(reserved.seats_held)
        return ReserveOffersPayload(
            order_id=reserved.order_id, order_line_ids=reserved.line_ids, errors=[]
        )

    return await answer(
        info,
        work,
        lambda errors: ReserveOffersPayload(order_id=None, order_line_ids=(), errors=errors),
    )


async def change_seats(
    info: Info,
    input: Annotated[
        ChangeSeatsInput,
        strawberry.argument(description="The reservation and the seats to move it to."),
    ],
) -> ReservationPayload:
    context = info.context

    async def work() -> ReservationPayload:
        command = service.ChangeSeats(
            reservation_id=str(input.reservation_id),
            seats=tuple(s.to_domain() for s in input.seats),
        )
        reservation = await service.change_seats(
            context.uow_factory, context.reference, context.clock, context.caller, command
        )
        return ReservationPayload(reservation_id=reservation.id, errors=[])

    return await answer(
        info, work, lambda errors: ReservationPayload(reservation_id=None, errors=errors)
    )


async def reservations(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[ReservationFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    return await page_of(info, "Reservation", filter, page, per_page)
