"""Isolation between organisations, over HTTP through the real app.

With organisation 1's complete sale in place (tests/api/isolation_world.py), organisation 2
names organisation 1's ids everywhere an id can go: directly, through aliases, inside inputs
and filters. Every answer must be exactly the answer for ids that exist nowhere (same status,
errors and nulls once ids and correlation ids are normalised), nothing of organisation 1's may
change, and nothing organisation 2 is ever answered (its own lists and their nested fields
included) may hold an id or datum of organisation 1.

The schema's root fields and object types are enumerated: a new field or type without an
entry in ROOT_FIELDS or OBJECT_TYPES fails the first two tests."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import graphql
import httpx
import pytest
from starlette.applications import Starlette

from sales_api.domain.ids import new_id
from sales_api.schema.build import build_schema
from tests.api.isolation_world import (
    MARKERS,
    NAMED_TYPES,
    Org,
    World,
    by_type,
    everything,
    two_sales,
)
from tests.conftest import Api

# ------------------------------------------------------------------ what is covered, and how

PROBED = "probed"


@dataclass(frozen=True)
class ScannedOnly:
    """No root field takes this type's id; its ids are looked for in every answer."""

    reason: str


@dataclass(frozen=True)
class Exempt:
    reason: str


CATALOGUE = "catalogue: reference data shared by every organisation; takes no owned id"

ROOT_FIELDS: dict[str, str | Exempt] = {
    "Query.order": PROBED,
    "Query.orders": PROBED,
    "Query.stopPlaces": Exempt(CATALOGUE),
    "Query.departures": Exempt(CATALOGUE + " (stop place ids)"),
    "Query.offers": Exempt(CATALOGUE + "; prices a search for the caller's own travellers"),
    "Query.seatMap": Exempt(
        "catalogue: which seats are free is public to every seller by design; it names no "
        "order, reservation or holder (organisation 2's seat map is scanned like all else)"
    ),
    "Query.reservations": PROBED,
    "Query.payment": PROBED,
    "Query.payments": PROBED,
    "Query.credits": PROBED,
    "Query.ticketDistributions": PROBED,
    "Query.verifyTicket": PROBED,
    "Query.receipts": PROBED,
    "Query.orderEvents": PROBED,
    "Query.webhookSubscriptions": Exempt(
        "takes no id or filter: it lists the caller's own (scanned by the own-lists test)"
    ),
    "Query.webhookDeliveries": PROBED,
    "Query.changeOptions": PROBED,
    "Query.refundOptions": PROBED,
    "Mutation.createOrder": Exempt("takes no id: the order is made for the caller's organisation"),
    "Mutation.updateOrder": PROBED,
    "Mutation.cancelOrder": PROBED,
    "Mutation.resetOrder": PROBED,
    "Mutation.confirmOrder": PROBED,
    "Mutation.reserveOffers": PROBED,
    "Mutation.changeSeats": PROBED,
    "Mutation.createPayment": PROBED,
    "Mutation.updatePayment": PROBED,
    "Mutation.createTransaction": PROBED,
    "Mutation.captureTransaction": PROBED,
    "Mutation.cancelTransaction": PROBED,
    "Mutation.generateTickets": PROBED,
    "Mutation.distributeTickets": PROBED,
    "Mutation.sendReceipt": PROBED,
    "Mutation.refundOrder": PROBED,
    "Mutation.exchangeOrderLines": PROBED,
    "Mutation.cancelOrderLines": PROBED,
    "Mutation.extendOrderExpiry": PROBED,
    "Mutation.addFee": PROBED,
    "Mutation.compensateOrder": PROBED,
    "Mutation.disruptServiceJourney": Exempt(
        "takes no owned id: a journey of the shared catalogue; it answers only the caller's"
        " orders (tests/api/test_after_sale.py)"
    ),
    "Mutation.rebookDisruptedOrderLines": PROBED,
    "Mutation.createWebhookSubscription": Exempt(
        "takes no id: the subscription is made for the caller's organisation"
    ),
    "Mutation.deleteWebhookSubscription": PROBED,
    "Mutation.redeliverWebhook": PROBED,
}

