"""SQL statements per read query, for every list field of the schema: a query per root field
asking for every list below it, run small and large (perPage 1 and 100 for the paged lists;
an order with the fewest and the most lines, 1 and 4 travellers, ... for the others).
A list field read once per parent instead of once per list (an N+1) shows as a count that
grows with the size. Used by `bench/run.py` and `tests/api/test_statement_counts.py`.

Only SELECT statements are counted; writes (INSERT, UPDATE, DELETE) are counted apart, and
a read should have none."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from sqlalchemy import event
from starlette.applications import Starlette

from sales_api.domain.catalogue import LOCAL_TIME
from sales_api.schema.build import build_schema

GRAPHQL = "/sales/v1/graphql"
OSLO, DRAMMEN, BERGEN = "NSR:StopPlace:337", "NSR:StopPlace:444", "NSR:StopPlace:548"
# Every list of an order, of a payment, of a reservation: shared by the paged lists and by
# order(id) and payment(id), so the single reads ask for as much as the pages.
FRAGMENTS: dict[str, str] = {
    "StopFields": "fragment StopFields on StopPlace { id name }",
    "ReservationFields": """fragment ReservationFields on Reservation {
  id orderId orderLineId status serviceJourneyId expireAt createdAt
  from { ...StopFields } to { ...StopFields }
  seats { carNumber seatNumber travellerId }
}""",
    "TicketFields": """fragment TicketFields on TicketDistribution {
  id orderId orderLineId travellerId status distributionMethod validFrom validTo createdAt
}""",
    "CreditFields": """fragment CreditFields on Credit {
  id orderId orderVersion paymentId transactionId amount currency status createdAt
}""",
    "PaymentFields": """fragment PaymentFields on Payment {
  id orderId orderVersion organisationId totalAmount currency active createdAt
  transactions {
    id paymentId paymentType paymentTypeGroup amount currency status maskedCardNumber
    pspReference createdAt capturedAt
    operationLog { operation amount status at }
  }
  credits { ...CreditFields }
}""",
    "ReceiptFields": """fragment ReceiptFields on Receipt {
  id reference orderId orderVersion language email status totalAmount totalTaxAmount
  currency createdAt sentAt
  lines { description amount taxAmount taxRate }
}""",
    "OrderFields": """fragment OrderFields on Order {
  id version status totalAmount totalTaxAmount balance currency organisationId pos
  distributionChannelId externalReference createdAt lastConfirmedAt expireAt
  contactInfo { name email phoneNumber }
  travellers { id userType name }
  orderLines {
    id orderId status createdAt
    product { id name fareClass refundable changeable }
    travelSpecification {
      serviceJourneyId departureTime arrivalTime from { ...StopFields } to { ...StopFields }
    }
    travellers { id userType name }
    price { amount taxAmount taxRate currency }
    reservation { ...ReservationFields }
    ticketDistributions { ...TicketFields }
  }
  reservations { ...ReservationFields }
  paymentRefs { orderVersion paymentId transactionId amount currency completedAt }
  payments { ...PaymentFields }
  ticketDistributionGroups {
    id orderId orderLineId orderVersion
    ticketDistributions { ...TicketFields }
  }
  receipts { ...ReceiptFields }
  events { ...EventFields }
  fees { id orderId orderVersion type amount taxAmount currency description createdAt }
}""",
    "EventFields": """fragment EventFields on OrderEvent {
  id orderId orderVersion type occurredAt clientId pos distributionChannelId correlationId
  subjectIds
}""",
}
PAGE = "page perPage totalItems totalPages"
SPREAD = re.compile(r"\.\.\.(\w+)")


def _uses(document: str) -> str:
    """The document with the fragments it spreads (GraphQL refuses unused fragments)."""
    needed: set[str] = set()
    todo = set(SPREAD.findall(document))
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo |= set(SPREAD.findall(FRAGMENTS[name]))
    return "\n".join([document, *(FRAGMENTS[name] for name in sorted(needed))])


def _paged(field: str, selection: str) -> str:
    return _uses(
        f"query($perPage: Int!) {{\n  {field}(page: 1, perPage: $perPage) {{\n"
        f"    {PAGE} items {{ {selection} }}\n  }}\n}}"
    )


# The paged root lists: each run with perPage 1 and 100; the count must not change.
PAGED: dict[str, str] = {
    "orders": _paged("orders", "...OrderFields"),
    "reservations": _paged("reservations", "...ReservationFields"),
    "payments": _paged("payments", "...PaymentFields"),
    "credits": _paged("credits", "...CreditFields"),
    "ticketDistributions": _paged("ticketDistributions", "...TicketFields"),
    "receipts": _paged("receipts", "...ReceiptFields"),
    # The oldest event (a new order's) concerns nothing more: subjectIds is read through
    # the orders' events, where every list must have entries even on a page of one.
    "orderEvents": _paged(
        "orderEvents",
        "id orderId orderVersion type occurredAt clientId pos distributionChannelId correlationId",
    ),
    "webhookSubscriptions": _paged("webhookSubscriptions", "id url eventTypes active createdAt"),
    "webhookDeliveries": _paged(
        "webhookDeliveries",
        "id webhookSubscriptionId eventId eventType status attempts lastResponseStatus "
        "lastAttemptAt nextAttemptAt deliveredAt",
    ),
}

# The other reads with lists: each run with a small and a large answer where the schema
# has a knob for it (lines of an order, transactions of a payment, travellers and
# departures of a search); the count must not change either.
SINGLE: dict[str, str] = {
    "order": _uses("query($id: ID!) { order(id: $id) { ...OrderFields } }"),
    "payment": _uses("query($id: ID!) { payment(id: $id) { ...PaymentFields } }"),
    "stopPlaces": "{ stopPlaces { id name } }",
    "departures": _uses(
        "query($from: ID!, $to: ID!, $date: Date!) {\n"
        "  departures(fromStopPlaceId: $from, toStopPlaceId: $to, date: $date) {\n"
        "    serviceJourneyId lineName departureTime arrivalTime\n"
        "    from { ...StopFields } to { ...StopFields }\n  }\n}"
    ),
    "offers": _uses(
        "query($search: OfferSearchInput!) {\n"
        "  offers(search: $search) {\n"
        "    id travellerIds reservationRequired availableSeats expireAt\n"
        "    product { id name fareClass refundable changeable }\n"
        "    price { amount taxAmount taxRate currency }\n"
        "    travelSpecification {\n"
        "      serviceJourneyId departureTime arrivalTime\n"
        "      from { ...StopFields } to { ...StopFields }\n    }\n  }\n}"
    ),
    "seatMap": _uses(
        "query($journey: ID!, $from: ID!, $to: ID!) {\n"
        "  seatMap(serviceJourneyId: $journey, fromStopPlaceId: $from, toStopPlaceId: $to) {\n"
        "    serviceJourneyId from { ...StopFields } to { ...StopFields }\n"
        "    cars { number fareClass seats { seatNumber available properties } }\n  }\n}"
    ),
    "changeOptions": (
        "query($id: ID!) {\n  changeOptions(orderId: $id) {\n    orderId orderVersion\n"
        "    options { type allowed reason fee deadline }\n"
        "    orderLines { orderLineId options { type allowed reason fee deadline } }\n  }\n}"
    ),
    "refundOptions": (
        "query($id: ID!) {\n  refundOptions(orderId: $id) {\n"
        "    orderId orderVersion currency totalRefundableAmount\n"
        "    orderLines { orderLineId refundable reason paidAmount fee refundableAmount }\n"
        "  }\n}"
    ),
}

QUERIES: dict[str, str] = {**PAGED, **SINGLE}

# What the small and large runs of the single reads are chosen from.
SIZES_QUERY = """{
  orders(perPage: 100) { items { id status orderLines { id } } }
  payments(perPage: 100) { items { id transactions { id } } }
}"""

SALE_OFFERS = """query($search: OfferSearchInput!) {
  offers(search: $search) { id product { name } availableSeats
    travelSpecification { serviceJourneyId departureTime } } }"""
RESERVE = """mutation($offer: ID!) {
  reserveOffers(input: {offerConfigurations: [{offerId: $offer}]}) {
    order { id totalAmount orderLines { id } } errors { code message } } }"""
CREATE_PAYMENT = """mutation($order: ID!, $amount: Amount) {
  createPayment(input: {orderId: $order, totalAmount: $amount}) {
    payment { id totalAmount } errors { code message } } }"""
CREATE_TRANSACTION = """mutation($payment: ID!, $amount: Amount!, $token: String!) {
  createTransaction(input: {paymentId: $payment, paymentType: VISA, amount: $amount,
                            paymentToken: $token}) {
    transaction { id } errors { code message } } }"""
CAPTURE = """mutation($transaction: ID!) {
  captureTransaction(input: {transactionId: $transaction}) {
    order { status balance } errors { code message } } }"""
GENERATE_TICKETS = """mutation($order: ID!) {
  generateTickets(input: {orderId: $order}) {
    ticketDistributionGroups { id } errors { code message } } }"""
SEND_RECEIPT = """mutation($order: ID!, $version: Int) {
  sendReceipt(input: {orderId: $order, orderVersion: $version, email: "bench@example.no"}) {
    receipt { id } errors { code message } } }"""
REFUND = """mutation($order: ID!, $line: ID!, $key: String!) {
  refundOrder(input: {orderId: $order, orderLineIds: [$line], idempotencyKey: $key}) {
    refund { id } errors { code message } } }"""


@dataclass(frozen=True)
class Run:
    """The variables of a query's small and large run."""

    small: dict[str, Any]
    large: dict[str, Any]


