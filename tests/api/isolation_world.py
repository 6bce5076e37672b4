"""Two organisations' sales, made through the real API, for the isolation tests.

Organisation 1 (demo-app) makes a complete sale: order lines, travellers, seats, a captured
payment, tickets generated and distributed, a receipt, one line refunded (a refund and its
credit), and leaves a second order unpaid with a pending transaction. Organisation 2
(other-app) makes the same complete sale of its own, with the same idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.api.test_payment_flow import CAPTURE, CREATE_PAYMENT, CREATE_TRANSACTION
from tests.api.test_refunds import REFUND
from tests.api.test_sale_flow import BERGEN, OFFERS, OSLO, RESERVE, tomorrow
from tests.api.test_tickets_receipts import DISTRIBUTE, GENERATE, SEND_RECEIPT
from tests.conftest import Api

# Organisation 1's ids by name, and the type each is of: a probe naming one covers the type.
NAMED_TYPES = {
    "order": "Order",
    "draftOrder": "Order",
    "line": "OrderLine",
    "refundedLine": "OrderLine",
    "draftLine": "OrderLine",
    "reservation": "Reservation",
    "draftReservation": "Reservation",
    "payment": "Payment",
    "draftPayment": "Payment",
    "transaction": "Transaction",
    "draftTransaction": "Transaction",
    "credit": "Credit",
    "refund": "Refund",
    "ticket": "TicketDistribution",
    "webhookSubscription": "WebhookSubscription",
    "webhookDelivery": "WebhookDelivery",
    "disabledTicket": "TicketDistribution",
    "ticketToken": "TicketDistribution",
    "ticketGroup": "TicketDistributionGroup",
    "receipt": "Receipt",
    "traveller": "Traveller",
}
# Organisation 1's other data that must never reach organisation 2.
MARKERS = (
    "externalReference",
    "contactEmail",
    "travellerName",
    "receiptReference",
    "psp",
    "webhookUrl",
)


@dataclass
class Org:
    """One organisation's client; keeps every answer it was given."""

    api: Api
    client_id: str
    answers: list[str] = field(default_factory=list)

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        response = await self.api.post(query, variables, client_id=self.client_id)
        self.answers.append(response.text)
        return response

    async def get(self, path: str) -> httpx.Response:
        token = await self.api.token(self.client_id)
        response = await self.api.client.get(path, headers={"Authorization": f"Bearer {token}"})
        self.answers.append(response.text)
        return response

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def mutate(self, query: str, variables: dict[str, Any], name: str) -> dict[str, Any]:
        answer: dict[str, Any] = (await self.gql(query, variables))[name]
        assert answer["errors"] == [], answer
        return answer


