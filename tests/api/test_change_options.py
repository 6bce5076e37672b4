"""changeOptions is a promise: what it allows succeeds when tried right after, what it does not
allow is refused and changes nothing. Walked here over orders in many states: for every
option of the order and of each of its lines, the matching mutation is tried (an allowed one
on a fresh copy of the order in that state, built again; a refused one on the same order,
checked unchanged after). refundOptions must agree with REFUND_ORDER_LINE, line by line."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from sales_api.domain.catalogue import LOCAL_TIME
from tests.api.test_payment_flow import capture, pay, transact
from tests.api.test_refunds import REFUND, REFUND_OPTIONS
from tests.api.test_sale_flow import BERGEN, OFFERS, OSLO, RESERVE
from tests.api.test_seat_races import CHANGE_SEATS, SEAT_MAP
from tests.conftest import Api, MovableClock

pytestmark = pytest.mark.slow

CHANGE_OPTIONS = """
query($id: ID!) { changeOptions(orderId: $id) {
  orderId orderVersion
  options { type allowed reason fee deadline }
  orderLines { orderLineId options { type allowed reason fee deadline } } } }
"""

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id version status balance totalAmount expireAt
    contactInfo { name email phoneNumber }
    travellers { id userType name }
    orderLines { id status product { fareClass }
                 travelSpecification { serviceJourneyId departureTime from { id } to { id } }
                 reservation { id status seats { carNumber seatNumber travellerId } } }
  }
  credits(filter: {orderId: {eq: $id}}) { totalItems }
  orders(perPage: 1) { totalItems }
}
"""

ORDER_PAYLOAD = "order { id version status } errors { code message path }"
UPDATE_ORDER = (
    "mutation($input: UpdateOrderInput!) { updateOrder(input: $input) { " + ORDER_PAYLOAD + " } }"
)
CANCEL_ORDER = (
    "mutation($input: OrderRefInput!) { cancelOrder(input: $input) { " + ORDER_PAYLOAD + " } }"
)
CANCEL_LINES = (
    "mutation($input: CancelOrderLinesInput!) { cancelOrderLines(input: $input) { "
    + ORDER_PAYLOAD
    + " } }"
)
RESET_ORDER = (
    "mutation($input: OrderRefInput!) { resetOrder(input: $input) { " + ORDER_PAYLOAD + " } }"
)

ORDER_OPTIONS = [
    "UPDATE_TRAVELLERS",
    "UPDATE_CONTACT_INFO",
    "ADD_OFFERS",
    "CHANGE_SEATS",
    "CANCEL_ORDER_LINE",
    "REFUND_ORDER_LINE",
    "EXCHANGE_ORDER_LINE",
    "REBOOK_DISRUPTED_ORDER_LINE",
    "CANCEL_ORDER",
    "RESET_ORDER",
    "EXTEND_EXPIRY",
    "ADD_FEE",
    "COMPENSATE_ORDER",
]
# The after-sale options (after-sale.graphql) are walked in test_change_options_honest.py.
AFTER_SALE = {
    "EXCHANGE_ORDER_LINE",
    "REBOOK_DISRUPTED_ORDER_LINE",
    "EXTEND_EXPIRY",
    "ADD_FEE",
    "COMPENSATE_ORDER",
}
# Mutations of the whole order, and those of one line.
WHOLE_ORDER = [
    "UPDATE_TRAVELLERS",
    "UPDATE_CONTACT_INFO",
    "ADD_OFFERS",
    "CANCEL_ORDER",
    "RESET_ORDER",
]
PER_LINE = ["CHANGE_SEATS", "CANCEL_ORDER_LINE", "REFUND_ORDER_LINE"]
PEOPLE = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]


# ------------------------------------------------------------------ building orders


