"""Races on seats, over HTTP through the real app: many truly concurrent requests against one
app instance (its engine has a connection pool), settled by the database.

The worst bug this service can have is a seat sold twice. Each test fires its requests with
asyncio.gather, so they interleave on the app's event loop and reach the database at once;
the database (SQLite's IMMEDIATE transactions, PostgreSQL's journey row lock, and in the end
the unique key on seat holds per leg) must let exactly one of them win."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from starlette.applications import Starlette

from sales_api.domain.services.lifecycle import expire_orders
from sales_api.persistence import tables as t
from sales_api.persistence.seat_inventory import SqlSeatInventory
from tests.api.test_sale_flow import (
    BERGEN,
    DRAMMEN,
    GEILO,
    GOL,
    HONEFOSS,
    OSLO,
    RESERVE,
    offers_for,
    tomorrow,
)
from tests.conftest import Api, MovableClock

pytestmark = pytest.mark.slow

VOSS = "NSR:StopPlace:723"
# The calls of the demo line, in order: a segment from call i to call j covers legs i..j-1.
CALLS = [OSLO, DRAMMEN, HONEFOSS, GOL, GEILO, VOSS, BERGEN]
INDEX = {stop: i for i, stop in enumerate(CALLS)}

PREMIUM, STANDARD = 1, 2  # car numbers
ADULT = [{"id": "a1", "userType": "ADULT"}]

SEAT_MAP = """
query($j: ID!, $f: ID!, $t: ID!) {
  seatMap(serviceJourneyId: $j, fromStopPlaceId: $f, toStopPlaceId: $t) {
    cars { number fareClass seats { seatNumber available } }
  }
}
"""

RESERVATIONS = """
query($page: Int!, $filter: ReservationFilter) {
  reservations(page: $page, perPage: 100, filter: $filter) {
    items { id orderId orderLineId status serviceJourneyId from { id } to { id }
            seats { carNumber seatNumber } }
    totalItems totalPages
  }
}
"""

CHANGE_SEATS = """
mutation($input: ChangeSeatsInput!) {
  changeSeats(input: $input) {
    reservation { id seats { carNumber seatNumber } }
    errors { code message path }
  }
}
"""

ORDERS = """
{ orders(perPage: 100) { totalItems items { id } } }
"""


# ------------------------------------------------------------------ helpers


async def first_journey(api: Api) -> str:
    departures = (
        await api.gql(
            "query($f: ID!, $t: ID!, $d: Date!) { departures(fromStopPlaceId: $f, "
            "toStopPlaceId: $t, date: $d) { serviceJourneyId } }",
            {"f": OSLO, "t": BERGEN, "d": tomorrow()},
        )
    )["departures"]
    return str(departures[0]["serviceJourneyId"])


async def offer_id(
    api: Api,
    journey: str,
    product: str = "Premium Flex",
    origin: str = OSLO,
    destination: str = BERGEN,
    travellers: list[dict[str, str]] | None = None,
) -> str:
    offers = await offers_for(api, travellers or ADULT, origin, destination, journey=journey)
    return str(next(o for o in offers if o["product"]["name"] == product)["id"])


async def offer_ids(
    api: Api, journey: str, product: str, segments: list[tuple[str, str]]
) -> list[str]:
    """An offer of its own for each buyer: one adult on each segment, searched at once."""
    return list(await asyncio.gather(*(offer_id(api, journey, product, a, b) for a, b in segments)))


async def seat_map(
    api: Api, journey: str, origin: str = OSLO, destination: str = BERGEN
) -> dict[int, dict[str, bool]]:
    """car number -> seat number -> available."""
    data = await api.gql(SEAT_MAP, {"j": journey, "f": origin, "t": destination})
    return {
        car["number"]: {s["seatNumber"]: s["available"] for s in car["seats"]}
        for car in data["seatMap"]["cars"]
    }


async def all_reservations(api: Api, journey: str | None = None) -> list[dict[str, Any]]:
    flt = {"serviceJourneyId": {"eq": journey}} if journey else None
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        data = (await api.gql(RESERVATIONS, {"page": page, "filter": flt}))["reservations"]
        items.extend(data["items"])
        if page >= data["totalPages"]:
            break
        page += 1
    return items


def reserve_input(
    offer: str,
    seats: list[tuple[int, str]] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    configuration: dict[str, Any] = {"offerId": offer}
    if seats is not None:
        configuration["seats"] = [{"carNumber": c, "seatNumber": s} for c, s in seats]
    fields: dict[str, Any] = {"offerConfigurations": [configuration]}
    if idempotency_key is not None:
        fields["idempotencyKey"] = idempotency_key
    return {"input": fields}


def payload(response: httpx.Response, field: str) -> dict[str, Any]:
    """The mutation's payload, after checking the answer is a clean GraphQL answer: no HTTP
    500, no top-level error, no database lock leaking out."""
    assert response.status_code == 200, response.text
    assert "database is locked" not in response.text.lower(), response.text
    assert "integrityerror" not in response.text.lower(), response.text
    assert "deadlock" not in response.text.lower(), response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"][field])


@contextmanager
def connections_in_use(app: Starlette) -> Iterator[list[int]]:
    """[now, peak] of the app's pooled connections checked out while inside: proof that the
    requests really were in the database at the same time, not one after the other."""
    counts = [0, 0]
    pool = app.state.engine.sync_engine.pool

    def checkout(*_: Any) -> None:
        counts[0] += 1
        counts[1] = max(counts)

    def checkin(*_: Any) -> None:
        counts[0] -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield counts
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def concurrently(
    app: Starlette, api: Api, query: str, variable_sets: list[dict[str, Any]], field: str
) -> list[dict[str, Any]]:
    """Every request at once, through the same app and its connection pool."""
    await api.token()  # mint the token up front, so the requests race only on seats
    with connections_in_use(app) as counts:
        responses = await asyncio.gather(*(api.post(query, v) for v in variable_sets))
    if len(variable_sets) > 1:
        assert counts[1] > 1, "the requests never overlapped in the database"
    return [payload(r, field) for r in responses]


def codes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["code"] for r in results for e in r["errors"])


def span(reservation: dict[str, Any]) -> tuple[int, int]:
    return INDEX[reservation["from"]["id"]], INDEX[reservation["to"]["id"]]


def overlapping(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def assert_no_seat_sold_twice(reservations: list[dict[str, Any]]) -> None:
    """No two live reservations hold one seat on overlapping legs."""
    by_seat: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for reservation in reservations:
        if reservation["status"] not in ("DRAFT", "CONFIRMED"):
            continue  # CANCELLED or EXPIRED: holds nothing
        for seat in reservation["seats"]:
            by_seat.setdefault((seat["carNumber"], seat["seatNumber"]), []).append(reservation)
    for seat, holders in by_seat.items():
        for a, b in itertools.combinations(holders, 2):
            assert not overlapping(span(a), span(b)), (seat, a, b)


async def hold_counts(app: Starlette, journey: str) -> Counter[tuple[int, str, int]]:
    """(car, seat, leg) -> number of rows in seat_holds (the unique key says at most 1)."""
    async with app.state.engine.connect() as connection:
        rows = await connection.execute(
            select(
                t.seat_holds.c.car_number,
                t.seat_holds.c.seat_number,
                t.seat_holds.c.leg,
                func.count(),
            )
            .where(t.seat_holds.c.service_journey_id == journey)
            .group_by(t.seat_holds.c.car_number, t.seat_holds.c.seat_number, t.seat_holds.c.leg)
        )
        return Counter({(int(c), str(s), int(leg)): int(n) for c, s, leg, n in rows})


async def fill_premium_but_one(api: Api, journey: str) -> str:
    """Reserve every premium seat of Oslo->Bergen but the last; answer the free one."""
    premium = list((await seat_map(api, journey))[PREMIUM])
    assert len(premium) == 24
    last, others = premium[-1], premium[:-1]
    for start in range(0, len(others), 9):
        chunk = others[start : start + 9]
        travellers = [{"id": f"t{i}", "userType": "ADULT"} for i in range(len(chunk))]
        offer = await offer_id(api, journey, travellers=travellers)
        data = await api.gql(RESERVE, reserve_input(offer, [(PREMIUM, s) for s in chunk]))
        assert data["reserveOffers"]["errors"] == [], data
    after = (await seat_map(api, journey))[PREMIUM]
    assert [s for s, free in after.items() if free] == [last]
    return last


# ------------------------------------------------------------------ 1. the last free seat


@pytest.mark.parametrize("explicit", [False, True], ids=["auto-allocated", "explicit-seat"])
async def test_fifty_buyers_race_for_the_last_premium_seat(
    api: Api, app: Starlette, explicit: bool
) -> None:
    journey = await first_journey(api)
    last = await fill_premium_but_one(api, journey)
    # Each buyer has an offer of their own: one adult, Premium Flex, Oslo->Bergen.
    offers = await offer_ids(api, journey, "Premium Flex", [(OSLO, BERGEN)] * 50)
    seats = [(PREMIUM, last)] if explicit else None

    results = await concurrently(
        app, api, RESERVE, [reserve_input(o, seats) for o in offers], "reserveOffers"
    )

    winners = [r for r in results if not r["errors"]]
    losers = [r for r in results if r["errors"]]
    assert len(winners) == 1, codes(results)
    assert len(losers) == 49
    allowed = {"SEAT_UNAVAILABLE"} if explicit else {"NO_SEATS_AVAILABLE", "SEAT_UNAVAILABLE"}
    assert set(codes(losers)) <= allowed, codes(losers)
    assert all(r["order"] is None and r["reservations"] == [] for r in losers)
    [won] = winners[0]["reservations"]
    assert won["seats"] == [{"carNumber": PREMIUM, "seatNumber": last}]

    # The seat map shows the seat taken, and so every premium seat.
    after = await seat_map(api, journey)
    assert not any(after[PREMIUM].values())
    assert all(after[STANDARD].values())
    # 23 filled + 1 winner: exactly as many reservations as successful sales.
    reservations = await all_reservations(api, journey)
    assert len(reservations) == 24
    holding_last = [
        r for r in reservations if {"carNumber": PREMIUM, "seatNumber": last} in r["seats"]
    ]
    assert [r["id"] for r in holding_last] == [won["id"]]
    assert_no_seat_sold_twice(reservations)
    orders = (await api.gql(ORDERS))["orders"]
    assert orders["totalItems"] == 3 + 1  # three filling orders, one winner
    # In the database: each premium seat held once on each of the 6 legs, nothing else.
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1}
    assert len(holds) == 24 * 6
    assert sum(1 for car, seat, _ in holds if (car, seat) == (PREMIUM, last)) == 6


# ------------------------------------------------------------------ 2. changeSeats onto one seat


# Segments that all cover the leg Hønefoss->Gol, so any two of them overlap.
CROSSING_HONEFOSS_GOL = [
    (OSLO, BERGEN),
    (OSLO, GOL),
    (DRAMMEN, GEILO),
    (HONEFOSS, BERGEN),
    (HONEFOSS, GOL),
]


async def test_twenty_reservations_race_onto_one_free_seat(api: Api, app: Starlette) -> None:
    journey = await first_journey(api)
    segments = [CROSSING_HONEFOSS_GOL[i % len(CROSSING_HONEFOSS_GOL)] for i in range(20)]
    offers = await offer_ids(api, journey, "Flex", segments)
    # 20 buyers at once, auto-allocated: every one gets a seat, no two the same.
    made = await concurrently(
        app, api, RESERVE, [reserve_input(o) for o in offers], "reserveOffers"
    )
    assert codes(made) == Counter(), codes(made)
    reservations = [r["reservations"][0] for r in made]
    assert len({r["order"]["id"] for r in made}) == 20, "twenty different orders"
    start = {
        r["id"]: (r["seats"][0]["carNumber"], r["seats"][0]["seatNumber"]) for r in reservations
    }
    assert len(set(start.values())) == 20, "overlapping segments, so twenty different seats"
    assert_no_seat_sold_twice(await all_reservations(api, journey))

    free = [
        seat
        for seat, available in (await seat_map(api, journey, OSLO, BERGEN))[STANDARD].items()
        if available
    ]
    target = free[-1]
    results = await concurrently(
        app,
        api,
        CHANGE_SEATS,
        [
            {
                "input": {
                    "reservationId": r["id"],
                    "seats": [{"carNumber": STANDARD, "seatNumber": target}],
                }
            }
            for r in reservations
        ],
        "changeSeats",
    )
    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 1, codes(results)
    assert codes(results) == Counter({"SEAT_UNAVAILABLE": 19})
    winner = winners[0]["reservation"]
    assert winner["seats"] == [{"carNumber": STANDARD, "seatNumber": target}]

    after = {r["id"]: r for r in await all_reservations(api, journey)}
    assert set(after) == set(start)
    for rid, reservation in after.items():
        assert len(reservation["seats"]) == 1, reservation
        seat = (reservation["seats"][0]["carNumber"], reservation["seats"][0]["seatNumber"])
        assert seat == ((STANDARD, target) if rid == winner["id"] else start[rid])
    assert_no_seat_sold_twice(list(after.values()))

    # Seat maps per car agree: on the shared leg the 20 seats are taken, the winner's old
    # seat is free again, and the target is taken.
    shared_leg = await seat_map(api, journey, HONEFOSS, GOL)
    taken = {(car, s) for car, seats in shared_leg.items() for s, ok in seats.items() if not ok}
    assert taken == {start[r] for r in start if r != winner["id"]} | {(STANDARD, target)}
    assert shared_leg[STANDARD][start[winner["id"]][1]] is True
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1}


# ------------------------------------------------------------------ 3. the same idempotency key


async def test_twenty_retries_with_one_idempotency_key_make_one_order(
    api: Api, app: Starlette
) -> None:
    journey = await first_journey(api)
    travellers = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    offer = await offer_id(api, journey, "Flex", travellers=travellers)
    same = reserve_input(offer, idempotency_key="retry-me-1")

    results = await concurrently(app, api, RESERVE, [same] * 20, "reserveOffers")

    assert codes(results) == Counter(), codes(results)
    assert len({r["order"]["id"] for r in results}) == 1
    line_ids = {tuple(sorted(line["id"] for line in r["orderLines"])) for r in results}
    assert len(line_ids) == 1
    assert len(next(iter(line_ids))) == 2
    seats = {
        tuple(
            sorted((s["carNumber"], s["seatNumber"]) for x in r["reservations"] for s in x["seats"])
        )
        for r in results
    }
    assert len(seats) == 1 and len(next(iter(seats))) == 2

    orders = (await api.gql(ORDERS))["orders"]
    assert orders["totalItems"] == 1
    reservations = await all_reservations(api, journey)
    assert len(reservations) == 2
    taken = [s for s, ok in (await seat_map(api, journey))[STANDARD].items() if not ok]
    assert len(taken) == 2
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1} and len(holds) == 2 * 6

    # The same key with other input (another product) is refused and changes nothing.
    other = await offer_id(api, journey, "Lowfare", travellers=travellers)
    reused = await api.post(RESERVE, reserve_input(other, idempotency_key="retry-me-1"))
    refused = payload(reused, "reserveOffers")
    assert [e["code"] for e in refused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert refused["order"] is None
    assert (await api.gql(ORDERS))["orders"]["totalItems"] == 1


async def test_one_key_raced_with_two_inputs_serves_only_the_first(
    api: Api, app: Starlette
) -> None:
    journey = await first_journey(api)
    first = await offer_id(api, journey, "Lowfare")
    second = await offer_id(api, journey, "Flex")
    variables = [
        reserve_input(first if i % 2 else second, idempotency_key="contested") for i in range(20)
    ]

    results = await concurrently(app, api, RESERVE, variables, "reserveOffers")

    served = [r for r in results if not r["errors"]]
    assert len({r["order"]["id"] for r in served}) == 1
    assert len({tuple(line["id"] for line in r["orderLines"]) for r in served}) == 1
    assert codes(results) == Counter({"IDEMPOTENCY_KEY_REUSED": 10})
    assert (await api.gql(ORDERS))["orders"]["totalItems"] == 1
    assert len(await all_reservations(api, journey)) == 1


# ------------------------------------------------------------------ 4. overlapping segments


async def race_for_seat(
    app: Starlette, api: Api, journey: str, seat: str, segments: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    offers = await offer_ids(api, journey, "Premium Flex", segments)
    return await concurrently(
        app, api, RESERVE, [reserve_input(o, [(PREMIUM, seat)]) for o in offers], "reserveOffers"
    )


async def test_one_seat_on_segments_that_touch_is_sold_twice(api: Api, app: Starlette) -> None:
    journey = await first_journey(api)
    for seat in ("1", "2", "3"):
        results = await race_for_seat(app, api, journey, seat, [(OSLO, GOL), (GOL, BERGEN)])
        assert codes(results) == Counter(), codes(results)
        for origin, destination in ((OSLO, GOL), (GOL, BERGEN)):
            assert (await seat_map(api, journey, origin, destination))[PREMIUM][seat] is False
        assert (await seat_map(api, journey, GEILO, VOSS))[PREMIUM][seat] is False
    assert_no_seat_sold_twice(await all_reservations(api, journey))
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1} and len(holds) == 3 * 6


async def test_one_seat_on_overlapping_segments_is_sold_once(api: Api, app: Starlette) -> None:
    journey = await first_journey(api)
    for seat in ("1", "2", "3"):
        results = await race_for_seat(app, api, journey, seat, [(OSLO, GOL), (DRAMMEN, GEILO)] * 5)
        winners = [r for r in results if not r["errors"]]
        assert len(winners) == 1, codes(results)
        assert codes(results) == Counter({"SEAT_UNAVAILABLE": 9})
        won = winners[0]["reservations"][0]
        # The seat is taken on the winner's segment, and free outside it.
        assert (await seat_map(api, journey, won["from"]["id"], won["to"]["id"]))[PREMIUM][
            seat
        ] is False
        assert (await seat_map(api, journey, GEILO, BERGEN))[PREMIUM][seat] is True
    reservations = await all_reservations(api, journey)
    assert len(reservations) == 3
    assert_no_seat_sold_twice(reservations)
    assert set((await hold_counts(app, journey)).values()) == {1}


async def test_every_segment_races_for_one_seat(api: Api, app: Starlette) -> None:
    """All 21 segments of the line want seat 7 at once: the winners never overlap, and each
    loser overlaps a winner (it lost to a real sale, not to the race)."""
    journey = await first_journey(api)
    segments = [(CALLS[i], CALLS[j]) for i in range(len(CALLS)) for j in range(i + 1, len(CALLS))]
    results = await race_for_seat(app, api, journey, "7", segments)

    won = [span(r["reservations"][0]) for r in results if not r["errors"]]
    lost = [
        (INDEX[a], INDEX[b]) for (a, b), r in zip(segments, results, strict=True) if r["errors"]
    ]
    assert won
    assert set(codes(results)) <= {"SEAT_UNAVAILABLE"}
    for a, b in itertools.combinations(won, 2):
        assert not overlapping(a, b), (a, b)
    for segment in lost:
        assert any(overlapping(segment, w) for w in won), segment
    covered = sum(b - a for a, b in won)
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1}
    assert len(holds) == covered
    assert_no_seat_sold_twice(await all_reservations(api, journey))


# ------------------------------------------------------------------ 5. the unique key decides


async def test_the_unique_key_is_the_last_word(
    api: Api, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with the journey lock gone and every writer blind to the others' holds (as a
    stale read would leave it), the unique key on (journey, car, seat, leg) sells a seat
    once per leg, and the losers get SEAT_UNAVAILABLE, never a 500 or an IntegrityError."""
    journey = await first_journey(api)
    offers = await offer_ids(
        api, journey, "Premium Flex", [(OSLO, GOL), (DRAMMEN, GEILO), (HONEFOSS, BERGEN)] * 4
    )
    auto = await offer_ids(api, journey, "Premium Flex", [(GOL, GEILO)] * 12)

    async def no_lock(self: SqlSeatInventory, journey_id: str) -> None:
        return None

    async def nothing_taken(self: SqlSeatInventory, *args: Any, **kwargs: Any) -> set[Any]:
        return set()

    monkeypatch.setattr(SqlSeatInventory, "lock_journey", no_lock)
    monkeypatch.setattr(SqlSeatInventory, "taken", nothing_taken)

    explicit = await concurrently(
        app, api, RESERVE, [reserve_input(o, [(PREMIUM, "9")]) for o in offers], "reserveOffers"
    )
    assert len([r for r in explicit if not r["errors"]]) == 1, codes(explicit)
    assert codes(explicit) == Counter({"SEAT_UNAVAILABLE": 11})

    # Auto-allocation blind to every hold picks the same first seat for everyone.
    allocated = await concurrently(
        app, api, RESERVE, [reserve_input(o) for o in auto], "reserveOffers"
    )
    assert len([r for r in allocated if not r["errors"]]) == 1, codes(allocated)
    assert codes(allocated) == Counter({"SEAT_UNAVAILABLE": 11})

    monkeypatch.undo()
    reservations = await all_reservations(api, journey)
    assert len(reservations) == 2
    assert_no_seat_sold_twice(reservations)
    assert set((await hold_counts(app, journey)).values()) == {1}