OBJECT_TYPES: dict[str, str | ScannedOnly | Exempt] = {
    "Order": PROBED,
    "OrderLine": PROBED,
    "Reservation": PROBED,
    "Payment": PROBED,
    "Transaction": PROBED,
    "Credit": PROBED,
    "TicketDistribution": PROBED,
    "Receipt": PROBED,
    "WebhookSubscription": PROBED,
    "WebhookDelivery": PROBED,
    "TicketDistributionGroup": ScannedOnly("reached only through its order"),
    "Refund": ScannedOnly("answered only by refundOrder"),
    "Fee": ScannedOnly("reached only through its order"),
    "Traveller": ScannedOnly("ids are chosen by the client, per order"),
    "OrderEvent": ScannedOnly("no root field takes its id; orderEvents by order id is probed"),
    "StopPlace": Exempt(CATALOGUE),
    "FareProduct": Exempt(CATALOGUE),
    "Offer": Exempt("a signed quote for the caller's own search; it belongs to no order yet"),
}


# ------------------------------------------------------------------ probes


@dataclass(frozen=True)
class T:
    """Organisation 1's value of this name in a probe's variables (or its stand-in)."""

    name: str

    def __repr__(self) -> str:
        return f"their.{self.name}"


@dataclass(frozen=True)
class M:
    """Organisation 2's own value of this name in a probe's variables."""

    name: str

    def __repr__(self) -> str:
        return f"my.{self.name}"


@dataclass(frozen=True)
class Probe:
    name: str
    document: str  # GraphQL, or "GET <path>" with {placeholders} filled from the variables
    variables: dict[str, Any]
    # Organisation 1 asking the same must see something: the probe's ids are real and the
    # probe would see them if allowed. Off for mutations (they would change what is
    # compared) and for probes that mix organisation 2's own ids in.
    control: bool = True


