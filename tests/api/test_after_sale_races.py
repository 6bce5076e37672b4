"""Races on the after-sale, over HTTP through the real app: many truly concurrent requests
against one app instance (its engine has a connection pool), settled by the database.

Exchanges and rebookings hold seats on one journey while they change an order; compensations
and refunds move money outside any transaction under an idempotency key. Each test fires its
requests with asyncio.gather, so they interleave on the app's event loop and reach the
database at once, and then reads what was committed (often with SQL, the clearest proof):
one winner, clear codes for the losers, no seat held twice, no money given back twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.payments import CreditApproved
from sales_api.persistence import tables as t
from sales_api.settings import Settings
from tests.api.test_after_sale import (
    ADD_FEE,
    COMPENSATE,
    DISRUPT,
    EXCHANGE,
    REBOOK,
    RESET,
    journey_of,
    mutate,
    read,
)
from tests.api.test_payment_flow import capture, pay, transact
from tests.api.test_refund_races import CreditCountingProvider
from tests.api.test_refunds import REFUND, a_paid_order
from tests.api.test_sale_flow import BERGEN, OSLO, RESERVE, tomorrow
from tests.api.test_seat_races import (
    PREMIUM,
    STANDARD,
    all_reservations,
    assert_no_seat_sold_twice,
    codes,
    concurrently,
    connections_in_use,
    hold_counts,
    offer_id,
    payload,
    reserve_input,
    seat_map,
)
from tests.conftest import Api, MovableClock

pytestmark = pytest.mark.slow

LEGS = 6  # Oslo S -> Bergen covers every leg of the demo line
A1 = [{"id": "a1", "userType": "ADULT"}]


# ------------------------------------------------------------------ helpers


async def journeys(api: Api) -> list[str]:
    """Every departure Oslo S -> Bergen tomorrow, earliest first."""
    departures = (
        await api.gql(
            "query($f: ID!, $t: ID!, $d: Date!) { departures(fromStopPlaceId: $f, "
            "toStopPlaceId: $t, date: $d) { serviceJourneyId } }",
            {"f": OSLO, "t": BERGEN, "d": tomorrow()},
        )
    )["departures"]
    ids = [str(d["serviceJourneyId"]) for d in departures]
    assert len(ids) >= 3, ids
    return ids


async def count(app: Starlette, table: Any, *where: ColumnElement[bool]) -> int:
    """Committed rows of `table` matching `where`, read with SQL."""
    async with app.state.engine.connect() as connection:
        found = await connection.scalar(select(func.count()).select_from(table).where(*where))
    return int(found or 0)


async def rows(app: Starlette, table: Any, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    async with app.state.engine.connect() as connection:
        result = await connection.execute(select(table).where(*where))
        return [dict(row) for row in result.mappings()]


async def events_of(app: Starlette, order_id: str) -> Counter[str]:
    """Committed order events of the order, by type."""
    found = await rows(app, t.order_events, t.order_events.c.order_id == order_id)
    return Counter(str(row["type"]) for row in found)


async def holds_by_reservation(app: Starlette) -> Counter[str]:
    """reservation id -> seat_holds rows, over every journey."""
    return Counter(str(row["reservation_id"]) for row in await rows(app, t.seat_holds))


async def all_hold_counts(app: Starlette) -> Counter[tuple[str, int, str, int]]:
    """(journey, car, seat, leg) -> seat_holds rows (the unique key says at most 1)."""
    return Counter(
        (str(r["service_journey_id"]), int(r["car_number"]), str(r["seat_number"]), int(r["leg"]))
        for r in await rows(app, t.seat_holds)
    )


def taken(seats: dict[int, dict[str, bool]]) -> set[tuple[int, str]]:
    return {(car, seat) for car, by_seat in seats.items() for seat, ok in by_seat.items() if not ok}


def seats_of(line: dict[str, Any]) -> list[tuple[int, str]]:
    reservation = line["reservation"] or {"seats": []}
    return [(s["carNumber"], s["seatNumber"]) for s in reservation["seats"]]


async def fill_premium_but(api: Api, journey: str, free: int) -> list[str]:
    """Reserve every premium seat of Oslo->Bergen but the last `free`; answer those."""
    premium = list((await seat_map(api, journey))[PREMIUM])
    assert len(premium) == 24
    left, others = premium[-free:], premium[:-free]
    for start in range(0, len(others), 9):
        chunk = others[start : start + 9]
        travellers = [{"id": f"t{i}", "userType": "ADULT"} for i in range(len(chunk))]
        offer = await offer_id(api, journey, travellers=travellers)
        data = await api.gql(RESERVE, reserve_input(offer, [(PREMIUM, s) for s in chunk]))
        assert data["reserveOffers"]["errors"] == [], data
    after = (await seat_map(api, journey))[PREMIUM]
    assert [s for s, ok in after.items() if ok] == left
    return left


async def a_paid_one_adult_order(api: Api, journey: str, product: str) -> dict[str, Any]:
    """A CONFIRMED order of one adult (a1) Oslo S -> Bergen on `journey`, as reserved."""
    offer = await offer_id(api, journey, product, travellers=A1)
    reserved = (await api.gql(RESERVE, reserve_input(offer)))["reserveOffers"]
    assert reserved["errors"] == [], reserved
    order = reserved["order"]
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], order["balance"])
    assert (await capture(api, tx["id"]))["order"]["status"] == "CONFIRMED"
    return dict(order)


@dataclass
class Counted:
    api: Api
    app: Starlette
    provider: CreditCountingProvider


class GatedProvider(CreditCountingProvider):
    """Counts credits like CreditCountingProvider, and holds every credit until `gate` is
    set, telling `asked` when the first one arrives: the money is then in flight (the
    refund's credits committed as CREATED, its lines not yet REFUNDED), for as long as a
    test needs to send other requests."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.gate = asyncio.Event()

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        self.asked.set()
        await self.gate.wait()
        return await super().credit(reference, capture_reference, amount, currency)


async def _second_app(
    settings: Settings, clock: MovableClock, provider: CreditCountingProvider
) -> AsyncIterator[Counted]:
    application = create_app(settings, clock=clock, payment_provider=provider)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Counted(Api(http), application, provider)
    finally:
        await application.state.reads.close()
        await application.state.engine.dispose()


@pytest.fixture
async def counting(
    app: Starlette, settings: Settings, clock: MovableClock
) -> AsyncIterator[Counted]:
    """A second app over the same (emptied, via `app`) database, whose payment provider
    counts every credit it makes and is slow enough that racing requests overlap while the
    money moves (tests/api/test_refund_races.py)."""
    async for counted in _second_app(settings, clock, CreditCountingProvider()):
        yield counted


@pytest.fixture
async def gated(app: Starlette, settings: Settings, clock: MovableClock) -> AsyncIterator[Counted]:
    """As `counting`, with a provider that credits only once the test opens its gate."""
    async for counted in _second_app(settings, clock, GatedProvider()):
        yield counted


# ------------------------------------------------------------------ 1. one line, twenty exchanges


async def test_twenty_exchanges_of_one_line_make_one_draft_version(
    api: Api, app: Starlette
) -> None:
    """Twenty exchanges of the same CONFIRMED Flex line at once, each with an offer of its
    own (on other journeys, on the same journey, or one offer shared), with or without
    idempotency keys and expected versions: one makes the new DRAFT version, the others are
    refused (VERSION_CONFLICT when they expected version 1, else INVALID_STATE: the line is
    CANCELLED in the new version), and none of them holds a seat."""
    reserved = await a_paid_order(api, "Flex")  # two adults, one line each
    order_id = reserved["id"]
    line = next(x for x in reserved["orderLines"] if [t["id"] for t in x["travellers"]] == ["a1"])
    other = next(x for x in reserved["orderLines"] if x["id"] != line["id"])
    before = await read(api, order_id)
    old_journey = journey_of(before)
    everywhere = await journeys(api)
    elsewhere = [j for j in everywhere if j != old_journey]
    shared = await offer_id(api, elsewhere[0], "Premium Flex", travellers=A1)
    own = await asyncio.gather(
        *(
            offer_id(
                api,
                [*elsewhere, old_journey][i % (len(elsewhere) + 1)],
                "Flex" if i % 2 else "Premium Flex",
                travellers=A1,
            )
            for i in range(20)
        )
    )
    variables: list[dict[str, Any]] = []
    for i in range(20):
        fields: dict[str, Any] = {
            "orderId": order_id,
            "orderLineIds": [line["id"]],
            "offerId": shared if i % 4 == 0 else own[i],
        }
        if i % 3:
            fields["idempotencyKey"] = f"exchange-{i}"
        if i % 2 == 0:
            fields["expectedVersion"] = 1
        variables.append({"input": fields})

    results = await concurrently(app, api, EXCHANGE, variables, "exchangeOrderLines")

    won = [(v["input"], r) for v, r in zip(variables, results, strict=True) if not r["errors"]]
    assert len(won) == 1, codes(results)
    (won_input, answer), *_ = won
    for asked, result in zip(variables, results, strict=True):
        if not result["errors"]:
            continue
        expected = "VERSION_CONFLICT" if "expectedVersion" in asked["input"] else "INVALID_STATE"
        assert [e["code"] for e in result["errors"]] == [expected], result
        assert result["order"] is None

    # The winner's answer: version 2, a DRAFT, the line CANCELLED, one new DRAFT line with
    # one seat on the winner's journey; the other traveller's line untouched.
    draft = answer["order"]
    assert (draft["version"], draft["status"]) == (2, "DRAFT")
    statuses = {x["id"]: x["status"] for x in draft["orderLines"]}
    assert statuses.pop(line["id"]) == "CANCELLED"
    assert statuses.pop(other["id"]) == "CONFIRMED"
    assert list(statuses.values()) == ["DRAFT"], "exactly one new line"
    (new_line,) = [x for x in draft["orderLines"] if x["id"] in statuses]
    assert new_line["reservation"]["status"] == "DRAFT"
    (new_seat,) = seats_of(new_line)
    new_journey = new_line["travelSpecification"]["serviceJourneyId"]
    assert [(f["type"], f["amount"]) for f in draft["fees"]] == [("CHANGE", "50.00")]

    # Committed: one new version, three reservations (the two old ones still hold their
    # seats until the new version confirms, and the new one), no seat held twice.
    order_row = (await rows(app, t.orders, t.orders.c.id == order_id))[0]
    assert (order_row["version"], order_row["status"]) == (2, "DRAFT")
    reservations = await rows(app, t.reservations)
    assert len(reservations) == 3, reservations
    assert {r["order_id"] for r in reservations} == {order_id}
    holds = await holds_by_reservation(app)
    assert sorted(holds.values()) == [LEGS] * 3
    assert set(holds) == {r["id"] for r in reservations}, "the losers hold no seat"
    assert set((await all_hold_counts(app)).values()) == {1}
    assert await count(app, t.order_lines, t.order_lines.c.order_id == order_id) == 3
    assert await count(app, t.order_fees, t.order_fees.c.order_id == order_id) == 1
    assert (await events_of(app, order_id))["ORDER_LINES_EXCHANGED"] == 1
    keys = await rows(
        app, t.idempotency_keys, t.idempotency_keys.c.operation == "exchangeOrderLines"
    )
    assert [k["key"] for k in keys] == (
        [won_input["idempotencyKey"]] if "idempotencyKey" in won_input else []
    ), "a refused exchange records nothing under its key"

    # Seat maps: the old seats still taken, the new one too, nothing else on any journey.
    old_seats = {line["id"]: seats_of(line) for line in before["orderLines"]}
    for journey in everywhere:
        expected_taken: set[tuple[int, str]] = set()
        if journey == old_journey:
            expected_taken |= {s for seats in old_seats.values() for s in seats}
        if journey == new_journey:
            expected_taken.add(new_seat)
        assert taken(await seat_map(api, journey)) == expected_taken, journey
        assert_no_seat_sold_twice(await all_reservations(api, journey))

    # The winner retried with its key is answered the same version; no new seat.
    if "idempotencyKey" in won_input:
        again = await mutate(api, EXCHANGE, won_input)
        assert again["errors"] == [] and again["order"]["version"] == 2
        assert await count(app, t.reservations) == 3

    # Reset: back to version 1, and only the two old seats are held anywhere.
    back = await mutate(api, RESET, {"orderId": order_id})
    assert back["errors"] == [] and (back["order"]["version"], back["order"]["status"]) == (
        1,
        "CONFIRMED",
    )
    holds = await holds_by_reservation(app)
    assert sorted(holds.values()) == [LEGS] * 2
    for journey in everywhere:
        expected_taken = (
            {s for seats in old_seats.values() for s in seats} if journey == old_journey else set()
        )
        assert taken(await seat_map(api, journey)) == expected_taken, journey


# ------------------------------------------------------------------ 2. the last seats of a journey


async def test_twenty_rebookings_race_for_the_last_three_seats(api: Api, app: Starlette) -> None:
    """Twenty CONFIRMED one-adult Premium Flex orders on a journey that is then disrupted,
    rebooked at once onto another journey whose premium car has three seats left: three
    are rebooked, seventeen answer NO_SEATS_AVAILABLE and keep their order as it was."""
    disrupted, target, spare, *_ = await journeys(api)
    free = await fill_premium_but(api, target, 3)
    made = await asyncio.gather(
        *(a_paid_one_adult_order(api, disrupted, "Premium Flex") for _ in range(20))
    )
    order_ids = [o["id"] for o in made]
    assert len(set(order_ids)) == 20
    before = {o["id"]: await read(api, o["id"]) for o in made}
    answer = await mutate(
        api,
        DISRUPT,
        {"serviceJourneyId": disrupted, "reason": "Signal failure", "idempotencyKey": "d-1"},
    )
    assert answer["errors"] == []
    assert sorted(answer["affectedOrderIds"]) == sorted(order_ids)
    holds_on_target = await hold_counts(app, target)
    assert len(holds_on_target) == 21 * LEGS

    variables = [
        {
            "input": {
                "orderId": o["id"],
                "orderLineIds": [o["orderLines"][0]["id"]],
                "toServiceJourneyId": target,
                "idempotencyKey": f"rebook-{i}",
            }
        }
        for i, o in enumerate(made)
    ]
    results = await concurrently(app, api, REBOOK, variables, "rebookDisruptedOrderLines")

    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 3, codes(results)
    assert codes(results) == Counter({"NO_SEATS_AVAILABLE": 17}), codes(results)
    assert all(r["order"] is None for r in results if r["errors"])
    won_seats = []
    for result in winners:
        after = result["order"]
        assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
        old_id = before[after["id"]]["orderLines"][0]["id"]
        statuses = {x["id"]: x["status"] for x in after["orderLines"]}
        assert statuses.pop(old_id) == "CANCELLED"
        assert list(statuses.values()) == ["CONFIRMED"]
        (new,) = [x for x in after["orderLines"] if x["id"] != old_id]
        assert new["travelSpecification"]["serviceJourneyId"] == target
        assert new["reservation"]["status"] == "CONFIRMED"
        won_seats.extend(seats_of(new))
    assert sorted(won_seats) == sorted((PREMIUM, s) for s in free), "the three seats, once each"

    # The losers' orders are as they were: version 1, the old line CONFIRMED, same seat.
    won_ids = {r["order"]["id"] for r in winners}
    for order_id, was in before.items():
        if order_id in won_ids:
            continue
        now = await read(api, order_id)
        assert (now["version"], now["status"]) == (1, "CONFIRMED")
        assert [(x["id"], x["status"]) for x in now["orderLines"]] == [
            (x["id"], "CONFIRMED") for x in was["orderLines"]
        ]
        assert [seats_of(x) for x in now["orderLines"]] == [seats_of(x) for x in was["orderLines"]]
        assert now["orderLines"][0]["travelSpecification"] == {
            "serviceJourneyId": disrupted,
            "disrupted": True,
        }
        assert [e["type"] for e in now["events"]][-1] == "SERVICE_JOURNEY_DISRUPTED"

    # Never oversold: the target's premium car full, each seat held once per leg.
    after_map = await seat_map(api, target)
    assert not any(after_map[PREMIUM].values())
    assert all(after_map[STANDARD].values())
    holds = await hold_counts(app, target)
    assert set(holds.values()) == {1}
    assert len(holds) == 24 * LEGS
    assert_no_seat_sold_twice(await all_reservations(api, target))
    # On the disrupted journey only the winners' seats were released.
    assert (
        sorted(
            Counter(
                r["reservation_id"]
                for r in await rows(
                    app, t.seat_holds, t.seat_holds.c.service_journey_id == disrupted
                )
            ).values()
        )
        == [LEGS] * 17
    )
    rebooked = await rows(app, t.order_events, t.order_events.c.type == "ORDER_LINES_REBOOKED")
    assert sorted(r["order_id"] for r in rebooked) == sorted(won_ids)
    keys = await rows(
        app, t.idempotency_keys, t.idempotency_keys.c.operation == "rebookDisruptedOrderLines"
    )
    assert len(keys) == 3, "a refused rebooking records nothing under its key"

    # A loser retries with its own key onto a journey with seats: rebooked then.
    loser = next(v["input"] for v in variables if v["input"]["orderId"] not in won_ids)
    retried = await mutate(api, REBOOK, {**loser, "toServiceJourneyId": spare})
    assert retried["errors"] == [] and retried["order"]["version"] == 2


# ------------------------------------------------------------------ 3. one compensation, one key


def compensate_input(order_id: str, amount: str, key: str) -> dict[str, Any]:
    return {
        "input": {
            "orderId": order_id,
            "amount": amount,
            "reason": "Late by 2 hours",
            "idempotencyKey": key,
        }
    }


async def compensate_concurrently(
    counted: Counted, variable_sets: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    api = counted.api
    await api.token()
    with connections_in_use(counted.app) as counts:
        responses = await asyncio.gather(*(api.post(COMPENSATE, v) for v in variable_sets))
    assert counts[1] > 1, "the requests never overlapped in the database"
    return [payload(r, "compensateOrder") for r in responses]


async def money_rows(app: Starlette, order_id: str) -> dict[str, Any]:
    """What is committed for the order's money: its row, refunds, credits and fees."""
    return {
        "order": (await rows(app, t.orders, t.orders.c.id == order_id))[0],
        "refunds": await rows(app, t.refunds, t.refunds.c.order_id == order_id),
        "credits": await rows(app, t.credits, t.credits.c.order_id == order_id),
        "fees": await rows(app, t.order_fees, t.order_fees.c.order_id == order_id),
        "events": await events_of(app, order_id),
    }


async def test_twenty_compensations_with_one_key_credit_once(counting: Counted) -> None:
    api, app, provider = counting.api, counting.app, counting.provider
    order = await a_paid_order(api, "Flex")
    variables = compensate_input(order["id"], "200.00", "goodwill-1")

    results = await compensate_concurrently(counting, [variables] * 20)

    assert codes(results) == Counter(), codes(results)
    refund_ids = {r["refund"]["id"] for r in results}
    assert len(refund_ids) == 1, "every answer names the one refund"
    for result in results:
        refund = result["refund"]
        assert (refund["amount"], refund["affectedOrderLineIds"], refund["orderVersion"]) == (
            "200.00",
            [],
            2,
        )
        assert [c["status"] for c in refund["credits"]] == ["CREDITED"]
        assert (result["order"]["version"], result["order"]["totalAmount"]) == (2, "1411.00")

    money = await money_rows(app, order["id"])
    assert [r["id"] for r in money["refunds"]] == list(refund_ids)
    assert [(r["status"], r["purpose"], r["amount"]) for r in money["refunds"]] == [
        ("COMPLETED", "COMPENSATE", 20000)
    ]
    assert [(c["amount"], c["status"]) for c in money["credits"]] == [(20000, "CREDITED")]
    (transaction_id,) = {c["transaction_id"] for c in money["credits"]}
    assert provider.credits == Counter({transaction_id: 1}), "the provider credited once"
    assert (
        money["order"]["version"],
        money["order"]["status"],
        money["order"]["credited_amount"],
        money["order"]["balance"],
    ) == (2, "CONFIRMED", 20000, 0)
    assert [(f["type"], f["amount"]) for f in money["fees"]] == [("COMPENSATION", -20000)]
    assert money["events"]["ORDER_COMPENSATED"] == 1

    # The same key with another amount, raced too: refused, and nothing more moves.
    others = await compensate_concurrently(
        counting, [compensate_input(order["id"], "150.00", "goodwill-1")] * 5
    )
    assert codes(others) == Counter({"IDEMPOTENCY_KEY_REUSED": 5}), codes(others)
    assert all(r["refund"] is None for r in others)
    assert await money_rows(app, order["id"]) == money
    assert provider.credits == Counter({transaction_id: 1})
    # And the same input again answers the same refund.
    again = await mutate(api, COMPENSATE, variables["input"])
    assert again["errors"] == [] and again["refund"]["id"] in refund_ids


async def test_one_key_raced_with_two_amounts_compensates_once(counting: Counted) -> None:
    """Ten requests for 200.00 and ten for 150.00 under one key: one amount is given back,
    once; the other ten are IDEMPOTENCY_KEY_REUSED."""
    api, app, provider = counting.api, counting.app, counting.provider
    order = await a_paid_order(api, "Flex")
    variables = [
        compensate_input(order["id"], "200.00" if i % 2 else "150.00", "contested")
        for i in range(20)
    ]

    results = await compensate_concurrently(counting, variables)

    assert codes(results) == Counter({"IDEMPOTENCY_KEY_REUSED": 10}), codes(results)
    served = [r for r in results if not r["errors"]]
    assert len({r["refund"]["id"] for r in served}) == 1
    (amount,) = {r["refund"]["amount"] for r in served}
    money = await money_rows(app, order["id"])
    assert len(money["refunds"]) == 1
    assert [c["amount"] for c in money["credits"]] == [int(Decimal(amount) * 100)]
    assert sum(provider.credits.values()) == 1
    assert money["order"]["version"] == 2
    assert money["events"]["ORDER_COMPENSATED"] == 1


async def test_compensations_under_different_keys_never_give_back_more_than_paid(
    counting: Counted,
) -> None:
    """Twenty compensations of 500.00 each under their own keys on an order paid 1611.00:
    at most three fit; the rest are refused (AMOUNT_MISMATCH, or INVALID_STATE while another
    is being credited), and the credits never exceed what was captured."""
    api, app, provider = counting.api, counting.app, counting.provider
    order = await a_paid_order(api, "Flex")
    variables = [compensate_input(order["id"], "500.00", f"goodwill-{i}") for i in range(20)]

    results = await compensate_concurrently(counting, variables)

    served = [r for r in results if not r["errors"]]
    assert 1 <= len(served) <= 3, codes(results)
    assert set(codes(results)) <= {"AMOUNT_MISMATCH", "INVALID_STATE"}, codes(results)
    assert sum(codes(results).values()) == 20 - len(served)
    money = await money_rows(app, order["id"])
    assert len(money["refunds"]) == len(served) == len({r["refund"]["id"] for r in served})
    assert {r["status"] for r in money["refunds"]} == {"COMPLETED"}
    assert [c["status"] for c in money["credits"]] == ["CREDITED"] * len(served)
    credited = sum(c["amount"] for c in money["credits"])
    assert credited == 50000 * len(served) <= 161100
    assert money["order"]["credited_amount"] == credited
    assert money["order"]["version"] == 1 + len(served)
    assert sum(provider.credits.values()) == len(served)
    assert money["events"]["ORDER_COMPENSATED"] == len(served)


# ------------------------------------------------------------------ 4. exchange against refund


async def test_an_exchange_raced_with_a_refund_of_the_same_line_lets_one_win(
    counting: Counted,
) -> None:
    """Ten exchanges and ten refunds of one CONFIRMED line, at once: the line is either
    refunded (and no exchange made) or exchanged (and no money given back), never both."""
    api, app, provider = counting.api, counting.app, counting.provider
    reserved = await a_paid_order(api, "Flex")
    order_id = reserved["id"]
    line = next(x for x in reserved["orderLines"] if [t["id"] for t in x["travellers"]] == ["a1"])
    elsewhere = [j for j in await journeys(api) if j != journey_of(await read(api, order_id))]
    offers = await asyncio.gather(
        *(offer_id(api, elsewhere[i % len(elsewhere)], "Flex", travellers=A1) for i in range(10))
    )
    target = {"orderId": order_id, "orderLineIds": [line["id"]]}
    exchange_inputs = [
        {"input": {**target, "offerId": offer, "idempotencyKey": f"x-{i}"}}
        for i, offer in enumerate(offers)
    ]
    refund_inputs = [{"input": {**target, "idempotencyKey": f"r-{i}"}} for i in range(10)]
    await api.token()
    with connections_in_use(app) as counts:
        # Interleaved, a refund first: each kind gets its turn at the order's lock.
        answers = await asyncio.gather(
            *(
                api.post(document, v)
                for pair in zip(refund_inputs, exchange_inputs, strict=True)
                for document, v in zip((REFUND, EXCHANGE), pair, strict=True)
            )
        )
    responses = answers[1::2] + answers[0::2]  # the exchanges' answers, then the refunds'
    assert counts[1] > 1
    exchanges = [payload(r, "exchangeOrderLines") for r in responses[:10]]
    refunds = [payload(r, "refundOrder") for r in responses[10:]]
    exchanged = [r for r in exchanges if not r["errors"]]
    refunded = [r for r in refunds if not r["errors"]]
    assert len(exchanged) + len(refunded) == 1, (codes(exchanges), codes(refunds))
    allowed = {"INVALID_STATE", "NOT_REFUNDABLE"}
    assert set(codes(exchanges)) | set(codes(refunds)) <= allowed, (
        codes(exchanges),
        codes(refunds),
    )

    money = await money_rows(app, order_id)
    lines = {
        r["id"]: r for r in await rows(app, t.order_lines, t.order_lines.c.order_id == order_id)
    }
    if refunded:
        assert lines[line["id"]]["status"] == "REFUNDED"
        assert len(lines) == 2, "no line was added by an exchange"
        assert (money["order"]["version"], money["order"]["status"]) == (2, "CONFIRMED")
        assert [c["amount"] for c in money["credits"]] == [80550]
        assert money["events"]["ORDER_LINES_EXCHANGED"] == 0
    else:
        assert lines[line["id"]]["status"] == "CANCELLED"
        assert len(lines) == 3
        assert (money["order"]["version"], money["order"]["status"]) == (2, "DRAFT")
        assert money["credits"] == [] and money["refunds"] == []
        assert sum(provider.credits.values()) == 0
    assert set((await all_hold_counts(app)).values()) == {1}


# ------------------------------------------------------------------ 5. one fee, one key


async def test_twenty_fees_with_one_key_add_one_fee(api: Api, app: Starlette) -> None:
    reserved = await a_paid_order(api, "Flex")
    fee = {
        "orderId": reserved["id"],
        "type": "MANUAL",
        "amount": "100.00",
        "description": "Ticket printed at the office",
        "idempotencyKey": "fee-1",
    }

    results = await concurrently(app, api, ADD_FEE, [{"input": fee}] * 20, "addFee")

    assert codes(results) == Counter(), codes(results)
    assert {(r["order"]["version"], r["order"]["balance"]) for r in results} == {(2, "100.00")}
    assert len({tuple(f["id"] for f in r["order"]["fees"]) for r in results}) == 1
    fees = await rows(app, t.order_fees, t.order_fees.c.order_id == reserved["id"])
    assert [(f["type"], f["amount"]) for f in fees] == [("MANUAL", 10000)]
    order_row = (await rows(app, t.orders, t.orders.c.id == reserved["id"]))[0]
    assert (order_row["version"], order_row["status"], order_row["balance"]) == (2, "DRAFT", 10000)
    assert (await events_of(app, reserved["id"]))["FEE_ADDED"] == 1
    refused = await mutate(api, ADD_FEE, {**fee, "amount": "90.00"})
    assert [e["code"] for e in refused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]


# ------------------------------------------------------------------ 6. while money is in flight


ORDER_STATE = """
query($id: ID!) { order(id: $id) {
  id version status balance totalAmount
  orderLines { id status reservation { status seats { carNumber seatNumber } } }
  fees { type amount orderVersion } } }
"""


def assert_consistent(order: dict[str, Any]) -> None:
    """What a CONFIRMED order must be: paid up, with no unconfirmed line or seat in it."""
    if order["status"] == "CONFIRMED":
        assert order["balance"] == "0.00", order
        for line in order["orderLines"]:
            assert line["status"] in ("CONFIRMED", "CANCELLED", "REFUNDED"), order
            reservation = line["reservation"]
            if reservation is not None:
                holding = line["status"] == "CONFIRMED"
                assert reservation["status"] == ("CONFIRMED" if holding else "CANCELLED"), order


async def assert_holds_match_lines(app: Starlette, order_id: str) -> None:
    """Seats are held exactly by the reservations of the order's live lines (a replaced
    line's seats stay held while the new version is unconfirmed)."""
    order_row = (await rows(app, t.orders, t.orders.c.id == order_id))[0]
    lines = await rows(app, t.order_lines, t.order_lines.c.order_id == order_id)
    reservations = await rows(app, t.reservations, t.reservations.c.order_id == order_id)
    holding = {r["id"] for r in reservations if r["status"] in ("DRAFT", "CONFIRMED")}
    held = set(await holds_by_reservation(app))
    assert held == holding, (order_row["status"], lines, reservations)


CHANGES_DURING_A_REFUND = {
    "exchange-of-the-other-line": (EXCHANGE, "exchangeOrderLines"),
    "exchange-of-the-refunded-line": (EXCHANGE, "exchangeOrderLines"),
    "add-fee": (ADD_FEE, "addFee"),
    "add-offers": (RESERVE, "reserveOffers"),
}


async def change_input_for(
    api: Api, change: str, document: str, order_id: str, line_id: str, traveller: str
) -> dict[str, Any]:
    """The input of a change to the order that starts a new DRAFT version."""
    if document is EXCHANGE:
        elsewhere = [j for j in await journeys(api) if j != journey_of(await read(api, order_id))]
        offer = await offer_id(
            api, elsewhere[0], "Flex", travellers=[{"id": traveller, "userType": "ADULT"}]
        )
        return {"orderId": order_id, "orderLineIds": [line_id], "offerId": offer}
    if document is RESERVE:
        journey = journey_of(await read(api, order_id))
        offer = await offer_id(api, journey, "Flex", travellers=[{"id": "c1", "userType": "ADULT"}])
        return {"orderId": order_id, "offerConfigurations": [{"offerId": offer}]}
    return {"orderId": order_id, "type": "MANUAL", "amount": "100.00",
            "description": "Printed at the office"}  # fmt: skip


@pytest.mark.parametrize("change", list(CHANGES_DURING_A_REFUND))
async def test_a_change_while_a_refund_is_being_credited(gated: Counted, change: str) -> None:
    """A refund of line a1 has recorded its credits and is waiting for the provider (the
    order still CONFIRMED at version 1); now a change that makes a new DRAFT version comes.
    It must be refused (INVALID_STATE: a refund of the order is pending), or, if it is let
    through, the refund completing afterwards must not confirm the unpaid DRAFT."""
    api, app, provider = gated.api, gated.app, gated.provider
    assert isinstance(provider, GatedProvider)
    reserved = await a_paid_order(api, "Flex")
    order_id = reserved["id"]
    by_traveller = {x["travellers"][0]["id"]: x["id"] for x in reserved["orderLines"]}
    refunded_line = by_traveller["a1"]
    document, field = CHANGES_DURING_A_REFUND[change]
    traveller = "a1" if change == "exchange-of-the-refunded-line" else "a2"
    change_input = await change_input_for(
        api, change, document, order_id, by_traveller[traveller], traveller
    )

    refunding = asyncio.create_task(
        api.post(
            REFUND,
            {
                "input": {
                    "orderId": order_id,
                    "orderLineIds": [refunded_line],
                    "idempotencyKey": "refund-a1",
                }
            },
        )
    )
    await asyncio.wait_for(provider.asked.wait(), timeout=10)
    changed = payload(await api.post(document, {"input": change_input}), field)
    provider.gate.set()
    refund = payload(await refunding, "refundOrder")

    assert refund["errors"] == [], refund
    after = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    if changed["errors"]:
        assert [e["code"] for e in changed["errors"]] == ["INVALID_STATE"], changed
        assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
    assert_consistent(after)
    await assert_holds_match_lines(app, order_id)
    statuses = {x["id"]: x["status"] for x in after["orderLines"]}
    assert statuses[refunded_line] == "REFUNDED"
    # A reset (of whatever DRAFT is left) comes back to the refund's confirmed version.
    if after["status"] == "DRAFT":
        back = await mutate(api, RESET, {"orderId": order_id})
        assert back["errors"] == [], back
    final = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    assert (final["status"], final["balance"], final["totalAmount"]) == (
        "CONFIRMED",
        "0.00",
        "805.50",
    )
    original = {
        x["id"]: x["status"] for x in final["orderLines"] if x["id"] in by_traveller.values()
    }
    assert original == {by_traveller["a1"]: "REFUNDED", by_traveller["a2"]: "CONFIRMED"}
    assert_consistent(final)
    await assert_holds_match_lines(app, order_id)


CHANGES_DURING_A_COMPENSATION = {
    "exchange": (EXCHANGE, "exchangeOrderLines"),
    "add-fee": (ADD_FEE, "addFee"),
    "add-offers": (RESERVE, "reserveOffers"),
}


@pytest.mark.parametrize("change", list(CHANGES_DURING_A_COMPENSATION))
async def test_a_change_while_a_compensation_is_being_credited(gated: Counted, change: str) -> None:
    """A compensation of 200.00 is waiting for the provider; now a change that makes a new
    DRAFT version comes. Refused (INVALID_STATE), or, if let through, the compensation
    completing must leave that DRAFT unconfirmed: a reset then returns to version 1's lines
    with the compensation kept (1411.00, balance 0.00)."""
    api, app, provider = gated.api, gated.app, gated.provider
    assert isinstance(provider, GatedProvider)
    reserved = await a_paid_order(api, "Flex")
    order_id = reserved["id"]
    line_ids = {x["id"] for x in reserved["orderLines"]}
    document, field = CHANGES_DURING_A_COMPENSATION[change]
    line = next(x for x in reserved["orderLines"] if x["travellers"][0]["id"] == "a1")
    change_input = await change_input_for(api, change, document, order_id, line["id"], "a1")

    compensating = asyncio.create_task(
        api.post(COMPENSATE, compensate_input(order_id, "200.00", "goodwill"))
    )
    await asyncio.wait_for(provider.asked.wait(), timeout=10)
    changed = payload(await api.post(document, {"input": change_input}), field)
    provider.gate.set()
    compensated = payload(await compensating, "compensateOrder")

    assert compensated["errors"] == [], compensated
    after = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    if changed["errors"]:
        assert [e["code"] for e in changed["errors"]] == ["INVALID_STATE"], changed
        assert (after["version"], after["status"], after["totalAmount"]) == (
            2,
            "CONFIRMED",
            "1411.00",
        )
    assert_consistent(after)
    await assert_holds_match_lines(app, order_id)
    if after["status"] == "DRAFT":
        back = await mutate(api, RESET, {"orderId": order_id})
        assert back["errors"] == [], back
    final = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    assert (final["status"], final["balance"], final["totalAmount"]) == (
        "CONFIRMED",
        "0.00",
        "1411.00",
    )
    assert {
        x["id"]: x["status"] for x in final["orderLines"] if x["status"] != "CANCELLED"
    } == dict.fromkeys(line_ids, "CONFIRMED"), "the reset returns to the paid lines"
    assert [(f["type"], f["amount"]) for f in final["fees"]] == [("COMPENSATION", "-200.00")]
    assert_consistent(final)
    await assert_holds_match_lines(app, order_id)


async def test_compensations_raced_with_fees_never_confirm_an_unpaid_version(
    counting: Counted,
) -> None:
    """Ten compensations (one key) and ten addFee (another key) at once. Whichever order
    they are served in, a fee is either refused or left in an unconfirmed DRAFT: a reset
    afterwards returns to the paid lines, compensated once (1411.00, balance 0.00)."""
    api, app = counting.api, counting.app
    reserved = await a_paid_order(api, "Flex")
    order_id = reserved["id"]
    fee = {"input": {"orderId": order_id, "type": "MANUAL", "amount": "100.00",
                     "description": "Printed at the office", "idempotencyKey": "fee"}}  # fmt: skip
    compensation = compensate_input(order_id, "200.00", "goodwill")
    await api.token()
    with connections_in_use(app) as counts:
        answers = await asyncio.gather(
            *(
                api.post(document, v)
                for _ in range(10)
                for document, v in ((COMPENSATE, compensation), (ADD_FEE, fee))
            )
        )
    assert counts[1] > 1
    compensated = [payload(r, "compensateOrder") for r in answers[0::2]]
    fees = [payload(r, "addFee") for r in answers[1::2]]
    assert codes(compensated) == Counter(), codes(compensated)
    assert set(codes(fees)) <= {"INVALID_STATE"}, codes(fees)

    after = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    assert_consistent(after)
    await assert_holds_match_lines(app, order_id)
    if after["status"] == "DRAFT":
        back = await mutate(api, RESET, {"orderId": order_id})
        assert back["errors"] == [], back
    final = dict((await api.gql(ORDER_STATE, {"id": order_id}))["order"])
    assert (final["status"], final["balance"], final["totalAmount"]) == (
        "CONFIRMED", "0.00", "1411.00"
    )  # fmt: skip
    assert [(f["type"], f["amount"]) for f in final["fees"]] == [("COMPENSATION", "-200.00")]
    money = await money_rows(app, order_id)
    assert [c["amount"] for c in money["credits"]] == [20000]
    assert money["events"]["ORDER_COMPENSATED"] == 1
