"""After the sale: refund options and refunds over HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.test_payment_flow import capture, pay, transact
from tests.api.test_sale_flow import BERGEN, OSLO, offers_for, reserve
from tests.api.test_tickets_receipts import GENERATE, SEND_RECEIPT, VERIFY, tickets_of
from tests.conftest import Api, MovableClock

REFUND_OPTIONS = """
query($id: ID!) { refundOptions(orderId: $id) {
  orderId orderVersion currency totalRefundableAmount
  orderLines { orderLineId refundable reason paidAmount fee refundableAmount } } }
"""
REFUND = """
mutation($input: RefundOrderInput!) { refundOrder(input: $input) {
  refund { id orderVersion amount fee currency affectedOrderLineIds disabledTicketDistributionIds
           credits { id amount status transactionId orderVersion } }
  order { id version status balance totalAmount
          orderLines { id status reservation { status seats { carNumber seatNumber } } } }
  errors { code message path } } }
"""


async def a_paid_order(api: Api, product: str = "Flex", token: str = "tok_visa") -> dict[str, Any]:
    people = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == product)
    order = (await reserve(api, offer["id"]))["order"]
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], order["balance"], token=token)
    assert (await capture(api, tx["id"]))["order"]["status"] == "CONFIRMED"
    return dict(order)


async def test_refund_one_line_of_a_flexible_order(api: Api, clock: MovableClock) -> None:
    order = await a_paid_order(api)
    tickets = tickets_of(await api.gql(GENERATE, {"id": order["id"]}))
    options = (await api.gql(REFUND_OPTIONS, {"id": order["id"]}))["refundOptions"]
    assert options["totalRefundableAmount"] == "1611.00"
    assert all(
        (line["refundable"], line["fee"], line["paidAmount"]) == (True, "0.00", "805.50")
        for line in options["orderLines"]
    )
    line = order["orderLines"][0]
    seat = line["reservation"]["seats"][0]
    data = await api.gql(
        REFUND,
        {"input": {"orderId": order["id"], "orderLineIds": [line["id"]], "idempotencyKey": "k1"}},
    )
    answer = data["refundOrder"]
    assert answer["errors"] == []
    refund = answer["refund"]
    assert (refund["amount"], refund["fee"], refund["orderVersion"]) == ("805.50", "0.00", 2)
    assert [c["status"] for c in refund["credits"]] == ["CREDITED"]
    assert refund["affectedOrderLineIds"] == [line["id"]]
    refunded_ticket = next(t for t in tickets if t["travellerId"] == "a1")
    assert refund["disabledTicketDistributionIds"] == [refunded_ticket["id"]]
    after = answer["order"]
    assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
    assert after["totalAmount"] == "805.50"
    statuses = {ol["id"]: ol["status"] for ol in after["orderLines"]}
    assert statuses[line["id"]] == "REFUNDED"

    seat_map = await api.gql(
        "query($j: ID!, $f: ID!, $t: ID!) { seatMap(serviceJourneyId: $j, fromStopPlaceId: $f,"
        " toStopPlaceId: $t) { cars { number seats { seatNumber available } } } }",
        {"j": await journey_of(api, order["id"]), "f": OSLO, "t": BERGEN},
    )
    car = next(c for c in seat_map["seatMap"]["cars"] if c["number"] == seat["carNumber"])
    assert next(s for s in car["seats"] if s["seatNumber"] == seat["seatNumber"])["available"]

    verdict = await api.gql(VERIFY, {"t": refunded_ticket["ticketToken"]})
    assert verdict["verifyTicket"]["reason"] == "DISABLED"

    receipt = await api.gql(
        SEND_RECEIPT,
        {"input": {"orderId": order["id"], "orderVersion": 2, "email": "kari@example.no"}},
    )
    assert receipt["sendReceipt"]["errors"] == []
    assert receipt["sendReceipt"]["receipt"]["totalAmount"] == "805.50"
    credits = await api.gql(
        "query($id: ID!) { credits(filter: {orderId: {eq: $id}}) { totalItems items { amount } } "
        "order(id: $id) { payments { credits { amount } } } }",
        {"id": order["id"]},
    )
    assert credits["credits"]["items"] == [{"amount": "805.50"}]
    assert credits["order"]["payments"] == [{"credits": [{"amount": "805.50"}]}]

    again = await api.gql(
        REFUND,
        {"input": {"orderId": order["id"], "orderLineIds": [line["id"]], "idempotencyKey": "k1"}},
    )
    assert again["refundOrder"]["refund"]["id"] == refund["id"]


async def journey_of(api: Api, order_id: str) -> str:
    data = await api.gql(
        "query($id: ID!) { order(id: $id) { orderLines { travelSpecification "
        "{ serviceJourneyId } } } }",
        {"id": order_id},
    )
    return str(data["order"]["orderLines"][0]["travelSpecification"]["serviceJourneyId"])


async def test_refunding_every_line_cancels_the_order(api: Api) -> None:
    order = await a_paid_order(api)
    data = await api.gql(REFUND, {"input": {"orderId": order["id"], "idempotencyKey": "all"}})
    after = data["refundOrder"]["order"]
    assert (after["status"], after["balance"], after["totalAmount"]) == (
        "CANCELLED",
        "0.00",
        "0.00",
    )
    assert data["refundOrder"]["refund"]["amount"] == "1611.00"


async def test_a_non_flexible_product_is_not_refundable(api: Api) -> None:
    order = await a_paid_order(api, product="Lowfare")
    options = (await api.gql(REFUND_OPTIONS, {"id": order["id"]}))["refundOptions"]
    assert options["totalRefundableAmount"] == "0.00"
    assert all(not line["refundable"] and line["reason"] for line in options["orderLines"])
    data = await api.gql(REFUND, {"input": {"orderId": order["id"], "idempotencyKey": "n"}})
    assert data["refundOrder"]["errors"][0]["code"] == "NOT_REFUNDABLE"
    still = await api.gql(
        "query($id: ID!) { order(id: $id) { version status orderLines { status } } }",
        {"id": order["id"]},
    )
    assert still["order"]["version"] == 1
    assert {ol["status"] for ol in still["order"]["orderLines"]} == {"CONFIRMED"}


async def test_a_refund_the_provider_fails_changes_nothing_and_can_be_retried(api: Api) -> None:
    order = await a_paid_order(api, token="tok_refund_error")
    request = {"orderId": order["id"], "idempotencyKey": "retry-me"}
    failed = (await api.gql(REFUND, {"input": request}))["refundOrder"]
    assert failed["errors"][0]["code"] == "PAYMENT_DECLINED"
    assert failed["order"]["version"] == 1
    assert {ol["status"] for ol in failed["order"]["orderLines"]} == {"CONFIRMED"}
    credits = await api.gql(
        "query($id: ID!) { credits(filter: {orderId: {eq: $id}}) { items { status } } }",
        {"id": order["id"]},
    )
    assert [c["status"] for c in credits["credits"]["items"]] == ["FAILED"]


async def test_a_line_with_a_pending_refund_is_not_refunded_again(api: Api) -> None:
    order = await a_paid_order(api, token="tok_refund_error")
    first = await api.gql(REFUND, {"input": {"orderId": order["id"], "idempotencyKey": "one"}})
    assert first["refundOrder"]["errors"][0]["code"] == "PAYMENT_DECLINED"
    second = await api.gql(REFUND, {"input": {"orderId": order["id"], "idempotencyKey": "two"}})
    assert second["refundOrder"]["errors"][0]["code"] == "INVALID_STATE"
    empty = await api.gql(
        REFUND, {"input": {"orderId": order["id"], "orderLineIds": [], "idempotencyKey": "e"}}
    )
    assert empty["refundOrder"]["errors"][0]["code"] == "VALIDATION_FAILED"


async def test_refunding_an_unknown_order_names_the_order_id_input(api: Api) -> None:
    data = await api.gql(REFUND, {"input": {"orderId": "NOSUCHORDER", "idempotencyKey": "u"}})
    assert data["refundOrder"]["errors"] == [
        {"code": "NOT_FOUND", "message": "Order not found", "path": ["input", "orderId"]}
    ]
    assert data["refundOrder"]["refund"] is None