class Names(Mapping[str, str]):
    """Organisation 1's values by name, or stand-ins; records which names were asked for."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.used.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def resolve(value: Any, theirs: Names, mine: Mapping[str, Any]) -> Any:
    if isinstance(value, T):
        found = theirs[value.name]
        return int(found) if value.name == "organisation" else found
    if isinstance(value, M):
        return mine[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, theirs, mine) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, theirs, mine) for v in value]
    return value


def read(call: str, selection: str, params: str, variables: dict[str, Any], **kw: Any) -> Probe:
    name = f"{call.split('(')[0]} {variables}"
    return Probe(name, f"query({params}) {{ {call} {{ {selection} }} }}", variables, **kw)


def listed(field_name: str, filter_type: str, condition: dict[str, Any]) -> Probe:
    document = (
        f"query($f: {filter_type}) {{ {field_name}(perPage: 100, filter: $f) "
        "{ totalItems items { id } } }"
    )
    return Probe(f"{field_name} {condition}", document, {"f": condition})


def change(mutation: str, input_type: str, selection: str, input: dict[str, Any]) -> Probe:
    document = f"mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ {selection} }} }}"
    return Probe(f"{mutation} {input}", document, {"i": input}, control=False)


# The variables of the aliased documents: their name in the document, their type, value.
ALIASED_VARIABLES: dict[str, tuple[str, T | M]] = {
    "order": ("ID!", T("order")),
    "draft": ("ID!", T("draftOrder")),
    "payment": ("ID!", T("draftPayment")),
    "tx": ("ID!", T("transaction")),
    "draftTx": ("ID!", T("draftTransaction")),
    "reservation": ("ID!", T("draftReservation")),
    "offer": ("ID!", M("offer")),
    "seat": ("SeatRequestInput!", M("freeSeat")),
}


def aliased_changes(part: int, calls: str) -> Probe:
    """Several aliased mutations in one document: four, within the limit of an operation."""
    used = [name for name in ALIASED_VARIABLES if re.search(rf"\${name}\b", calls)]
    params = ", ".join(f"${name}: {ALIASED_VARIABLES[name][0]}" for name in used)
    variables = {name: ALIASED_VARIABLES[name][1] for name in used}
    document = f"mutation({params}) {{ {calls} }}"
    return Probe(f"aliased changes, part {part + 1}", document, variables, control=False)


ERRORS = "errors { code message path }"
ORDER_PAYLOAD = "order { id version status balance } " + ERRORS
TX_PAYLOAD = "transaction { id status } payment { id active } order { id status } " + ERRORS
GROUPS_PAYLOAD = "ticketDistributionGroups { id ticketDistributions { id status } } " + ERRORS
THIEF = "thief@org-two.example"

READS = [
    read("order(id: $id)", "id orderLines { id }", "$id: ID!", {"id": T("order")}),
    read("order(id: $id)", "id status", "$id: ID!", {"id": T("draftOrder")}),
    read("payment(id: $id)", "id credits { id }", "$id: ID!", {"id": T("payment")}),
    read("payment(id: $id)", "id transactions { id }", "$id: ID!", {"id": T("draftPayment")}),
    read("changeOptions(orderId: $id)", "orderId", "$id: ID!", {"id": T("order")}),
    read("changeOptions(orderId: $id)", "orderVersion", "$id: ID!", {"id": T("draftOrder")}),
    read(
        "refundOptions(orderId: $id, orderLineIds: $lines)",
        "orderId totalRefundableAmount orderLines { orderLineId }",
        "$id: ID!, $lines: [ID!]",
        {"id": T("order"), "lines": [T("line")]},
    ),
    read(
        "refundOptions(orderId: $id, orderLineIds: $lines)",
        "orderId orderLines { orderLineId }",
        "$id: ID!, $lines: [ID!]",
        {"id": M("order"), "lines": [M("line"), T("refundedLine")]},
        control=False,
    ),
    read(
        "verifyTicket(ticketToken: $t)",
        "valid reason ticketDistribution { id orderId }",
        "$t: String!",
        {"t": T("ticketToken")},
    ),
    Probe("ticket PDF", "GET /sales/v1/tickets/{t}.pdf", {"t": T("ticket")}),
    listed("orders", "OrderFilter", {"id": {"eq": T("order")}}),
    listed("orders", "OrderFilter", {"id": {"in": [T("order"), T("draftOrder")]}}),
    listed("orders", "OrderFilter", {"organisationId": {"eq": T("organisation")}}),
    listed("orders", "OrderFilter", {"organisationId": {"in": [T("organisation")]}}),
    listed("orders", "OrderFilter", {"externalReference": {"eq": T("externalReference")}}),
    listed("reservations", "ReservationFilter", {"id": {"eq": T("reservation")}}),
    listed("reservations", "ReservationFilter", {"orderId": {"in": [T("draftOrder")]}}),
    listed("payments", "PaymentFilter", {"id": {"eq": T("payment")}}),
    listed("payments", "PaymentFilter", {"orderId": {"eq": T("draftOrder")}}),
    listed("credits", "CreditFilter", {"id": {"eq": T("credit")}}),
    listed("credits", "CreditFilter", {"orderId": {"eq": T("order")}}),
    listed("credits", "CreditFilter", {"paymentId": {"eq": T("payment")}}),
    listed("ticketDistributions", "TicketDistributionFilter", {"id": {"eq": T("ticket")}}),
    listed("ticketDistributions", "TicketDistributionFilter", {"orderId": {"eq": T("order")}}),
    listed("ticketDistributions", "TicketDistributionFilter", {"orderLineId": {"eq": T("line")}}),
    listed("receipts", "ReceiptFilter", {"id": {"eq": T("receipt")}}),
    listed("receipts", "ReceiptFilter", {"orderId": {"eq": T("order")}}),
    listed("orderEvents", "OrderEventFilter", {"orderId": {"eq": T("order")}}),
    listed(
        "webhookDeliveries",
        "WebhookDeliveryFilter",
        {"webhookSubscriptionId": {"eq": T("webhookSubscription")}},
    ),
    listed("orderEvents", "OrderEventFilter", {"orderId": {"in": [T("order"), T("draftOrder")]}}),
    Probe(
        "aliases: reads of theirs beside one of mine",
        """query($order: ID!, $draft: ID!, $payment: ID!, $draftPayment: ID!, $token: String!,
                 $mine: ID!, $line: ID!, $ticket: ID!) {
          a: order(id: $order) { id } b: order(id: $draft) { id payments { id } }
          c: payment(id: $payment) { id } d: payment(id: $draftPayment) { id credits { id } }
          e: verifyTicket(ticketToken: $token) { valid reason ticketDistribution { id } }
          f: orders(filter: {id: {in: [$order, $draft]}}) { totalItems items { id } }
          g: reservations(filter: {orderId: {eq: $order}}) { totalItems items { id } }
          h: payments(filter: {orderId: {in: [$order, $draft]}}) { totalItems items { id } }
          i: credits(filter: {paymentId: {eq: $payment}}) { totalItems items { id } }
          j: ticketDistributions(filter: {orderLineId: {eq: $line}}) { totalItems items { id } }
          k: ticketDistributions(filter: {id: {eq: $ticket}}) { totalItems items { id } }
          l: receipts(filter: {orderId: {eq: $order}}) { totalItems items { id } }
          mine: order(id: $mine) { id }
          mineOnly: orders(filter: {id: {in: [$order, $mine]}}) { totalItems items { id } }
        }""",
        {
            "order": T("order"),
            "draft": T("draftOrder"),
            "payment": T("payment"),
            "draftPayment": T("draftPayment"),
            "token": T("ticketToken"),
            "line": T("line"),
            "ticket": T("ticket"),
            "mine": M("order"),
        },
        control=False,
    ),
    Probe(
        "aliases: options of theirs",
        """query($order: ID!, $draft: ID!, $line: ID!) {
          a: changeOptions(orderId: $order) { orderId }
          b: refundOptions(orderId: $draft) { orderId }
          c: refundOptions(orderId: $order, orderLineIds: [$line]) { orderId } }""",
        {"order": T("order"), "draft": T("draftOrder"), "line": T("line")},
    ),
]

WRITES = [
    change(
        "updateOrder",
        "UpdateOrderInput",
        ORDER_PAYLOAD,
        {"orderId": T("order"), "externalReference": "stolen", "contactInfo": {"email": THIEF}},
    ),
    change(
        "updateOrder",
        "UpdateOrderInput",
        ORDER_PAYLOAD,
        {
            "orderId": T("draftOrder"),
            "expectedVersion": 1,
            "travellers": [{"id": "thief", "userType": "CHILD"}],
        },
    ),
    change("cancelOrder", "OrderRefInput", ORDER_PAYLOAD, {"orderId": T("draftOrder")}),
    change("cancelOrder", "OrderRefInput", ORDER_PAYLOAD, {"orderId": T("order")}),
    change("resetOrder", "OrderRefInput", ORDER_PAYLOAD, {"orderId": T("draftOrder")}),
    change("resetOrder", "OrderRefInput", ORDER_PAYLOAD, {"orderId": T("order")}),
    change("confirmOrder", "OrderRefInput", ORDER_PAYLOAD, {"orderId": T("draftOrder")}),
    change(
        "reserveOffers",
        "ReserveOffersInput",
        "order { id } orderLines { id } reservations { id } " + ERRORS,
        {
            "orderId": T("draftOrder"),
            "offerConfigurations": [{"offerId": M("offer")}],
            "idempotencyKey": "probe-r",
        },
    ),
    change(
        "changeSeats",
        "ChangeSeatsInput",
        "reservation { id seats { seatNumber } } " + ERRORS,
        {"reservationId": T("draftReservation"), "seats": [M("freeSeat")]},
    ),
    change(
        "changeSeats",
        "ChangeSeatsInput",
        "reservation { id } " + ERRORS,
        {"reservationId": T("reservation"), "seats": [M("freeSeat")]},
    ),
    change(
        "createPayment",
        "CreatePaymentInput",
        "payment { id orderId } " + ERRORS,
        {"orderId": T("draftOrder"), "idempotencyKey": "probe-p"},
    ),
    change(
        "updatePayment",
        "UpdatePaymentInput",
        "payment { id active } " + ERRORS,
        {"paymentId": T("draftPayment"), "active": False},
    ),
    change(
        "updatePayment",
        "UpdatePaymentInput",
        "payment { id } " + ERRORS,
        {"paymentId": T("payment"), "totalAmount": "1.00"},
    ),
    change(
        "createTransaction",
        "CreateTransactionInput",
        TX_PAYLOAD,
        {
            "paymentId": T("draftPayment"),
            "paymentType": "VISA",
            "amount": "10.00",
            "paymentToken": "tok_visa",
        },
    ),
    change(
        "captureTransaction",
        "TransactionRefInput",
        TX_PAYLOAD,
        {"transactionId": T("draftTransaction"), "idempotencyKey": "probe-c"},
    ),
    change(
        "captureTransaction", "TransactionRefInput", TX_PAYLOAD, {"transactionId": T("transaction")}
    ),
    change(
        "cancelTransaction",
        "TransactionRefInput",
        TX_PAYLOAD,
        {"transactionId": T("draftTransaction")},
    ),
    change("generateTickets", "GenerateTicketsInput", GROUPS_PAYLOAD, {"orderId": T("order")}),
    change(
        "distributeTickets",
        "DistributeTicketsInput",
        GROUPS_PAYLOAD,
        {"orderId": T("order"), "distributionMethod": "EMAIL", "email": THIEF},
    ),
    change(
        "sendReceipt",
        "SendReceiptInput",
        "receipt { id } " + ERRORS,
        {"orderId": T("order"), "orderVersion": 1, "email": THIEF, "idempotencyKey": "probe-s"},
    ),
    change(
        "deleteWebhookSubscription",
        "WebhookSubscriptionRefInput",
        "webhookSubscription { id active } signingSecret " + ERRORS,
        {"webhookSubscriptionId": T("webhookSubscription")},
    ),
    change(
        "redeliverWebhook",
        "RedeliverWebhookInput",
        "webhookDelivery { id status } " + ERRORS,
        {"webhookDeliveryId": T("webhookDelivery")},
    ),
    change(
        "refundOrder",
        "RefundOrderInput",
        "refund { id } order { id } " + ERRORS,
        {"orderId": T("order"), "orderLineIds": [T("line")], "idempotencyKey": "refund-1"},
    ),
    change(
        "exchangeOrderLines",
        "ExchangeOrderLinesInput",
        "order { id } " + ERRORS,
        {"orderId": T("order"), "orderLineIds": [T("line")], "offerId": M("offer")},
    ),
    change(
        "cancelOrderLines",
        "CancelOrderLinesInput",
        "order { id } " + ERRORS,
        {"orderId": T("draftOrder"), "orderLineIds": [T("draftLine")]},
    ),
    change(
        "cancelOrderLines",
        "CancelOrderLinesInput",
        "order { id version } " + ERRORS,
        {"orderId": M("order"), "orderLineIds": [T("draftLine")]},
    ),
    change(
        "extendOrderExpiry",
        "ExtendOrderExpiryInput",
        "order { id } " + ERRORS,
        {"orderId": T("draftOrder")},
    ),
    change(
        "addFee",
        "AddFeeInput",
        "order { id fees { id } } " + ERRORS,
        {"orderId": T("order"), "type": "MANUAL", "amount": "1.00", "description": "x"},
    ),
    change(
        "compensateOrder",
        "CompensateOrderInput",
        "refund { id } order { id } " + ERRORS,
        {"orderId": T("order"), "amount": "1.00", "reason": "x", "idempotencyKey": "comp-1"},
    ),
    change(
        "rebookDisruptedOrderLines",
        "RebookDisruptedOrderLinesInput",
        "order { id } " + ERRORS,
        {
            "orderId": T("order"),
            "orderLineIds": [T("line")],
            "toServiceJourneyId": "F4-0625:2099-01-01",
            "idempotencyKey": "rebook-1",
        },
    ),
    change(
        "refundOrder",
        "RefundOrderInput",
        "refund { id } order { id version } " + ERRORS,
        {
            "orderId": M("order"),
            "orderLineIds": [M("line"), T("line")],
            "idempotencyKey": "probe-f",
        },
    ),
    *(
        aliased_changes(part, calls)
        for part, calls in enumerate(
            [
                """a: updateOrder(input: {orderId: $draft, externalReference: "x"}) {
                     order { id } errors { code } }
                   b: cancelOrder(input: {orderId: $draft}) { order { id } errors { code } }
                   c: confirmOrder(input: {orderId: $draft}) { order { id } errors { code } }
                   d: resetOrder(input: {orderId: $order}) { order { id } errors { code } }""",
                """e: reserveOffers(input: {orderId: $draft,
                                             offerConfigurations: [{offerId: $offer}]}) {
                     order { id } errors { code } }
                   f: changeSeats(input: {reservationId: $reservation, seats: [$seat]}) {
                     reservation { id } errors { code } }
                   g: createPayment(input: {orderId: $draft}) { payment { id } errors { code } }
                   h: updatePayment(input: {paymentId: $payment, active: false}) {
                     payment { id } errors { code } }""",
                """i: createTransaction(input: {paymentId: $payment, paymentType: CASH,
                                                 amount: "1.00"}) {
                     transaction { id } errors { code } }
                   j: captureTransaction(input: {transactionId: $draftTx}) {
                     transaction { id } order { id } errors { code } }
                   k: cancelTransaction(input: {transactionId: $draftTx}) {
                     transaction { id } errors { code } }
                   q: captureTransaction(input: {transactionId: $tx}) {
                     transaction { id } errors { code } }""",
                """l: generateTickets(input: {orderId: $order}) {
                     ticketDistributionGroups { id } errors { code } }
                   n: distributeTickets(input: {orderId: $order, distributionMethod: APP}) {
                     ticketDistributionGroups { id } errors { code } }
                   o: sendReceipt(input: {orderId: $order, phoneNumber: "+4799999999"}) {
                     receipt { id } errors { code } }
                   p: refundOrder(input: {orderId: $order, idempotencyKey: "probe-alias"}) {
                     refund { id } order { id } errors { code } }""",
            ]
        )
    ),
]


# ------------------------------------------------------------------ asking and comparing


def stand_ins() -> dict[str, str]:
    """Values of the same shape as organisation 1's that belong to nobody."""
    values = {name: new_id() for name in NAMED_TYPES}
    values.update({name: f"{name}-{new_id()}" for name in MARKERS})
    values["organisation"] = "424242"
    return values