CREATE_WEBHOOK = """
mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) {
  webhookSubscription { id } errors { code message path } } }
"""
UPDATE_ORDER = """
mutation($input: UpdateOrderInput!) { updateOrder(input: $input) {
  order { id version status } errors { code message path } } }
"""
PAYMENT_FIELDS = """
  __typename id orderId orderVersion organisationId totalAmount active
  credits { __typename id transactionId amount status }
  transactions { __typename id paymentId status amount pspReference capturedAt
"""
# Everything an organisation can list of its own, every nested field with ids included;
# in three operations, each well within the query cost limit.
EVERYTHING = (
    """
query Orders {
  orders(perPage: 10) { totalItems items {
    __typename id version status totalAmount totalTaxAmount balance currency organisationId pos
    distributionChannelId externalReference createdAt lastConfirmedAt expireAt
    contactInfo { name email phoneNumber }
    travellers { __typename id userType name }
    orderLines { __typename id orderId status price { amount taxAmount } travellers { id }
      reservation { __typename id status seats { carNumber seatNumber travellerId } }
      ticketDistributions { __typename id status } }
    reservations { __typename id orderLineId status expireAt }
    paymentRefs { orderVersion paymentId transactionId amount completedAt }
    receipts { __typename id reference status orderVersion email totalAmount }
    events { __typename id orderId orderVersion type clientId pos subjectIds }
    fees { __typename id orderId orderVersion type amount description } } }
}
""",
    """
query OrderPayments {
  orderPayments: orders(perPage: 10) { items {
    id
    payments { """
    + PAYMENT_FIELDS
    + """ } }
    ticketDistributionGroups { __typename id orderLineId orderVersion
      ticketDistributions { __typename id travellerId status distributionMethod ticketToken } }
  } }
}
""",
    """
query Lists {
  reservations(perPage: 10) { totalItems items {
    __typename id orderId orderLineId status seats { carNumber seatNumber travellerId } } }
  payments(perPage: 10) { totalItems items { """
    + PAYMENT_FIELDS
    + """ operationLog { operation amount status } } } }
  credits(perPage: 10) { totalItems items {
    __typename id orderId paymentId transactionId amount status } }
  ticketDistributions(perPage: 10) { totalItems items {
    __typename id orderId orderLineId status distributionMethod } }
  receipts(perPage: 10) { totalItems items {
    __typename id reference orderId orderVersion status email totalAmount } }
  orderEvents(perPage: 100) { totalItems items {
    __typename id orderId orderVersion type correlationId subjectIds } }
  webhookSubscriptions(perPage: 10) { totalItems items {
    __typename id url eventTypes active createdAt } }
  webhookDeliveries(perPage: 10) { totalItems items {
    __typename id webhookSubscriptionId eventId eventType status attempts } }
}
""",
)
AFTER_SALE = """
query($a: ID!, $b: ID!) {
  a: changeOptions(orderId: $a) { orderVersion options { type allowed reason }
                                  orderLines { orderLineId options { type allowed } } }
  b: changeOptions(orderId: $b) { orderVersion options { type allowed reason } }
  r: refundOptions(orderId: $a) { orderVersion totalRefundableAmount
                                  orderLines { orderLineId refundable paidAmount } }
}
"""
SEAT_MAP = """
query($j: ID!, $f: ID!, $t: ID!) {
  seatMap(serviceJourneyId: $j, fromStopPlaceId: $f, toStopPlaceId: $t) {
    cars { number seats { seatNumber available } } } }
"""


async def everything(org: Org) -> dict[str, Any]:
    """All of an organisation's own sales, as it reads them."""
    read: dict[str, Any] = {}
    for document in EVERYTHING:
        read.update(await org.gql(document))
    payments = {o["id"]: o for o in read.pop("orderPayments")["items"]}
    for order in read["orders"]["items"]:
        order.update(payments[order["id"]])
    return read


async def a_flex_offer(org: Org, travellers: list[dict[str, str]]) -> dict[str, Any]:
    """A Flex offer on the first departure of the day, so both sit on the same train."""
    search = {"fromStopPlaceId": OSLO, "toStopPlaceId": BERGEN, "date": tomorrow()}
    offers = (await org.gql(OFFERS, {"search": {**search, "travellers": travellers}}))["offers"]
    first = min(o["travelSpecification"]["departureTime"] for o in offers)
    return dict(
        next(
            o
            for o in offers
            if o["product"]["name"] == "Flex" and o["travelSpecification"]["departureTime"] == first
        )
    )