@dataclass
class Shop:
    """Builds orders through the API; each new order on the next departure (so that the many
    copies a walk needs never run a train out of seats) unless told which."""

    api: Api
    clock: MovableClock
    built: itertools.count[int] = field(default_factory=itertools.count)
    searched: dict[str, tuple[datetime, list[dict[str, Any]]]] = field(default_factory=dict)

    async def offers(
        self, people: list[dict[str, str]], product: str, day: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Offers of the product Oslo -> Bergen on the (local) day after the app's now."""
        day = day or self.clock.now() + timedelta(days=1)
        search = {
            "fromStopPlaceId": OSLO,
            "toStopPlaceId": BERGEN,
            "date": day.astimezone(LOCAL_TIME).date().isoformat(),
            "travellers": people,
        }
        # Offers live 15 minutes: one search serves the copies built in the next few.
        now = self.clock.now()
        key = repr(search)
        cached = self.searched.get(key)
        if cached is None or abs(now - cached[0]) > timedelta(minutes=5):
            cached = (now, (await self.api.gql(OFFERS, {"search": search}))["offers"])
            self.searched[key] = cached
        offers = [
            o
            for o in cached[1]
            if datetime.fromisoformat(o["travelSpecification"]["departureTime"]) > now
        ]
        found = [o for o in offers if o["product"]["name"] == product]
        assert found, f"no {product} offers"
        return sorted(found, key=lambda o: str(o["travelSpecification"]["departureTime"]))

    async def reserve(self, product: str = "Flex", first_departure: bool = False) -> dict[str, Any]:
        self.clock.offset = timedelta(0)
        offers = await self.offers(PEOPLE, product)
        offer = offers[0] if first_departure else offers[next(self.built) % len(offers)]
        answer = (
            await self.api.gql(
                RESERVE, {"input": {"offerConfigurations": [{"offerId": offer["id"]}]}}
            )
        )["reserveOffers"]
        assert answer["errors"] == [], answer
        return dict(answer["order"])

    async def pay(self, order: dict[str, Any], *amounts: str) -> None:
        payment = await pay(self.api, order["id"])
        for amount in amounts or (order["balance"],):
            tx = await transact(self.api, payment["id"], amount)
            assert (await capture(self.api, tx["id"]))["errors"] == []

    async def paid(self, product: str = "Flex", first_departure: bool = False) -> dict[str, Any]:
        order = await self.reserve(product, first_departure)
        await self.pay(order)
        return order

    async def add_offer(self, order_id: str) -> dict[str, Any]:
        offers = await self.offers([{"id": "rider", "userType": "ADULT"}], "Flex")
        offer = max(offers, key=lambda o: int(o["availableSeats"]))
        variables = {
            "input": {"orderId": order_id, "offerConfigurations": [{"offerId": offer["id"]}]}
        }
        return dict((await self.api.gql(RESERVE, variables))["reserveOffers"])

    async def refund(self, order_id: str, line_ids: list[str] | None = None) -> None:
        fields: dict[str, Any] = {"orderId": order_id, "idempotencyKey": f"setup-{order_id}"}
        if line_ids is not None:
            fields["orderLineIds"] = line_ids
        answer = (await self.api.gql(REFUND, {"input": fields}))["refundOrder"]
        assert answer["errors"] == [], answer

    def leave_after(self, order: dict[str, Any], delta: timedelta) -> None:
        """Move the app's clock to `delta` after the order's first departure."""
        departure = min(
            datetime.fromisoformat(line["travelSpecification"]["departureTime"])
            for line in order["orderLines"]
        )
        self.clock.advance(departure + delta - self.clock.now())


async def draft(shop: Shop) -> str:
    return str((await shop.reserve())["id"])


async def confirmed_flex(shop: Shop) -> str:
    return str((await shop.paid("Flex"))["id"])


async def confirmed_lowfare(shop: Shop) -> str:
    return str((await shop.paid("Lowfare"))["id"])


async def cancelled(shop: Shop) -> str:
    order = await shop.reserve()
    answer = (await shop.api.gql(CANCEL_ORDER, {"input": {"orderId": order["id"]}}))["cancelOrder"]
    assert answer["errors"] == [] and answer["order"]["status"] == "CANCELLED"
    return str(order["id"])


async def departed(shop: Shop) -> str:
    """A confirmed Flex order whose train left a minute ago."""
    order = await shop.paid("Flex", first_departure=True)
    order = await order_of(shop.api, order["id"])
    shop.leave_after(order, timedelta(minutes=1))
    return str(order["id"])


async def departed_draft(shop: Shop) -> str:
    """An unpaid order reserved ten minutes before departure; the train left a minute ago,
    the order's hold has not run out."""
    shop.clock.offset = timedelta(0)
    first = (await shop.offers(PEOPLE, "Flex"))[0]
    departure = datetime.fromisoformat(first["travelSpecification"]["departureTime"])
    shop.clock.advance(departure - timedelta(minutes=10) - shop.clock.now())
    offers = await shop.offers(PEOPLE, "Flex", day=departure)
    journey = first["travelSpecification"]["serviceJourneyId"]
    offer = next(o for o in offers if o["travelSpecification"]["serviceJourneyId"] == journey)
    answer = (
        await shop.api.gql(RESERVE, {"input": {"offerConfigurations": [{"offerId": offer["id"]}]}})
    )["reserveOffers"]
    assert answer["errors"] == [], answer
    shop.clock.advance(timedelta(minutes=11))
    return str(answer["order"]["id"])


async def expired_draft(shop: Shop) -> str:
    order = await shop.reserve()
    shop.clock.advance(timedelta(minutes=21))
    return str(order["id"])


async def partly_paid_draft(shop: Shop) -> str:
    order = await shop.reserve()
    payment = await pay(shop.api, order["id"])
    tx = await transact(shop.api, payment["id"], "1000.00")
    assert (await capture(shop.api, tx["id"]))["order"]["status"] == "DRAFT"
    return str(order["id"])


async def confirmed_with_changes(shop: Shop) -> str:
    """A confirmed order with an offer added: DRAFT version 2, unpaid for its new line."""
    order = await shop.paid()
    added = await shop.add_offer(order["id"])
    assert added["errors"] == [] and added["order"]["version"] == 2, added
    return str(order["id"])


async def expired_changes(shop: Shop) -> str:
    order_id = await confirmed_with_changes(shop)
    shop.clock.advance(timedelta(minutes=21))
    return order_id


async def partly_refunded(shop: Shop) -> str:
    """Premium Flex (seats in the premium car), one of its two lines refunded."""
    order = await shop.paid("Premium Flex")
    await shop.refund(order["id"], [order["orderLines"][0]["id"]])
    return str(order["id"])


async def refunded(shop: Shop) -> str:
    order = await shop.paid()
    await shop.refund(order["id"])
    return str(order["id"])


# What DOMAIN.md promises, per state, for the options of the order (others: the walk decides).
ALL_BUT_CHANGES = {"CANCEL_ORDER": False, "RESET_ORDER": False, "CANCEL_ORDER_LINE": False}
NOTHING = dict.fromkeys(ORDER_OPTIONS, False)
STATES: dict[str, tuple[Callable[[Shop], Awaitable[str]], dict[str, bool]]] = {
    "draft": (
        draft,
        {**dict.fromkeys(set(ORDER_OPTIONS) - AFTER_SALE, True), "REFUND_ORDER_LINE": False},
    ),
    "confirmed-flex": (
        confirmed_flex,
        {**dict.fromkeys(set(ORDER_OPTIONS) - AFTER_SALE, True), **ALL_BUT_CHANGES},
    ),
    "confirmed-lowfare": (
        confirmed_lowfare,
        {"CHANGE_SEATS": False, "REFUND_ORDER_LINE": False, **ALL_BUT_CHANGES},
    ),
    "cancelled": (cancelled, NOTHING),
    "departed": (departed, {"CHANGE_SEATS": False, "REFUND_ORDER_LINE": False, **ALL_BUT_CHANGES}),
    "departed-draft": (departed_draft, {"CHANGE_SEATS": False, "REFUND_ORDER_LINE": False}),
    "expired-draft": (
        expired_draft,
        {"UPDATE_TRAVELLERS": False, "UPDATE_CONTACT_INFO": False, "ADD_OFFERS": False,
         "CHANGE_SEATS": False, "REFUND_ORDER_LINE": False},
    ),
    # Never confirmed: cancelled or reset with the money taken given back (RULES.md).
    "partly-paid-draft": (
        partly_paid_draft,
        {"CANCEL_ORDER": True, "RESET_ORDER": True, "REFUND_ORDER_LINE": False},
    ),
    "confirmed-with-changes": (
        confirmed_with_changes,
        {"CANCEL_ORDER": False, "RESET_ORDER": True, "REFUND_ORDER_LINE": False},
    ),
    "expired-changes": (
        expired_changes,
        {"UPDATE_TRAVELLERS": False, "ADD_OFFERS": False, "CHANGE_SEATS": False,
         "REFUND_ORDER_LINE": False, "CANCEL_ORDER": False},
    ),
    "partly-refunded": (
        partly_refunded,
        {"REFUND_ORDER_LINE": True, "CHANGE_SEATS": True, **ALL_BUT_CHANGES},
    ),
    "refunded": (refunded, NOTHING),
}  # fmt: skip


# ------------------------------------------------------------------ reading


async def order_of(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(ORDER, {"id": order_id}))["order"])