# ------------------------------------------------------------------ 6. a seat freed by expiry


async def test_buyers_race_for_a_seat_freed_by_expiry(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    """A DRAFT order's seat is free for others from its expiry: twenty buyers race for it while
    the expiry sweep runs and the old holder tries to move seats; one buyer gets it."""
    journey = await first_journey(api)
    offer = await offer_id(api, journey)
    held = (await api.gql(RESERVE, reserve_input(offer, [(PREMIUM, "3")])))["reserveOffers"]
    assert held["errors"] == []
    old = held["reservations"][0]["id"]
    clock.advance(timedelta(minutes=21))
    assert (await seat_map(api, journey))[PREMIUM]["3"] is True, "free from the expiry on"

    segments = [(OSLO, GOL), (DRAMMEN, GEILO), (HONEFOSS, BERGEN), (OSLO, BERGEN)] * 5
    offers = await offer_ids(api, journey, "Premium Flex", segments)
    await api.token()
    with connections_in_use(app) as counts:
        responses = await asyncio.gather(
            *(api.post(RESERVE, reserve_input(o, [(PREMIUM, "3")])) for o in offers),
            api.post(
                CHANGE_SEATS,
                {
                    "input": {
                        "reservationId": old,
                        "seats": [{"carNumber": PREMIUM, "seatNumber": "3"}],
                    }
                },
            ),
            expire_orders(app.state.uow_factory, app.state.provider, clock),
        )
    assert counts[1] > 1
    *reserved, moved, swept = responses
    results = [payload(r, "reserveOffers") for r in reserved]
    assert len([r for r in results if not r["errors"]]) == 1, codes(results)
    assert codes(results) == Counter({"SEAT_UNAVAILABLE": 19})
    change = payload(moved, "changeSeats")
    assert change["reservation"] is None
    # ORDER_EXPIRED, or INVALID_STATE when the sweep got there first and cancelled the order.
    assert [e["code"] for e in change["errors"]] in (["ORDER_EXPIRED"], ["INVALID_STATE"])
    assert swept in (0, 1)

    await expire_orders(app.state.uow_factory, app.state.provider, clock)
    reservations = {r["id"]: r for r in await all_reservations(api, journey)}
    assert reservations[old]["status"] == "EXPIRED"
    assert len(reservations) == 2
    assert_no_seat_sold_twice(list(reservations.values()))
    holds = await hold_counts(app, journey)
    assert set(holds.values()) == {1}
    assert all(seat == "3" for _, seat, _ in holds)


# ------------------------------------------------------------------ 7. more than one lock


async def test_two_journeys_locked_in_either_order_never_deadlock(api: Api, app: Starlette) -> None:
    """Requests that want seat 1 on two journeys, naming them in opposite orders: one wins
    both seats, the others are refused, and no request dies of a deadlock."""
    departures = (
        await api.gql(
            "query($f: ID!, $t: ID!, $d: Date!) { departures(fromStopPlaceId: $f, "
            "toStopPlaceId: $t, date: $d) { serviceJourneyId } }",
            {"f": OSLO, "t": BERGEN, "d": tomorrow()},
        )
    )["departures"]
    first, second = departures[0]["serviceJourneyId"], departures[1]["serviceJourneyId"]
    one, two = await offer_id(api, first), await offer_id(api, second)
    seat = [{"carNumber": PREMIUM, "seatNumber": "1"}]
    forward = [{"offerId": one, "seats": seat}, {"offerId": two, "seats": seat}]
    variables = [
        {"input": {"offerConfigurations": forward if i % 2 else forward[::-1]}} for i in range(20)
    ]

    results = await concurrently(app, api, RESERVE, variables, "reserveOffers")

    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 1, codes(results)
    assert codes(results) == Counter({"SEAT_UNAVAILABLE": 19})
    assert len(winners[0]["reservations"]) == 2
    for journey in (first, second):
        assert (await seat_map(api, journey))[PREMIUM]["1"] is False
        assert len(await all_reservations(api, journey)) == 1
        assert set((await hold_counts(app, journey)).values()) == {1}


async def test_twenty_additions_to_one_order_at_once_lose_nothing(api: Api, app: Starlette) -> None:
    """Concurrent reserveOffers adding to the same DRAFT order: every line lands, each with its
    own seat, and the order's total counts them all (no lost update of the aggregate)."""
    journey = await first_journey(api)
    start = (await api.gql(RESERVE, reserve_input(await offer_id(api, journey, "Flex"))))[
        "reserveOffers"
    ]
    order_id = start["order"]["id"]
    offers = await offer_ids(api, journey, "Flex", CROSSING_HONEFOSS_GOL * 4)
    variables = [
        {"input": {"orderId": order_id, "offerConfigurations": [{"offerId": o}]}} for o in offers
    ]

    results = await concurrently(app, api, RESERVE, variables, "reserveOffers")

    assert codes(results) == Counter(), codes(results)
    order = (
        await api.gql(
            "query($id: ID!) { order(id: $id) { totalAmount orderLines { id price { amount } } "
            "reservations { id } } }",
            {"id": order_id},
        )
    )["order"]
    assert len(order["orderLines"]) == 21
    assert len(order["reservations"]) == 21
    total = sum(Decimal(line["price"]["amount"]) for line in order["orderLines"])
    assert Decimal(order["totalAmount"]) == total
    reservations = await all_reservations(api, journey)
    assert len(reservations) == 21
    assert len({(s["carNumber"], s["seatNumber"]) for r in reservations for s in r["seats"]}) == 21
    assert_no_seat_sold_twice(reservations)
    assert set((await hold_counts(app, journey)).values()) == {1}
