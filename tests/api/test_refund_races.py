"""Races on refunds, over HTTP through the real app: many truly concurrent refundOrder calls
against one app instance, settled by the database (the order's row lock on PostgreSQL,
IMMEDIATE transactions on SQLite).

The money rule at stake: a refund credits the captured transactions exactly once, and the
credits of an order never exceed what was captured, on any transaction. The provider here
counts every credit it is asked for (and is slow enough that overlapping requests really do
overlap while the money moves)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.payments import (
    CaptureApproved,
    CreditApproved,
    PaymentType,
    ProviderEntry,
)
from sales_api.persistence import tables as t
from sales_api.provider.simulator import SimulatedPaymentProvider
from sales_api.settings import Settings
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.api.test_refunds import REFUND, a_paid_order
from tests.api.test_seat_races import connections_in_use, payload
from tests.conftest import Api, MovableClock

pytestmark = pytest.mark.slow

LINE_PRICE = Decimal("805.50")  # one adult, Flex, Oslo -> Bergen
TOTAL = Decimal("1611.00")  # two of them

MONEY = """
query($id: ID!) {
  order(id: $id) {
    id version status balance totalAmount
    orderLines { id status reservation { status } }
    paymentRefs { transactionId amount }
  }
  credits(filter: {orderId: {eq: $id}}, perPage: 100) {
    totalItems items { id transactionId amount status orderVersion }
  }
}
"""


# ------------------------------------------------------------------ a provider that counts


class CreditCountingProvider:
    """The simulator, counting every capture and every credit (and the money credited) per
    transaction; each call yields to the loop first so that racing requests interleave."""

    def __init__(self) -> None:
        self.inner = SimulatedPaymentProvider()
        self.captures: Counter[str] = Counter()
        self.credits: Counter[str] = Counter()
        self.credited: defaultdict[str, Decimal] = defaultdict(Decimal)

    async def capture(
        self,
        transaction_id: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        self.captures[transaction_id] += 1
        return await self.inner.capture(transaction_id, payment_type, token, amount, currency)

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        # Counted per captured transaction: its capture reference is "SIM-<transaction id>".
        transaction_id = (capture_reference or "").removeprefix("SIM-")
        await asyncio.sleep(0.02)
        before = await self.inner.outcome(reference)
        approved = await self.inner.credit(reference, capture_reference, amount, currency)
        if before is None:  # the provider moved money now (asked again, it does not)
            self.credits[transaction_id] += 1
            self.credited[transaction_id] += amount
        return approved

    async def outcome(self, reference: str) -> ProviderEntry | None:
        return await self.inner.outcome(reference)


@dataclass
class Counted:
    api: Api
    app: Starlette
    provider: CreditCountingProvider


@pytest.fixture
async def counted(
    app: Starlette, settings: Settings, clock: MovableClock
) -> AsyncIterator[Counted]:
    """A second app over the same (emptied, via `app`) database with the counting provider."""
    provider = CreditCountingProvider()
    application = create_app(settings, clock=clock, payment_provider=provider)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Counted(Api(http), application, provider)
    finally:
        await application.state.engine.dispose()


# ------------------------------------------------------------------ helpers


def refund_input(order_id: str, key: str, line_ids: list[str] | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"orderId": order_id, "idempotencyKey": key}
    if line_ids is not None:
        fields["orderLineIds"] = line_ids
    return {"input": fields}


async def refund_concurrently(
    counted: Counted, variable_sets: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every refund at once through one app and its pool; each answer a clean GraphQL answer
    (no 500, no top-level error, no lock or integrity error leaking out)."""
    api = counted.api
    await api.token()
    with connections_in_use(counted.app) as counts:
        responses = await asyncio.gather(*(api.post(REFUND, v) for v in variable_sets))
    assert counts[1] > 1, "the requests never overlapped in the database"
    return [payload(r, "refundOrder") for r in responses]


def codes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["code"] for r in results for e in r["errors"])


async def money_of(api: Api, order_id: str) -> dict[str, Any]:
    return dict(await api.gql(MONEY, {"id": order_id}))


def captured_by_transaction(money: dict[str, Any]) -> dict[str, Decimal]:
    captured: defaultdict[str, Decimal] = defaultdict(Decimal)
    for ref in money["order"]["paymentRefs"]:
        captured[ref["transactionId"]] += Decimal(ref["amount"])
    return dict(captured)


def credited_by_transaction(money: dict[str, Any]) -> dict[str, Decimal]:
    credited: defaultdict[str, Decimal] = defaultdict(Decimal)
    for credit in money["credits"]["items"]:
        if credit["status"] == "CREDITED":
            credited[credit["transactionId"]] += Decimal(credit["amount"])
    return dict(credited)


