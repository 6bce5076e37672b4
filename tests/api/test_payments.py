"""Payments over HTTP through the real app: money is taken exactly once, whatever the races,
retries and refusals; the rules of createPayment, createTransaction, captureTransaction,
cancelTransaction and updatePayment; the payment queries; statements flat with page size."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.ids import new_id
from sales_api.domain.payments import (
    CaptureApproved,
    CreditApproved,
    PaymentType,
    ProviderEntry,
)
from sales_api.persistence import tables as t
from sales_api.provider.simulator import SimulatedPaymentProvider
from sales_api.settings import Settings
from tests.api.test_payment_flow import CAPTURE, a_reserved_order, capture, pay, transact
from tests.api.test_sale_flow import RESERVE, offers_for
from tests.api.test_seat_races import connections_in_use, payload
from tests.conftest import Api, MovableClock
from tests.statements import recorded_statements

TOTAL = "1611.00"  # two adults, Flex, Oslo -> Bergen

CREATE_PAYMENT = """
mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) {
    payment { id orderId orderVersion totalAmount currency active }
    errors { code message path }
  }
}
"""

UPDATE_PAYMENT = """
mutation($input: UpdatePaymentInput!) {
  updatePayment(input: $input) {
    payment { id totalAmount active }
    errors { code message path }
  }
}
"""

CREATE_TRANSACTION = """
mutation($input: CreateTransactionInput!) {
  createTransaction(input: $input) {
    transaction { id paymentId status amount currency paymentType }
    payment { id totalAmount transactions { id status } }
    order { id balance }
    errors { code message path }
  }
}
"""

CANCEL = """
mutation($input: TransactionRefInput!) {
  cancelTransaction(input: $input) {
    transaction { id status operationLog { operation status } }
    errors { code message path }
  }
}
"""

RESET = """
mutation($input: OrderRefInput!) {
  resetOrder(input: $input) { order { id status version } errors { code message } }
}
"""

PAYMENT_FIELDS = """
  id orderId orderVersion organisationId totalAmount currency active createdAt
  transactions { id paymentId status amount currency maskedCardNumber pspReference }
  credits { id orderId paymentId transactionId amount status }
