"""Resolvers of stopPlaces, departures, offers and seatMap."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from sales_api.domain.orders import StopPlaceRef
from sales_api.domain.services import catalogue as service
from sales_api.schema.context import Info
from sales_api.schema.sale_types import (
    DepartureType,
    OfferSearchInput,
    OfferType,
    SeatMapType,
    departure_type,
    offer_type,
    seat_map_type,
    stop_place_type,
)
from sales_api.schema.types import StopPlaceType


async def stop_places(info: Info) -> list[StopPlaceType]:
    context = info.context
    found = await service.stop_places(context.reference, context.caller)
    return [stop_place_type(StopPlaceRef(s.id, s.name)) for s in found]


FROM_STOP = "The stop place travelled from, e.g. NSR:StopPlace:337 (as stopPlaces lists)."
TO_STOP = "The stop place travelled to."
JOURNEY = "The service journey (a train run), as departures and offers name it."


async def departures(
    info: Info,
    from_stop_place_id: Annotated[strawberry.ID, strawberry.argument(description=FROM_STOP)],
    to_stop_place_id: Annotated[strawberry.ID, strawberry.argument(description=TO_STOP)],
    date: Annotated[
        date,
        strawberry.argument(
            description="The local date (Europe/Oslo) of departure from the first stop place,"
            " YYYY-MM-DD; past dates list nothing."
        ),
    ],
) -> list[DepartureType]:
    context = info.context
    segments = await service.find_departures(
        context.reference,
        context.clock,
        context.caller,
        str(from_stop_place_id),
        str(to_stop_place_id),
        date,
    )
    return [departure_type(segment) for segment in segments]


async def offers(
    info: Info,
    search: Annotated[
        OfferSearchInput,
        strawberry.argument(description="Where, when and who: the stop places, date, travellers."),
    ],
) -> list[OfferType]:
    context = info.context
    found = await service.search_offers(
        context.reader,
        context.reference,
        context.clock,
        context.caller,
        from_stop=str(search.from_stop_place_id),
        to_stop=str(search.to_stop_place_id),
        on=search.date,
        travellers=[t.to_domain() for t in search.travellers],
        service_journey_id=str(search.service_journey_id) if search.service_journey_id else None,
    )
    codec = await context.reference.offer_codec()
    return [offer_type(priced, codec.encode(priced.offer)) for priced in found]


async def seat_map(
    info: Info,
    service_journey_id: Annotated[strawberry.ID, strawberry.argument(description=JOURNEY)],
    from_stop_place_id: Annotated[strawberry.ID, strawberry.argument(description=FROM_STOP)],
    to_stop_place_id: Annotated[strawberry.ID, strawberry.argument(description=TO_STOP)],
) -> SeatMapType:
    context = info.context
    segment, cars = await service.seat_map(
        context.reader,
        context.reference,
        context.clock,
        context.caller,
        str(service_journey_id),
        str(from_stop_place_id),
        str(to_stop_place_id),
    )
    return seat_map_type(segment, cars)
