"""The after-sale over HTTP through the real app: exchange, partial cancellation, longer
holds, fees, compensation and disruptions (after-sale.graphql, RULES.md "After-sale")."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.api.test_payment_flow import capture, pay, transact
from tests.api.test_refunds import REFUND, REFUND_OPTIONS, a_paid_order
from tests.api.test_sale_flow import RESERVE, offers_for, reserve
from tests.api.test_seat_races import seat_map
from tests.api.test_tickets_receipts import GENERATE, SEND_RECEIPT, VERIFY, tickets_of
from tests.conftest import Api, MovableClock

ADULTS = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]

ORDER = """
  id version status totalAmount totalTaxAmount balance expireAt
  fees { id orderId orderVersion type amount taxAmount currency description createdAt }
  orderLines { id status price { amount }
    travelSpecification { serviceJourneyId disrupted }
    reservation { status expireAt seats { carNumber seatNumber } } }
  reservations { id status expireAt }
  events { type subjectIds }
"""
ORDER_QUERY = "query($id: ID!) { order(id: $id) {" + ORDER + "} }"


def _mutation(name: str, input_type: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ order {{ {ORDER} }}"
        " errors { code message path } } }"
    )


EXCHANGE = _mutation("exchangeOrderLines", "ExchangeOrderLinesInput")
CANCEL_LINES = _mutation("cancelOrderLines", "CancelOrderLinesInput")
EXTEND = _mutation("extendOrderExpiry", "ExtendOrderExpiryInput")
ADD_FEE = _mutation("addFee", "AddFeeInput")
REBOOK = _mutation("rebookDisruptedOrderLines", "RebookDisruptedOrderLinesInput")
CONFIRM = _mutation("confirmOrder", "OrderRefInput")
RESET = _mutation("resetOrder", "OrderRefInput")
COMPENSATE = """
mutation($input: CompensateOrderInput!) { compensateOrder(input: $input) {
  refund { id orderVersion amount fee affectedOrderLineIds credits { amount status } }
  order { id version status totalAmount totalTaxAmount balance
          fees { type amount taxAmount description orderVersion } }
  errors { code message path } } }
"""
DISRUPT = """
mutation($input: DisruptServiceJourneyInput!) { disruptServiceJourney(input: $input) {
  serviceJourneyId affectedOrderIds errors { code message path } } }
"""
CHANGE_OPTIONS = """
query($id: ID!) { changeOptions(orderId: $id) {
  orderVersion options { type allowed reason fee deadline }
  orderLines { orderLineId options { type allowed reason fee deadline } } } }