async def signed_ticket_token(app: Starlette, token: str, ticket_id: str) -> str:
    """The same ticket's claims under another ticket id, validly signed by the ticket key."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    signed: str = await app.state.ticket_signer.sign({**claims, "jti": ticket_id})
    return signed


async def ask(asker: Org, probe: Probe, theirs: Names, mine: Mapping[str, Any]) -> httpx.Response:
    variables = resolve(probe.variables, theirs, mine)
    if probe.document.startswith("GET "):
        return await asker.get(probe.document.removeprefix("GET ").format(**variables))
    return await asker.post(probe.document, variables)


def normalised(response: httpx.Response, names: Mapping[str, str]) -> dict[str, Any]:
    """Status and body, each named value replaced by its name and correlation ids blanked,
    so that the answers for organisation 1's values and for stand-ins compare equal."""
    replace = sorted(
        ((value, f"<{name}>") for name, value in names.items() if name != "organisation"),
        key=lambda pair: -len(pair[0]),
    )

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: "<cid>" if k == "correlationId" else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            for value, name in replace:
                node = node.replace(value, name)
        return node

    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and body.get("data") is None and body.get("errors"):
        # Several non-null root fields failing: graphql-core reports whichever failed first.
        body["errors"] = sorted(
            ({"message": e["message"], "code": e["extensions"]["code"]} for e in body["errors"]),
            key=str,
        )
    return {"status": response.status_code, "body": walk(body)}