async def snapshot(api: Api, order_id: str) -> dict[str, Any]:
    """Everything a refused change must leave as it was (and no new order either)."""
    return dict(await api.gql(ORDER, {"id": order_id}))


async def change_options(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(CHANGE_OPTIONS, {"id": order_id}))["changeOptions"])


def option_of(options: dict[str, Any], line_index: int | None, change: str) -> dict[str, Any]:
    listed = (
        options["options"] if line_index is None else options["orderLines"][line_index]["options"]
    )
    (found,) = [o for o in listed if o["type"] == change]
    return dict(found)


def where(line_index: int | None) -> str:
    return "order" if line_index is None else f"line {line_index}"


# ------------------------------------------------------------------ the matching mutations


@dataclass
class Attempt:
    errors: list[dict[str, Any]]
    check: Callable[[dict[str, Any]], None] | None = None  # of the order after success


async def free_seat(api: Api, line: dict[str, Any]) -> tuple[int, str]:
    """A free seat of the line's fare class on its journey and segment."""
    travel = line["travelSpecification"]
    data = await api.gql(
        SEAT_MAP,
        {"j": travel["serviceJourneyId"], "f": travel["from"]["id"], "t": travel["to"]["id"]},
    )
    held = {
        (s["carNumber"], s["seatNumber"]) for s in (line["reservation"] or {"seats": []})["seats"]
    }
    for car in data["seatMap"]["cars"]:
        if car["fareClass"] != line["product"]["fareClass"]:
            continue
        for seat in reversed(car["seats"]):
            if seat["available"] and (car["number"], seat["seatNumber"]) not in held:
                return car["number"], seat["seatNumber"]
    raise AssertionError(f"no free seat for line {line['id']}")