"""


async def mutate(api: Api, document: str, input: dict[str, Any], **kwargs: Any) -> Any:
    data = await api.gql(document, {"input": input}, **kwargs)
    return next(iter(data.values()))


async def read(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(ORDER_QUERY, {"id": order_id}))["order"])


async def an_offer(
    api: Api, product: str, *, not_on: str | None = None, on: str | None = None
) -> dict[str, Any]:
    """An offer for the two adults of `product`, on another journey than `not_on`."""
    for offer in await offers_for(api, ADULTS, journey=on):
        journey = offer["travelSpecification"]["serviceJourneyId"]
        if offer["product"]["name"] == product and journey != not_on:
            return dict(offer)
    raise AssertionError(f"no {product} offer")


async def paid_order(api: Api, product: str) -> dict[str, Any]:
    """A CONFIRMED order of two adults on one journey tomorrow, as read now."""
    return await read(api, (await a_paid_order(api, product))["id"])


def journey_of(order: dict[str, Any]) -> str:
    return str(order["orderLines"][0]["travelSpecification"]["serviceJourneyId"])


async def ticket_reason(api: Api, token: str) -> str | None:
    verdict = (await api.gql(VERIFY, {"t": token}))["verifyTicket"]
    return verdict["reason"]  # type: ignore[no-any-return]


async def pay_balance(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], order["balance"])
    return await capture(api, tx["id"])


def option(options: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in options if o["type"] == kind)


# ------------------------------------------------------------------ exchange


async def test_an_exchange_to_a_dearer_journey_is_paid_up(api: Api) -> None:
    order = await paid_order(api, "Flex")
    old_journey = journey_of(order)
    tickets = tickets_of(await api.gql(GENERATE, {"id": order["id"]}))
    old_seats = {
        (
            line["reservation"]["seats"][0]["carNumber"],
            line["reservation"]["seats"][0]["seatNumber"],
        )
        for line in order["orderLines"]
    }
    options = (await api.gql(CHANGE_OPTIONS, {"id": order["id"]}))["changeOptions"]
    line_option = option(options["orderLines"][0]["options"], "EXCHANGE_ORDER_LINE")
    assert (line_option["allowed"], line_option["fee"]) == (True, "50.00")
    assert line_option["deadline"] is not None

    premium = await an_offer(api, "Premium Flex", not_on=old_journey)
    old_ids = [line["id"] for line in order["orderLines"]]
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "expectedVersion": 1, "orderLineIds": old_ids,
         "offerId": premium["id"], "idempotencyKey": "x1"},
    )  # fmt: skip
    assert answer["errors"] == []
    draft = answer["order"]
    assert (draft["version"], draft["status"]) == (2, "DRAFT")
    statuses = {line["id"]: line["status"] for line in draft["orderLines"]}
    assert [statuses[i] for i in old_ids] == ["CANCELLED", "CANCELLED"]
    new_lines = [line for line in draft["orderLines"] if line["id"] not in old_ids]
    assert [line["status"] for line in new_lines] == ["DRAFT", "DRAFT"]
    assert {line["travelSpecification"]["serviceJourneyId"] for line in new_lines} == {
        premium["travelSpecification"]["serviceJourneyId"]
    }
    assert [(f["type"], f["amount"], f["taxAmount"], f["orderVersion"]) for f in draft["fees"]] == [
        ("CHANGE", "50.00", "5.36", 2)
    ] * 2
    new_total = Decimal(premium["price"]["amount"]) + Decimal("100.00")
    assert Decimal(draft["totalAmount"]) == new_total
    assert Decimal(draft["balance"]) == new_total - Decimal("1611.00")

    # Until the new version is confirmed the old seats and tickets stay valid.
    held = await seat_map(api, old_journey)
    assert all(not held[car][seat] for car, seat in old_seats)
    assert all([await ticket_reason(api, t["ticketToken"]) != "DISABLED" for t in tickets])
    replay = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "expectedVersion": 1, "orderLineIds": old_ids,
         "offerId": premium["id"], "idempotencyKey": "x1"},
    )  # fmt: skip
    assert replay["errors"] == [] and replay["order"]["version"] == 2

    paid = await pay_balance(api, draft)
    assert paid["order"]["status"] == "CONFIRMED"
    after = await read(api, order["id"])
    assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
    assert all([await ticket_reason(api, t["ticketToken"]) == "DISABLED" for t in tickets])
    freed = await seat_map(api, old_journey)
    assert all(freed[car][seat] for car, seat in old_seats)
    kinds = [e["type"] for e in after["events"]]
    assert "ORDER_LINES_EXCHANGED" in kinds and kinds[-2:] == [
        "ORDER_CONFIRMED",
        "TICKETS_DISABLED",
    ]
    groups = (await api.gql(GENERATE, {"id": order["id"]}))["generateTickets"]
    ticketed = {g["orderLineId"] for g in groups["ticketDistributionGroups"]}
    assert ticketed >= {line["id"] for line in new_lines}

    receipt = await api.gql(
        SEND_RECEIPT,
        {"input": {"orderId": order["id"], "orderVersion": 2, "email": "kari@example.no"}},
    )
    lines = receipt["sendReceipt"]["receipt"]["lines"]
    assert sum(1 for r in lines if r["amount"] == "50.00") == 2
    assert receipt["sendReceipt"]["receipt"]["totalAmount"] == after["totalAmount"]


async def test_an_exchange_to_a_cheaper_journey_credits_the_difference(api: Api) -> None:
    order = await paid_order(api, "Premium Flex")
    flex = await an_offer(api, "Flex", not_on=journey_of(order))
    old_ids = [line["id"] for line in order["orderLines"]]
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": old_ids, "offerId": flex["id"]},
    )
    assert answer["errors"] == []
    draft = answer["order"]
    assert draft["fees"] == [], "Premium Flex changes free"
    assert draft["balance"] == "0.00"
    difference = Decimal(order["totalAmount"]) - Decimal(flex["price"]["amount"])
    assert difference > 0
    confirmed = await mutate(api, CONFIRM, {"orderId": order["id"], "expectedVersion": 2})
    assert confirmed["errors"] == []
    after = confirmed["order"]
    assert (after["status"], after["version"], after["balance"]) == ("CONFIRMED", 2, "0.00")
    assert after["totalAmount"] == flex["price"]["amount"]
    payments = await api.gql(
        "query($id: ID!) { order(id: $id) { payments { credits { amount status } } } }",
        {"id": order["id"]},
    )
    credits = [c for p in payments["order"]["payments"] for c in p["credits"]]
    assert [(Decimal(c["amount"]), c["status"]) for c in credits] == [(difference, "CREDITED")]


async def test_a_reset_in_the_middle_of_an_exchange_returns_to_the_confirmed_order(
    api: Api,
) -> None:
    order = await paid_order(api, "Flex")
    tickets = tickets_of(await api.gql(GENERATE, {"id": order["id"]}))
    premium = await an_offer(api, "Premium Flex", not_on=journey_of(order))
    new_journey = premium["travelSpecification"]["serviceJourneyId"]
    before = await seat_map(api, new_journey)
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": [x["id"] for x in order["orderLines"]],
         "offerId": premium["id"]},
    )  # fmt: skip
    assert answer["errors"] == []
    assert await seat_map(api, new_journey) != before
    reset = await mutate(api, RESET, {"orderId": order["id"]})
    assert reset["errors"] == []
    back = reset["order"]
    assert (back["version"], back["status"], back["totalAmount"]) == (1, "CONFIRMED", "1611.00")
    assert back["fees"] == []
    kept = {x["id"] for x in order["orderLines"]}
    assert {x["id"]: x["status"] for x in back["orderLines"] if x["id"] in kept} == dict.fromkeys(
        kept, "CONFIRMED"
    )
    assert {x["status"] for x in back["orderLines"] if x["id"] not in kept} == {"CANCELLED"}
    assert await seat_map(api, new_journey) == before
    assert all([await ticket_reason(api, t["ticketToken"]) != "DISABLED" for t in tickets])


async def test_lowfare_is_not_exchanged(api: Api) -> None:
    order = await paid_order(api, "Lowfare")
    options = (await api.gql(CHANGE_OPTIONS, {"id": order["id"]}))["changeOptions"]
    refused = option(options["orderLines"][0]["options"], "EXCHANGE_ORDER_LINE")
    assert refused["allowed"] is False and "not changeable" in refused["reason"]
    flex = await an_offer(api, "Flex", not_on=journey_of(order))
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": [x["id"] for x in order["orderLines"]],
         "offerId": flex["id"]},
    )  # fmt: skip
    assert [e["code"] for e in answer["errors"]] == ["NOT_CHANGEABLE"]
    assert answer["errors"][0]["path"] == ["input", "orderLineIds", "0"]
    assert (await read(api, order["id"]))["version"] == 1


async def test_an_exchange_for_other_travellers_is_refused(api: Api) -> None:
    order = await paid_order(api, "Flex")
    one = next(
        o
        for o in await offers_for(api, [{"id": "a1", "userType": "ADULT"}])
        if o["product"]["name"] == "Flex"
    )
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": [x["id"] for x in order["orderLines"]],
         "offerId": one["id"]},
    )  # fmt: skip
    assert [e["code"] for e in answer["errors"]] == ["VALIDATION_FAILED"]
    assert (await read(api, order["id"]))["version"] == 1


# ------------------------------------------------------------------ cancel lines


async def test_cancel_one_line_of_two_before_payment(api: Api) -> None:
    offer = await an_offer(api, "Flex")
    order = (await reserve(api, offer["id"]))["order"]
    first, second = order["orderLines"]
    seat = first["reservation"]["seats"][0]
    journey = offer["travelSpecification"]["serviceJourneyId"]
    assert not (await seat_map(api, journey))[seat["carNumber"]][seat["seatNumber"]]
    answer = await mutate(
        api, CANCEL_LINES, {"orderId": order["id"], "orderLineIds": [first["id"]]}
    )
    assert answer["errors"] == []
    after = answer["order"]
    lines = {x["id"]: x for x in after["orderLines"]}
    assert lines[first["id"]]["status"] == "CANCELLED"
    assert lines[first["id"]]["reservation"]["status"] == "CANCELLED"
    assert lines[second["id"]]["status"] == "DRAFT"
    assert after["totalAmount"] == after["balance"] == second["price"]["amount"]
    assert (await seat_map(api, journey))[seat["carNumber"]][seat["seatNumber"]]
    assert [e["type"] for e in after["events"]][-1] == "ORDER_LINES_CANCELLED"
    paid = await pay_balance(api, after)
    assert paid["order"]["status"] == "CONFIRMED"
    refused = await mutate(
        api, CANCEL_LINES, {"orderId": order["id"], "orderLineIds": [second["id"]]}
    )
    assert [e["code"] for e in refused["errors"]] == ["INVALID_STATE"]


async def test_a_paid_line_of_a_draft_is_not_cancelled_below_what_was_paid(api: Api) -> None:
    offer = await an_offer(api, "Flex")
    order = (await reserve(api, offer["id"]))["order"]
    payment = await pay(api, order["id"], order["orderLines"][0]["price"]["amount"])
    tx = await transact(api, payment["id"], order["orderLines"][0]["price"]["amount"])
    await capture(api, tx["id"])
    answer = await mutate(
        api,
        CANCEL_LINES,
        {"orderId": order["id"], "orderLineIds": [x["id"] for x in order["orderLines"]]},
    )
    assert [e["code"] for e in answer["errors"]] == ["INVALID_STATE"]
    assert "more paid" in answer["errors"][0]["message"]


# ------------------------------------------------------------------ longer holds


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def test_extensions_run_up_to_the_longest_hold(api: Api, clock: MovableClock) -> None:
    began = clock.now()
    offer = await an_offer(api, "Flex")
    order = (await reserve(api, offer["id"]))["order"]
    assert _at(order["expireAt"]) == began.replace(microsecond=0) + timedelta(minutes=20) or (
        abs(_at(order["expireAt"]) - (began + timedelta(minutes=20))) < timedelta(seconds=1)
    )
    moments = []
    for minutes in (10, 25, 40):
        clock.advance(timedelta(minutes=10 if minutes == 10 else 15))
        answer = await mutate(api, EXTEND, {"orderId": order["id"]})
        assert answer["errors"] == [], minutes
        moments.append(_at(answer["order"]["expireAt"]))
        held = {r["expireAt"] for r in answer["order"]["reservations"]}
        assert held == {answer["order"]["expireAt"]}
    limit = began + timedelta(hours=1)
    assert abs(moments[0] - (began + timedelta(minutes=30))) < timedelta(seconds=1)
    assert abs(moments[-1] - limit) < timedelta(seconds=1)
    refused = await mutate(api, EXTEND, {"orderId": order["id"]})
    assert [e["code"] for e in refused["errors"]] == ["HOLD_LIMIT_REACHED"]
    options = (await api.gql(CHANGE_OPTIONS, {"id": order["id"]}))["changeOptions"]
    assert option(options["options"], "EXTEND_EXPIRY")["allowed"] is False
    clock.advance(timedelta(minutes=21))
    expired = await mutate(api, EXTEND, {"orderId": order["id"]})
    assert [e["code"] for e in expired["errors"]] == ["ORDER_EXPIRED"]


# ------------------------------------------------------------------ fees


async def test_a_manual_fee_with_its_vat_is_paid_and_on_the_receipt(api: Api) -> None:
    order = await paid_order(api, "Flex")
    answer = await mutate(
        api,
        ADD_FEE,
        {"orderId": order["id"], "expectedVersion": 1, "type": "MANUAL", "amount": "100.00",
         "description": "Ticket printed at the office", "idempotencyKey": "f1"},
    )  # fmt: skip
    assert answer["errors"] == []
    draft = answer["order"]
    assert (draft["version"], draft["status"], draft["balance"]) == (2, "DRAFT", "100.00")
    fee = draft["fees"][0]
    assert (fee["type"], fee["amount"], fee["taxAmount"], fee["currency"]) == (
        "MANUAL", "100.00", "10.71", "NOK"
    )  # fmt: skip
    assert fee["description"] == "Ticket printed at the office"
    assert draft["totalAmount"] == "1711.00"
    assert Decimal(draft["totalTaxAmount"]) == Decimal(order["totalTaxAmount"]) + Decimal("10.71")
    assert draft["events"][-1] == {"type": "FEE_ADDED", "subjectIds": [fee["id"]]}
    paid = await pay_balance(api, draft)
    assert paid["order"]["status"] == "CONFIRMED"
    receipt = await api.gql(
        SEND_RECEIPT,
        {"input": {"orderId": order["id"], "orderVersion": 2, "email": "kari@example.no"}},
    )
    body = receipt["sendReceipt"]["receipt"]
    fee_line = next(r for r in body["lines"] if "Ticket printed" in r["description"])
    assert (fee_line["amount"], fee_line["taxAmount"]) == ("100.00", "10.71")
    assert body["totalAmount"] == "1711.00"


async def test_only_booking_and_manual_fees_are_added(api: Api) -> None:
    order = await paid_order(api, "Flex")
    for kind, amount in (("PENALTY", "10.00"), ("COMPENSATION", "10.00"), ("MANUAL", "0.00")):
        answer = await mutate(
            api,
            ADD_FEE,
            {"orderId": order["id"], "type": kind, "amount": amount, "description": "x"},
        )
        assert [e["code"] for e in answer["errors"]] == ["VALIDATION_FAILED"], kind
    assert (await read(api, order["id"]))["fees"] == []


# ------------------------------------------------------------------ compensation


async def test_a_compensation_credits_back_without_touching_lines(api: Api) -> None:
    order = await paid_order(api, "Flex")
    variables = {"orderId": order["id"], "amount": "200.00", "reason": "Late by 2 hours",
                 "idempotencyKey": "c1"}  # fmt: skip
    answer = await mutate(api, COMPENSATE, variables)
    assert answer["errors"] == []
    refund = answer["refund"]
    assert (refund["amount"], refund["affectedOrderLineIds"], refund["orderVersion"]) == (
        "200.00", [], 2
    )  # fmt: skip
    assert [c["status"] for c in refund["credits"]] == ["CREDITED"]
    after = answer["order"]
    assert (after["status"], after["version"], after["balance"]) == ("CONFIRMED", 2, "0.00")
    assert after["totalAmount"] == "1411.00"
    assert after["fees"] == [
        {"type": "COMPENSATION", "amount": "-200.00", "taxAmount": "-21.43",
         "description": "Late by 2 hours", "orderVersion": 2}
    ]  # fmt: skip
    again = await mutate(api, COMPENSATE, variables)
    assert again["refund"]["id"] == refund["id"]
    too_much = await mutate(
        api,
        COMPENSATE,
        {"orderId": order["id"], "amount": "1411.01", "reason": "x", "idempotencyKey": "c2"},
    )
    assert [e["code"] for e in too_much["errors"]] == ["AMOUNT_MISMATCH"]
    lines = (await read(api, order["id"]))["orderLines"]
    assert {x["status"] for x in lines} == {"CONFIRMED"}
    events = [e["type"] for e in (await read(api, order["id"]))["events"]]
    assert events.count("ORDER_COMPENSATED") == 1


# ------------------------------------------------------------------ disruptions


async def test_a_disruption_refunds_lowfare_at_no_fee_and_rebooks_flex(api: Api) -> None:
    lowfare = await paid_order(api, "Lowfare")
    journey = journey_of(lowfare)
    flex_offer = await an_offer(api, "Flex", on=journey)
    flex = (await reserve(api, flex_offer["id"]))["order"]
    assert (await pay_balance(api, flex))["order"]["status"] == "CONFIRMED"
    old_tickets = tickets_of(await api.gql(GENERATE, {"id": flex["id"]}))
    stale_offer = await an_offer(api, "Flex", on=journey)

    refused = await mutate(
        api,
        DISRUPT,
        {"serviceJourneyId": journey, "reason": "Landslide", "idempotencyKey": "d0"},
        client_id="other-app",
    )
    assert [e["code"] for e in refused["errors"]] == ["PERMISSION_DENIED"]
    assert not (await read(api, flex["id"]))["orderLines"][0]["travelSpecification"]["disrupted"]

    disrupted = await mutate(
        api, DISRUPT, {"serviceJourneyId": journey, "reason": "Landslide", "idempotencyKey": "d1"}
    )
    assert disrupted["errors"] == []
    assert disrupted["serviceJourneyId"] == journey
    assert sorted(disrupted["affectedOrderIds"]) == sorted([lowfare["id"], flex["id"]])
    for order_id in (lowfare["id"], flex["id"]):
        seen = await read(api, order_id)
        assert seen["events"][-1] == {"type": "SERVICE_JOURNEY_DISRUPTED", "subjectIds": [journey]}
        assert all(x["travelSpecification"]["disrupted"] for x in seen["orderLines"])
    assert all(
        o["travelSpecification"]["serviceJourneyId"] != journey
        for o in await offers_for(api, ADULTS)
    )
    stale = await api.gql(
        RESERVE, {"input": {"offerConfigurations": [{"offerId": stale_offer["id"]}]}}
    )
    assert [e["code"] for e in stale["reserveOffers"]["errors"]] == ["SERVICE_JOURNEY_DISRUPTED"]

    options = (await api.gql(REFUND_OPTIONS, {"id": lowfare["id"]}))["refundOptions"]
    assert all(x["refundable"] and x["fee"] == "0.00" for x in options["orderLines"])
    refunded = await api.gql(REFUND, {"input": {"orderId": lowfare["id"], "idempotencyKey": "r1"}})
    assert refunded["refundOrder"]["errors"] == []
    assert refunded["refundOrder"]["refund"]["amount"] == lowfare["totalAmount"]
    assert refunded["refundOrder"]["refund"]["fee"] == "0.00"

    target = await an_offer(api, "Flex", not_on=journey)
    to_journey = target["travelSpecification"]["serviceJourneyId"]
    line_ids = [x["id"] for x in flex["orderLines"]]
    rebooked = await mutate(
        api,
        REBOOK,
        {"orderId": flex["id"], "orderLineIds": line_ids, "toServiceJourneyId": to_journey,
         "idempotencyKey": "rb1"},
    )  # fmt: skip
    assert rebooked["errors"] == []
    after = rebooked["order"]
    assert (after["status"], after["version"], after["balance"]) == ("CONFIRMED", 2, "0.00")
    assert after["totalAmount"] == flex["totalAmount"], "a price difference is waived"
    new = [x for x in after["orderLines"] if x["id"] not in line_ids]
    assert [x["status"] for x in new] == ["CONFIRMED", "CONFIRMED"]
    assert {x["travelSpecification"]["serviceJourneyId"] for x in new} == {to_journey}
    assert {x["reservation"]["status"] for x in new} == {"CONFIRMED"}
    assert {x["status"] for x in after["orderLines"] if x["id"] in line_ids} == {"CANCELLED"}
    assert all([await ticket_reason(api, t["ticketToken"]) == "DISABLED" for t in old_tickets])
    again = await mutate(
        api,
        REBOOK,
        {"orderId": flex["id"], "orderLineIds": line_ids, "toServiceJourneyId": to_journey,
         "idempotencyKey": "rb1"},
    )  # fmt: skip
    assert again["errors"] == [] and again["order"]["version"] == 2
    groups = (await api.gql(GENERATE, {"id": flex["id"]}))["generateTickets"]
    ticketed = {g["orderLineId"] for g in groups["ticketDistributionGroups"]}
    assert ticketed >= {x["id"] for x in new}


async def test_an_exchange_never_makes_an_order_cost_less_than_nothing(api: Api) -> None:
    """A compensation stays with the order: an exchange to a journey that costs less than
    was given back is refused (the money is not there to give back twice)."""
    order = await paid_order(api, "Premium Flex")
    goodwill = {"orderId": order["id"], "amount": "2000.00", "reason": "Cancelled dinner car",
                "idempotencyKey": "g1"}  # fmt: skip
    assert (await mutate(api, COMPENSATE, goodwill))["errors"] == []
    lowfare = await an_offer(api, "Lowfare", not_on=journey_of(order))
    answer = await mutate(
        api,
        EXCHANGE,
        {"orderId": order["id"], "orderLineIds": [x["id"] for x in order["orderLines"]],
         "offerId": lowfare["id"]},
    )  # fmt: skip
    assert [e["code"] for e in answer["errors"]] == ["INVALID_STATE"]
    after = await read(api, order["id"])
    assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