def absent(value: Any) -> bool:
    """What a root field answers for something that is not there."""
    if value is None:
        return True
    if isinstance(value, dict) and "errors" in value:  # a mutation's payload
        codes = [e["code"] for e in value["errors"]]
        rest = [v for k, v in value.items() if k != "errors"]
        return codes == ["NOT_FOUND"] and all(v in (None, []) for v in rest)
    if isinstance(value, dict) and "items" in value:
        return bool(value["items"] == [] and value["totalItems"] == 0)
    if isinstance(value, dict) and "valid" in value:
        return bool(value == {"valid": False, "reason": "UNKNOWN", "ticketDistribution": None})
    return False


def looks_absent(answer: dict[str, Any]) -> bool:
    """Every root field (but those aliased mine*) answers "not there"."""
    body = answer["body"]
    if answer["status"] not in (200, 404) or not isinstance(body, dict):
        return False
    if body.get("data") is None:  # a 404, or a non-null root field refused
        return bool(body["errors"]) and all(e["code"] == "NOT_FOUND" for e in body["errors"])
    if answer["status"] != 200 or body.get("errors"):
        return False
    return all(absent(v) for k, v in body["data"].items() if not k.startswith("mine"))


async def run_probes(world: World, probes: list[Probe]) -> list[str]:
    """Each probe asked by organisation 2 with organisation 1's values and with stand-ins;
    returns every probe whose two answers differ or do not say "not there"."""
    problems: list[str] = []
    for probe in probes:
        standing_in = stand_ins()
        standing_in["ticketToken"] = await signed_ticket_token(
            world.app, world.theirs["ticketToken"], standing_in["ticket"]
        )
        try:
            foreign = await ask(world.two, probe, Names(world.theirs), world.mine)
            missing = await ask(world.two, probe, Names(standing_in), world.mine)
        except Exception as error:  # e.g. an assertion in the app, raised through ASGI
            problems.append(f"{probe.name}: raised {error!r}")
            continue
        seen, expected = normalised(foreign, world.theirs), normalised(missing, standing_in)
        if seen != expected:
            problems.append(f"{probe.name}: {seen} differs from the stand-in's {expected}")
        elif not looks_absent(expected):
            problems.append(f"{probe.name}: {expected} does not say 'not there'")
        if probe.control:
            own = normalised(await ask(world.one, probe, Names(world.theirs), {}), world.theirs)
            if looks_absent(own):
                problems.append(f"{probe.name}: organisation 1 itself gets nothing: {own}")
    return problems