def assert_credits_within_captures(money: dict[str, Any], provider: CreditCountingProvider) -> None:
    """On every transaction, what was credited (as the API records it, and as the provider
    was asked for) is at most what was captured."""
    captured = captured_by_transaction(money)
    credited = credited_by_transaction(money)
    assert set(credited) <= set(captured), (credited, captured)
    for transaction_id, amount in credited.items():
        assert amount <= captured[transaction_id], (transaction_id, amount, captured)
    assert sum(credited.values(), Decimal(0)) <= sum(captured.values(), Decimal(0))
    assert dict(provider.credited) == credited, "the records say what the provider was told"
    assert money["credits"]["totalItems"] == len(money["credits"]["items"])


async def refund_rows(app: Starlette, order_id: str) -> int:
    async with app.state.engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(t.refunds).where(t.refunds.c.order_id == order_id)
        )
    return int(count or 0)


# ------------------------------------------------------------------ 1. one key, twenty refunds


@pytest.mark.parametrize("whole_order", [True, False], ids=["whole-order", "one-line"])
async def test_twenty_refunds_with_one_key_refund_once(counted: Counted, whole_order: bool) -> None:
    api, provider = counted.api, counted.provider
    order = await a_paid_order(api)
    line = order["orderLines"][0]
    variables = refund_input(order["id"], "refund-once", None if whole_order else [line["id"]])

    results = await refund_concurrently(counted, [variables] * 20)

    assert codes(results) == Counter(), codes(results)
    refund_ids = {r["refund"]["id"] for r in results}
    assert len(refund_ids) == 1, "twenty answers naming one refund"
    first = results[0]
    assert all(r == first for r in results), "twenty identical answers"
    expected = TOTAL if whole_order else LINE_PRICE
    refund = first["refund"]
    assert (refund["amount"], refund["fee"], refund["orderVersion"]) == (f"{expected}", "0.00", 2)
    assert [c["status"] for c in refund["credits"]] == ["CREDITED"]

    money = await money_of(api, order["id"])
    (transaction_id,) = captured_by_transaction(money)
    assert provider.credits == Counter({transaction_id: 1}), "the provider credited once"
    assert [(c["amount"], c["status"]) for c in money["credits"]["items"]] == [
        (f"{expected}", "CREDITED")
    ]
    assert_credits_within_captures(money, provider)
    assert await refund_rows(counted.app, order["id"]) == 1
    after = money["order"]
    assert after["version"] == 2, "the version bumped once"
    assert after["balance"] == "0.00"
    if whole_order:
        assert (after["status"], after["totalAmount"]) == ("CANCELLED", "0.00")
        assert {ol["status"] for ol in after["orderLines"]} == {"REFUNDED"}
    else:
        assert (after["status"], after["totalAmount"]) == ("CONFIRMED", f"{LINE_PRICE}")
        statuses = {ol["id"]: ol["status"] for ol in after["orderLines"]}
        assert statuses.pop(line["id"]) == "REFUNDED"
        assert set(statuses.values()) == {"CONFIRMED"}

    # A later retry with the key still answers the same refund, and credits nothing more.
    again = (await api.gql(REFUND, variables))["refundOrder"]
    assert again["refund"] == refund and again["errors"] == []
    assert provider.credits == Counter({transaction_id: 1})


# ---------------------------------------------------- 2. one line, refunds under different keys


@pytest.mark.parametrize("per_key", [1, 10], ids=["1-vs-1", "10-vs-10"])
async def test_racing_refunds_of_one_line_under_different_keys_refund_it_once(
    counted: Counted, per_key: int
) -> None:
    """Both refunds take the order's lock before they plan; the loser plans on the winner's
    refund: still being credited (the provider is asked outside the lock), or done, where
    the line is REFUNDED already. Either is INVALID_STATE (the line's state changed under
    it; it is not a product that cannot be refunded, which is what NOT_REFUNDABLE says)."""
    api, provider = counted.api, counted.provider
    order = await a_paid_order(api)
    line, other = order["orderLines"]
    variable_sets = [
        refund_input(order["id"], key, [line["id"]]) for _ in range(per_key) for key in "AB"
    ]

    results = await refund_concurrently(counted, variable_sets)

    won = [
        (v["input"]["idempotencyKey"], r)
        for v, r in zip(variable_sets, results, strict=True)
        if not r["errors"]
    ]
    lost = [r for r in results if r["errors"]]
    assert len(won) == per_key and len(lost) == per_key, codes(results)
    assert len({key for key, _ in won}) == 1, "every winner used the winning key"
    assert len({r["refund"]["id"] for _, r in won}) == 1, "one refund"
    assert codes(lost) == Counter({"INVALID_STATE": per_key}), codes(lost)
    for answer in lost:
        (error,) = answer["errors"]
        assert (error["path"], error["message"]) in (
            (["input", "orderLineIds", "0"], f"Order line {line['id']} is already refunded"),
            (
                ["input", "orderLineIds"],
                f"A refund of order line {line['id']} is pending; retry it with its idempotencyKey",
            ),
        ), error
        assert answer["refund"] is None

    money = await money_of(api, order["id"])
    (transaction_id,) = captured_by_transaction(money)
    assert provider.credits == Counter({transaction_id: 1})
    assert_credits_within_captures(money, provider)
    assert credited_by_transaction(money) == {transaction_id: LINE_PRICE}
    assert await refund_rows(counted.app, order["id"]) == 1
    after = money["order"]
    assert (after["version"], after["status"], after["balance"]) == (2, "CONFIRMED", "0.00")
    statuses = {ol["id"]: ol["status"] for ol in after["orderLines"]}
    assert statuses == {line["id"]: "REFUNDED", other["id"]: "CONFIRMED"}