@dataclass(frozen=True)
class Counted:
    """Statements and answer sizes of a query's small and large run."""

    selects: tuple[int, int]
    writes: tuple[int, int]
    connections: tuple[int, int]
    """Connections the read side used for the request (one, whatever it reads)."""
    # List entries in the whole answer, at every level, and in the root list (the page's
    # items, or the root field when it is a list; 0 when it is not).
    entries: tuple[int, int]
    root_items: tuple[int, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "selects": list(self.selects),
            "writes": list(self.writes),
            "connections": list(self.connections),
            "list_entries": list(self.entries),
            "root_items": list(self.root_items),
        }


class GraphQLFailed(RuntimeError):
    """A query of the count answered with errors: the count would mean nothing."""


# ------------------------------------------------------------------ list fields


def _list_field(field_type: Any) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def schema_list_fields(schema: GraphQLSchema) -> set[str]:
    """Every field ("Type.field") whose type is a list, on the object types reachable from
    Query (non-null unwrapped)."""
    assert schema.query_type is not None
    found: set[str] = set()
    seen: set[str] = set()
    todo: list[GraphQLObjectType] = [schema.query_type]
    while todo:
        object_type = todo.pop()
        if object_type.name in seen:
            continue
        seen.add(object_type.name)
        for name, field in object_type.fields.items():
            if _list_field(field.type):
                found.add(f"{object_type.name}.{name}")
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType):
                todo.append(named)
    return found