async def a_full_sale(org: Org, who: str) -> dict[str, Any]:
    """A confirmed order of two travellers with seats, paid and captured, its tickets
    generated and distributed, a receipt sent and one line refunded (a credit). Every
    organisation uses the same idempotency keys here: each has its own."""
    travellers = [
        {"id": f"{who}-kari", "userType": "ADULT", "name": f"Kari {who}"},
        {"id": f"{who}-ola", "userType": "ADULT", "name": f"Ola {who}"},
    ]
    hook = {
        "url": f"http://127.0.0.1:9/hooks/{who}",
        "eventTypes": ["ORDER_CONFIRMED"],
        "idempotencyKey": "hook-1",
    }
    await org.mutate(CREATE_WEBHOOK, {"input": hook}, "createWebhookSubscription")
    offer = await a_flex_offer(org, travellers)
    reserve = {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": "r-1"}
    order = (await org.mutate(RESERVE, {"input": reserve}, "reserveOffers"))["order"]
    contact = {"name": f"Kari {who}", "email": f"kari@{who}.example"}
    update = {"orderId": order["id"], "contactInfo": contact, "externalReference": f"ref-{who}"}
    await org.mutate(UPDATE_ORDER, {"input": update}, "updateOrder")
    pay = {"orderId": order["id"], "idempotencyKey": "pay-1"}
    payment = (await org.mutate(CREATE_PAYMENT, {"input": pay}, "createPayment"))["payment"]
    transact = {
        "paymentId": payment["id"],
        "paymentType": "VISA",
        "amount": payment["totalAmount"],
        "paymentToken": "tok_visa",
        "idempotencyKey": "tx-1",
    }
    tx = await org.mutate(CREATE_TRANSACTION, {"input": transact}, "createTransaction")
    capture = {"transactionId": tx["transaction"]["id"], "idempotencyKey": "capture-1"}
    captured = await org.mutate(CAPTURE, {"input": capture}, "captureTransaction")
    assert captured["order"]["status"] == "CONFIRMED"
    await org.mutate(GENERATE, {"id": order["id"]}, "generateTickets")
    distribute = {"orderId": order["id"], "distributionMethod": "APP"}
    await org.mutate(DISTRIBUTE, {"input": distribute}, "distributeTickets")
    receipt = {"orderId": order["id"], "email": contact["email"], "idempotencyKey": "receipt-1"}
    await org.mutate(SEND_RECEIPT, {"input": receipt}, "sendReceipt")
    refund = {
        "orderId": order["id"],
        "orderLineIds": [order["orderLines"][0]["id"]],
        "idempotencyKey": "refund-1",
    }
    refunded = await org.mutate(REFUND, {"input": refund}, "refundOrder")
    assert (refunded["order"]["status"], refunded["order"]["version"]) == ("CONFIRMED", 2)
    goodwill = {"orderId": order["id"], "amount": "1.00", "reason": f"Late, {who}",
                "idempotencyKey": "goodwill-1"}  # fmt: skip
    await org.mutate(COMPENSATE, {"input": goodwill}, "compensateOrder")
    return {"order": order["id"], "refund": refunded["refund"]["id"], "offer": offer}


COMPENSATE = """mutation($input: CompensateOrderInput!) { compensateOrder(input: $input) {
  refund { id } errors { code message } } }"""


def by_type(node: Any, found: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Every object's id in an answer, by its __typename."""
    found = {} if found is None else found
    if isinstance(node, dict):
        if "__typename" in node and "id" in node:
            found.setdefault(node["__typename"], set()).add(node["id"])
        for value in node.values():
            by_type(value, found)
    elif isinstance(node, list):
        for value in node:
            by_type(value, found)
    return found


@dataclass
class World:
    app: Starlette
    one: Org  # organisation 1: the owner of everything probed
    two: Org  # organisation 2: the prober
    theirs: dict[str, str]  # organisation 1's ids and data, by name
    their_ids: dict[str, set[str]]  # every id of organisation 1, by type
    mine: dict[str, Any]  # organisation 2's own ids and things to use

    async def snapshot(self) -> dict[str, Any]:
        """Everything organisation 1 can read of its own sales."""
        read = await everything(self.one)
        after_sale = await self.one.gql(
            AFTER_SALE, {"a": self.theirs["order"], "b": self.theirs["draftOrder"]}
        )
        return {**read, **after_sale}

    def assert_nothing_leaked(self) -> None:
        """No id or datum of organisation 1 in anything organisation 2 was ever answered."""
        secrets = {i for ids in self.their_ids.values() for i in ids}
        secrets |= {self.theirs[name] for name in MARKERS}
        assert len(self.two.answers) > 10
        for answer in self.two.answers:
            leaked = sorted(s for s in secrets if s in answer)
            assert not leaked, f"organisation 2 was shown {leaked} in {answer[:600]}"


async def a_draft_order(org: Org) -> dict[str, Any]:
    """An unpaid order of one traveller with a seat, a payment and a pending transaction."""
    offer = await a_flex_offer(org, [{"id": "org-one-per", "userType": "ADULT"}])
    reserve = {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": "r-2"}
    order = (await org.mutate(RESERVE, {"input": reserve}, "reserveOffers"))["order"]
    pay = {"orderId": order["id"]}
    payment = (await org.mutate(CREATE_PAYMENT, {"input": pay}, "createPayment"))["payment"]
    transact = {
        "paymentId": payment["id"],
        "paymentType": "VISA",
        "amount": order["balance"],
        "paymentToken": "tok_visa",
    }
    await org.mutate(CREATE_TRANSACTION, {"input": transact}, "createTransaction")
    return dict(order)


def their_names(
    read: dict[str, Any], order_id: str, draft_id: str, refund_id: str
) -> dict[str, str]:
    """Organisation 1's ids and data by name, picked from its own read of everything."""
    orders = {o["id"]: o for o in read["orders"]["items"]}
    order, draft = orders[order_id], orders[draft_id]
    line = next(x for x in order["orderLines"] if x["status"] == "CONFIRMED")
    refunded = next(x for x in order["orderLines"] if x["status"] == "REFUNDED")
    groups = {g["orderLineId"]: g for g in order["ticketDistributionGroups"]}
    ticket = groups[line["id"]]["ticketDistributions"][0]
    payment = order["payments"][0]
    names = {
        "order": order["id"],
        "draftOrder": draft["id"],
        "line": line["id"],
        "refundedLine": refunded["id"],
        "draftLine": draft["orderLines"][0]["id"],
        "reservation": line["reservation"]["id"],
        "draftReservation": draft["orderLines"][0]["reservation"]["id"],
        "payment": payment["id"],
        "draftPayment": draft["payments"][0]["id"],
        "transaction": payment["transactions"][0]["id"],
        "draftTransaction": draft["payments"][0]["transactions"][0]["id"],
        "credit": payment["credits"][0]["id"],
        "refund": refund_id,
        "ticket": ticket["id"],
        "disabledTicket": groups[refunded["id"]]["ticketDistributions"][0]["id"],
        "ticketToken": ticket["ticketToken"],
        "ticketGroup": groups[line["id"]]["id"],
        "receipt": order["receipts"][0]["id"],
        "traveller": order["travellers"][0]["id"],
        "externalReference": order["externalReference"],
        "contactEmail": order["contactInfo"]["email"],
        "travellerName": order["travellers"][0]["name"],
        "receiptReference": order["receipts"][0]["reference"],
        "psp": payment["transactions"][0]["pspReference"],
        "webhookSubscription": read["webhookSubscriptions"]["items"][0]["id"],
        "webhookDelivery": read["webhookDeliveries"]["items"][0]["id"],
        "webhookUrl": read["webhookSubscriptions"]["items"][0]["url"],
        "organisation": "1",
    }
    assert all(names.values()), names
    assert set(names) == {*NAMED_TYPES, *MARKERS, "organisation"}
    return names


async def two_sales(api: Api, app: Starlette) -> World:
    one, two = Org(api, "demo-app"), Org(api, "other-app")
    sale = await a_full_sale(one, "org-one")
    draft = await a_draft_order(one)
    read = await everything(one)
    their_ids = by_type(read)
    their_ids["Refund"] = {sale["refund"]}  # only refundOrder answers a Refund
    theirs = their_names(read, sale["order"], draft["id"], sale["refund"])

    # Had idempotency keys been shared, this would answer organisation 1's objects or
    # IDEMPOTENCY_KEY_REUSED: organisation 2 uses the same keys.
    own = await a_full_sale(two, "org-two")
    own_read = (await everything(two))["orders"]["items"]
    own_order = next(o for o in own_read if o["id"] == own["order"])
    line = next(x for x in own_order["orderLines"] if x["status"] == "CONFIRMED")
    seat = line["reservation"]["seats"][0]
    journey = own["offer"]["travelSpecification"]["serviceJourneyId"]
    seat_map = await two.gql(SEAT_MAP, {"j": journey, "f": OSLO, "t": BERGEN})
    car = next(c for c in seat_map["seatMap"]["cars"] if c["number"] == seat["carNumber"])
    free = next(s["seatNumber"] for s in reversed(car["seats"]) if s["available"])
    offer = await a_flex_offer(two, [{"id": "org-two-per", "userType": "ADULT"}])
    mine = {
        "order": own["order"],
        "line": line["id"],
        "offer": offer["id"],
        "freeSeat": {"carNumber": car["number"], "seatNumber": free},
    }
    return World(app, one, two, theirs, their_ids, mine)