@pytest.fixture
async def world(api: Api, app: Starlette) -> World:
    return await two_sales(api, app)


# ------------------------------------------------------------------ the tables are complete


def sdl() -> graphql.GraphQLSchema:
    return graphql.build_schema(build_schema().as_str())


def root_fields_of(document: str) -> set[str]:
    """The root fields a probe's GraphQL document calls, as Query.x and Mutation.y."""
    if document.startswith("GET "):
        return set()
    names = set()
    for definition in graphql.parse(document).definitions:
        assert isinstance(definition, graphql.OperationDefinitionNode)
        root = "Mutation" if definition.operation is graphql.OperationType.MUTATION else "Query"
        for selection in definition.selection_set.selections:
            assert isinstance(selection, graphql.FieldNode)
            names.add(f"{root}.{selection.name.value}")
    return names


def test_every_root_field_is_probed_or_exempt_for_a_reason() -> None:
    schema = sdl()
    assert schema.query_type is not None and schema.mutation_type is not None
    in_schema = {f"Query.{name}" for name in schema.query_type.fields}
    in_schema |= {f"Mutation.{name}" for name in schema.mutation_type.fields}
    untabled, stale = sorted(in_schema - set(ROOT_FIELDS)), sorted(set(ROOT_FIELDS) - in_schema)
    assert not untabled and not stale, (
        f"give each new root field an isolation probe or an exemption with its reason: "
        f"not in ROOT_FIELDS {untabled}, no longer in the schema {stale}"
    )
    probed = {name for name, how in ROOT_FIELDS.items() if how == PROBED}
    called = {name for probe in READS + WRITES for name in root_fields_of(probe.document)}
    assert called == probed, f"the table and the probes disagree on {sorted(called ^ probed)}"
    for probe in READS + WRITES:
        if not probe.document.startswith("GET "):
            errors = graphql.validate(schema, graphql.parse(probe.document))
            assert errors == [], (probe.name, errors)
    assert all(len(how.reason) > 20 for how in ROOT_FIELDS.values() if isinstance(how, Exempt))