async def test_racing_whole_order_and_one_line_refunds_never_credit_more_than_captured(
    counted: Counted,
) -> None:
    """A refund of every refundable line against a refund of one of them: whichever goes
    first, the order ends refunded in full, and credited exactly what was captured."""
    api, provider = counted.api, counted.provider
    order = await a_paid_order(api)
    line = order["orderLines"][0]
    variable_sets = [
        refund_input(order["id"], "whole"),
        refund_input(order["id"], "line", [line["id"]]),
    ] * 5

    results = await refund_concurrently(counted, variable_sets)

    assert set(codes(results)) <= {"INVALID_STATE"}, codes(results)
    money = await money_of(api, order["id"])
    (transaction_id,) = captured_by_transaction(money)
    assert_credits_within_captures(money, provider)
    assert credited_by_transaction(money) == {transaction_id: TOTAL}
    after = money["order"]
    assert (after["status"], after["balance"], after["totalAmount"]) == (
        "CANCELLED",
        "0.00",
        "0.00",
    )
    # Either one refund of the whole order (the line's refunds then lose), or the line's
    # refund first and then the whole order's refund of what was left: one version each.
    refunds = {r["refund"]["id"] for r in results if r["refund"]}
    assert len(refunds) == await refund_rows(counted.app, order["id"])
    assert after["version"] == 1 + len(refunds)
    assert provider.credits == Counter({transaction_id: len(refunds)})


# ------------------------------------------------------------------ 3. split payments


async def a_split_paid_order(api: Api, first: str = "1000.00") -> dict[str, Any]:
    """Two adults, Flex, paid with two captured transactions: `first` and the rest."""
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    rest = TOTAL - Decimal(first)
    one = await transact(api, payment["id"], first)
    two = await transact(api, payment["id"], f"{rest}")
    assert (await capture(api, one["id"]))["order"]["status"] == "DRAFT"
    assert (await capture(api, two["id"]))["order"]["status"] == "CONFIRMED"
    return order


@pytest.mark.parametrize("first", ["1000.00", "805.49"], ids=["1000+611", "805.49+805.51"])
async def test_a_split_payment_refunded_in_full_credits_each_capture_at_most(
    counted: Counted, first: str
) -> None:
    api, provider = counted.api, counted.provider
    order = await a_split_paid_order(api, first)

    answer = (await api.gql(REFUND, refund_input(order["id"], "split")))["refundOrder"]

    assert answer["errors"] == []
    assert answer["refund"]["amount"] == f"{TOTAL}"
    money = await money_of(api, order["id"])
    captured = captured_by_transaction(money)
    assert len(captured) == 2 and sum(captured.values()) == TOTAL
    assert_credits_within_captures(money, provider)
    assert credited_by_transaction(money) == captured, "each capture given back in full"
    assert provider.credits == Counter(dict.fromkeys(captured, 1))
    assert sorted(c["id"] for c in answer["refund"]["credits"]) == sorted(
        c["id"] for c in money["credits"]["items"]
    )
    after = money["order"]
    assert (after["status"], after["balance"], after["version"]) == ("CANCELLED", "0.00", 2)


@pytest.mark.parametrize("first", ["1000.00", "805.49"], ids=["1000+611", "805.49+805.51"])
async def test_split_payment_lines_refunded_at_once_credit_each_capture_at_most(
    counted: Counted, first: str
) -> None:
    """Each line refunded by its own racing requests: the second refund must allocate its
    credits on what the first left on the transactions, never on what it saw before."""
    api, provider = counted.api, counted.provider
    order = await a_split_paid_order(api, first)
    lines = [line["id"] for line in order["orderLines"]]
    variable_sets = [
        refund_input(order["id"], f"line-{i}", [lid]) for i, lid in enumerate(lines)
    ] * 5

    results = await refund_concurrently(counted, variable_sets)

    assert codes(results) == Counter(), codes(results)
    assert len({r["refund"]["id"] for r in results}) == 2, "one refund per line"
    money = await money_of(api, order["id"])
    captured = captured_by_transaction(money)
    assert_credits_within_captures(money, provider)
    assert credited_by_transaction(money) == captured
    assert sum(Decimal(r["refund"]["amount"]) for r in results[:2]) == TOTAL
    after = money["order"]
    assert (after["status"], after["balance"], after["version"]) == ("CANCELLED", "0.00", 3)
    assert {ol["status"] for ol in after["orderLines"]} == {"REFUNDED"}
