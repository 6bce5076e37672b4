"""Seating rules without a database: overlapping legs, automatic allocation, requested seats."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

import pytest

from sales_api.domain.catalogue import Catalogue, Segment, catalogue_from_document
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.orders import FareClass
from sales_api.domain.seating import (
    SeatKey,
    SeatRequest,
    allocate,
    check_requested,
    count_free,
    overlaps,
)

A, B, C, D, E = "S:A", "S:B", "S:C", "S:D", "S:E"
DAY = date(2026, 12, 1)
PATH = ["input", "seats"]


def small_network() -> dict[str, Any]:
    """Five calls A..E; two small standard cars (1, 2: seats 1-4) and one premium car (3)."""
    return {
        "format": "sales-api-catalogue/1",
        "stopPlaces": [{"id": s, "name": s[-1]} for s in (A, B, C, D, E)],
        "fareProducts": [
            {"id": "P:Std", "name": "Std", "fareClass": "STANDARD_CLASS", "refundable": True,
             "changeable": True, "seatReservationRequired": True,
             "basePrice": "10.00", "pricePerKm": "1.00"},
        ],
        "cars": {
            "small": {"fareClass": "STANDARD_CLASS", "rows": 2, "layout": ["W", "A"]},
            "premium": {"fareClass": "PREMIUM_CLASS", "rows": 1, "layout": ["W", "A", "W"]},
        },
        "lines": [
            {
                "lineName": "Test line",
                "codePrefix": "T:SJ",
                "departures": ["10:00"],
                "consist": [
                    {"number": 1, "car": "small"},
                    {"number": 2, "car": "small"},
                    {"number": 3, "car": "premium"},
                ],
                "stops": [
                    {"stopPlaceId": A, "departure": 0, "km": 0},
                    {"stopPlaceId": B, "arrival": 10, "departure": 11, "km": 10},
                    {"stopPlaceId": C, "arrival": 20, "departure": 21, "km": 20},
                    {"stopPlaceId": D, "arrival": 30, "departure": 31, "km": 30},
                    {"stopPlaceId": E, "arrival": 40, "km": 40},
                ],
            }
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return catalogue_from_document(small_network())


def segment(catalogue: Catalogue, origin: str = A, destination: str = E) -> Segment:
    journey = catalogue.journey(f"T:SJ-1000:{DAY.isoformat()}")
    assert journey is not None
    found = journey.segment(origin, destination)
    assert found is not None
    return found


def span(s: Segment) -> tuple[int, int]:
    return (s.from_index, s.to_index)


# ------------------------------------------------------------------ legs


def test_segments_that_only_touch_do_not_overlap(catalogue: Catalogue) -> None:
    a_c, c_e = segment(catalogue, A, C), segment(catalogue, C, E)
    assert span(a_c) == (0, 2) and span(c_e) == (2, 4)
    assert not overlaps(span(a_c), span(c_e))
    assert not overlaps(span(c_e), span(a_c))


def test_segments_sharing_a_leg_overlap(catalogue: Catalogue) -> None:
    a_c, b_d = segment(catalogue, A, C), segment(catalogue, B, D)
    assert overlaps(span(a_c), span(b_d))
    assert overlaps(span(b_d), span(a_c))
    # A segment inside another, and a segment with itself.
    assert overlaps(span(segment(catalogue, A, E)), span(segment(catalogue, C, D)))
    assert overlaps(span(b_d), span(b_d))


def test_a_segment_runs_only_forwards(catalogue: Catalogue) -> None:
    journey = segment(catalogue).journey
    assert journey.segment(C, A) is None
    assert journey.segment(A, A) is None
    assert journey.segment(A, "S:nowhere") is None


# ------------------------------------------------------------------ allocation


def test_allocate_takes_neighbours_in_the_first_car(catalogue: Catalogue) -> None:
    assert allocate(segment(catalogue), FareClass.STANDARD_CLASS, 2, set()) == [
        (1, "1"),
        (1, "2"),
    ]


def test_allocate_prefers_neighbours_in_a_later_car_to_scattered_seats(
    catalogue: Catalogue,
) -> None:
    taken: set[SeatKey] = {(1, "2"), (1, "4"), (2, "1")}
    assert allocate(segment(catalogue), FareClass.STANDARD_CLASS, 2, taken) == [
        (2, "2"),
        (2, "3"),
    ]


def test_allocate_keeps_a_group_in_one_car_when_no_neighbours_are_free(
    catalogue: Catalogue,
) -> None:
    taken: set[SeatKey] = {(1, "2"), (1, "4"), (2, "1"), (2, "3")}
    assert allocate(segment(catalogue), FareClass.STANDARD_CLASS, 2, taken) == [
        (1, "1"),
        (1, "3"),
    ]
    # Three travellers: car 1 has only two seats left, car 2 has three (not neighbours).
    taken = {(1, "2"), (1, "4"), (2, "3")}
    assert allocate(segment(catalogue), FareClass.STANDARD_CLASS, 3, taken) == [
        (2, "1"),
        (2, "2"),
        (2, "4"),
    ]


def test_allocate_spreads_over_cars_as_a_last_resort(catalogue: Catalogue) -> None:
    taken: set[SeatKey] = {(1, "1"), (1, "2"), (1, "3"), (2, "1"), (2, "2"), (2, "3")}
    assert allocate(segment(catalogue), FareClass.STANDARD_CLASS, 2, taken) == [
        (1, "4"),
        (2, "4"),
    ]


def test_allocate_refuses_when_too_few_seats_are_free(catalogue: Catalogue) -> None:
    taken: set[SeatKey] = {(1, "1"), (1, "2"), (1, "3"), (2, "1"), (2, "2"), (2, "3")}
    with pytest.raises(SalesError) as raised:
        allocate(segment(catalogue), FareClass.STANDARD_CLASS, 3, taken)
    assert raised.value.code is ErrorCode.NO_SEATS_AVAILABLE


def test_allocate_uses_only_cars_of_the_product_class(catalogue: Catalogue) -> None:
    assert allocate(segment(catalogue), FareClass.PREMIUM_CLASS, 3, set()) == [
        (3, "1"),
        (3, "2"),
        (3, "3"),
    ]
    with pytest.raises(SalesError) as raised:
        allocate(segment(catalogue), FareClass.PREMIUM_CLASS, 4, set())
    assert raised.value.code is ErrorCode.NO_SEATS_AVAILABLE


def test_allocate_never_hands_out_a_taken_seat(catalogue: Catalogue) -> None:
    taken: set[SeatKey] = set()
    for _ in range(8):
        (key,) = allocate(segment(catalogue), FareClass.STANDARD_CLASS, 1, taken)
        assert key not in taken
        taken.add(key)
    assert len(taken) == 8
    with pytest.raises(SalesError):
        allocate(segment(catalogue), FareClass.STANDARD_CLASS, 1, taken)


def test_count_free_counts_the_class_only(catalogue: Catalogue) -> None:
    s = segment(catalogue)
    assert count_free(s, FareClass.STANDARD_CLASS, set()) == 8
    assert count_free(s, FareClass.STANDARD_CLASS, {(1, "1"), (3, "1")}) == 7
    assert count_free(s, FareClass.PREMIUM_CLASS, {(1, "1"), (3, "1")}) == 2


# ------------------------------------------------------------------ requested seats


def requested(catalogue: Catalogue, *seats: tuple[int, str], taken: set[SeatKey] | None = None,
              fare_class: FareClass = FareClass.STANDARD_CLASS) -> list[SeatKey]:  # fmt: skip
    return check_requested(
        segment(catalogue),
        fare_class,
        [SeatRequest(car, number) for car, number in seats],
        taken or set(),
        PATH,
    )


def test_free_requested_seats_are_granted_in_order(catalogue: Catalogue) -> None:
    assert requested(catalogue, (2, "4"), (1, "3")) == [(2, "4"), (1, "3")]


@pytest.mark.parametrize(
    "seats",
    [
        [(1, "5")],  # car 1 has seats 1-4
        [(9, "1")],  # no car 9
        [(1, "01")],  # not the seat's number
        [(1, "")],
    ],
)
def test_a_seat_that_does_not_exist_is_a_validation_failure(
    catalogue: Catalogue, seats: list[tuple[int, str]]
) -> None:
    with pytest.raises(SalesError) as raised:
        requested(catalogue, *seats)
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    assert raised.value.path == [*PATH, "0"]


def test_a_seat_in_a_car_of_another_class_is_a_validation_failure(catalogue: Catalogue) -> None:
    with pytest.raises(SalesError) as raised:
        requested(catalogue, (1, "1"), (3, "1"))
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    assert raised.value.path == [*PATH, "1"]
    with pytest.raises(SalesError) as raised:
        requested(catalogue, (1, "1"), fare_class=FareClass.PREMIUM_CLASS)
    assert raised.value.code is ErrorCode.VALIDATION_FAILED


def test_a_taken_seat_is_unavailable(catalogue: Catalogue) -> None:
    with pytest.raises(SalesError) as raised:
        requested(catalogue, (1, "1"), (2, "3"), taken={(2, "3")})
    assert raised.value.code is ErrorCode.SEAT_UNAVAILABLE
    assert raised.value.path == [*PATH, "1"]


def test_the_same_seat_twice_is_a_validation_failure(catalogue: Catalogue) -> None:
    with pytest.raises(SalesError) as raised:
        requested(catalogue, (2, "3"), (2, "3"))
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    assert raised.value.path == [*PATH, "1"]


def test_seat_12_on_the_demo_line_belongs_to_legs_not_the_whole_run() -> None:
    """The demo catalogue: a seat taken Oslo S -> Hønefoss is free Hønefoss -> Geilo and taken
    Drammen -> Gol, as the set of seats taken on each segment is computed from holds per leg."""
    document = json.loads(
        resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    )
    demo = catalogue_from_document(document)
    journey = demo.journey(f"DEMO:ServiceJourney:F4-west-0825:{DAY.isoformat()}")
    assert journey is not None
    sold = journey.segment("NSR:StopPlace:337", "NSR:StopPlace:530")  # Oslo S -> Hønefoss
    free = journey.segment("NSR:StopPlace:530", "NSR:StopPlace:601")  # Hønefoss -> Geilo
    clash = journey.segment("NSR:StopPlace:444", "NSR:StopPlace:113")  # Drammen -> Gol
    assert sold and free and clash
    held_legs = set(range(sold.from_index, sold.to_index))

    def taken_on(s: Segment) -> set[SeatKey]:
        return {(2, "12")} if held_legs & set(range(s.from_index, s.to_index)) else set()

    assert check_requested(free, FareClass.STANDARD_CLASS, [SeatRequest(2, "12")],
                           taken_on(free), PATH) == [(2, "12")]  # fmt: skip
    with pytest.raises(SalesError) as raised:
        check_requested(
            clash, FareClass.STANDARD_CLASS, [SeatRequest(2, "12")], taken_on(clash), PATH
        )
    assert raised.value.code is ErrorCode.SEAT_UNAVAILABLE
