"""Change options are honest (after-sale acceptance): for orders in many states, every option
`changeOptions` answers, of the order and of each line, is tried with its mutation right
after it was read. Allowed means the mutation succeeds (`errors: []`); not allowed means it
is refused (errors) and the order is left as it was.

Each state is made by a builder, fresh for every attempt that may change the order: refusals
are all tried on one order (they change nothing, which is checked after each), then every
allowed change on an order of its own, built again and its options read again. The test is
parametrized over (state, change type), so a failure names the pair; its message lists every
option that lied, with what the option said and what the mutation answered."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sales_api.domain.catalogue import LOCAL_TIME
from sales_api.settings import Settings
from tests.api.test_payment_flow import capture, pay, transact
from tests.api.test_sale_flow import BERGEN, OFFERS, OSLO
from tests.api.test_seat_races import SEAT_MAP
from tests.conftest import Api, MovableClock

pytestmark = pytest.mark.slow

CHANGE_TYPES = [
    "UPDATE_TRAVELLERS",
    "UPDATE_CONTACT_INFO",
    "ADD_OFFERS",
    "CHANGE_SEATS",
    "CANCEL_ORDER_LINE",
    "REFUND_ORDER_LINE",
    "CANCEL_ORDER",
    "RESET_ORDER",
    "EXCHANGE_ORDER_LINE",
    "EXTEND_EXPIRY",
    "ADD_FEE",
    "COMPENSATE_ORDER",
    "REBOOK_DISRUPTED_ORDER_LINE",
]
# Changes of one line: the order's option says whether any line allows it.
PER_LINE = {
    "CHANGE_SEATS",
    "CANCEL_ORDER_LINE",
    "REFUND_ORDER_LINE",
    "EXCHANGE_ORDER_LINE",
    "REBOOK_DISRUPTED_ORDER_LINE",
}
PEOPLE = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]

CHANGE_OPTIONS = """
query($id: ID!) { changeOptions(orderId: $id) {
  orderId orderVersion
  options { type allowed reason fee deadline }
  orderLines { orderLineId options { type allowed reason fee deadline } } } }
"""
# What a refused change must leave as it was.
ORDER = """
query($id: ID!) { order(id: $id) {
  id version status balance totalAmount totalTaxAmount expireAt lastConfirmedAt
  contactInfo { name email phoneNumber }
  travellers { id userType name }
  fees { id type amount orderVersion }
  orderLines { id status product { name fareClass } travellers { id userType }
    travelSpecification { serviceJourneyId departureTime disrupted from { id } to { id } }
    reservation { id status expireAt seats { carNumber seatNumber travellerId } } }
  payments { id active credits { amount status } }
  events { type subjectIds } } }
"""
ORDER_PAYLOAD = "order { id version status expireAt } errors { code message path }"


def _mutation(name: str, input_type: str, payload: str = ORDER_PAYLOAD) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {payload} }} }}"


RESERVE = _mutation("reserveOffers", "ReserveOffersInput")
UPDATE_ORDER = _mutation("updateOrder", "UpdateOrderInput")
CHANGE_SEATS = _mutation(
    "changeSeats", "ChangeSeatsInput", "reservation { id } errors { code message path }"
)
CANCEL_LINES = _mutation("cancelOrderLines", "CancelOrderLinesInput")
REFUND = _mutation("refundOrder", "RefundOrderInput", "refund { id } " + ORDER_PAYLOAD)
CANCEL_ORDER = _mutation("cancelOrder", "OrderRefInput")
RESET_ORDER = _mutation("resetOrder", "OrderRefInput")
CONFIRM = _mutation("confirmOrder", "OrderRefInput")
EXCHANGE = _mutation("exchangeOrderLines", "ExchangeOrderLinesInput")
EXTEND = _mutation("extendOrderExpiry", "ExtendOrderExpiryInput")
ADD_FEE = _mutation("addFee", "AddFeeInput")
COMPENSATE = _mutation("compensateOrder", "CompensateOrderInput", "refund { id } " + ORDER_PAYLOAD)
REBOOK = _mutation("rebookDisruptedOrderLines", "RebookDisruptedOrderLinesInput")
DISRUPT = _mutation(
    "disruptServiceJourney",
    "DisruptServiceJourneyInput",
    "serviceJourneyId affectedOrderIds errors { code message path }",
)


def _key() -> str:
    return f"honest-{uuid.uuid4()}"


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# ------------------------------------------------------------------ talking to the API


async def call(api: Api, document: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The payload of a mutation; a top-level error fails the test (refusals are answered
    in the payload's `errors`)."""
    response = await api.post(document, {"input": fields})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, f"top-level errors, not a payload: {body['errors']}"
    return dict(next(iter(body["data"].values())))