"""

PAYMENT = "query($id: ID!) { payment(id: $id) { " + PAYMENT_FIELDS + " } }"

PAYMENTS = (
    "query($page: Int!, $perPage: Int!, $filter: PaymentFilter) { "
    "payments(page: $page, perPage: $perPage, filter: $filter) { "
    "items { " + PAYMENT_FIELDS + " } page perPage totalItems totalPages } }"
)

CREDITS = """
query($filter: CreditFilter) {
  credits(page: 1, perPage: 20, filter: $filter) {
    items { id orderId orderVersion paymentId transactionId amount currency status }
    page perPage totalItems totalPages
  }
}
"""

ORDER_PAYMENTS = """
query($id: ID!) {
  order(id: $id) {
    id status balance
    payments { id orderId totalAmount active transactions { id status amount } }
    paymentRefs { orderVersion paymentId transactionId amount currency completedAt }
  }
}
"""


# ------------------------------------------------------------------ a provider that counts


class CountingProvider:
    """The simulator, counting every capture it is asked for and slow enough that
    overlapping requests really do overlap while the money moves."""

    def __init__(self, masked: str | None = None) -> None:
        self.inner = SimulatedPaymentProvider()
        self.calls: Counter[str] = Counter()
        self.masked = masked

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    async def capture(
        self,
        transaction_id: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        self.calls[transaction_id] += 1
        await asyncio.sleep(0.02)
        approved = await self.inner.capture(transaction_id, payment_type, token, amount, currency)
        if self.masked is not None:
            return CaptureApproved(approved.psp_reference, self.masked)
        return approved

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        return await self.inner.credit(reference, capture_reference, amount, currency)

    async def outcome(self, reference: str) -> ProviderEntry | None:
        return await self.inner.outcome(reference)


@dataclass
class Counted:
    api: Api
    app: Starlette
    provider: CountingProvider


async def _counted_app(
    settings: Settings, clock: MovableClock, provider: CountingProvider
) -> AsyncIterator[Counted]:
    application = create_app(settings, clock=clock, payment_provider=provider)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Counted(Api(http), application, provider)
    finally:
        await application.state.engine.dispose()


@pytest.fixture
async def counted(
    app: Starlette, settings: Settings, clock: MovableClock
) -> AsyncIterator[Counted]:
    """A second app over the same (emptied, via `app`) database with a counting provider."""
    async for each in _counted_app(settings, clock, CountingProvider()):
        yield each


# ------------------------------------------------------------------ helpers


def codes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["code"] for r in results for e in r["errors"])


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["errors"]]


async def create_payment(api: Api, **fields: Any) -> dict[str, Any]:
    return dict((await api.gql(CREATE_PAYMENT, {"input": fields}))["createPayment"])


async def update_payment(api: Api, **fields: Any) -> dict[str, Any]:
    return dict((await api.gql(UPDATE_PAYMENT, {"input": fields}))["updatePayment"])


async def create_transaction(
    api: Api, payment_id: str, amount: str, token: str = "tok_visa", **fields: Any
) -> dict[str, Any]:
    variables = {
        "input": {
            "paymentId": payment_id,
            "paymentType": "VISA",
            "amount": amount,
            "paymentToken": token,
            **fields,
        }
    }
    return dict((await api.gql(CREATE_TRANSACTION, variables))["createTransaction"])


async def cancel(api: Api, transaction_id: str, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"transactionId": transaction_id, **fields}}
    return dict((await api.gql(CANCEL, variables))["cancelTransaction"])


async def order_payments(api: Api, order_id: str, **kwargs: Any) -> dict[str, Any]:
    return dict((await api.gql(ORDER_PAYMENTS, {"id": order_id}, **kwargs))["order"])


async def concurrently(
    app: Starlette, api: Api, query: str, variable_sets: list[dict[str, Any]], field: str
) -> list[dict[str, Any]]:
    """Every request at once through one app and its pool; checks they really overlapped."""
    await api.token()
    with connections_in_use(app) as counts:
        responses = await asyncio.gather(*(api.post(query, v) for v in variable_sets))
    assert counts[1] > 1, "the requests never overlapped in the database"
    return [payload(r, field) for r in responses]


async def transaction_rows(app: Starlette, order_id: str) -> list[dict[str, Any]]:
    async with app.state.engine.connect() as connection:
        rows = await connection.execute(
            select(t.transactions)
            .join(t.payments, t.payments.c.id == t.transactions.c.payment_id)
            .where(t.payments.c.order_id == order_id)
        )
        return [dict(r) for r in rows.mappings()]


async def payment_count(app: Starlette, order_id: str) -> int:
    async with app.state.engine.connect() as connection:
        rows = await connection.execute(
            select(t.payments.c.id).where(t.payments.c.order_id == order_id)
        )
        return len(rows.all())


def digits(text: str | None) -> int:
    return len(re.findall(r"\d", text or ""))


# ------------------------------------------------------------------ 1. one key, twenty captures


async def test_twenty_captures_with_one_key_charge_once(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], TOTAL)
    variables = {"input": {"transactionId": tx["id"], "idempotencyKey": "capture-once"}}

    results = await concurrently(counted.app, api, CAPTURE, [variables] * 20, "captureTransaction")

    assert provider.calls == Counter({tx["id"]: 1})
    assert codes(results) == Counter(), codes(results)
    first = results[0]
    assert all(r == first for r in results), "twenty identical answers"
    assert first["transaction"]["id"] == tx["id"]
    assert first["transaction"]["status"] == "CAPTURED"
    assert first["order"]["balance"] == "0.00"
    assert first["order"]["status"] == "CONFIRMED"
    assert len(first["order"]["paymentRefs"]) == 1
    assert [op["operation"] for op in first["transaction"]["operationLog"]] == [
        "CREATE",
        "CAPTURE",
    ]

    # A later retry with the key answers the same again; without it, the capture is refused.
    again = await capture(api, tx["id"], key="capture-once")
    assert again == first
    refused = await capture(api, tx["id"])
    assert error_codes(refused) == ["INVALID_STATE"]
    assert provider.total == 1

    read = await order_payments(api, order["id"])
    assert read["balance"] == "0.00" and read["status"] == "CONFIRMED"
    assert read["paymentRefs"] == first["order"]["paymentRefs"]
    captured = [r for r in await transaction_rows(counted.app, order["id"])]
    assert [r["status"] for r in captured] == ["CAPTURED"]
    assert captured[0]["payment_token"] is None, "the provider's token is spent"


async def test_twenty_captures_without_a_key_charge_once(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], TOTAL)

    results = await concurrently(
        counted.app,
        api,
        CAPTURE,
        [{"input": {"transactionId": tx["id"]}}] * 20,
        "captureTransaction",
    )

    assert provider.total == 1
    assert len([r for r in results if not r["errors"]]) == 1, codes(results)
    assert codes(results) == Counter({"INVALID_STATE": 19})
    read = await order_payments(api, order["id"])
    assert read["balance"] == "0.00" and len(read["paymentRefs"]) == 1


# -------------------------------------------------------------- 2. two transactions, one balance


@pytest.mark.parametrize("amount", [TOTAL, "1000.00"], ids=["full", "partial"])
async def test_two_transactions_racing_for_one_balance_capture_once(
    counted: Counted, amount: str
) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    first_payment = await pay(api, order["id"])
    second_payment = await pay(api, order["id"])
    assert first_payment["totalAmount"] == second_payment["totalAmount"] == TOTAL
    one = await transact(api, first_payment["id"], amount)
    two = await transact(api, second_payment["id"], amount)
    ids = [one["id"], two["id"]]

    results = await concurrently(
        counted.app,
        api,
        CAPTURE,
        [{"input": {"transactionId": ids[i % 2]}} for i in range(20)],
        "captureTransaction",
    )

    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 1, codes(results)
    won = winners[0]["transaction"]["id"]
    lost = next(i for i in ids if i != won)
    assert provider.calls == Counter({won: 1})
    for transaction_id, result in zip((ids[i % 2] for i in range(20)), results, strict=True):
        if result is winners[0]:
            continue
        expected = (
            {"INVALID_STATE"} if transaction_id == won else {"AMOUNT_MISMATCH", "INVALID_STATE"}
        )
        assert set(error_codes(result)) <= expected and result["errors"], result
        assert result["transaction"] is None
    # The other transaction's losers can only have been refused by the balance.
    assert (
        codes(
            [r for r, i in zip(results, (ids[i % 2] for i in range(20)), strict=True) if i == lost]
        )["AMOUNT_MISMATCH"]
        == 10
    )

    left = Decimal(TOTAL) - Decimal(amount)
    read = await order_payments(api, order["id"])
    assert read["balance"] == f"{left:.2f}"
    assert Decimal(read["balance"]) >= 0
    assert read["status"] == ("CONFIRMED" if left == 0 else "DRAFT")
    assert [ref["transactionId"] for ref in read["paymentRefs"]] == [won]
    statuses = {r["id"]: r["status"] for r in await transaction_rows(counted.app, order["id"])}
    assert statuses == {won: "CAPTURED", lost: "CREATED"}


# ------------------------------------------------------------------ 3. idempotency


async def test_create_payment_is_idempotent(api: Api, app: Starlette) -> None:
    order = await a_reserved_order(api)
    first = await create_payment(api, orderId=order["id"], idempotencyKey="pay-1")
    assert first["errors"] == []
    same = await create_payment(api, orderId=order["id"], idempotencyKey="pay-1")
    assert same == first
    other = await create_payment(
        api, orderId=order["id"], totalAmount="100.00", idempotencyKey="pay-1"
    )
    assert error_codes(other) == ["IDEMPOTENCY_KEY_REUSED"] and other["payment"] is None
    # The key is the organisation's: another operation may not reuse it either.
    tx = await create_transaction(api, first["payment"]["id"], "10.00", idempotencyKey="pay-1")
    assert error_codes(tx) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await payment_count(app, order["id"]) == 1

    variables = {"input": {"orderId": order["id"], "idempotencyKey": "pay-2"}}
    results = await concurrently(app, api, CREATE_PAYMENT, [variables] * 20, "createPayment")
    assert codes(results) == Counter(), codes(results)
    assert len({r["payment"]["id"] for r in results}) == 1
    assert all(r == results[0] for r in results)
    assert await payment_count(app, order["id"]) == 2
    assert await transaction_rows(app, order["id"]) == []


async def test_create_transaction_is_idempotent(api: Api, app: Starlette) -> None:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    first = await create_transaction(api, payment["id"], "100.00", idempotencyKey="tx-1")
    assert first["errors"] == []
    same = await create_transaction(api, payment["id"], "100.00", idempotencyKey="tx-1")
    assert same["transaction"] == first["transaction"]
    other = await create_transaction(api, payment["id"], "200.00", idempotencyKey="tx-1")
    assert error_codes(other) == ["IDEMPOTENCY_KEY_REUSED"] and other["transaction"] is None
    other_token = await create_transaction(
        api, payment["id"], "100.00", token="tok_other", idempotencyKey="tx-1"
    )
    assert error_codes(other_token) == ["IDEMPOTENCY_KEY_REUSED"]
    assert len(await transaction_rows(app, order["id"])) == 1

    variables = {
        "input": {
            "paymentId": payment["id"],
            "paymentType": "VISA",
            "amount": "300.00",
            "paymentToken": "tok_visa",
            "idempotencyKey": "tx-2",
        }
    }
    results = await concurrently(
        app, api, CREATE_TRANSACTION, [variables] * 20, "createTransaction"
    )
    assert codes(results) == Counter(), codes(results)
    assert len({r["transaction"]["id"] for r in results}) == 1
    rows = await transaction_rows(app, order["id"])
    assert sorted(r["amount"] for r in rows) == [100_00, 300_00]


async def test_a_capture_key_replays_a_declined_answer_without_calling_again(
    counted: Counted,
) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], TOTAL, token="tok_declined")
    first = await capture(api, tx["id"], key="declined-1")
    assert error_codes(first) == ["PAYMENT_DECLINED"]
    again = await capture(api, tx["id"], key="declined-1")
    assert error_codes(again) == ["PAYMENT_DECLINED"]
    assert again["transaction"] == first["transaction"]
    assert provider.total == 1
    other = await transact(api, payment["id"], TOTAL)
    reused = await capture(api, other["id"], key="declined-1")
    assert error_codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert provider.total == 1


async def test_cancel_transaction_is_idempotent(counted: Counted) -> None:
    api = counted.api
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], "10.00")
    first = await cancel(api, tx["id"], idempotencyKey="cancel-1")
    assert first["errors"] == [] and first["transaction"]["status"] == "CANCELLED"
    assert await cancel(api, tx["id"], idempotencyKey="cancel-1") == first
    assert error_codes(await cancel(api, tx["id"])) == ["INVALID_STATE"]
    # A key spent on the cancel is not a capture's: nothing reaches the provider.
    assert error_codes(await capture(api, tx["id"], key="cancel-1")) == ["IDEMPOTENCY_KEY_REUSED"]
    assert counted.provider.total == 0


# ------------------------------------------------------------------ 4. rules


async def test_create_payment_rules(api: Api) -> None:
    order = await a_reserved_order(api)
    too_much = await create_payment(api, orderId=order["id"], totalAmount="1611.01")
    assert error_codes(too_much) == ["AMOUNT_MISMATCH"] and too_much["payment"] is None
    euro = await create_payment(api, orderId=order["id"], currency="EUR")
    assert error_codes(euro) == ["CURRENCY_MISMATCH"]
    zero = await create_payment(api, orderId=order["id"], totalAmount="0.00")
    assert zero["payment"] is None and zero["errors"]
    old = await create_payment(api, orderId=order["id"], orderVersion=2)
    assert error_codes(old) == ["VERSION_CONFLICT"]
    exact = await create_payment(api, orderId=order["id"], totalAmount=TOTAL, currency="NOK")
    assert exact["errors"] == []
    assert exact["payment"]["totalAmount"] == TOTAL
    missing = await create_payment(api, orderId="nope")
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_create_payment_on_a_zero_balance_order_is_refused(api: Api) -> None:
    empty = (await api.gql("mutation { createOrder(input: {}) { order { id balance } } }"))[
        "createOrder"
    ]["order"]
    assert empty["balance"] == "0.00"
    refused = await create_payment(api, orderId=empty["id"])
    assert error_codes(refused) == ["INVALID_STATE"] and refused["payment"] is None
    # ... and so on a paid order.
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    assert (await capture(api, (await transact(api, payment["id"], TOTAL))["id"]))["errors"] == []
    assert error_codes(await create_payment(api, orderId=order["id"])) == ["INVALID_STATE"]


async def test_transaction_amount_rules(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    small = await pay(api, order["id"], amount="1000.00")
    above = await create_transaction(api, small["id"], "1000.01")
    assert error_codes(above) == ["AMOUNT_MISMATCH"] and above["transaction"] is None
    first = await create_transaction(api, small["id"], "600.00")
    assert first["errors"] == []
    # 600.00 is pending: only 400.00 of the payment is unpaid.
    assert error_codes(await create_transaction(api, small["id"], "400.01")) == ["AMOUNT_MISMATCH"]
    assert error_codes(await create_transaction(api, small["id"], "0.00")) != []
    rest = await create_transaction(api, small["id"], "400.00")
    assert rest["errors"] == []
    assert (await capture(api, first["transaction"]["id"]))["order"]["balance"] == "1011.00"
    assert (await capture(api, rest["transaction"]["id"]))["order"]["balance"] == "611.00"

    # A payment asking more than the balance still cannot take more than the balance.
    big = await pay(api, order["id"])
    assert big["totalAmount"] == "611.00"
    assert error_codes(await create_transaction(api, big["id"], "611.01")) == ["AMOUNT_MISMATCH"]
    assert provider.total == 2


async def test_transaction_above_the_balance_is_refused(api: Api) -> None:
    order = await a_reserved_order(api)
    whole = await pay(api, order["id"])
    part = await pay(api, order["id"], amount="1000.00")
    captured = await capture(api, (await transact(api, part["id"], "1000.00"))["id"])
    assert captured["order"]["balance"] == "611.00"
    # 1611.00 of `whole` is unpaid, but the balance is 611.00.
    refused = await create_transaction(api, whole["id"], "700.00")
    assert error_codes(refused) == ["AMOUNT_MISMATCH"]
    assert (await create_transaction(api, whole["id"], "611.00"))["errors"] == []


async def test_capture_twice_and_capture_after_cancel_are_refused(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    one = await transact(api, payment["id"], "100.00")
    assert (await capture(api, one["id"]))["errors"] == []
    twice = await capture(api, one["id"])
    assert error_codes(twice) == ["INVALID_STATE"] and twice["transaction"] is None
    assert error_codes(await cancel(api, one["id"])) == ["INVALID_STATE"]

    two = await transact(api, payment["id"], "100.00")
    cancelled = await cancel(api, two["id"])
    assert cancelled["errors"] == []
    assert cancelled["transaction"]["status"] == "CANCELLED"
    assert [op["operation"] for op in cancelled["transaction"]["operationLog"]] == [
        "CREATE",
        "CANCEL",
    ]
    after = await capture(api, two["id"])
    assert error_codes(after) == ["INVALID_STATE"]
    assert error_codes(await cancel(api, two["id"])) == ["INVALID_STATE"]
    assert provider.calls == Counter({one["id"]: 1})
    read = await order_payments(api, order["id"])
    assert read["balance"] == "1511.00"
    # A cancelled transaction frees its amount on the payment.
    assert (await create_transaction(api, payment["id"], "1511.00"))["errors"] == []


async def test_deactivate_and_reactivate_a_payment(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    pending = await transact(api, payment["id"], "100.00")
    off = await update_payment(api, paymentId=payment["id"], active=False)
    assert off["errors"] == [] and off["payment"]["active"] is False
    refused = await create_transaction(api, payment["id"], "100.00")
    assert error_codes(refused) == ["PAYMENT_INACTIVE"]
    assert error_codes(await capture(api, pending["id"])) == ["PAYMENT_INACTIVE"]
    assert provider.total == 0

    on = await update_payment(api, paymentId=payment["id"], active=True)
    assert on["errors"] == [] and on["payment"]["active"] is True
    assert (await create_transaction(api, payment["id"], "100.00"))["errors"] == []
    assert (await capture(api, pending["id"]))["errors"] == []
    assert provider.total == 1


async def test_payment_amount_changes_only_before_a_capture(api: Api) -> None:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    lowered = await update_payment(api, paymentId=payment["id"], totalAmount="1000.00")
    assert lowered["errors"] == [] and lowered["payment"]["totalAmount"] == "1000.00"
    assert error_codes(await create_transaction(api, payment["id"], "1000.01")) == [
        "AMOUNT_MISMATCH"
    ]
    too_much = await update_payment(api, paymentId=payment["id"], totalAmount="1611.01")
    assert error_codes(too_much) == ["AMOUNT_MISMATCH"]
    pending = await transact(api, payment["id"], "500.00")
    # Below what its transactions already ask for: they could take more than the payment.
    below = await update_payment(api, paymentId=payment["id"], totalAmount="400.00")
    assert error_codes(below) == ["AMOUNT_MISMATCH"]
    read = (await api.gql(PAYMENT, {"id": payment["id"]}))["payment"]
    assert read["totalAmount"] == "1000.00"

    assert (await capture(api, pending["id"]))["errors"] == []
    fixed = await update_payment(api, paymentId=payment["id"], totalAmount="900.00")
    assert error_codes(fixed) == ["INVALID_STATE"] and fixed["payment"] is None
    read = (await api.gql(PAYMENT, {"id": payment["id"]}))["payment"]
    assert read["totalAmount"] == "1000.00"


async def test_reset_of_a_draft_order_makes_its_payments_inactive(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    pending = await transact(api, payment["id"], "100.00")
    reset = (await api.gql(RESET, {"input": {"orderId": order["id"]}}))["resetOrder"]
    assert reset["errors"] == [] and reset["order"]["status"] == "CANCELLED"

    read = await order_payments(api, order["id"])
    assert [p["active"] for p in read["payments"]] == [False]
    assert (await api.gql(PAYMENT, {"id": payment["id"]}))["payment"]["active"] is False
    assert error_codes(await capture(api, pending["id"])) == ["PAYMENT_INACTIVE"]
    # The order is cancelled too, so either reason refuses a new transaction.
    assert set(error_codes(await create_transaction(api, payment["id"], "10.00"))) <= {
        "PAYMENT_INACTIVE",
        "INVALID_STATE",
    }
    assert error_codes(await create_transaction(api, payment["id"], "10.00"))
    # Reactivating cannot bring it back: the cancelled order has nothing to pay.
    assert (await update_payment(api, paymentId=payment["id"], active=True))["errors"]
    assert provider.total == 0
    assert (await order_payments(api, order["id"]))["balance"] == "0.00"


async def test_reset_of_a_new_version_deactivates_its_payments(counted: Counted) -> None:
    api = counted.api
    order = await a_reserved_order(api, travellers=1)
    first = await pay(api, order["id"])
    assert (await capture(api, (await transact(api, first["id"], first["totalAmount"]))["id"]))[
        "order"
    ]["status"] == "CONFIRMED"
    # Add a line: version 2, DRAFT, with something to pay.
    offers = await offers_for(api, [{"id": "t9", "userType": "ADULT"}])
    flex = next(o for o in offers if o["product"]["name"] == "Flex")
    added = (
        await api.gql(
            RESERVE,
            {"input": {"orderId": order["id"], "offerConfigurations": [{"offerId": flex["id"]}]}},
        )
    )["reserveOffers"]
    assert added["errors"] == [] and added["order"]["version"] == 2
    second = await pay(api, order["id"])
    assert second["orderVersion"] == 2
    pending = await transact(api, second["id"], second["totalAmount"])
    reset = (await api.gql(RESET, {"input": {"orderId": order["id"]}}))["resetOrder"]
    assert reset["order"]["status"] == "CONFIRMED" and reset["order"]["version"] == 1

    assert error_codes(await create_transaction(api, second["id"], "10.00")) == ["PAYMENT_INACTIVE"]
    assert error_codes(await capture(api, pending["id"])) == ["PAYMENT_INACTIVE"]
    read = await order_payments(api, order["id"])
    assert {p["id"]: p["active"] for p in read["payments"]} == {
        first["id"]: True,
        second["id"]: False,
    }
    assert read["balance"] == "0.00"
    assert counted.provider.total == 1


async def test_capture_on_an_expired_draft_order_never_reaches_the_provider(
    counted: Counted, clock: MovableClock
) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], TOTAL)
    clock.advance(timedelta(minutes=21))

    expired = await capture(api, tx["id"], key="late")
    assert error_codes(expired) == ["ORDER_EXPIRED"]
    assert expired["transaction"] is None
    assert provider.total == 0
    assert error_codes(await create_transaction(api, payment["id"], "10.00")) == ["ORDER_EXPIRED"]
    assert error_codes(await create_payment(api, orderId=order["id"])) == ["ORDER_EXPIRED"]
    read = await order_payments(api, order["id"])
    assert read["balance"] == TOTAL and read["paymentRefs"] == []
    assert [r["status"] for r in await transaction_rows(counted.app, order["id"])] == ["CREATED"]


@pytest.mark.parametrize("token", ["tok_declined", "tok_error"])
async def test_declined_and_failing_captures_leave_the_order_unpaid(
    counted: Counted, token: str
) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], TOTAL, token=token)

    answer = await capture(api, tx["id"])
    assert error_codes(answer) == ["PAYMENT_DECLINED"]
    assert answer["transaction"]["status"] == "FAILED"
    assert answer["transaction"]["capturedAt"] is None
    assert answer["order"]["status"] == "DRAFT"
    assert answer["order"]["balance"] == TOTAL
    assert answer["order"]["paymentRefs"] == []
    assert provider.total == 1

    read = await order_payments(api, order["id"])
    assert (read["status"], read["balance"], read["paymentRefs"]) == ("DRAFT", TOTAL, [])
    assert [tr["status"] for p in read["payments"] for tr in p["transactions"]] == ["FAILED"]
    [row] = await transaction_rows(counted.app, order["id"])
    assert row["status"] == "FAILED" and row["payment_token"] is None
    # A failed transaction cannot be captured again, and holds nothing of the payment.
    assert error_codes(await capture(api, tx["id"])) == ["INVALID_STATE"]
    assert provider.total == 1
    good = await transact(api, payment["id"], TOTAL)
    assert (await capture(api, good["id"]))["order"]["status"] == "CONFIRMED"


async def test_card_numbers_never_show_more_than_four_digits(
    counted: Counted, settings: Settings, clock: MovableClock
) -> None:
    api = counted.api
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    for token, amount in (("tok_4000000000001234", "1.00"), ("4111111111111111", "2.00")):
        tx = await transact(api, payment["id"], amount, token=token)
        shown = (await capture(api, tx["id"]))["transaction"]["maskedCardNumber"]
        assert digits(shown) == 4 and shown.endswith(token[-4:]), shown
    vipps = await create_transaction(api, payment["id"], "3.00", paymentType="VIPPS")
    shown = (await capture(api, vipps["transaction"]["id"]))["transaction"]
    assert shown["maskedCardNumber"] is None

    # A provider that shows more (first six and last four, as many do) is cut to four.
    for masked in ("411111******1111", "4111 1111 1111 1111"):
        async for other in _counted_app(settings, clock, CountingProvider(masked=masked)):
            tx = await transact(other.api, payment["id"], "1.00")
            shown = (await capture(other.api, tx["id"]))["transaction"]["maskedCardNumber"]
            assert digits(shown) <= 4 and shown.endswith("1111"), shown
    read = (await api.gql(PAYMENT, {"id": payment["id"]}))["payment"]
    assert all(digits(tr["maskedCardNumber"]) <= 4 for tr in read["transactions"])
    assert len(read["transactions"]) == 5


# ------------------------------------------------------------------ 5. queries


async def test_payment_queries_and_filters(api: Api, app: Starlette, clock: MovableClock) -> None:
    order = await a_reserved_order(api)
    p1 = await pay(api, order["id"], amount="1000.00")
    captured = await capture(api, (await transact(api, p1["id"], "1000.00"))["id"])
    captured_tx = captured["transaction"]
    clock.advance(timedelta(minutes=1))
    p2 = await pay(api, order["id"], amount="611.00")
    pending = await transact(api, p2["id"], "11.00")
    clock.advance(timedelta(minutes=1))
    other_order = await a_reserved_order(api, travellers=1)
    p3 = await pay(api, other_order["id"])

    one = (await api.gql(PAYMENT, {"id": p1["id"]}))["payment"]
    assert one["id"] == p1["id"] and one["orderId"] == order["id"]
    assert (one["orderVersion"], one["organisationId"], one["currency"]) == (1, 1, "NOK")
    assert (one["totalAmount"], one["active"], one["credits"]) == ("1000.00", True, [])
    assert one["transactions"] == [
        {
            "id": captured_tx["id"],
            "paymentId": p1["id"],
            "status": "CAPTURED",
            "amount": "1000.00",
            "currency": "NOK",
            "maskedCardNumber": captured_tx["maskedCardNumber"],
            "pspReference": captured_tx["pspReference"],
        }
    ]
    assert (await api.gql(PAYMENT, {"id": "nope"}))["payment"] is None

    async def ids(filter: dict[str, Any] | None = None, page: int = 1, per: int = 20) -> list[str]:
        data = (await api.gql(PAYMENTS, {"page": page, "perPage": per, "filter": filter}))[
            "payments"
        ]
        assert data["totalItems"] == len(data["items"]) or per < data["totalItems"]
        return [p["id"] for p in data["items"]]

    everything = (await api.gql(PAYMENTS, {"page": 1, "perPage": 20}))["payments"]
    assert [p["id"] for p in everything["items"]] == [p3["id"], p2["id"], p1["id"]]
    assert (everything["totalItems"], everything["totalPages"]) == (3, 1)
    by_id = {p["id"]: p for p in everything["items"]}
    assert [t_["id"] for t_ in by_id[p2["id"]]["transactions"]] == [pending["id"]]
    assert by_id[p1["id"]]["transactions"] == one["transactions"]
    paged = (await api.gql(PAYMENTS, {"page": 2, "perPage": 2}))["payments"]
    assert [p["id"] for p in paged["items"]] == [p1["id"]]
    assert (paged["page"], paged["perPage"], paged["totalItems"], paged["totalPages"]) == (
        2,
        2,
        3,
        2,
    )
    assert await ids(page=3, per=2) == []

    assert await ids({"id": {"eq": p2["id"]}}) == [p2["id"]]
    assert await ids({"id": {"ne": p2["id"]}}) == [p3["id"], p1["id"]]
    assert await ids({"id": {"in": [p1["id"], p3["id"]]}}) == [p3["id"], p1["id"]]
    assert await ids({"id": {"nin": [p1["id"], p3["id"]]}}) == [p2["id"]]
    assert await ids({"orderId": {"eq": order["id"]}}) == [p2["id"], p1["id"]]
    assert await ids({"orderId": {"in": [other_order["id"]]}}) == [p3["id"]]
    assert await ids({"orderVersion": {"eq": 1}}) == [p3["id"], p2["id"], p1["id"]]
    assert await ids({"orderVersion": {"gt": 1}}) == []
    assert await ids({"totalAmount": {"eq": "1000.00"}}) == [p1["id"]]
    assert await ids({"totalAmount": {"gt": "611.00", "lte": "1000.00"}}) == [p3["id"], p1["id"]]
    assert await ids({"totalAmount": {"lt": "611.00"}}) == []
    assert await ids({"totalAmount": {"ne": "611.00"}}) == [p3["id"], p1["id"]]
    assert await ids({"currency": {"eq": "NOK"}}) == [p3["id"], p2["id"], p1["id"]]
    assert await ids({"currency": {"ne": "NOK"}}) == []
    assert await ids({"currency": {"in": ["EUR"]}}) == []
    assert await ids({"transactionStatus": {"eq": "CAPTURED"}}) == [p1["id"]]
    assert await ids({"transactionStatus": {"in": ["CREATED", "CAPTURED"]}}) == [
        p2["id"],
        p1["id"],
    ]
    assert await ids({"transactionStatus": {"ne": "CAPTURED"}}) == [p2["id"]]
    assert await ids({"transactionStatus": {"nin": ["CREATED"]}}) == [p1["id"]]
    assert await ids({"transactionStatus": {"eq": "FAILED"}}) == []
    created = {p["id"]: p["createdAt"] for p in everything["items"]}
    assert await ids({"createdAt": {"eq": created[p2["id"]]}}) == [p2["id"]]
    assert await ids({"createdAt": {"gt": created[p1["id"]]}}) == [p3["id"], p2["id"]]
    assert await ids({"createdAt": {"lte": created[p2["id"]]}}) == [p2["id"], p1["id"]]
    assert await ids({"orderId": {"eq": order["id"]}, "transactionStatus": {"eq": "CREATED"}}) == [
        p2["id"]
    ]

    # Order.payments and Order.paymentRefs.
    read = await order_payments(api, order["id"])
    assert [p["id"] for p in read["payments"]] == [p1["id"], p2["id"]]
    assert read["payments"][1]["transactions"] == [
        {"id": pending["id"], "status": "CREATED", "amount": "11.00"}
    ]
    assert read["paymentRefs"] == [
        {
            "orderVersion": 1,
            "paymentId": p1["id"],
            "transactionId": captured_tx["id"],
            "amount": "1000.00",
            "currency": "NOK",
            "completedAt": captured_tx["capturedAt"],
        }
    ]

    # Credits: none yet, and every filter works on an empty list.
    empty = (await api.gql(CREDITS))["credits"]
    assert (empty["items"], empty["totalItems"], empty["totalPages"], empty["page"]) == (
        [],
        0,
        0,
        1,
    )
    for credit_filter in (
        {"id": {"eq": "x"}},
        {"orderId": {"eq": order["id"]}},
        {"paymentId": {"in": [p1["id"]]}},
        {"amount": {"gte": "0.00"}},
        {"createdAt": {"lt": "2100-01-01T00:00:00Z"}},
    ):
        assert (await api.gql(CREDITS, {"filter": credit_filter}))["credits"]["items"] == []

    # With a credit on the captured transaction (as a refund would leave), the filters match.
    credit_id = new_id()
    async with app.state.engine.begin() as connection:
        await connection.execute(
            insert(t.credits).values(
                id=credit_id,
                order_id=order["id"],
                order_version=1,
                payment_id=p1["id"],
                transaction_id=captured_tx["id"],
                amount=100_00,
                currency="NOK",
                status="CREDITED",
                created_at=clock.now(),
            )
        )

    async def credit_ids(credit_filter: dict[str, Any]) -> list[str]:
        data = (await api.gql(CREDITS, {"filter": credit_filter}))["credits"]
        return [c["id"] for c in data["items"]]

    assert await credit_ids({"id": {"eq": credit_id}}) == [credit_id]
    assert await credit_ids({"orderId": {"eq": order["id"]}}) == [credit_id]
    assert await credit_ids({"orderId": {"eq": other_order["id"]}}) == []
    assert await credit_ids({"paymentId": {"in": [p1["id"]]}}) == [credit_id]
    assert await credit_ids({"paymentId": {"nin": [p1["id"]]}}) == []
    assert await credit_ids({"amount": {"eq": "100.00"}}) == [credit_id]
    assert await credit_ids({"amount": {"gt": "100.00"}}) == []
    assert await credit_ids({"createdAt": {"lt": "2000-01-01T00:00:00Z"}}) == []
    assert await credit_ids({"createdAt": {"gt": "2000-01-01T00:00:00Z"}}) == [credit_id]
    assert [c["id"] for c in (await api.gql(PAYMENT, {"id": p1["id"]}))["payment"]["credits"]] == [
        credit_id
    ]
    listed = (await api.gql(PAYMENTS, {"page": 1, "perPage": 20}))["payments"]["items"]
    assert {p["id"]: [c["id"] for c in p["credits"]] for p in listed} == {
        p1["id"]: [credit_id],
        p2["id"]: [],
        p3["id"]: [],
    }
    theirs = (await api.gql(CREDITS, client_id="other-app"))["credits"]
    assert (theirs["items"], theirs["totalItems"]) == ([], 0)


async def test_another_organisation_sees_and_touches_nothing(counted: Counted) -> None:
    api, provider = counted.api, counted.provider
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    pending = await transact(api, payment["id"], "100.00")
    other = {"client_id": "other-app"}

    assert (await api.gql(PAYMENT, {"id": payment["id"]}, **other))["payment"] is None
    listed = (await api.gql(PAYMENTS, {"page": 1, "perPage": 20}, **other))["payments"]
    assert (listed["items"], listed["totalItems"]) == ([], 0)
    filtered = (
        await api.gql(
            PAYMENTS,
            {"page": 1, "perPage": 20, "filter": {"id": {"eq": payment["id"]}}},
            **other,
        )
    )["payments"]
    assert filtered["items"] == []
    assert (await api.gql(ORDER_PAYMENTS, {"id": order["id"]}, **other))["order"] is None

    mutations = [
        (CREATE_PAYMENT, {"orderId": order["id"]}, "createPayment"),
        (
            CREATE_TRANSACTION,
            {
                "paymentId": payment["id"],
                "paymentType": "VISA",
                "amount": "10.00",
                "paymentToken": "tok_visa",
            },
            "createTransaction",
        ),
        (CAPTURE, {"transactionId": pending["id"]}, "captureTransaction"),
        (CAPTURE, {"transactionId": pending["id"], "idempotencyKey": "k"}, "captureTransaction"),
        (CANCEL, {"transactionId": pending["id"]}, "cancelTransaction"),
        (UPDATE_PAYMENT, {"paymentId": payment["id"], "active": False}, "updatePayment"),
    ]
    for query, fields, name in mutations:
        result = (await api.gql(query, {"input": fields}, **other))[name]
        assert error_codes(result) == ["NOT_FOUND"], (name, result)
        assert all(v is None for k, v in result.items() if k != "errors"), (name, result)
    assert provider.total == 0
    read = await order_payments(api, order["id"])
    assert [p["active"] for p in read["payments"]] == [True]
    assert [tr["status"] for p in read["payments"] for tr in p["transactions"]] == ["CREATED"]
    assert await payment_count(counted.app, order["id"]) == 1
    # The key "k" was not spent on organisation 1's behalf: it is still free for its owner.
    assert (await capture(api, pending["id"], key="k"))["errors"] == []


# ------------------------------------------------------------------ 6. statements per page


ORDERS_WITH_PAYMENTS = """
query($perPage: Int!) {
  orders(perPage: $perPage) {
    items { id payments { transactions { id } credits { id } } paymentRefs { amount } }
  }
}
"""

PAYMENTS_WITH_CHILDREN = """
query($perPage: Int!) {
  payments(perPage: $perPage) { items { id transactions { id } credits { id } } }
}
"""


async def test_statements_do_not_grow_with_the_page(api: Api, app: Starlette) -> None:
    for _ in range(3):
        order = await a_reserved_order(api, travellers=1)
        half = await pay(api, order["id"], amount="100.00")
        assert (await capture(api, (await transact(api, half["id"], "100.00"))["id"]))[
            "errors"
        ] == []
        rest = await pay(api, order["id"])
        await transact(api, rest["id"], "1.00")
    await api.token()

    counts: dict[tuple[str, int], int] = {}
    for name, query in (("orders", ORDERS_WITH_PAYMENTS), ("payments", PAYMENTS_WITH_CHILDREN)):
        for per_page in (1, 100):
            with recorded_statements(app) as seen:
                data = await api.gql(query, {"perPage": per_page})
            items = data[name]["items"]
            assert len(items) == (1 if per_page == 1 else (3 if name == "orders" else 6))
            payments = [p for o in items for p in o["payments"]] if name == "orders" else items
            assert payments and all(p["transactions"] for p in payments), data
            counts[(name, per_page)] = len(seen)
    assert counts[("orders", 1)] == counts[("orders", 100)], counts
    assert counts[("payments", 1)] == counts[("payments", 100)], counts