def selected_list_fields(schema: GraphQLSchema, query: str) -> set[str]:
    """The list fields ("Type.field") a query selects, fragments included."""
    type_info = TypeInfo(schema)
    found: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent, field = type_info.get_parent_type(), type_info.get_field_def()
            if parent is not None and field is not None and _list_field(field.type):
                found.add(f"{parent.name}.{node.name.value}")

    # Fragments are visited where they are defined, with their type condition as the type.
    visit(parse(query), TypeInfoVisitor(type_info, Collect()))
    return found


# ------------------------------------------------------------------ counting


WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.I)
WRITE_IN_WITH = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET)\b", re.I)
SELECT = re.compile(r"\s*\(*\s*(SELECT|WITH)\b", re.I)


def _is_write(statement: str) -> bool:
    if WRITE.match(statement):
        return True
    return re.match(r"\s*WITH\b", statement, re.I) is not None and bool(
        WRITE_IN_WITH.search(statement)
    )


def _is_select(statement: str) -> bool:
    return not _is_write(statement) and SELECT.match(statement) is not None


class Recorded(list[tuple[str, Any]]):
    """(SQL, parameters) in the order sent; `read_connections` holds the numbers of the
    read side's connections that sent any, `reads` the read side's statements."""

    def __init__(self) -> None:
        super().__init__()
        self.read_connections: set[int] = set()
        self.reads: list[str] = []