async def order_of(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(ORDER, {"id": order_id}))["order"])


async def options_of(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(CHANGE_OPTIONS, {"id": order_id}))["changeOptions"])


def option_of(options: dict[str, Any], line: int | None, change: str) -> dict[str, Any]:
    listed = options["options"] if line is None else options["orderLines"][line]["options"]
    (found,) = [o for o in listed if o["type"] == change]
    return dict(found)


# ------------------------------------------------------------------ building the states


@dataclass
class World:
    """The API and the app's clock; builds orders on the journeys of tomorrow (as seen from
    the clock), a different journey for each order built, so no train runs out of seats."""

    api: Api
    clock: MovableClock
    built: int = 0

    async def offers(
        self,
        people: list[dict[str, str]],
        product: str,
        *,
        day: datetime | None = None,
        journey: str | None = None,
        not_on: str | None = None,
    ) -> list[dict[str, Any]]:
        """Offers of `product` Oslo S -> Bergen for `people`, departing after now, with seats
        for them (earliest first); on the local day of `day` (default: tomorrow)."""
        now = self.clock.now()
        search: dict[str, Any] = {
            "fromStopPlaceId": OSLO,
            "toStopPlaceId": BERGEN,
            "date": (day or now + timedelta(days=1)).astimezone(LOCAL_TIME).date().isoformat(),
            "travellers": people,
        }
        if journey is not None:
            search["serviceJourneyId"] = journey
        found = [
            o
            for o in (await self.api.gql(OFFERS, {"search": search}))["offers"]
            if o["product"]["name"] == product
            and _at(o["travelSpecification"]["departureTime"]) > now
            and o["travelSpecification"]["serviceJourneyId"] != not_on
            and int(o["availableSeats"]) >= len(people)
        ]
        assert found, f"no {product} offer for {people} (journey {journey}, not on {not_on})"
        return sorted(found, key=lambda o: _at(o["travelSpecification"]["departureTime"]))

    async def reserve(self, product: str = "Flex") -> dict[str, Any]:
        """A DRAFT order of two adults (two lines), on the next journey in turn."""
        offers = await self.offers(PEOPLE, product)
        offer = offers[self.built % len(offers)]
        self.built += 1
        answer = await call(self.api, RESERVE, {"offerConfigurations": [{"offerId": offer["id"]}]})
        assert answer["errors"] == [], answer
        return await order_of(self.api, answer["order"]["id"])

    async def pay(
        self, order_id: str, amount: str | None = None, token: str = "tok_visa"
    ) -> dict[str, Any]:
        """`amount` (default: the balance) captured; the order as it is after."""
        order = await order_of(self.api, order_id)
        payment = await pay(self.api, order_id)
        tx = await transact(self.api, payment["id"], amount or order["balance"], token=token)
        captured = await capture(self.api, tx["id"])
        assert captured["errors"] == [], captured
        return await order_of(self.api, order_id)

    async def confirmed(self, product: str = "Flex") -> dict[str, Any]:
        order = await self.reserve(product)
        paid = await self.pay(order["id"])
        assert paid["status"] == "CONFIRMED", paid
        return paid

    async def disrupt(self, order: dict[str, Any]) -> None:
        journey = order["orderLines"][0]["travelSpecification"]["serviceJourneyId"]
        answer = await call(
            self.api,
            DISRUPT,
            {"serviceJourneyId": journey, "reason": "Landslide", "idempotencyKey": _key()},
        )
        assert answer["errors"] == [] and order["id"] in answer["affectedOrderIds"], answer

    def move_to(self, moment: datetime) -> None:
        self.clock.advance(moment - self.clock.now())

    def leave_after_departure(self, order: dict[str, Any]) -> None:
        """The clock a minute after the order's first train left."""
        departure = min(
            _at(line["travelSpecification"]["departureTime"]) for line in order["orderLines"]
        )
        self.move_to(departure + timedelta(minutes=1))

    async def extend(self, order_id: str) -> dict[str, Any]:
        answer = await call(self.api, EXTEND, {"orderId": order_id})
        assert answer["errors"] == [], answer
        return dict(answer["order"])


