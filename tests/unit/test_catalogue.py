"""The catalogue without a database: prices, user-type discounts, departures by local date
(Europe/Oslo, over DST changes, times in UTC) and the data file parser."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from sales_api.domain.catalogue import (
    LOCAL_TIME,
    Catalogue,
    Segment,
    catalogue_from_document,
    departures,
)
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.orders import FareClass, UserType

OSLO, DRAMMEN, HONEFOSS, GOL, GEILO, VOSS, BERGEN = (
    "NSR:StopPlace:337",
    "NSR:StopPlace:444",
    "NSR:StopPlace:530",
    "NSR:StopPlace:113",
    "NSR:StopPlace:601",
    "NSR:StopPlace:723",
    "NSR:StopPlace:548",
)
FLEX, LOWFARE, PREMIUM = (
    "DEMO:FareProduct:Flex",
    "DEMO:FareProduct:Lowfare",
    "DEMO:FareProduct:Premium",
)
WEST = "DEMO:ServiceJourney:F4-west"
DAY = date(2026, 12, 1)


def demo_document() -> dict[str, Any]:
    text = resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.fixture(scope="module")
def demo() -> Catalogue:
    return catalogue_from_document(demo_document())


def segment(catalogue: Catalogue, origin: str, destination: str, run: str = "0825") -> Segment:
    journey = catalogue.journey(f"{WEST}-{run}:{DAY.isoformat()}")
    assert journey is not None
    found = journey.segment(origin, destination)
    assert found is not None
    return found


def price(catalogue: Catalogue, product_id: str, s: Segment, user_type: UserType) -> Decimal:
    product = catalogue.product(product_id)
    assert product is not None
    return catalogue.price(product, s, user_type)


# ------------------------------------------------------------------ the demo network


def test_the_demo_line_has_seven_calls_and_two_cars(demo: Catalogue) -> None:
    journey = segment(demo, OSLO, BERGEN).journey
    assert [c.stop_place.id for c in journey.calls] == [
        OSLO, DRAMMEN, HONEFOSS, GOL, GEILO, VOSS, BERGEN
    ]  # fmt: skip
    premium, standard = journey.cars
    assert (premium.number, premium.fare_class, len(premium.seats)) == (
        1,
        FareClass.PREMIUM_CLASS,
        24,
    )
    assert (standard.number, standard.fare_class, len(standard.seats)) == (
        2,
        FareClass.STANDARD_CLASS,
        48,
    )
    assert [s.number for s in standard.seats] == [str(n) for n in range(1, 49)]
    assert "WINDOW" in standard.seats[0].properties and "TABLE" in standard.seats[0].properties
    assert "AISLE" in standard.seats[1].properties
    assert "QUIET" in standard.seats[-1].properties
    assert journey.car(3) is None


def test_journey_ids_name_the_run_and_its_operating_date(demo: Catalogue) -> None:
    journey = demo.journey(f"{WEST}-0625:2026-12-01")
    assert journey is not None
    assert journey.id == f"{WEST}-0625:2026-12-01"
    assert journey.operating_date == date(2026, 12, 1)
    assert demo.journey(f"{WEST}-0626:2026-12-01") is None
    assert demo.journey(f"{WEST}-0625:2026-13-01") is None
    assert demo.journey("nonsense") is None


# ------------------------------------------------------------------ prices


def test_price_is_base_plus_per_km_of_the_segment(demo: Catalogue) -> None:
    whole = segment(demo, OSLO, BERGEN)
    assert whole.km == 471
    assert price(demo, FLEX, whole, UserType.ADULT) == Decimal("805.50")  # 99 + 1.50 x 471
    short = segment(demo, HONEFOSS, GOL)
    assert short.km == 102
    assert price(demo, FLEX, short, UserType.ADULT) == Decimal("252.00")  # 99 + 1.50 x 102
    assert price(demo, PREMIUM, short, UserType.ADULT) == Decimal("443.80")  # 199 + 2.40 x 102


def test_a_child_pays_half_and_an_infant_nothing(demo: Catalogue) -> None:
    whole = segment(demo, OSLO, BERGEN)
    assert price(demo, FLEX, whole, UserType.CHILD) == Decimal("402.75")
    assert price(demo, FLEX, whole, UserType.INFANT) == Decimal("0.00")
    assert price(demo, PREMIUM, whole, UserType.INFANT) == Decimal("0.00")
    assert price(demo, FLEX, whole, UserType.SENIOR) == Decimal("402.75")
    assert price(demo, FLEX, whole, UserType.MILITARY) == Decimal("402.75")


def test_discounted_prices_round_half_up_to_the_ore(demo: Catalogue) -> None:
    oslo_drammen = segment(demo, OSLO, DRAMMEN)  # 53 km
    # Lowfare 49.00 + 0.90 x 53 = 96.70; less 25 % = 72.525 -> 72.53 (half-even would say 72.52)
    assert price(demo, LOWFARE, oslo_drammen, UserType.YOUTH) == Decimal("72.53")
    assert price(demo, LOWFARE, oslo_drammen, UserType.STUDENT) == Decimal("72.53")
    # Flex 178.50 less 25 % = 133.875 -> 133.88
    assert price(demo, FLEX, oslo_drammen, UserType.YOUTH) == Decimal("133.88")
    # Child 96.70 / 2 = 48.35 exactly
    assert price(demo, LOWFARE, oslo_drammen, UserType.CHILD) == Decimal("48.35")
    for user_type in UserType:
        assert price(demo, LOWFARE, oslo_drammen, user_type).as_tuple().exponent == -2


def test_the_document_can_set_its_own_discounts(demo: Catalogue) -> None:
    document = demo_document()
    document["userTypeDiscountPercent"] = {"CHILD": "40", "INFANT": "0"}
    custom = catalogue_from_document(document)
    whole = segment(custom, OSLO, BERGEN)
    assert price(custom, FLEX, whole, UserType.CHILD) == Decimal("483.30")  # 805.50 x 0.6
    assert price(custom, FLEX, whole, UserType.INFANT) == Decimal("805.50")
    # Types it does not name keep the defaults.
    assert price(custom, FLEX, whole, UserType.YOUTH) == Decimal("604.13")  # 604.125 half up


# ------------------------------------------------------------------ departures by local date


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TIME)


def test_departures_are_the_runs_leaving_the_stop_that_day_in_utc(demo: Catalogue) -> None:
    found = departures(demo, OSLO, BERGEN, DAY, DAY)
    assert [s.journey.id for s in found] == [
        f"{WEST}-{hhmm}:{DAY.isoformat()}" for hhmm in ("0625", "0825", "1225", "1625", "2257")
    ]
    first = found[0]
    assert first.departure_time == datetime(2026, 12, 1, 5, 25, tzinfo=UTC)  # 06:25 CET
    assert first.arrival_time == datetime(2026, 12, 1, 12, 16, tzinfo=UTC)  # +411 min
    for s in found:
        assert s.departure_time.utcoffset() == timedelta(0)
        assert s.arrival_time.utcoffset() == timedelta(0)
        assert local(s.departure_time).date() == DAY
    assert departures(demo, BERGEN, OSLO, DAY, DAY)[0].journey.id.startswith(
        "DEMO:ServiceJourney:F4-east"
    )


def test_a_run_of_the_evening_before_counts_on_the_day_it_leaves_the_stop(
    demo: Catalogue,
) -> None:
    today = DAY - timedelta(days=2)
    evening_before = f"{WEST}-2257:{(DAY - timedelta(days=1)).isoformat()}"
    evening_of = f"{WEST}-2257:{DAY.isoformat()}"
    # From Oslo S the 22:57 run leaves the evening it starts...
    from_oslo = [s.journey.id for s in departures(demo, OSLO, BERGEN, DAY, today)]
    assert evening_before not in from_oslo and evening_of in from_oslo
    # ...but it reaches Hønefoss after midnight: it belongs to the next date there.
    from_honefoss = departures(demo, HONEFOSS, BERGEN, DAY, today)
    ids = [s.journey.id for s in from_honefoss]
    assert ids[0] == evening_before and evening_of not in ids
    assert from_honefoss[0].departure_time == datetime(2026, 11, 30, 23, 21, tzinfo=UTC)
    assert local(from_honefoss[0].departure_time).date() == DAY
    assert [s.journey.id for s in departures(demo, DRAMMEN, BERGEN, DAY, today)].count(
        evening_before
    ) == 0  # it leaves Drammen at 23:34 the day before


def test_the_run_of_last_evening_is_still_sold_today_where_it_has_not_left(
    demo: Catalogue,
) -> None:
    """Just after midnight the 22:57 run of yesterday has yet to leave Hønefoss (00:21)."""
    ids = [s.journey.id for s in departures(demo, HONEFOSS, BERGEN, DAY, DAY)]
    assert f"{WEST}-2257:{(DAY - timedelta(days=1)).isoformat()}" in ids


def test_departures_over_the_spring_dst_change(demo: Catalogue) -> None:
    """29 March 2026, 02:00 CET -> 03:00 CEST: a run keeps its minutes in real time."""
    day = date(2026, 3, 29)
    found = departures(demo, GEILO, BERGEN, day, day - timedelta(days=2))
    night = found[0]
    assert night.journey.id == f"{WEST}-2257:2026-03-28"
    assert night.journey.calls[0].departure == datetime(2026, 3, 28, 21, 57, tzinfo=UTC)
    assert night.departure_time == datetime(2026, 3, 29, 1, 41, tzinfo=UTC)  # +224 min
    assert local(night.departure_time).strftime("%H:%M %Z") == "03:41 CEST"
    assert night.arrival_time == datetime(2026, 3, 29, 4, 48, tzinfo=UTC)  # +411 min
    morning = found[1]
    assert morning.journey.id == f"{WEST}-0625:2026-03-29"
    assert morning.journey.calls[0].departure == datetime(2026, 3, 29, 4, 25, tzinfo=UTC)
    assert [local(s.journey.calls[0].departure).strftime("%H:%M") for s in found[1:]] == [  # type: ignore[arg-type]
        "06:25", "08:25", "12:25", "16:25"
    ]  # fmt: skip


def test_departures_over_the_autumn_dst_change(demo: Catalogue) -> None:
    """25 October 2026, 03:00 CEST -> 02:00 CET."""
    day = date(2026, 10, 25)
    found = departures(demo, GEILO, BERGEN, day, day - timedelta(days=2))
    night = found[0]
    assert night.journey.id == f"{WEST}-2257:2026-10-24"
    assert night.journey.calls[0].departure == datetime(2026, 10, 24, 20, 57, tzinfo=UTC)
    assert night.departure_time == datetime(2026, 10, 25, 0, 41, tzinfo=UTC)
    assert local(night.departure_time).strftime("%H:%M %Z") == "02:41 CEST"
    assert night.arrival_time == datetime(2026, 10, 25, 3, 48, tzinfo=UTC)
    assert found[1].journey.calls[0].departure == datetime(2026, 10, 25, 5, 25, tzinfo=UTC)
    durations = {s.arrival_time - s.departure_time for s in found}
    assert durations == {timedelta(minutes=411 - 224)}


def test_departures_only_inside_the_bookable_window(demo: Catalogue) -> None:
    assert departures(demo, OSLO, BERGEN, DAY - timedelta(days=1), DAY) == []
    assert departures(demo, OSLO, BERGEN, DAY + timedelta(days=6), DAY) != []
    assert departures(demo, OSLO, BERGEN, DAY + timedelta(days=7), DAY) == []


def test_departures_between_unknown_stops_are_refused(demo: Catalogue) -> None:
    with pytest.raises(SalesError) as raised:
        departures(demo, "NSR:StopPlace:0", BERGEN, DAY, DAY)
    assert raised.value.code is ErrorCode.VALIDATION_FAILED
    with pytest.raises(SalesError):
        departures(demo, OSLO, "NSR:StopPlace:0", DAY, DAY)
    assert departures(demo, OSLO, OSLO, DAY, DAY) == []


# ------------------------------------------------------------------ the data file


def _without(path: list[str | int]) -> dict[str, Any]:
    document = demo_document()
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return document


def _with(path: list[str | int], value: object) -> dict[str, Any]:
    document = demo_document()
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


BAD_DOCUMENTS = {
    "wrong format": _with(["format"], "sales-api-catalogue/2"),
    "no format": _without(["format"]),
    "no stop places": _without(["stopPlaces"]),
    "stop place without id": _without(["stopPlaces", 0, "id"]),
    "stop place not an object": _with(["stopPlaces", 0], "Oslo S"),
    "unknown fare class": _with(["fareProducts", 0, "fareClass"], "FIRST_CLASS"),
    "price not a number": _with(["fareProducts", 0, "basePrice"], "ninety-nine"),
    "product without price": _without(["fareProducts", 1, "pricePerKm"]),
    "unknown car type": _with(["lines", 0, "consist", 0, "car"], "sleeper"),
    "car types not a mapping": _with(["cars"], []),
    "rows not a number": _with(["cars", "standard", "rows"], "twelve"),
    "unknown stop on a line": _with(["lines", 0, "stops", 1, "stopPlaceId"], "NSR:StopPlace:0"),
    "bad departure time": _with(["lines", 0, "departures", 0], "25:99"),
    "minutes not a number": _with(["lines", 0, "stops", 1, "arrival"], "thirty-five"),
    "unknown user type": _with(["userTypeDiscountPercent", "PENSIONER"], "10"),
    "discount over 100 %": _with(["userTypeDiscountPercent", "CHILD"], "150"),
    "negative discount": _with(["userTypeDiscountPercent", "CHILD"], "-10"),
    "negative price": _with(["fareProducts", 0, "basePrice"], "-99.00"),
    "days ahead not a number": _with(["daysAhead"], "a week"),
    "not an object": [],  # type: ignore[dict-item]
    "null": None,  # type: ignore[dict-item]
}


@pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
def test_a_bad_catalogue_document_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid catalogue document"):
        catalogue_from_document(copy.deepcopy(BAD_DOCUMENTS[name]))


def test_the_demo_document_is_accepted() -> None:
    catalogue = catalogue_from_document(demo_document())
    assert len(catalogue.stop_places) == 7
    assert {p.id for p in catalogue.products} == {FLEX, LOWFARE, PREMIUM}
    assert len(catalogue.timetable) == 9
    assert catalogue.days_ahead == 7