def test_every_object_type_with_an_id_is_probed_or_scanned_or_exempt() -> None:
    schema = sdl()
    with_id = {
        name
        for name, kind in schema.type_map.items()
        if isinstance(kind, graphql.GraphQLObjectType)
        and not name.startswith("__")
        and "id" in kind.fields
    }
    untabled, stale = sorted(with_id - set(OBJECT_TYPES)), sorted(set(OBJECT_TYPES) - with_id)
    assert not untabled and not stale, (
        f"not in OBJECT_TYPES {untabled}, no longer in the schema {stale}"
    )
    named = Names(stand_ins())
    for probe in READS + WRITES:
        resolve(probe.variables, named, {"order": "", "line": "", "offer": "", "freeSeat": {}})
    covered = {NAMED_TYPES[name] for name in named.used if name in NAMED_TYPES}
    probed = {name for name, how in OBJECT_TYPES.items() if how == PROBED}
    assert probed <= covered, f"no probe names an id of {sorted(probed - covered)}"
    assert set(NAMED_TYPES.values()) <= with_id


# ------------------------------------------------------------------ organisation 2 probing


async def test_reads_of_their_ids_answer_as_for_ids_that_do_not_exist(world: World) -> None:
    before = await world.snapshot()
    problems = await run_probes(world, READS)
    assert not problems, "\n".join(problems)
    assert await world.snapshot() == before
    world.assert_nothing_leaked()