Builder = Callable[[World], Awaitable[str]]


async def draft(world: World) -> str:
    """A new DRAFT with two Flex lines."""
    return str((await world.reserve())["id"])


async def partly_paid_draft(world: World) -> str:
    """A DRAFT (1611.00) with 1000.00 captured: less than either line is worth left owed."""
    order = await world.reserve()
    paid = await world.pay(order["id"], "1000.00")
    assert paid["status"] == "DRAFT", paid
    return str(order["id"])


async def confirmed_flex(world: World) -> str:
    return str((await world.confirmed("Flex"))["id"])


async def confirmed_lowfare(world: World) -> str:
    return str((await world.confirmed("Lowfare"))["id"])


async def fee_added(world: World) -> str:
    """A CONFIRMED Flex order with a MANUAL fee added: a DRAFT version 2 owing the fee."""
    order = await world.confirmed()
    answer = await call(
        world.api,
        ADD_FEE,
        {"orderId": order["id"], "type": "MANUAL", "amount": "100.00", "description": "Print"},
    )
    assert answer["errors"] == [] and answer["order"]["status"] == "DRAFT", answer
    return str(order["id"])


async def exchange_in_progress(world: World) -> str:
    """A CONFIRMED Flex order whose first line is being exchanged for a Flex line on another
    journey: DRAFT version 2 with the old line CANCELLED, the other CONFIRMED, the new DRAFT."""
    order = await world.confirmed()
    line = order["orderLines"][0]
    travellers = [{"id": t["id"], "userType": t["userType"]} for t in line["travellers"]]
    journey = line["travelSpecification"]["serviceJourneyId"]
    offer = (await world.offers(travellers, "Flex", not_on=journey))[0]
    answer = await call(
        world.api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": [line["id"]], "offerId": offer["id"]},
    )
    assert answer["errors"] == [] and answer["order"]["status"] == "DRAFT", answer
    return str(order["id"])


async def offer_added(world: World) -> str:
    """A CONFIRMED Flex order with a third traveller's line added: DRAFT version 2."""
    order = await world.confirmed()
    offer = (await world.offers([{"id": "rider", "userType": "ADULT"}], "Flex"))[-1]
    answer = await call(
        world.api,
        RESERVE,
        {"orderId": order["id"], "offerConfigurations": [{"offerId": offer["id"]}]},
    )
    assert answer["errors"] == [] and answer["order"]["version"] == 2, answer
    return str(order["id"])


async def cancelled(world: World) -> str:
    order = await world.reserve()
    answer = await call(world.api, CANCEL_ORDER, {"orderId": order["id"]})
    assert answer["errors"] == [] and answer["order"]["status"] == "CANCELLED", answer
    return str(order["id"])


async def refund(world: World, order_id: str, line_ids: list[str] | None = None) -> None:
    fields: dict[str, Any] = {"orderId": order_id, "idempotencyKey": _key()}
    if line_ids is not None:
        fields["orderLineIds"] = line_ids
    answer = await call(world.api, REFUND, fields)
    assert answer["errors"] == [], answer


async def refunded(world: World) -> str:
    """Every line refunded: CANCELLED."""
    order = await world.confirmed()
    await refund(world, order["id"])
    return str(order["id"])


async def partly_refunded(world: World) -> str:
    """The first line refunded, the second still CONFIRMED."""
    order = await world.confirmed()
    await refund(world, order["id"], [order["orderLines"][0]["id"]])
    return str(order["id"])


async def expired_draft(world: World) -> str:
    order = await world.reserve()
    world.move_to(_at(order["expireAt"]) + timedelta(minutes=1))
    return str(order["id"])


async def expired_changes(world: World) -> str:
    """A fee's DRAFT version 2 of a CONFIRMED order, past its expireAt (not swept yet)."""
    order_id = await fee_added(world)
    order = await order_of(world.api, order_id)
    world.move_to(_at(order["expireAt"]) + timedelta(minutes=1))
    return order_id


async def departed(world: World) -> str:
    """A CONFIRMED Flex order whose train left a minute ago."""
    order = await world.confirmed()
    world.leave_after_departure(order)
    return str(order["id"])


