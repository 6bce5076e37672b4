"""The catalogue: stop places, a timetable of service journeys, cars and seats, fare
products and their prices. Dated service journeys are derived from the timetable, so the
catalogue never runs out of departures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sales_api.domain.errors import ValidationFailed
from sales_api.domain.money import TWO_PLACES
from sales_api.domain.orders import FareClass, UserType

LOCAL_TIME = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True, slots=True)
class StopPlace:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Seat:
    number: str
    properties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Car:
    number: int
    fare_class: FareClass
    seats: tuple[Seat, ...]

    def seat(self, number: str) -> Seat | None:
        return next((s for s in self.seats if s.number == number), None)


@dataclass(frozen=True, slots=True)
class FareProduct:
    id: str
    name: str
    fare_class: FareClass
    refundable: bool
    changeable: bool
    seat_reservation_required: bool
    base_price: Decimal
    price_per_km: Decimal
    change_fee: Decimal = Decimal("0.00")
    """The CHANGE fee per line exchanged, when changeable ("changeFee" in the file)."""


@dataclass(frozen=True, slots=True)
class PatternStop:
    """A stop of a journey pattern: minutes after the first departure, distance in km."""

    stop_place_id: str
    arrival_minutes: int | None
    departure_minutes: int | None
    km: int


@dataclass(frozen=True, slots=True)
class TimetableEntry:
    """A train run on every day of the bookable window: line, pattern, local departure."""

    code: str
    line_name: str
    departure: time
    stops: tuple[PatternStop, ...]
    cars: tuple[Car, ...]


@dataclass(frozen=True, slots=True)
class Call:
    index: int
    stop_place: StopPlace
    arrival: datetime | None
    departure: datetime | None
    km: int


@dataclass(frozen=True, slots=True)
class ServiceJourney:
    """A dated run: `<code>:<operating date>` identifies it."""

    id: str
    line_name: str
    operating_date: date
    calls: tuple[Call, ...]
    cars: tuple[Car, ...]

    def segment(self, from_stop: str, to_stop: str) -> Segment | None:
        """The stretch between two of its calls, in travel order; None if it does not serve it."""
        start = next((c for c in self.calls if c.stop_place.id == from_stop), None)
        if start is None:
            return None
        end = next((c for c in self.calls[start.index + 1 :] if c.stop_place.id == to_stop), None)
        if end is None or start.departure is None or end.arrival is None:
            return None
        return Segment(self, start, end)

    def car(self, number: int) -> Car | None:
        return next((c for c in self.cars if c.number == number), None)


@dataclass(frozen=True, slots=True)
class Segment:
    journey: ServiceJourney
    origin: Call
    destination: Call

    @property
    def from_index(self) -> int:
        return self.origin.index

    @property
    def to_index(self) -> int:
        return self.destination.index

    @property
    def departure_time(self) -> datetime:
        assert self.origin.departure is not None
        return self.origin.departure

    @property
    def arrival_time(self) -> datetime:
        assert self.destination.arrival is not None
        return self.destination.arrival

    @property
    def km(self) -> int:
        return self.destination.km - self.origin.km


# A child travels at half price, an infant free; the price table's discounts by user type.
DEFAULT_DISCOUNTS: dict[UserType, Decimal] = {
    UserType.ADULT: Decimal("0"),
    UserType.CHILD: Decimal("50"),
    UserType.YOUTH: Decimal("25"),
    UserType.SENIOR: Decimal("50"),
    UserType.STUDENT: Decimal("25"),
    UserType.MILITARY: Decimal("50"),
    UserType.INFANT: Decimal("100"),
}


@dataclass(frozen=True, slots=True)
class Catalogue:
    stop_places: tuple[StopPlace, ...]
    products: tuple[FareProduct, ...]
    timetable: tuple[TimetableEntry, ...]
    days_ahead: int = 7
    discounts: dict[UserType, Decimal] = field(default_factory=lambda: dict(DEFAULT_DISCOUNTS))

    def stop_place(self, stop_id: str) -> StopPlace | None:
        return next((s for s in self.stop_places if s.id == stop_id), None)

    def product(self, product_id: str) -> FareProduct | None:
        return next((p for p in self.products if p.id == product_id), None)

    def bookable(self, operating_date: date, today: date) -> bool:
        return today <= operating_date < today + timedelta(days=self.days_ahead)

    def journeys_on(self, operating_date: date) -> Iterator[ServiceJourney]:
        for entry in self.timetable:
            yield self._dated(entry, operating_date)

    def journey(self, journey_id: str) -> ServiceJourney | None:
        code, _, day = journey_id.rpartition(":")
        entry = next((e for e in self.timetable if e.code == code), None)
        if entry is None:
            return None
        try:
            return self._dated(entry, date.fromisoformat(day))
        except (ValueError, OverflowError):
            # Not a date; or a run whose times fall outside the calendar (a late run on
            # 9999-12-31 arrives in the year 10000), which cannot exist.
            return None

    def _dated(self, entry: TimetableEntry, operating_date: date) -> ServiceJourney:
        first = datetime.combine(operating_date, entry.departure, LOCAL_TIME)
        stops_by_id = {s.id: s for s in self.stop_places}

        def at(minutes: int | None) -> datetime | None:
            if minutes is None:
                return None
            # Minutes are added in UTC so that a run over a DST change keeps its duration.
            return (first.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(UTC)

        calls = tuple(
            Call(
                index=i,
                stop_place=stops_by_id[stop.stop_place_id],
                arrival=at(stop.arrival_minutes),
                departure=at(stop.departure_minutes),
                km=stop.km,
            )
            for i, stop in enumerate(entry.stops)
        )
        return ServiceJourney(
            id=f"{entry.code}:{operating_date.isoformat()}",
            line_name=entry.line_name,
            operating_date=operating_date,
            calls=calls,
            cars=entry.cars,
        )

    def price(self, product: FareProduct, segment: Segment, user_type: UserType) -> Decimal:
        """Base price plus a price per km, less the user type's discount, to the øre."""
        full = product.base_price + product.price_per_km * segment.km
        discount = self.discounts.get(user_type, Decimal("0"))
        return (full * (Decimal(100) - discount) / Decimal(100)).quantize(
            TWO_PLACES, rounding=ROUND_HALF_UP
        )


