"""SQL statements of every list field in the schema: each read costs the same SELECTs for one
item as for a hundred (perPage 1 and 100), for an order of one line as of four, for offers
for one traveller as for four. A list field read once per parent (an N+1) fails here.

The queries live in bench/statement_counts.py, which the benchmark runs too. Their answers
come from sales made through the API, with something in every list: four orders (1, 2, 2 and
4 travellers), each paid with two payments (one with a declined transaction), with tickets
and receipts, and lines refunded from the orders with two or more (credits)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from bench.statement_counts import (
    PAGED,
    QUERIES,
    Counted,
    Run,
    choose_runs,
    count_statements,
    schema_list_fields,
    selected_list_fields,
)
from sales_api.app import create_app
from sales_api.schema.build import build_schema
from sales_api.settings import Settings
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.api.test_refunds import REFUND
from tests.api.test_tickets_receipts import GENERATE, SEND_RECEIPT
from tests.conftest import APP_CHANNEL, SALES_TABLES, Api, MovableClock

# Every list field reachable from Query, and the queries that ask for it (a Connection's
# `items` by its root query). A new list field fails the test until a query covers it.
LIST_FIELDS: dict[str, set[str]] = {
    "Query.stopPlaces": {"stopPlaces"},
    "Query.departures": {"departures"},
    "Query.offers": {"offers"},
    "Offer.travellerIds": {"offers"},
    "SeatMap.cars": {"seatMap"},
    "Car.seats": {"seatMap"},
    "SeatAvailability.properties": {"seatMap"},
    "OrderConnection.items": {"orders"},
    "Order.travellers": {"orders", "order"},
    "Order.orderLines": {"orders", "order"},
    "Order.reservations": {"orders", "order"},
    "Order.paymentRefs": {"orders", "order"},
    "Order.payments": {"orders", "order"},
    "Order.ticketDistributionGroups": {"orders", "order"},
    "Order.receipts": {"orders", "order"},
    "OrderLine.travellers": {"orders", "order"},
    "OrderLine.ticketDistributions": {"orders", "order"},
    "TicketDistributionGroup.ticketDistributions": {"orders", "order"},
    "ReservationConnection.items": {"reservations"},
    "Reservation.seats": {"orders", "order", "reservations"},
    "PaymentConnection.items": {"payments"},
    "Payment.transactions": {"orders", "order", "payments", "payment"},
    "Payment.credits": {"orders", "order", "payments", "payment"},
    "Transaction.operationLog": {"orders", "order", "payments", "payment"},
    "CreditConnection.items": {"credits"},
    "TicketDistributionConnection.items": {"ticketDistributions"},
    "ReceiptConnection.items": {"receipts"},
    "Receipt.lines": {"orders", "order", "receipts"},
    "Order.events": {"orders", "order"},
    "Order.fees": {"orders", "order"},
    "OrderEvent.subjectIds": {"orders", "order"},
    "OrderEventConnection.items": {"orderEvents"},
    "WebhookSubscriptionConnection.items": {"webhookSubscriptions"},
    "WebhookSubscription.eventTypes": {"webhookSubscriptions"},
    "WebhookDeliveryConnection.items": {"webhookDeliveries"},
    "ChangeOptions.options": {"changeOptions"},
    "ChangeOptions.orderLines": {"changeOptions"},
    "OrderLineChangeOptions.options": {"changeOptions"},
    "RefundOptions.orderLines": {"refundOptions"},
}

# The SELECTs each query sends now, small and large alike: one per relation the selection
# follows at each level (orders and order(id) ask for every list: the order's travellers and
# its lines' travellers are two relations, so are its reservations and its lines'
# reservation, its tickets by group and by line, its payments and its paymentRefs); stop
# places and departures come from the catalogue the app keeps, after the warm-up.
# A ceiling, so that a statement more per request shows here too.
MOST_SELECTS: dict[str, int] = {
    "orders": 16,
    "reservations": 1,
    "payments": 3,
    "credits": 1,
    "ticketDistributions": 1,
    "receipts": 1,
    "order": 16,
    "orderEvents": 1,
    "webhookSubscriptions": 1,
    "webhookDeliveries": 1,
    "payment": 3,
    "stopPlaces": 0,
    "departures": 0,
    "offers": 2,
    "seatMap": 1,
    "changeOptions": 7,
    "refundOptions": 7,
}

# Query name -> why its count still grows with the answer (an N+1 not fixed yet). Such a
# case runs as xfail(strict=True): it fails the day the count stops growing.
GROWS: dict[str, str] = {}

WEBHOOK = """mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { errors { code message } } }"""

# Items of each paged list with perPage: 100, from the sales below.
ALL_ITEMS = {
    "orders": 4,
    "reservations": 1 + 2 + 2 + 4,
    "payments": 2 * 4,
    # Per refunded line its credit, and a compensation's credit each.
    "credits": (1 + 1 + 2) * 2,
    "ticketDistributions": 1 + 2 + 2 + 4,
    "receipts": 1 + 2 + 2 + 2,
    # 13 per sale (created, reserved, two payments, three transactions of which one
    # declined and failed, two captures, confirmed, tickets, a receipt), and per refunded
    # line its refund and disabled tickets and a compensation, then one more receipt.
    "orderEvents": 13 + (13 + 3 + 1) * 2 + (13 + 6 + 1),
    "webhookSubscriptions": 2,
    # ORDER_CONFIRMED to both, RECEIPT_QUEUED (7 receipts) to one, TICKETS_GENERATED to
    # the other.
    "webhookDeliveries": 4 + 7 + 4 + 4,
}
# The reads without a size to vary: answers of the same size twice.
FIXED_SIZE = {"stopPlaces", "departures", "seatMap"}


@dataclass
class Measured:
    counts: dict[str, Counted]
    runs: dict[str, Run]
    small: dict[str, Any]
    large: dict[str, Any]
    orders: list[str]  # ids of the orders with 1, 2, 2 and 4 lines


async def complete_sale(api: Api, travellers: int, refunds: int) -> str:
    """Reserved, paid with two payments (100.00, then the rest after a declined attempt),
    tickets, a receipt; then `refunds` lines refunded one at a time, as many compensations,
    and a receipt of the last version. Returns the order id."""
    order = await a_reserved_order(api, travellers=travellers)
    first = await pay(api, order["id"], amount="100.00")
    assert (await capture(api, (await transact(api, first["id"], "100.00"))["id"]))["errors"] == []
    rest = await pay(api, order["id"])
    declined = await transact(api, rest["id"], rest["totalAmount"], token="tok_declined")
    refused = await capture(api, declined["id"])
    assert [e["code"] for e in refused["errors"]] == ["PAYMENT_DECLINED"]
    paid = await capture(api, (await transact(api, rest["id"], rest["totalAmount"]))["id"])
    assert paid["order"]["status"] == "CONFIRMED", paid
    assert (await api.gql(GENERATE, {"id": order["id"]}))["generateTickets"]["errors"] == []
    receipt = {"orderId": order["id"], "email": "kari@example.no"}
    assert (await api.gql(SEND_RECEIPT, {"input": receipt}))["sendReceipt"]["errors"] == []
    for line in order["orderLines"][:refunds]:
        refund = {
            "orderId": order["id"],
            "orderLineIds": [line["id"]],
            "idempotencyKey": line["id"],
        }
        assert (await api.gql(REFUND, {"input": refund}))["refundOrder"]["errors"] == []
    for n in range(refunds):  # goodwill too: a COMPENSATION fee per refund
        compensation = {"orderId": order["id"], "amount": "1.00", "reason": "Late",
                        "idempotencyKey": f"goodwill-{n}-{order['id']}"}  # fmt: skip
        assert (await api.gql(COMPENSATE, {"input": compensation}))["compensateOrder"][
            "errors"
        ] == []
    if refunds:
        assert (await api.gql(SEND_RECEIPT, {"input": receipt}))["sendReceipt"]["errors"] == []
    return str(order["id"])


COMPENSATE = """mutation($input: CompensateOrderInput!) {
  compensateOrder(input: $input) { errors { code message } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def measured(database_url: str, data_dir: Path) -> AsyncIterator[Measured]:
    """The sales, then every query's statements, once for the module."""
    with pytest.MonkeyPatch.context() as env:  # as conftest's _no_leaking_env, for the module
        for name in list(os.environ):
            if name.startswith("SALES_") and name != "SALES_TEST_DATABASE_URL":
                env.delenv(name)
        # perPage: 100 with every nested list costs more than the default limit allows.
        settings = Settings(database_url=database_url, data_dir=data_dir, max_query_cost=10**7)
    application = create_app(settings, clock=MovableClock())
    engine = application.state.engine
    async with engine.begin() as connection:
        for table in SALES_TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        api = Api(http)
        for types in (
            ["ORDER_CONFIRMED", "RECEIPT_QUEUED"],
            ["ORDER_CONFIRMED", "TICKETS_GENERATED"],
        ):
            hook = {"url": "http://127.0.0.1:9/hooks", "eventTypes": types}
            made = await api.gql(WEBHOOK, {"input": hook})
            assert made["createWebhookSubscription"]["errors"] == []
        orders = [await complete_sale(api, n, refunds=n // 2) for n in (1, 2, 2, 4)]
        headers = {
            "Authorization": f"Bearer {await api.token()}",
            "Entur-POS": "test-pos",
            "Entur-Distribution-Channel": APP_CHANNEL,
        }
        runs = await choose_runs(http, headers)
        counts = await count_statements(http, application, headers, runs)
        small = {name: await api.gql(query, runs[name].small) for name, query in QUERIES.items()}
        large = {name: await api.gql(query, runs[name].large) for name, query in QUERIES.items()}
    yield Measured(counts, runs, small, large, orders)
    await engine.dispose()


def list_sizes(value: Any, path: str = "") -> Counter[str]:
    """Entries of every list in an answer, summed per path (list indices left out)."""
    sizes: Counter[str] = Counter()
    if isinstance(value, list):
        sizes[path] += len(value)
        for item in value:
            sizes.update(list_sizes(item, path))
    elif isinstance(value, dict):
        for key, item in value.items():
            sizes.update(list_sizes(item, f"{path}.{key}" if path else key))
    return sizes


def test_every_list_field_of_the_schema_is_counted() -> None:
    schema = build_schema()._schema
    assert set(LIST_FIELDS) == schema_list_fields(schema)
    # The table says exactly which queries ask for each field.
    selected = {name: selected_list_fields(schema, query) for name, query in QUERIES.items()}
    covered = {
        field: {name for name, fields in selected.items() if field in fields}
        for field in LIST_FIELDS
    }
    assert covered == LIST_FIELDS
    assert set(MOST_SELECTS) == set(QUERIES)


def _growth_cases() -> list[Any]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=GROWS[name]))
        if name in GROWS
        else name
        for name in QUERIES
    ]


@pytest.mark.parametrize("name", _growth_cases())
def test_statements_do_not_grow_with_the_answer(measured: Measured, name: str) -> None:
    counted = measured.counts[name]
    small, large = counted.selects
    assert small == large, (
        f"{name}: {small} SELECTs with {counted.entries[0]} list entries in the answer, "
        f"{large} with {counted.entries[1]}"
    )
    assert large <= MOST_SELECTS[name], (name, counted)


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_large_run_answers_more(measured: Measured, name: str) -> None:
    small, large = measured.small[name], measured.large[name]
    counted = measured.counts[name]
    assert counted.entries == (sum(list_sizes(small).values()), sum(list_sizes(large).values()))
    if name in PAGED:
        assert counted.root_items == (1, ALL_ITEMS[name])
        # The one item of the small page reaches every list too, so both runs load each.
        assert all(list_sizes(small).values()), list_sizes(small)
    elif name in FIXED_SIZE:
        assert counted.entries[0] == counted.entries[1], counted
    else:
        assert counted.entries[0] < counted.entries[1], counted
    # More than one entry in every list of the large answer.
    assert min(list_sizes(large).values()) >= 2, list_sizes(large)


def test_the_runs_of_a_single_order_are_the_smallest_and_largest(measured: Measured) -> None:
    orders = measured.orders
    for name in ("order", "changeOptions", "refundOptions"):
        assert measured.runs[name] == Run({"id": orders[0]}, {"id": orders[-1]})
    small, large = measured.small["payment"]["payment"], measured.large["payment"]["payment"]
    assert (len(small["transactions"]), len(large["transactions"])) == (1, 2)
    assert len(measured.large["order"]["order"]["orderLines"]) == 4
    offers = measured.large["offers"]["offers"]
    assert {len(o["travellerIds"]) for o in offers} == {4}


def test_reads_write_nothing(measured: Measured) -> None:
    writes = {name: counted.writes for name, counted in measured.counts.items()}
    assert writes == dict.fromkeys(QUERIES, (0, 0))


def test_each_read_uses_one_connection(measured: Measured) -> None:
    """All of a request's reads on one connection (one snapshot), small or large; the
    catalogue's stop places and departures read nothing at all."""
    connections = {name: counted.connections for name, counted in measured.counts.items()}
    without_sql = {"stopPlaces", "departures"}
    assert connections == {name: (0, 0) if name in without_sql else (1, 1) for name in QUERIES}