async def departed_draft(world: World) -> str:
    """A DRAFT reserved ten minutes before its train; the train left a minute ago, the hold
    has not run out."""
    first = (await world.offers(PEOPLE, "Flex"))[0]
    departure = _at(first["travelSpecification"]["departureTime"])
    journey = first["travelSpecification"]["serviceJourneyId"]
    world.move_to(departure - timedelta(minutes=10))
    offer = (await world.offers(PEOPLE, "Flex", day=departure, journey=journey))[0]
    answer = await call(world.api, RESERVE, {"offerConfigurations": [{"offerId": offer["id"]}]})
    assert answer["errors"] == [], answer
    world.move_to(departure + timedelta(minutes=1))
    assert _at(answer["order"]["expireAt"]) > world.clock.now()
    return str(answer["order"]["id"])


async def disrupted_flex(world: World) -> str:
    """A CONFIRMED Flex order on a journey disrupted since (disruptServiceJourney)."""
    order = await world.confirmed("Flex")
    await world.disrupt(order)
    return str(order["id"])


async def disrupted_lowfare(world: World) -> str:
    """Lowfare (neither refundable nor changeable) on a disrupted journey."""
    order = await world.confirmed("Lowfare")
    await world.disrupt(order)
    return str(order["id"])


async def disrupted_departed(world: World) -> str:
    """Flex on a disrupted journey whose (planned) departure has passed."""
    order = await world.confirmed("Flex")
    await world.disrupt(order)
    world.leave_after_departure(order)
    return str(order["id"])


async def compensate(world: World, order_id: str, amount: str) -> None:
    answer = await call(
        world.api,
        COMPENSATE,
        {"orderId": order_id, "amount": amount, "reason": "Late", "idempotencyKey": _key()},
    )
    assert answer["errors"] == [] and answer["order"]["status"] == "CONFIRMED", answer


async def compensated(world: World) -> str:
    """A CONFIRMED Flex order with 100.00 given back as goodwill (version 2)."""
    order = await world.confirmed()
    await compensate(world, order["id"], "100.00")
    return str(order["id"])


async def fully_compensated(world: World) -> str:
    """Everything paid given back as goodwill: CONFIRMED, nothing left to credit."""
    order = await world.confirmed()
    await compensate(world, order["id"], order["totalAmount"])
    return str(order["id"])


async def at_longest_hold(world: World) -> str:
    """A DRAFT extended every 15 minutes until its expireAt is at the longest hold (1 h)."""
    order = await world.reserve()
    for _ in range(3):
        world.clock.advance(timedelta(minutes=15))
        extended = await world.extend(order["id"])
    assert _at(extended["expireAt"]) - _at(order["expireAt"]) >= timedelta(minutes=39)
    return str(order["id"])


async def held_past_an_hour(world: World) -> str:
    """With SALES_ORDER_MAX_HOLD_SECONDS=7200: a DRAFT extended past one hour, far from
    its longest hold (2 h)."""
    order = await world.reserve()
    for _ in range(3):
        world.clock.advance(timedelta(minutes=15))
        extended = await world.extend(order["id"])
    assert _at(extended["expireAt"]) - _at(order["expireAt"]) >= timedelta(minutes=44)
    return str(order["id"])


async def at_short_longest_hold(world: World) -> str:
    """With SALES_ORDER_MAX_HOLD_SECONDS=1800: a DRAFT extended up to its longest hold
    (30 minutes after it began)."""
    order = await world.reserve()
    for minutes in (5, 10):
        world.clock.advance(timedelta(minutes=minutes))
        extended = await world.extend(order["id"])
    assert _at(extended["expireAt"]) - _at(order["expireAt"]) <= timedelta(minutes=10, seconds=5)
    return str(order["id"])


async def refund_pending(world: World) -> str:
    """A CONFIRMED Flex order paid with a card whose credits fail: its refund (every line)
    was asked for and is pending, waiting to be retried with its idempotencyKey."""
    order = await world.reserve()
    await world.pay(order["id"], token="tok_refund_error")
    await refund_failing(world, order["id"])
    return str(order["id"])


async def disrupted_refund_pending(world: World) -> str:
    """The same on a disrupted journey: the lines could be rebooked or exchanged."""
    order = await world.reserve()
    paid = await world.pay(order["id"], token="tok_refund_error")
    await world.disrupt(paid)
    await refund_failing(world, order["id"])
    return str(order["id"])


