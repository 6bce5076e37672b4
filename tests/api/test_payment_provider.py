"""The payment provider outside the database's transactions: an answer that never comes
leaves the capture PENDING (PAYMENT_PROVIDER_UNAVAILABLE) until the reconciler asks the
provider; the simulator's books (its ledger) match the service's; money taken for a DRAFT
version that is never confirmed is given back on cancel, reset and expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.payments import TransactionStatus
from sales_api.domain.services.lifecycle import expire_orders
from sales_api.domain.services.reconciler import reconcile_captures
from sales_api.settings import Settings
from tests.api.test_order_lifecycle import change
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.conftest import Api, MovableClock

PSP_TIMEOUT = 0.3
ORDER_MONEY = """query($id: ID!) { order(id: $id) { id version status balance totalAmount
  payments { transactions { id status amount } credits { amount status } } } }"""


class Served:
    def __init__(self, api: Api, app: Starlette, clock: MovableClock) -> None:
        self.api, self.app, self.clock = api, app, clock

    async def ledger(self, reference: str | None = None) -> list[dict[str, Any]]:
        params = {"reference": reference} if reference else {}
        response = await self.api.client.get("/simulator/psp/ledger", params=params)
        assert response.status_code == 200
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    async def money(self, order_id: str) -> dict[str, Any]:
        return dict((await self.api.gql(ORDER_MONEY, {"id": order_id}))["order"])

    async def reconcile(self) -> int:
        return await reconcile_captures(
            self.app.state.uow_factory,
            self.app.state.provider,
            self.clock,
            answer_within=timedelta(seconds=PSP_TIMEOUT),
        )


@pytest.fixture
async def served(app: Starlette, settings: Settings, clock: MovableClock) -> AsyncIterator[Served]:
    """The app with a provider time limit short enough for `tok_timeout` to pass it."""
    application = create_app(
        settings.model_copy(update={"psp_timeout_seconds": PSP_TIMEOUT}), clock=clock
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client:
            yield Served(Api(client), application, clock)
    finally:
        await application.state.reads.close()
        await application.state.engine.dispose()


async def test_an_answer_that_never_comes_leaves_the_capture_pending_until_reconciled(
    served: Served,
) -> None:
    api = served.api
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], payment["totalAmount"], token="tok_timeout")

    lost = await capture(api, tx["id"], key="pay-1")
    [error] = lost["errors"]
    assert error["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    assert lost["transaction"]["status"] == "PENDING"
    assert lost["order"]["status"] == "DRAFT"
    # The provider did take the money: one CHARGE under the transaction's id.
    [charge] = await served.ledger(tx["id"])
    assert (charge["operation"], charge["amount"]) == ("CHARGE", payment["totalAmount"])
    # Asked again with the key, still the same attempt (PENDING): nothing charged twice.
    again = await capture(api, tx["id"], key="pay-1")
    assert [e["code"] for e in again["errors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"]
    # Without the key, the transaction is not capturable again.
    other = await capture(api, tx["id"])
    assert [e["code"] for e in other["errors"]] == ["INVALID_STATE"]

    served.clock.advance(timedelta(seconds=2 * PSP_TIMEOUT + 1))
    assert await served.reconcile() == 1
    money = await served.money(order["id"])
    assert (money["status"], money["balance"]) == ("CONFIRMED", "0.00")
    assert [t["status"] for p in money["payments"] for t in p["transactions"]] == ["CAPTURED"]
    assert len(await served.ledger(tx["id"])) == 1
    settled = await capture(api, tx["id"], key="pay-1")
    assert settled["errors"] == [] and settled["transaction"]["status"] == "CAPTURED"
    assert await served.reconcile() == 0


async def test_an_attempt_the_provider_never_saw_fails_once_its_time_is_up(
    served: Served,
) -> None:
    """A PENDING capture the provider has no record of (the process died before asking):
    FAILED once twice the provider's time has passed, nothing charged."""
    api = served.api
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], payment["totalAmount"])
    # As a capture leaves it when the process dies between recording it and asking.
    async with served.app.state.uow_factory(write=True) as uow:
        [recorded] = await uow.payments.for_order(order["id"])
        [transaction] = recorded.transactions
        transaction.status = TransactionStatus.PENDING
        transaction.sent_at = served.clock.now()
        await uow.payments.save(recorded)
        await uow.commit()
    assert transaction.id == tx["id"]
    served.clock.advance(timedelta(seconds=PSP_TIMEOUT * 1.5))
    assert await served.reconcile() == 0  # it may still be on its way
    served.clock.advance(timedelta(seconds=PSP_TIMEOUT))
    assert await served.reconcile() == 1
    money = await served.money(order["id"])
    assert [t["status"] for p in money["payments"] for t in p["transactions"]] == ["FAILED"]
    assert money["balance"] == money["totalAmount"]
    assert await served.ledger(tx["id"]) == []


