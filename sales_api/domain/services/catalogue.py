"""Finding what to buy: stop places, departures, offers and the seat map of a segment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.catalogue import LOCAL_TIME, Car, Segment, StopPlace, departures
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ValidationFailed
from sales_api.domain.money import DEFAULT_CURRENCY
from sales_api.domain.offers import Offer, price_offer
from sales_api.domain.orders import Traveller, validate_travellers
from sales_api.domain.ports import ReferenceData, SalesReads
from sales_api.domain.seating import SeatKey, count_free

MAX_SEARCH_TRAVELLERS = 9


@dataclass(frozen=True, slots=True)
class PricedOffer:
    offer: Offer
    available_seats: int


@dataclass(frozen=True, slots=True)
class SeatMapCar:
    car: Car
    taken: frozenset[str]


async def stop_places(reference: ReferenceData, caller: Caller) -> Sequence[StopPlace]:
    caller.require(Permission.SALES_READ)
    return (await reference.catalogue()).stop_places


async def find_departures(
    reference: ReferenceData, clock: Clock, caller: Caller, from_stop: str, to_stop: str, on: date
) -> list[Segment]:
    caller.require(Permission.SALES_READ)
    catalogue = await reference.catalogue()
    now = clock.now()
    today = now.astimezone(LOCAL_TIME).date()
    return [
        s for s in departures(catalogue, from_stop, to_stop, on, today) if s.departure_time > now
    ]


async def search_offers(
    reads: SalesReads,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    *,
    from_stop: str,
    to_stop: str,
    on: date,
    travellers: Sequence[Traveller],
    service_journey_id: str | None = None,
) -> list[PricedOffer]:
    """Every product priced for the travellers on each matching segment, with its free
    seats in the product's class."""
    caller.require(Permission.SALES_READ)
    if not travellers:
        raise ValidationFailed("Give at least one traveller", ["search", "travellers"])
    if len(travellers) > MAX_SEARCH_TRAVELLERS:
        raise ValidationFailed(
            f"At most {MAX_SEARCH_TRAVELLERS} travellers per search", ["search", "travellers"]
        )
    checked = tuple(validate_travellers(travellers))
    segments = await find_departures(reference, clock, caller, from_stop, to_stop, on)
    if service_journey_id is not None:
        segments = [s for s in segments if s.journey.id == service_journey_id]
    catalogue = await reference.catalogue()
    now = clock.now()
    disrupted = await reads.disrupted(sorted({s.journey.id for s in segments}))
    segments = [s for s in segments if s.journey.id not in disrupted]
    holds = await reads.live_holds(sorted({s.journey.id for s in segments}), now)
    offers: list[PricedOffer] = []
    for segment in segments:
        taken: set[SeatKey] = {
            (car, seat)
            for car, seat, leg in holds.get(segment.journey.id, [])
            if segment.from_index <= leg < segment.to_index
        }
        for product in catalogue.products:
            offer = price_offer(catalogue, product, segment, checked, DEFAULT_CURRENCY, now)
            offers.append(PricedOffer(offer, count_free(segment, product.fare_class, taken)))
    return offers


async def seat_map(
    reads: SalesReads,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    journey_id: str,
    from_stop: str,
    to_stop: str,
) -> tuple[Segment, list[SeatMapCar]]:
    caller.require(Permission.SALES_READ)
    catalogue = await reference.catalogue()
    journey = catalogue.journey(journey_id)
    segment = journey.segment(from_stop, to_stop) if journey else None
    if segment is None:
        raise ValidationFailed(
            "The service journey does not run between these stop places", ["serviceJourneyId"]
        )
    taken = await reads.taken(journey_id, segment.from_index, segment.to_index, clock.now())
    cars = [
        SeatMapCar(car, frozenset(seat for number, seat in taken if number == car.number))
        for car in segment.journey.cars
    ]
    return segment, cars