async def refund_failing(world: World, order_id: str) -> None:
    answer = await call(world.api, REFUND, {"orderId": order_id, "idempotencyKey": _key()})
    assert [e["code"] for e in answer["errors"]] == ["PAYMENT_DECLINED"], answer
    assert answer["order"]["status"] == "CONFIRMED" and answer["order"]["version"] == 1


async def free_order_fee_added(world: World) -> str:
    """An infant's Flex line (0.00) confirmed by confirmOrder, nothing ever captured; then a
    MANUAL fee added: a DRAFT version 2 of an order once confirmed, never paid."""
    baby = [{"id": "baby", "userType": "INFANT"}]
    offers = await world.offers(baby, "Flex")
    offer = offers[world.built % len(offers)]
    world.built += 1
    reserved = await call(world.api, RESERVE, {"offerConfigurations": [{"offerId": offer["id"]}]})
    assert reserved["errors"] == [], reserved
    order_id = str(reserved["order"]["id"])
    confirmed = await call(world.api, CONFIRM, {"orderId": order_id})
    assert confirmed["errors"] == [] and confirmed["order"]["status"] == "CONFIRMED", confirmed
    answer = await call(
        world.api,
        ADD_FEE,
        {"orderId": order_id, "type": "MANUAL", "amount": "20.00", "description": "Print"},
    )
    assert answer["errors"] == [] and answer["order"]["status"] == "DRAFT", answer
    return order_id