async def test_changes_to_their_ids_answer_as_for_ids_that_do_not_exist_and_change_nothing(
    world: World,
) -> None:
    before = await world.snapshot()
    problems = await run_probes(world, WRITES)
    assert not problems, "\n".join(problems)
    assert await world.snapshot() == before, "organisation 2 changed organisation 1's sales"
    world.assert_nothing_leaked()


async def test_their_own_lists_and_nested_fields_hold_nothing_of_the_other(world: World) -> None:
    """Organisation 2 reads all of its own (every list, every nested field): its sale and
    only its sale. Organisation 1 has ids of every type the leak scan looks for."""
    scanned = {name for name, how in OBJECT_TYPES.items() if not isinstance(how, Exempt)}
    assert set(world.their_ids) == scanned
    own = await everything(world.two)
    own_ids = by_type(own)
    assert set(own_ids) == scanned - {"Refund"}, "organisation 2 has every kind of thing"
    for kind, ids in own_ids.items():
        assert not ids & world.their_ids[kind], kind
    assert [o["id"] for o in own["orders"]["items"]] == [world.mine["order"]]
    assert {o["organisationId"] for o in own["orders"]["items"] + own["payments"]["items"]} == {2}
    events = own.pop("orderEvents")
    assert events["totalItems"] == len(own["orders"]["items"][0]["events"]) > 0
    totals = {name: own[name]["totalItems"] for name in own}
    assert totals == {
        "orders": 1,
        "reservations": 2,
        "payments": 1,
        "credits": 2,  # the refund's and the compensation's
        "ticketDistributions": 2,
        "receipts": 1,
        "webhookSubscriptions": 1,
        "webhookDeliveries": 1,
    }
    world.assert_nothing_leaked()