async def test_a_provider_failing_at_once_is_a_decline_and_charges_nothing(
    served: Served,
) -> None:
    api = served.api
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], payment["totalAmount"], token="tok_error")
    failed = await capture(api, tx["id"])
    assert [e["code"] for e in failed["errors"]] == ["PAYMENT_DECLINED"]
    assert failed["transaction"]["status"] == "FAILED"
    assert await served.ledger(tx["id"]) == []


async def part_paid(served: Served, amount: str = "10.00") -> tuple[dict[str, Any], str]:
    """A DRAFT order with `amount` captured of its total."""
    api = served.api
    order = await a_reserved_order(api, travellers=1)
    payment = await pay(api, order["id"], amount=amount)
    tx = await transact(api, payment["id"], amount)
    assert (await capture(api, tx["id"]))["errors"] == []
    return order, tx["id"]


def credited(money: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["amount"], c["status"]) for p in money["payments"] for c in p["credits"]]


@pytest.mark.parametrize("name", ["cancelOrder", "resetOrder"])
async def test_money_taken_for_a_draft_never_confirmed_comes_back(
    served: Served, name: str
) -> None:
    """Capture 10.00 of 805.50, then cancel (or reset): the order is CANCELLED and the
    10.00 credited back, in the service's books and in the provider's."""
    order, transaction_id = await part_paid(served)
    result = await change(served.api, name, order["id"])
    assert result["errors"] == [], result
    assert result["order"]["status"] == "CANCELLED"
    money = await served.money(order["id"])
    assert credited(money) == [("10.00", "CREDITED")]
    assert money["balance"] == "0.00"
    entries = await served.ledger()
    charged = [e for e in entries if e["reference"] == transaction_id]
    [credit] = [e for e in entries if e["operation"] == "CREDIT" and e["amount"] == "10.00"
                and e["at"] >= charged[0]["at"]]  # fmt: skip
    assert charged[0]["operation"] == "CHARGE"
    assert credit["amount"] == "10.00"


async def test_an_expired_draft_gives_its_money_back(served: Served) -> None:
    order, _ = await part_paid(served)
    served.clock.advance(timedelta(minutes=21))
    app = served.app
    assert await expire_orders(app.state.uow_factory, app.state.provider, served.clock) == 1
    money = await served.money(order["id"])
    assert money["status"] == "CANCELLED"
    assert credited(money) == [("10.00", "CREDITED")]
    assert money["balance"] == "0.00"


async def test_a_confirmed_order_is_not_cancelled(served: Served) -> None:
    api = served.api
    order = await a_reserved_order(api, travellers=1)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], payment["totalAmount"])
    assert (await capture(api, tx["id"]))["order"]["status"] == "CONFIRMED"
    refused = await change(api, "cancelOrder", order["id"])
    assert [e["code"] for e in refused["errors"]] == ["INVALID_STATE"]
    assert credited(await served.money(order["id"])) == []


async def test_the_ledger_is_for_development_only(settings: Settings) -> None:
    production = create_app(
        settings.model_copy(
            update={
                "env": "production",
                "builtin_issuer": False,
                "auth_jwks_url": "https://idp.example/jwks.json",
            }
        )
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=production), base_url="http://testserver"
        ) as client:
            assert (await client.get("/simulator/psp/ledger")).status_code == 404
    finally:
        await production.state.reads.close()
        await production.state.engine.dispose()