def departures(
    catalogue: Catalogue, from_stop: str, to_stop: str, on: date, today: date
) -> list[Segment]:
    """Segments from -> to of the journeys that leave `from_stop` on the local date `on`."""
    if catalogue.stop_place(from_stop) is None or catalogue.stop_place(to_stop) is None:
        raise ValidationFailed("Unknown stop place", ["fromStopPlaceId"])
    if on < today:
        # Nothing of the past is sold; and before 0001-01-01 there is no evening before.
        return []
    found: list[Segment] = []
    # A run that started the evening before may still leave this stop on the date asked.
    for day in (on - timedelta(days=1), on):
        # Last evening's run is still sold today at the stops it has yet to leave.
        if not (catalogue.bookable(day, today) or (day < on and catalogue.bookable(on, today))):
            continue
        for journey in catalogue.journeys_on(day):
            segment = journey.segment(from_stop, to_stop)
            if segment and segment.departure_time.astimezone(LOCAL_TIME).date() == on:
                found.append(segment)
    return sorted(found, key=lambda s: (s.departure_time, s.journey.id))


def car_layout(number: int, fare_class: FareClass, rows: int, seats_per_row: Sequence[str]) -> Car:
    """Seats numbered 1.. in rows; window and aisle from the row letter layout ('W', 'A')."""
    seats: list[Seat] = []
    n = 1
    for row in range(rows):
        for position in seats_per_row:
            properties = ["WINDOW" if position == "W" else "AISLE"]
            if row < 2:
                properties.append("TABLE")
            if fare_class is FareClass.STANDARD_CLASS and row >= rows - 3:
                properties.append("QUIET")
            seats.append(Seat(str(n), tuple(properties)))
            n += 1
    return Car(number, fare_class, tuple(seats))


CATALOGUE_FORMAT = "sales-api-catalogue/1"


def catalogue_from_document(document: dict[str, object]) -> Catalogue:
    """Parse a catalogue data file (format `sales-api-catalogue/1`, see docs/catalogue.md)."""
    try:
        return _parse(document)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
        raise ValueError(f"not a valid catalogue document: {error!r}") from error


def _parse(doc: dict[str, Any]) -> Catalogue:
    if doc.get("format") != CATALOGUE_FORMAT:
        raise ValueError(f"format must be {CATALOGUE_FORMAT!r}")
    stops = tuple(StopPlace(str(s["id"]), str(s["name"])) for s in doc["stopPlaces"])
    stop_ids = {s.id for s in stops}
    products = tuple(
        FareProduct(
            id=str(p["id"]),
            name=str(p["name"]),
            fare_class=FareClass(p["fareClass"]),
            refundable=bool(p["refundable"]),
            changeable=bool(p["changeable"]),
            seat_reservation_required=bool(p["seatReservationRequired"]),
            base_price=Decimal(str(p["basePrice"])),
            price_per_km=Decimal(str(p["pricePerKm"])),
            change_fee=Decimal(str(p.get("changeFee", "0.00"))).quantize(TWO_PLACES),
        )
        for p in doc["fareProducts"]
    )
    car_types = {
        name: (FareClass(c["fareClass"]), int(c["rows"]), tuple(c["layout"]))
        for name, c in doc["cars"].items()
    }
    timetable: list[TimetableEntry] = []
    for line in doc["lines"]:
        pattern = tuple(
            PatternStop(
                stop_place_id=str(s["stopPlaceId"]),
                arrival_minutes=_minutes(s.get("arrival")),
                departure_minutes=_minutes(s.get("departure")),
                km=int(s["km"]),
            )
            for s in line["stops"]
        )
        unknown = [s.stop_place_id for s in pattern if s.stop_place_id not in stop_ids]
        if unknown:
            raise ValueError(f"line {line['lineName']!r} calls at unknown stops {unknown}")
        cars = tuple(car_layout(int(c["number"]), *car_types[c["car"]]) for c in line["consist"])
        for hhmm in line["departures"]:
            departure = time.fromisoformat(hhmm)
            timetable.append(
                TimetableEntry(
                    code=f"{line['codePrefix']}-{departure.strftime('%H%M')}",
                    line_name=str(line["lineName"]),
                    departure=departure,
                    stops=pattern,
                    cars=cars,
                )
            )
    for product in products:
        if product.base_price < 0 or product.price_per_km < 0 or product.change_fee < 0:
            raise ValueError(f"product {product.id!r} has a negative price or fee")
    discounts = dict(DEFAULT_DISCOUNTS)
    for user_type, percent in doc.get("userTypeDiscountPercent", {}).items():
        discount = Decimal(str(percent))
        if not 0 <= discount <= 100:
            raise ValueError(f"the discount of {user_type} must be 0 to 100 %")
        discounts[UserType(user_type)] = discount
    return Catalogue(
        stop_places=stops,
        products=products,
        timetable=tuple(timetable),
        days_ahead=int(doc.get("daysAhead", 7)),
        discounts=discounts,
    )


def _minutes(value: object) -> int | None:
    """Minutes after the first departure: a whole number, or absent."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"minutes must be a whole number, not {value!r}")
    return value