@contextmanager
def recorded(app: Starlette) -> Iterator[Recorded]:
    """Every statement the app sends while inside: the write side's (through the engine)
    and the read side's (through its observers)."""
    statements = Recorded()

    def written(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    def read(connection: int, statement: str, parameters: Any) -> None:
        statements.append((statement, parameters))
        statements.reads.append(statement)
        statements.read_connections.add(connection)

    engine = app.state.engine.sync_engine
    observers = app.state.reads.observers
    event.listen(engine, "before_cursor_execute", written)
    observers.append(read)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", written)
        observers.remove(read)


def _entries(value: Any) -> int:
    if isinstance(value, list):
        return len(value) + sum(_entries(v) for v in value)
    if isinstance(value, dict):
        return sum(_entries(v) for v in value.values())
    return 0


def _root_items(data: dict[str, Any]) -> int:
    (root,) = data.values()
    if isinstance(root, list):
        return len(root)
    if isinstance(root, dict) and isinstance(root.get("items"), list):
        return len(root["items"])
    return 0


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        GRAPHQL, json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise GraphQLFailed(f"{response.status_code}: {body}")
    data: dict[str, Any] = body["data"]
    return data


async def choose_runs(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Run]:
    """Small and large variables for every query, from the data there is: the order with
    the fewest and the most lines among the newest 100 (not cancelled), the payment with
    the fewest and the most transactions; offers for one traveller on one departure and
    for four on every departure of tomorrow."""
    sizes = await _post(client, headers, SIZES_QUERY, {})
    orders = [o for o in sizes["orders"]["items"] if o["status"] != "CANCELLED"]
    payments = sizes["payments"]["items"]
    if not orders or not payments:
        raise GraphQLFailed("no orders or payments to count statements on")
    few_lines = min(orders, key=lambda o: len(o["orderLines"]))["id"]
    most_lines = max(orders, key=lambda o: len(o["orderLines"]))["id"]
    few_tx = min(payments, key=lambda p: len(p["transactions"]))["id"]
    most_tx = max(payments, key=lambda p: len(p["transactions"]))["id"]
    tomorrow = (datetime.now(LOCAL_TIME).date() + timedelta(days=1)).isoformat()
    departures = await _post(
        client, headers, SINGLE["departures"], {"from": OSLO, "to": BERGEN, "date": tomorrow}
    )
    journey = departures["departures"][0]["serviceJourneyId"]

    def search(travellers: int, journey: str | None) -> dict[str, Any]:
        people = [{"id": f"t{i}", "userType": "ADULT"} for i in range(travellers)]
        found = {
            "fromStopPlaceId": OSLO,
            "toStopPlaceId": BERGEN,
            "date": tomorrow,
            "travellers": people,
            "serviceJourneyId": journey,
        }
        return {"search": found}

    runs = {name: Run({"perPage": 1}, {"perPage": 100}) for name in PAGED}
    route = {"from": OSLO, "to": BERGEN, "date": tomorrow}
    runs.update(
        order=Run({"id": few_lines}, {"id": most_lines}),
        payment=Run({"id": few_tx}, {"id": most_tx}),
        stopPlaces=Run({}, {}),
        departures=Run(route, route),
        offers=Run(search(1, journey), search(4, None)),
        seatMap=Run(
            {"journey": journey, "from": OSLO, "to": DRAMMEN},
            {"journey": journey, "from": OSLO, "to": BERGEN},
        ),
        changeOptions=Run({"id": few_lines}, {"id": most_lines}),
        refundOptions=Run({"id": few_lines}, {"id": most_lines}),
    )
    return runs


async def count_one(
    client: httpx.AsyncClient,
    app: Starlette,
    headers: dict[str, str],
    query: str,
    run: Run,
) -> Counted:
    """A query's statements, small and large, each after a warm-up run (the first request
    may load what the app keeps afterwards, e.g. the catalogue)."""
    measured: list[tuple[int, int, int, int, int]] = []
    for variables in (run.small, run.large):
        await _post(client, headers, query, variables)
        with recorded(app) as statements:
            data = await _post(client, headers, query, variables)
        selects = sum(1 for s, _ in statements if _is_select(s))
        writes = sum(1 for s, _ in statements if _is_write(s))
        connections = len(statements.read_connections)
        measured.append((selects, writes, connections, _entries(data), _root_items(data)))
    small, large = measured
    return Counted(
        selects=(small[0], large[0]),
        writes=(small[1], large[1]),
        connections=(small[2], large[2]),
        entries=(small[3], large[3]),
        root_items=(small[4], large[4]),
    )


async def count_statements(
    client: httpx.AsyncClient,
    app: Starlette,
    headers: dict[str, str],
    runs: dict[str, Run] | None = None,
) -> dict[str, Counted]:
    """SELECT (and write) statements of every query in QUERIES, small and large. `client`
    speaks to `app` (in process, through httpx.ASGITransport), `headers` carry its bearer
    token and Entur-POS; the app's query cost limit must allow perPage: 100 with every
    nested list (SALES_MAX_QUERY_COST)."""
    runs = runs or await choose_runs(client, headers)
    return {
        name: await count_one(client, app, headers, query, runs[name])
        for name, query in QUERIES.items()
    }


# ------------------------------------------------------------------ data for the bench


async def complete_sale(
    client: httpx.AsyncClient, headers: dict[str, str], travellers: int, key: str
) -> str:
    """A sale with something in every list: Flex Oslo -> Bergen tomorrow; two payments (the
    first 100.00, the second the rest with a declined transaction before the captured one);
    tickets; a receipt; with two or more lines one line refunded (credits) and a receipt of
    the new version. Returns the order id."""

    async def call(query: str, field: str, **variables: Any) -> dict[str, Any]:
        answer: dict[str, Any] = (await _post(client, headers, query, variables))[field]
        if answer.get("errors"):
            raise GraphQLFailed(f"{field}: {answer['errors']}")
        return answer

    tomorrow = (datetime.now(LOCAL_TIME).date() + timedelta(days=1)).isoformat()
    people = [{"id": f"t{i}", "userType": "ADULT"} for i in range(travellers)]
    search = {
        "fromStopPlaceId": OSLO,
        "toStopPlaceId": BERGEN,
        "date": tomorrow,
        "travellers": people,
    }
    offers = (await _post(client, headers, SALE_OFFERS, {"search": search}))["offers"]
    now = datetime.now(LOCAL_TIME)
    offer = next(
        o
        for o in offers
        if o["product"]["name"] == "Flex"
        and o["availableSeats"] >= travellers
        and datetime.fromisoformat(o["travelSpecification"]["departureTime"]) > now
    )
    order = (await call(RESERVE, "reserveOffers", offer=offer["id"]))["order"]

    async def transact(payment: dict[str, Any], token: str) -> str:
        created = await call(
            CREATE_TRANSACTION,
            "createTransaction",
            payment=payment["id"],
            amount=payment["totalAmount"],
            token=token,
        )
        return str(created["transaction"]["id"])

    first = await call(CREATE_PAYMENT, "createPayment", order=order["id"], amount="100.00")
    await call(
        CAPTURE, "captureTransaction", transaction=await transact(first["payment"], "tok_visa")
    )
    rest = (await call(CREATE_PAYMENT, "createPayment", order=order["id"]))["payment"]
    declined = await transact(rest, "tok_declined")
    refused = await _post(client, headers, CAPTURE, {"transaction": declined})
    if not refused["captureTransaction"]["errors"]:
        raise GraphQLFailed("tok_declined was captured")
    captured = await call(
        CAPTURE, "captureTransaction", transaction=await transact(rest, "tok_visa")
    )
    if captured["order"]["status"] != "CONFIRMED":
        raise GraphQLFailed(f"the sale was not confirmed: {captured}")
    await call(GENERATE_TICKETS, "generateTickets", order=order["id"])
    await call(SEND_RECEIPT, "sendReceipt", order=order["id"], version=1)
    if travellers > 1:
        line = order["orderLines"][0]["id"]
        await call(REFUND, "refundOrder", order=order["id"], line=line, key=f"{key}-refund")
        await call(SEND_RECEIPT, "sendReceipt", order=order["id"], version=2)
    return str(order["id"])


async def report(
    client: httpx.AsyncClient, app: Starlette, headers: dict[str, str]
) -> dict[str, Any]:
    """For the bench: three whole sales (so tickets, receipts and credits exist), then every
    query's counts, with the list fields each asks for."""
    started = time.perf_counter()
    for index, travellers in enumerate((1, 2, 4)):
        await complete_sale(client, headers, travellers, key=f"bench-counts-{index}")
    counts = await count_statements(client, app, headers)
    schema = build_schema()._schema
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "queries": {
            name: {
                "paged": name in PAGED,
                **counted.as_json(),
                "list_fields": sorted(selected_list_fields(schema, QUERIES[name])),
            }
            for name, counted in counts.items()
        },
    }