async def change_seats(api: Api, line: dict[str, Any]) -> Attempt:
    reservation = line["reservation"]
    assert reservation is not None, "every line of these orders has a reservation"
    car, seat = await free_seat(api, line)
    variables = {
        "input": {
            "reservationId": reservation["id"],
            "seats": [{"carNumber": car, "seatNumber": seat}],
        }
    }
    answer = (await api.gql(CHANGE_SEATS, variables))["changeSeats"]

    def moved(order: dict[str, Any]) -> None:
        after = next(ol for ol in order["orderLines"] if ol["id"] == line["id"])
        seats = after["reservation"]["seats"]
        assert [(s["carNumber"], s["seatNumber"]) for s in seats] == [(car, seat)]

    return Attempt(answer["errors"], moved)


async def attempt(
    shop: Shop, order_id: str, line_index: int | None, change: str, options: dict[str, Any]
) -> Attempt:
    """Try the mutation that `change` stands for, on the order (or on the line)."""
    api = shop.api
    order = await order_of(api, order_id)
    line = None if line_index is None else order["orderLines"][line_index]
    if change == "UPDATE_TRAVELLERS":
        travellers = [
            {k: v for k, v in t.items() if v is not None} for t in order["travellers"]
        ] + [{"id": "newcomer", "userType": "CHILD", "name": "Ola"}]
        answer = (
            await api.gql(UPDATE_ORDER, {"input": {"orderId": order_id, "travellers": travellers}})
        )["updateOrder"]

        def joined(o: dict[str, Any]) -> None:
            assert "newcomer" in {t["id"] for t in o["travellers"]}

        return Attempt(answer["errors"], joined)
    if change == "UPDATE_CONTACT_INFO":
        contact = {"name": "Kari Nordmann", "email": "kari@example.no", "phoneNumber": None}
        answer = (
            await api.gql(
                UPDATE_ORDER,
                {"input": {"orderId": order_id, "contactInfo": {"name": contact["name"],
                                                                 "email": contact["email"]}}},
            )
        )["updateOrder"]  # fmt: skip

        def contacted(o: dict[str, Any]) -> None:
            assert o["contactInfo"] == contact

        return Attempt(answer["errors"], contacted)
    if change == "ADD_OFFERS":
        answer = await shop.add_offer(order_id)
        before = len(order["orderLines"])

        def added(o: dict[str, Any]) -> None:
            assert len(o["orderLines"]) == before + 1

        return Attempt(answer["errors"], added)
    if change == "CHANGE_SEATS":
        if line is not None:
            return await change_seats(api, line)
        # The order's option: some line's seats can change (then that one is tried), or none.
        allowed = [
            i
            for i in range(len(order["orderLines"]))
            if option_of(options, i, "CHANGE_SEATS")["allowed"]
        ]
        if allowed:
            return await change_seats(api, order["orderLines"][allowed[0]])
        errors = []
        for each in order["orderLines"]:
            tried = await change_seats(api, each)
            assert tried.errors, f"changeSeats of line {each['id']} was not refused"
            errors.extend(tried.errors)
        return Attempt(errors)
    if change == "REFUND_ORDER_LINE":
        fields: dict[str, Any] = {"orderId": order_id, "idempotencyKey": f"walk-{uuid.uuid4()}"}
        if line is not None:
            fields["orderLineIds"] = [line["id"]]
        answer = (await api.gql(REFUND, {"input": fields}))["refundOrder"]

        def refunded_line(o: dict[str, Any]) -> None:
            statuses = {ol["id"]: ol["status"] for ol in o["orderLines"]}
            if line is not None:
                assert statuses[line["id"]] == "REFUNDED"
            else:
                assert "REFUNDED" in statuses.values()
            assert o["balance"] == "0.00"

        return Attempt(answer["errors"], refunded_line)
    if change == "CANCEL_ORDER_LINE":
        lines = [line] if line is not None else order["orderLines"]
        if line is None:
            # The order's option: some line can be cancelled (then that one is tried), or none.
            can = [
                i
                for i in range(len(order["orderLines"]))
                if option_of(options, i, "CANCEL_ORDER_LINE")["allowed"]
            ]
            lines = [order["orderLines"][can[0]]] if can else lines
        errors = []
        for each in lines:
            answer = (
                await api.gql(
                    CANCEL_LINES, {"input": {"orderId": order_id, "orderLineIds": [each["id"]]}}
                )
            )["cancelOrderLines"]
            if not answer["errors"]:
                return Attempt([])
            errors.extend(answer["errors"])
        return Attempt(errors)
    if change == "CANCEL_ORDER":
        answer = (await api.gql(CANCEL_ORDER, {"input": {"orderId": order_id}}))["cancelOrder"]

        def gone(o: dict[str, Any]) -> None:
            assert o["status"] == "CANCELLED"
            assert all(ol["reservation"]["status"] != "CONFIRMED" for ol in o["orderLines"])

        return Attempt(answer["errors"], gone)
    if change == "RESET_ORDER":
        answer = (await api.gql(RESET_ORDER, {"input": {"orderId": order_id}}))["resetOrder"]

        def back(o: dict[str, Any]) -> None:
            assert o["status"] in ("CONFIRMED", "CANCELLED")

        return Attempt(answer["errors"], back)
    raise AssertionError(f"no mutation for {change}")