async def capture_in_flight(world: World) -> str:
    """A DRAFT with a capture of 1000.00 sent to the provider, whose answer never came
    (SALES_PSP_TIMEOUT_SECONDS=0.3, token tok_timeout): the transaction is PENDING."""
    order = await world.reserve()
    payment = await pay(world.api, order["id"])
    tx = await transact(world.api, payment["id"], "1000.00", token="tok_timeout")
    lost = await capture(world.api, tx["id"])
    assert [e["code"] for e in lost["errors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"], lost
    assert lost["transaction"]["status"] == "PENDING"
    return str(order["id"])


@dataclass(frozen=True)
class State:
    build: Builder
    # Settings the app runs with for this state, when not the defaults.
    settings: dict[str, Any] = field(default_factory=dict)


HOLD_2H = {"order_hold_seconds": 1200, "order_max_hold_seconds": 7200}
HOLD_30MIN = {"order_hold_seconds": 1200, "order_max_hold_seconds": 1800}


STATES: dict[str, State] = {
    "draft": State(draft),
    "partly-paid-draft": State(partly_paid_draft),
    "confirmed-flex": State(confirmed_flex),
    "confirmed-lowfare": State(confirmed_lowfare),
    "fee-added": State(fee_added),
    "exchange-in-progress": State(exchange_in_progress),
    "offer-added": State(offer_added),
    "cancelled": State(cancelled),
    "refunded": State(refunded),
    "partly-refunded": State(partly_refunded),
    "expired-draft": State(expired_draft),
    "expired-changes": State(expired_changes),
    "departed": State(departed),
    "departed-draft": State(departed_draft),
    "disrupted-flex": State(disrupted_flex),
    "disrupted-lowfare": State(disrupted_lowfare),
    "disrupted-departed": State(disrupted_departed),
    "compensated": State(compensated),
    "fully-compensated": State(fully_compensated),
    "at-longest-hold": State(at_longest_hold),
    "held-past-an-hour-2h-setting": State(held_past_an_hour, HOLD_2H),
    "at-longest-hold-30min-setting": State(at_short_longest_hold, HOLD_30MIN),
    "free-order-fee-added": State(free_order_fee_added),
    "refund-pending": State(refund_pending),
    "disrupted-refund-pending": State(disrupted_refund_pending),
    "capture-in-flight": State(capture_in_flight, {"psp_timeout_seconds": 0.3}),
}


@pytest.fixture
def settings(database_url: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """The app's settings: the defaults, or those the state is built under."""
    base = Settings(database_url=database_url, data_dir=data_dir)
    return base.model_copy(update=STATES[request.node.callspec.params["state"]].settings)


# ------------------------------------------------------------------ the mutations tried


async def free_seat(api: Api, line: dict[str, Any]) -> tuple[int, str]:
    """A free seat of the line's fare class on its journey and segment (the seat it holds
    when the seat map has none, or cannot be read)."""
    travel = line["travelSpecification"]
    held = [(s["carNumber"], s["seatNumber"]) for s in line["reservation"]["seats"]]
    response = await api.post(
        SEAT_MAP,
        {"j": travel["serviceJourneyId"], "f": travel["from"]["id"], "t": travel["to"]["id"]},
    )
    body = response.json()
    if response.status_code == 200 and "errors" not in body:
        for car in body["data"]["seatMap"]["cars"]:
            if car["fareClass"] != line["product"]["fareClass"]:
                continue
            for seat in reversed(car["seats"]):
                if seat["available"] and (car["number"], seat["seatNumber"]) not in held:
                    return int(car["number"]), str(seat["seatNumber"])
    return held[0]


async def attempt(world: World, order_id: str, change: str, index: int | None) -> list[Any]:
    """The mutation `change` stands for, on the order (or its line `index`): its errors."""
    api = world.api
    order = await order_of(api, order_id)
    line = order["orderLines"][index] if index is not None else None
    if change in PER_LINE:
        assert line is not None, f"{change} is tried on a line"
    answer: dict[str, Any]
    if change == "UPDATE_TRAVELLERS":
        travellers = [
            {k: v for k, v in t.items() if v is not None} for t in order["travellers"]
        ] + [{"id": f"newcomer-{uuid.uuid4().hex[:6]}", "userType": "CHILD", "name": "Ola"}]
        answer = await call(api, UPDATE_ORDER, {"orderId": order_id, "travellers": travellers})
    elif change == "UPDATE_CONTACT_INFO":
        answer = await call(
            api,
            UPDATE_ORDER,
            {"orderId": order_id, "contactInfo": {"name": "Kari", "email": "kari@example.no"}},
        )
    elif change == "ADD_OFFERS":
        rider = [{"id": f"rider-{uuid.uuid4().hex[:6]}", "userType": "ADULT"}]
        offers = await world.offers(rider, "Flex")
        offer = max(offers, key=lambda o: int(o["availableSeats"]))
        answer = await call(
            api, RESERVE, {"orderId": order_id, "offerConfigurations": [{"offerId": offer["id"]}]}
        )
    elif change == "CHANGE_SEATS":
        assert line is not None
        assert line["reservation"] is not None, "every line of these orders holds a seat"
        car, seat = await free_seat(api, line)
        answer = await call(
            api,
            CHANGE_SEATS,
            {
                "reservationId": line["reservation"]["id"],
                "seats": [{"carNumber": car, "seatNumber": seat}],
            },
        )
    elif change == "CANCEL_ORDER_LINE":
        assert line is not None
        answer = await call(api, CANCEL_LINES, {"orderId": order_id, "orderLineIds": [line["id"]]})
    elif change == "REFUND_ORDER_LINE":
        assert line is not None
        answer = await call(
            api,
            REFUND,
            {"orderId": order_id, "orderLineIds": [line["id"]], "idempotencyKey": _key()},
        )
    elif change == "CANCEL_ORDER":
        answer = await call(api, CANCEL_ORDER, {"orderId": order_id})
    elif change == "RESET_ORDER":
        answer = await call(api, RESET_ORDER, {"orderId": order_id})
    elif change == "EXCHANGE_ORDER_LINE":
        assert line is not None
        travellers = [{"id": t["id"], "userType": t["userType"]} for t in line["travellers"]]
        journey = line["travelSpecification"]["serviceJourneyId"]
        offer = (await world.offers(travellers, line["product"]["name"], not_on=journey))[0]
        answer = await call(
            api,
            EXCHANGE,
            {"orderId": order_id, "orderLineIds": [line["id"]], "offerId": offer["id"],
             "idempotencyKey": _key()},
        )  # fmt: skip
    elif change == "EXTEND_EXPIRY":
        answer = await call(api, EXTEND, {"orderId": order_id})
    elif change == "ADD_FEE":
        answer = await call(
            api,
            ADD_FEE,
            {"orderId": order_id, "type": "MANUAL", "amount": "10.00",
             "description": "Changed at the desk", "idempotencyKey": _key()},
        )  # fmt: skip
    elif change == "COMPENSATE_ORDER":
        answer = await call(
            api,
            COMPENSATE,
            {"orderId": order_id, "amount": "1.00", "reason": "Goodwill",
             "idempotencyKey": _key()},
        )  # fmt: skip
    elif change == "REBOOK_DISRUPTED_ORDER_LINE":
        assert line is not None
        travellers = [{"id": t["id"], "userType": t["userType"]} for t in line["travellers"]]
        journey = line["travelSpecification"]["serviceJourneyId"]
        target = (await world.offers(travellers, line["product"]["name"], not_on=journey))[0]
        answer = await call(
            api,
            REBOOK,
            {"orderId": order_id, "orderLineIds": [line["id"]],
             "toServiceJourneyId": target["travelSpecification"]["serviceJourneyId"],
             "idempotencyKey": _key()},
        )  # fmt: skip
    else:  # pragma: no cover - every change type has its mutation above
        raise AssertionError(f"no mutation for {change}")
    return list(answer["errors"])


# ------------------------------------------------------------------ the walk


@dataclass
class Walk:
    """One state, built again whenever an attempt may have changed the order."""

    world: World
    build: Builder
    order_id: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    untouched: bool = False

    async def fresh(self) -> None:
        self.world.clock.offset = timedelta(0)
        self.order_id = await self.build(self.world)
        self.options = await options_of(self.world.api, self.order_id)
        self.before = await order_of(self.world.api, self.order_id)
        self.untouched = True

    async def untouched_order(self) -> None:
        if not self.untouched:
            await self.fresh()


@dataclass(frozen=True)
class Trial:
    """An option (`where`: None for the order's, else a line's index) tried on `line`."""

    where: int | None
    line: int | None
    allowed: bool

    def label(self, change: str) -> str:
        place = "order" if self.where is None else f"line {self.where}"
        tried = "" if self.line is None or self.line == self.where else f" (on line {self.line})"
        return f"{place} {change}{tried}"


def trials(options: dict[str, Any], change: str, lies: list[str]) -> list[Trial]:
    """What to try for `change`: refusals first (all on one order), then what is allowed."""
    order_option = option_of(options, None, change)
    lines = range(len(options["orderLines"]))
    if change not in PER_LINE:
        for index in lines:
            # The same mutation, whichever line it is read from: the same answer.
            assert option_of(options, index, change) == order_option, (
                f"line {index}'s {change} differs from the order's"
            )
        planned = [Trial(None, None, bool(order_option["allowed"]))]
    else:
        per_line = [Trial(i, i, bool(option_of(options, i, change)["allowed"])) for i in lines]
        allowed_lines = [t.line for t in per_line if t.allowed]
        planned = list(per_line)
        if order_option["allowed"] and not allowed_lines:
            lies.append(f"order {change} is allowed, but no line's own option allows it")
        elif order_option["allowed"]:
            planned.append(Trial(None, allowed_lines[0], True))
        else:
            if allowed_lines:
                lies.append(f"order {change} is not allowed, but line {allowed_lines[0]}'s is")
            planned.extend(Trial(None, i, False) for i in lines)
    return sorted(planned, key=lambda t: t.allowed)


CASES = [(state, change) for state in STATES for change in CHANGE_TYPES]


@pytest.mark.parametrize(("state", "change"), CASES, ids=[f"{s}:{c}" for s, c in CASES])
async def test_a_change_option_is_what_its_mutation_does(
    api: Api, clock: MovableClock, state: str, change: str
) -> None:
    walk = Walk(World(api, clock), STATES[state].build)
    await walk.fresh()
    lies: list[str] = []
    for trial in trials(walk.options, change, lies):
        label = trial.label(change)
        await walk.untouched_order()
        option = option_of(walk.options, trial.where, change)
        if option["allowed"] != trial.allowed:
            lies.append(f"{label}: built again, the state answered {option} instead")
            continue
        said = "allowed" if trial.allowed else f"not allowed ({option['reason']!r})"
        if trial.allowed:
            walk.untouched = False
        errors = await attempt(walk.world, walk.order_id, change, trial.line)
        if trial.allowed and errors:
            lies.append(f"{label} is {said}, but the mutation refused it: {errors}")
        elif not trial.allowed and not errors:
            walk.untouched = False
            lies.append(f"{label} is {said}, but the mutation succeeded")
        elif not trial.allowed:
            after = await order_of(api, walk.order_id)
            if after != walk.before:
                walk.untouched = False
                lies.append(f"{label} is {said} and was refused ({errors}), but changed the order")
    assert lies == [], f"{state}: " + "\n".join(lies)
