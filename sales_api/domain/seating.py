"""Seats are sold per segment: two holds conflict only when their legs overlap.

A journey's legs are numbered by the call they start from: a segment from call i to call j
covers legs i .. j-1. Choosing seats is pure; the database settles races (see persistence)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sales_api.domain.catalogue import Car, Segment
from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.orders import FareClass

SeatKey = tuple[int, str]  # (car number, seat number)


@dataclass(frozen=True, slots=True)
class SeatRequest:
    car_number: int
    seat_number: str
    traveller_id: str | None = None


def legs(from_index: int, to_index: int) -> range:
    return range(from_index, to_index)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Half-open call ranges [from, to): A->C and C->E do not overlap, B->D and A->C do."""
    return a[0] < b[1] and b[0] < a[1]


def cars_for(segment: Segment, fare_class: FareClass) -> list[Car]:
    return [car for car in segment.journey.cars if car.fare_class is fare_class]


def count_free(segment: Segment, fare_class: FareClass, taken: set[SeatKey]) -> int:
    return sum(
        1
        for car in cars_for(segment, fare_class)
        for seat in car.seats
        if (car.number, seat.number) not in taken
    )


def check_requested(
    segment: Segment,
    fare_class: FareClass,
    requests: Sequence[SeatRequest],
    taken: set[SeatKey],
    path: Sequence[str],
) -> list[SeatKey]:
    """The requested seats, each existing in a car of the product's class and free."""
    chosen: list[SeatKey] = []
    for index, request in enumerate(requests):
        where = [*path, str(index)]
        car = segment.journey.car(request.car_number)
        if car is None or car.seat(request.seat_number) is None:
            raise ValidationFailed(
                f"Car {request.car_number} has no seat {request.seat_number!r}", where
            )
        if car.fare_class is not fare_class:
            raise ValidationFailed(
                f"Car {car.number} is {car.fare_class.value}, the product is {fare_class.value}",
                where,
            )
        key = (request.car_number, request.seat_number)
        if key in chosen:
            raise ValidationFailed(f"Seat {request.seat_number} is requested twice", where)
        if key in taken:
            raise SalesError(
                ErrorCode.SEAT_UNAVAILABLE,
                f"Seat {request.seat_number} in car {request.car_number} is taken on this segment",
                where,
            )
        chosen.append(key)
    return chosen


def allocate(
    segment: Segment, fare_class: FareClass, count: int, taken: set[SeatKey]
) -> list[SeatKey]:
    """The best free seats: a run of neighbours in one car, else any seats in one car,
    else seats spread over the cars of the product's class."""
    cars = cars_for(segment, fare_class)
    free_by_car = {
        car.number: [s.number for s in car.seats if (car.number, s.number) not in taken]
        for car in cars
    }
    for car in cars:
        run = _adjacent_run(free_by_car[car.number], count)
        if run:
            return [(car.number, number) for number in run]
    for car in cars:
        if len(free_by_car[car.number]) >= count:
            return [(car.number, number) for number in free_by_car[car.number][:count]]
    spread = [(car.number, number) for car in cars for number in free_by_car[car.number]]
    if len(spread) >= count:
        return spread[:count]
    raise SalesError(
        ErrorCode.NO_SEATS_AVAILABLE,
        f"Only {len(spread)} seats are free on this segment; {count} were asked for",
    )


def _adjacent_run(free: Iterable[str], count: int) -> list[str] | None:
    numbers = sorted(int(n) for n in free if n.isdigit())
    for start in range(len(numbers) - count + 1):
        window = numbers[start : start + count]
        if window[-1] - window[0] == count - 1:
            return [str(n) for n in window]
    return None