# ------------------------------------------------------------------ the walk


def check_option_fields(options: dict[str, Any], order: dict[str, Any]) -> None:
    """A reason for every refusal; fees and deadlines where the option says so."""
    assert options["orderId"] == order["id"] and options["orderVersion"] == order["version"]
    assert [o["type"] for o in options["options"]] == ORDER_OPTIONS
    assert [ol["orderLineId"] for ol in options["orderLines"]] == [
        ol["id"] for ol in order["orderLines"]
    ]
    departures = [ol["travelSpecification"]["departureTime"] for ol in order["orderLines"]]
    active = [
        ol["travelSpecification"]["departureTime"]
        for ol in order["orderLines"]
        if ol["status"] in ("DRAFT", "CONFIRMED")
    ]
    listed: list[tuple[int | None, dict[str, Any]]] = [(None, o) for o in options["options"]]
    for index, line in enumerate(options["orderLines"]):
        assert [o["type"] for o in line["options"]] == ORDER_OPTIONS
        listed.extend((index, o) for o in line["options"])
    for index, option in listed:
        label = f"{where(index)} {option['type']}"
        if not option["allowed"]:
            reason = option["reason"]
            assert isinstance(reason, str) and len(reason.strip()) > 5, f"{label}: no reason"
            continue
        assert option["reason"] is None, label
        deadline = departures[index] if index is not None else min(active)
        if option["type"] == "REFUND_ORDER_LINE":
            assert option["fee"] == "0.00", label
            assert option["deadline"] == deadline, label
        if option["type"] == "CHANGE_SEATS":
            assert option["deadline"] == deadline, label


