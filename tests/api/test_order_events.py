"""The audit trail over HTTP: every change to an order leaves its events, in order, with who
made it (client, POS, channel, correlation id), or none for the service's own work; another
organisation sees none of them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from sales_api.domain.services.lifecycle import expire_orders
from sales_api.domain.services.outbox import deliver_due
from tests.api.test_payment_flow import CAPTURE, CREATE_PAYMENT, CREATE_TRANSACTION
from tests.api.test_refunds import REFUND
from tests.api.test_sale_flow import offers_for, reserve
from tests.api.test_tickets_receipts import GENERATE, SEND_RECEIPT
from tests.conftest import APP_CHANNEL, Api, MovableClock

EVENT_FIELDS = """id orderId orderVersion type occurredAt clientId pos distributionChannelId
                  correlationId subjectIds"""
EVENTS_OF = f"""
query($id: ID!) {{
  order(id: $id) {{ events {{ {EVENT_FIELDS} }} }}
  orderEvents(perPage: 100, filter: {{orderId: {{eq: $id}}}}) {{
    totalItems items {{ {EVENT_FIELDS} }} }}
}}"""


async def step(api: Api, document: str, variables: dict[str, Any], name: str) -> Any:
    """A mutation sent with its own correlation id; its answer and that id."""
    correlation = str(uuid.uuid4())
    data = await api.gql(document, variables, headers={"CorrelationId": correlation})
    assert data[name]["errors"] == [], data
    return data[name], correlation


async def events_of(api: Api, order_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    data = await api.gql(EVENTS_OF, {"id": order_id}, **kwargs)
    listed = data["orderEvents"]["items"]
    assert data["order"]["events"] == listed, "Order.events and orderEvents agree"
    assert data["orderEvents"]["totalItems"] == len(listed)
    return list(listed)


async def test_a_whole_sale_leaves_its_events_in_order_with_who_did_it(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    people = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    reserved, by_reserve = await step(
        api,
        """mutation($input: ReserveOffersInput!) { reserveOffers(input: $input) {
             order { id balance orderLines { id } } errors { code message path } } }""",
        {"input": {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": "r1"}},
        "reserveOffers",
    )
    order = reserved["order"]
    order_id, line_ids = order["id"], [line["id"] for line in order["orderLines"]]
    paid, by_payment = await step(
        api, CREATE_PAYMENT, {"input": {"orderId": order_id}}, "createPayment"
    )
    payment_id = paid["payment"]["id"]
    transacted, by_transaction = await step(
        api,
        CREATE_TRANSACTION,
        {
            "input": {
                "paymentId": payment_id,
                "paymentType": "VISA",
                "amount": order["balance"],
                "paymentToken": "tok_visa",
            }
        },
        "createTransaction",
    )
    tx_id = transacted["transaction"]["id"]
    _, by_capture = await step(
        api, CAPTURE, {"input": {"transactionId": tx_id}}, "captureTransaction"
    )
    generated, by_tickets = await step(api, GENERATE, {"id": order_id}, "generateTickets")
    ticket_ids = [
        t["id"] for g in generated["ticketDistributionGroups"] for t in g["ticketDistributions"]
    ]
    receipt, by_receipt = await step(
        api,
        SEND_RECEIPT,
        {"input": {"orderId": order_id, "email": "kari@example.no", "idempotencyKey": "s1"}},
        "sendReceipt",
    )
    receipt_id = receipt["receipt"]["id"]
    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 1
    refunded, by_refund = await step(
        api,
        REFUND,
        {"input": {"orderId": order_id, "orderLineIds": [line_ids[0]], "idempotencyKey": "f1"}},
        "refundOrder",
    )
    refund_id = refunded["refund"]["id"]

    events = await events_of(api, order_id)
    seen = [(e["type"], e["orderVersion"], e["correlationId"], e["subjectIds"]) for e in events]
    assert seen == [
        ("ORDER_CREATED", 1, by_reserve, []),
        ("OFFERS_RESERVED", 1, by_reserve, line_ids),
        ("PAYMENT_CREATED", 1, by_payment, [payment_id]),
        ("TRANSACTION_CREATED", 1, by_transaction, [tx_id]),
        ("TRANSACTION_CAPTURED", 1, by_capture, [tx_id]),
        ("ORDER_CONFIRMED", 1, by_capture, []),
        ("TICKETS_GENERATED", 1, by_tickets, ticket_ids),
        ("RECEIPT_QUEUED", 1, by_receipt, [receipt_id]),
        ("RECEIPT_SENT", 1, None, [receipt_id]),
        ("ORDER_REFUNDED", 2, by_refund, [refund_id, line_ids[0]]),
        ("TICKETS_DISABLED", 2, by_refund, [ticket_ids[0]]),
    ]
    made_by_requests = [e for e in events if e["correlationId"] is not None]
    assert {(e["clientId"], e["pos"], e["distributionChannelId"]) for e in made_by_requests} == {
        ("demo-app", "test-pos", APP_CHANNEL)
    }
    [delivered] = [e for e in events if e["type"] == "RECEIPT_SENT"]
    assert (delivered["clientId"], delivered["pos"], delivered["distributionChannelId"]) == (
        None,
        None,
        None,
    )
    assert len({e["id"] for e in events}) == len(events)
    stamps = [e["occurredAt"] for e in events]
    assert stamps == sorted(stamps) and all(s.endswith("Z") for s in stamps)

    # Filters: by type, and by time.
    data = await api.gql(
        """query($id: ID!) { orderEvents(filter: {orderId: {eq: $id},
             type: {in: [ORDER_CONFIRMED, ORDER_REFUNDED]}}) { totalItems items { type } } }""",
        {"id": order_id},
    )
    assert [e["type"] for e in data["orderEvents"]["items"]] == [
        "ORDER_CONFIRMED",
        "ORDER_REFUNDED",
    ]
    data = await api.gql(
        """query($at: DateTime!) { orderEvents(filter: {occurredAt: {gt: $at}}) {
             totalItems } }""",
        {"at": stamps[-1]},
    )
    assert data["orderEvents"]["totalItems"] == 0


async def test_a_replayed_mutation_writes_no_second_event(api: Api) -> None:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    first = await reserve(api, offer["id"], idempotencyKey="same")
    again = await reserve(api, offer["id"], idempotencyKey="same")
    assert first["order"]["id"] == again["order"]["id"]
    types = [e["type"] for e in await events_of(api, first["order"]["id"])]
    assert types == ["ORDER_CREATED", "OFFERS_RESERVED"]


async def test_cancel_and_expiry_are_events_and_expiry_names_no_one(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    cancelled = (await reserve(api, offer["id"], idempotencyKey="c"))["order"]["id"]
    await api.gql(
        "mutation($id: ID!) { cancelOrder(input: {orderId: $id}) { errors { code } } }",
        {"id": cancelled},
    )
    expiring = (await reserve(api, offer["id"], idempotencyKey="e"))["order"]["id"]
    clock.advance(timedelta(minutes=21))
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 1

    assert [e["type"] for e in await events_of(api, cancelled)][-1] == "ORDER_CANCELLED"
    last = (await events_of(api, expiring))[-1]
    assert last["type"] == "ORDER_EXPIRED"
    assert (last["clientId"], last["pos"], last["correlationId"]) == (None, None, None)


async def test_another_organisation_sees_none_of_the_events(api: Api) -> None:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    order_id = (await reserve(api, offer["id"], idempotencyKey="o1"))["order"]["id"]
    assert len(await events_of(api, order_id)) == 2

    other = await api.gql(
        """query($id: ID!) { order(id: $id) { id }
             orderEvents(perPage: 100, filter: {orderId: {eq: $id}}) { totalItems items { id } }
             all: orderEvents(perPage: 100) { totalItems } }""",
        {"id": order_id},
        client_id="other-app",
    )
    assert other == {
        "order": None,
        "orderEvents": {"totalItems": 0, "items": []},
        "all": {"totalItems": 0},
    }
