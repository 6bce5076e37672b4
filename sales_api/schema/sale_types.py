"""Types for finding what to buy: departures, offers and seat maps; and their inputs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import strawberry

from sales_api.domain import catalogue as domain_catalogue
from sales_api.domain.money import PriceWithTax
from sales_api.domain.orders import FareClass, ReservationStatus, StopPlaceRef
from sales_api.domain.seating import SeatRequest
from sales_api.domain.services.catalogue import PricedOffer, SeatMapCar
from sales_api.domain.services.reservations import OfferConfiguration
from sales_api.schema.filters import DateTimeFilter, IdFilter
from sales_api.schema.inputs import TravellerInput
from sales_api.schema.types import (
    FareProductType,
    PriceWithTaxType,
    StopPlaceType,
    TravelSpecificationType,
)


@strawberry.type(name="Departure")
class DepartureType:
    service_journey_id: strawberry.ID
    line_name: str
    from_: StopPlaceType = strawberry.field(name="from")
    to: StopPlaceType
    departure_time: datetime
    arrival_time: datetime


@strawberry.type(name="Offer")
class OfferType:
    id: strawberry.ID = strawberry.field(
        description="Opaque, tamper-proof id; expires at expireAt."
    )
    product: FareProductType
    travel_specification: TravelSpecificationType
    traveller_ids: list[strawberry.ID] = strawberry.field(
        description="Traveller ids from the search that this offer covers."
    )
    price: PriceWithTaxType = strawberry.field(
        description="Price for all travellers covered, tax included."
    )
    reservation_required: bool
    available_seats: int
    expire_at: datetime


@strawberry.type(name="SeatAvailability")
class SeatAvailabilityType:
    seat_number: str
    available: bool
    properties: list[str] = strawberry.field(description="e.g. WINDOW, AISLE, TABLE, QUIET")


@strawberry.type(name="Car")
class CarType:
    number: int
    fare_class: FareClass
    seats: list[SeatAvailabilityType]


@strawberry.type(name="SeatMap")
class SeatMapType:
    service_journey_id: strawberry.ID
    from_: StopPlaceType = strawberry.field(name="from")
    to: StopPlaceType
    cars: list[CarType]


@strawberry.input(name="OfferSearchInput")
class OfferSearchInput:
    from_stop_place_id: strawberry.ID = strawberry.field(
        description="The stop place travelled from, e.g. NSR:StopPlace:337."
    )
    to_stop_place_id: strawberry.ID = strawberry.field(description="The stop place travelled to.")
    date: date = strawberry.field(description="Departures on this date (Europe/Oslo).")
    travellers: list[TravellerInput] = strawberry.field(
        description=(
            "1 to 9 travellers, each with an id of the caller's choosing (unique in the search) "
            "and a user type that prices it."
        )
    )
    service_journey_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this service journey, when given."
    )


@strawberry.input(name="SeatRequestInput")
class SeatRequestInput:
    car_number: int = strawberry.field(description="The car's number, as seatMap shows it.")
    seat_number: str = strawberry.field(description='The seat\'s number in that car, e.g. "12".')
    traveller_id: strawberry.ID | None = strawberry.field(
        default=None, description="The traveller who sits here; default: the travellers in order."
    )

    def to_domain(self) -> SeatRequest:
        return SeatRequest(
            self.car_number,
            self.seat_number,
            str(self.traveller_id) if self.traveller_id is not None else None,
        )


@strawberry.input(name="OfferConfigurationInput")
class OfferConfigurationInput:
    offer_id: strawberry.ID = strawberry.field(
        description="An offer id from offers, within 15 minutes of the search."
    )
    selected_traveller_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Defaults to every traveller the offer covers."
    )
    seats: list[SeatRequestInput] | None = strawberry.field(
        default=None, description="Specific seats; when absent, seats are allocated automatically."
    )

    def to_domain(self) -> OfferConfiguration:
        return OfferConfiguration(
            offer_id=str(self.offer_id),
            selected_traveller_ids=tuple(str(t) for t in self.selected_traveller_ids)
            if self.selected_traveller_ids is not None
            else None,
            seats=tuple(s.to_domain() for s in self.seats) if self.seats is not None else None,
        )


@strawberry.input(name="ReserveOffersInput")
class ReserveOffersInput:
    order_id: strawberry.ID | None = strawberry.field(
        default=None, description="Adds to this order; creates a new DRAFT order when absent."
    )
    expected_version: int | None = strawberry.field(
        default=None,
        description=(
            "With orderId: refuse with VERSION_CONFLICT unless the order is at this version."
        ),
    )
    offer_configurations: list[OfferConfigurationInput] = strawberry.field(
        description="1 to 10 offers to reserve, each with its travellers and seats."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "1 to 200 characters of the caller's choosing: a retry with the same key and input "
            "answers the first result (nothing reserved twice), for at least 24 hours; the key "
            "with other input is IDEMPOTENCY_KEY_REUSED."
        ),
    )


@strawberry.input(name="ChangeSeatsInput")
class ChangeSeatsInput:
    reservation_id: strawberry.ID = strawberry.field(description="The reservation to move.")
    seats: list[SeatRequestInput] = strawberry.field(
        description="The new seats, one per seat the reservation holds, in its class."
    )


@strawberry.input(name="OrderRefInput")
class OrderRefInput:
    order_id: strawberry.ID = strawberry.field(description="The order's id.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="Refuse with VERSION_CONFLICT unless the order is at this version.",
    )


@strawberry.input(name="ReservationStatusFilter")
class ReservationStatusFilter:
    eq: ReservationStatus | None = strawberry.field(default=None, description="This status.")
    ne: ReservationStatus | None = strawberry.field(
        default=None, description="Any status but this."
    )
    in_: list[ReservationStatus] | None = strawberry.field(
        default=None, name="in", description="One of these statuses."
    )
    nin: list[ReservationStatus] | None = strawberry.field(
        default=None, description="None of these statuses."
    )


@strawberry.input(name="ReservationFilter")
class ReservationFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The reservation's id.")
    order_id: IdFilter | None = strawberry.field(
        default=None, description="The order it belongs to."
    )
    status: ReservationStatusFilter | None = strawberry.field(
        default=None, description="DRAFT, CONFIRMED or CANCELLED."
    )
    service_journey_id: IdFilter | None = strawberry.field(
        default=None, description="The service journey it is on."
    )
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it was made."
    )


# ------------------------------------------------------------------ mapping from the domain


@lru_cache(maxsize=4096)
def stop_place_type(stop: StopPlaceRef) -> StopPlaceType:
    """Shared, never changed: a catalogue answer names the same few stops again and again."""
    return StopPlaceType(id=strawberry.ID(stop.id), name=stop.name)


def _stop(stop: domain_catalogue.StopPlace) -> StopPlaceType:
    return stop_place_type(StopPlaceRef(stop.id, stop.name))


def _price(price: PriceWithTax) -> PriceWithTaxType:
    return PriceWithTaxType(
        amount=price.amount,
        tax_amount=price.tax_amount,
        tax_rate=f"{price.tax_rate:.2f}",
        currency=price.currency,
    )


def departure_type(segment: domain_catalogue.Segment) -> DepartureType:
    return DepartureType(
        service_journey_id=strawberry.ID(segment.journey.id),
        line_name=segment.journey.line_name,
        from_=_stop(segment.origin.stop_place),
        to=_stop(segment.destination.stop_place),
        departure_time=segment.departure_time,
        arrival_time=segment.arrival_time,
    )


def offer_type(priced: PricedOffer, offer_id: str) -> OfferType:
    offer = priced.offer
    product = offer.product
    segment = offer.segment
    # VAT on the offer is the sum of the per-traveller VAT, as the order lines will carry it.
    lines = [PriceWithTax.including_vat(t.price, offer.currency) for t in offer.travellers]
    total = PriceWithTax(
        amount=sum((p.amount for p in lines), Decimal("0.00")),
        tax_amount=sum((p.tax_amount for p in lines), Decimal("0.00")),
        tax_rate=lines[0].tax_rate,
        currency=offer.currency,
    )
    return OfferType(
        id=strawberry.ID(offer_id),
        product=FareProductType(
            id=strawberry.ID(product.id),
            name=product.name,
            fare_class=product.fare_class,
            refundable=product.refundable,
            changeable=product.changeable,
        ),
        travel_specification=TravelSpecificationType(
            service_journey_id=strawberry.ID(segment.journey.id),
            from_=_stop(segment.origin.stop_place),
            to=_stop(segment.destination.stop_place),
            departure_time=segment.departure_time,
            arrival_time=segment.arrival_time,
            disrupted=False,  # a disrupted journey is not offered
        ),
        traveller_ids=[strawberry.ID(t.traveller.id) for t in offer.travellers],
        price=_price(total),
        reservation_required=product.seat_reservation_required,
        available_seats=priced.available_seats,
        expire_at=offer.expire_at,
    )


def seat_map_type(segment: domain_catalogue.Segment, cars: list[SeatMapCar]) -> SeatMapType:
    return SeatMapType(
        service_journey_id=strawberry.ID(segment.journey.id),
        from_=_stop(segment.origin.stop_place),
        to=_stop(segment.destination.stop_place),
        cars=[
            CarType(
                number=c.car.number,
                fare_class=c.car.fare_class,
                seats=[
                    SeatAvailabilityType(
                        seat_number=seat.number,
                        available=seat.number not in c.taken,
                        properties=list(seat.properties),
                    )
                    for seat in c.car.seats
                ],
            )
            for c in cars
        ],
    )