async def check_refund_options(api: Api, options: dict[str, Any]) -> None:
    """refundOptions says what REFUND_ORDER_LINE says, line by line."""
    refund = (await api.gql(REFUND_OPTIONS, {"id": options["orderId"]}))["refundOptions"]
    assert refund["orderVersion"] == options["orderVersion"]
    by_line = {ol["orderLineId"]: ol for ol in refund["orderLines"]}
    assert list(by_line) == [ol["orderLineId"] for ol in options["orderLines"]]
    total = 0
    for line in options["orderLines"]:
        option = next(o for o in line["options"] if o["type"] == "REFUND_ORDER_LINE")
        mine = by_line[line["orderLineId"]]
        assert mine["refundable"] == option["allowed"], (mine, option)
        if not mine["refundable"]:
            assert mine["reason"] == option["reason"]
            assert mine["refundableAmount"] == "0.00"
        else:
            assert mine["reason"] is None
            assert mine["fee"] == option["fee"] == "0.00"
            assert mine["refundableAmount"] == mine["paidAmount"] != "0.00"
            total += int(mine["refundableAmount"].replace(".", ""))
    assert refund["totalRefundableAmount"] == f"{total // 100}.{total % 100:02d}"
    order_option = next(o for o in options["options"] if o["type"] == "REFUND_ORDER_LINE")
    assert order_option["allowed"] == (total > 0)


@pytest.mark.parametrize("state", list(STATES))
async def test_every_change_option_is_what_the_mutation_does(
    api: Api, clock: MovableClock, state: str
) -> None:
    build, promised = STATES[state]
    shop = Shop(api, clock)
    base = await build(shop)
    options = await change_options(api, base)
    order = await order_of(api, base)
    check_option_fields(options, order)
    await check_refund_options(api, options)
    allowed = {o["type"]: o["allowed"] for o in options["options"]}
    assert {k: allowed[k] for k in promised} == promised, allowed

    # A line's option for a change of the whole order is the order's option (the mutation
    # is the same, whichever line it is read from); a line's own changes are walked per line.
    for index in range(len(options["orderLines"])):
        for change in WHOLE_ORDER:
            assert option_of(options, index, change) == option_of(options, None, change), (
                f"{state}: line {index} {change} differs from the order's"
            )
    before = await snapshot(api, base)
    broken: list[str] = []
    targets = [(None, change) for change in ORDER_OPTIONS] + [
        (index, change) for index in range(len(options["orderLines"])) for change in PER_LINE
    ]
    targets = [(i, c) for i, c in targets if c not in AFTER_SALE]
    refused = [(i, c) for i, c in targets if not option_of(options, i, c)["allowed"]]
    allowed = [(i, c) for i, c in targets if option_of(options, i, c)["allowed"]]
    # Refusals change nothing, so all are tried on the one order, first, while it is as it was.
    for line_index, change in refused:
        label = f"{state}: {where(line_index)} {change}"
        tried = await attempt(shop, base, line_index, change, options)
        if not tried.errors:
            broken.append(f"{label} is not allowed, but it succeeded")
            break  # the order is changed now: what follows would not be read right after
        if await snapshot(api, base) != before:
            broken.append(f"{label} was refused ({tried.errors}) but changed the order")
            break
    # What is allowed is tried on a copy of the order in the same state, built again.
    for line_index, change in allowed:
        label = f"{state}: {where(line_index)} {change}"
        copy = await build(shop)
        fresh = await change_options(api, copy)
        assert option_of(fresh, line_index, change)["allowed"], f"{label}: not on a copy"
        tried = await attempt(shop, copy, line_index, change, fresh)
        if tried.errors:
            broken.append(f"{label} is allowed, but refused: {tried.errors}")
        elif tried.check is not None:
            tried.check(await order_of(api, copy))
    assert broken == [], "\n".join(broken)
