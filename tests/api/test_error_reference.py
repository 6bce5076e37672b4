"""The error reference is true: every (mutation, code) pair declared in MUTATION_ERRORS is
answered by that mutation over HTTP through the real app, every mutation has an entry, and
docs/errors.md is what `sales-api export-schema --errors` prints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.errors import ERROR_MEANINGS, ErrorCode
from sales_api.domain.payments import CaptureApproved, CreditApproved, PaymentType, ProviderEntry
from sales_api.schema.build import build_schema
from sales_api.schema.error_reference import MUTATION_ERRORS, errors_line, markdown_errors
from sales_api.settings import Settings
from tests.api.test_after_sale import an_offer, journey_of, paid_order, read
from tests.api.test_order_lifecycle import INFANT, journey, offer_id, reserve_offer
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.api.test_refunds import a_paid_order
from tests.api.test_seat_races import fill_premium_but_one
from tests.conftest import Api, MovableClock

ROOT = Path(__file__).resolve().parents[2]
ERRORS_DOC = ROOT / "docs" / "errors.md"
REGENERATE = "regenerate it: sales-api export-schema --errors > docs/errors.md"
CLOSED_CHANNEL = "ENT:DistributionChannel:Nope"
E = ErrorCode

_MUTATIONS = build_schema()._schema.mutation_type
assert _MUTATIONS is not None


class LostAnswers:
    """A payment provider whose answers never arrive: captures of `tok_lost` and every
    credit fail on the connection (the service's time limit turns that into no answer)."""

    async def capture(
        self,
        reference: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        if token == "tok_lost":
            raise ConnectionError("connection reset")
        return CaptureApproved(f"LOST-{reference}", None)

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        raise ConnectionError("connection reset")

    async def outcome(self, reference: str) -> ProviderEntry | None:
        return None


class World:
    """The app under test, its clock, and on demand the same service with LostAnswers."""

    def __init__(self, api: Api, clock: MovableClock, settings: Settings) -> None:
        self.api, self.clock, self.settings = api, clock, settings
        self._lost: tuple[Starlette, httpx.AsyncClient] | None = None

    async def lost(self) -> Api:
        if self._lost is None:
            app = create_app(self.settings, clock=self.clock, payment_provider=LostAnswers())
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            )
            self._lost = (app, client)
        return Api(self._lost[1])

    async def close(self) -> None:
        if self._lost is not None:
            app, client = self._lost
            await client.aclose()
            await app.state.reads.close()
            await app.state.engine.dispose()


@pytest.fixture
async def world(api: Api, clock: MovableClock, settings: Settings) -> AsyncIterator[World]:
    w = World(api, clock, settings)
    yield w
    await w.close()


def _document(name: str, select: str) -> str:
    input_type = _MUTATIONS.fields[name].args["input"].type
    return (
        f"mutation($input: {input_type}) {{ {name}(input: $input) "
        f"{{ {select} errors {{ code message path }} }} }}"
    )


async def mutate(
    api: Api, name: str, input: dict[str, Any], select: str = "", **kwargs: Any
) -> dict[str, Any]:
    """The mutation's payload (failing the test on a top-level error)."""
    data = await api.gql(_document(name, select), {"input": input}, **kwargs)
    return dict(data[name])


async def codes(api: Api, name: str, input: dict[str, Any], **kwargs: Any) -> list[str]:
    return [error["code"] for error in (await mutate(api, name, input, **kwargs))["errors"]]


async def succeeds(api: Api, name: str, input: dict[str, Any], select: str = "") -> Any:
    payload = await mutate(api, name, input, select)
    assert payload["errors"] == [], payload
    return payload


# ------------------------------------------------------------------ the provoking cases

Provoke = Callable[[World], Awaitable[list[str]]]
CASES: list[tuple[str, ErrorCode, Provoke]] = []


def provokes(mutation: str, code: ErrorCode) -> Callable[[Provoke], Provoke]:
    def register(provoke: Provoke) -> Provoke:
        CASES.append((mutation, code, provoke))
        return provoke

    return register


async def a_flex_offer(api: Api) -> str:
    return await offer_id(api)


async def reserved(api: Api) -> dict[str, Any]:
    """A DRAFT order of one adult on Flex, with its seat held: the reserveOffers payload."""
    return await reserve_offer(api, await a_flex_offer(api))


async def part_paid(api: Api, token: str = "tok_visa") -> dict[str, Any]:
    """A DRAFT order, never confirmed, with 10.00 of its total captured."""
    order = await a_reserved_order(api, travellers=1)
    payment = await pay(api, order["id"], amount="10.00")
    tx = await transact(api, payment["id"], "10.00", token=token)
    assert (await capture(api, tx["id"]))["errors"] == []
    return order


async def an_open_transaction(api: Api, amount: str | None = None) -> tuple[str, str]:
    """(payment id, transaction id) of a CREATED transaction on a reserved order."""
    order = await a_reserved_order(api, travellers=1)
    payment = await pay(api, order["id"], amount=amount)
    tx = await transact(api, payment["id"], amount or payment["totalAmount"])
    return payment["id"], tx["id"]


def line_ids(order: dict[str, Any]) -> list[str]:
    return [line["id"] for line in order["orderLines"]]


async def disrupt(api: Api, journey_id: str, key: str = "d") -> None:
    await succeeds(
        api,
        "disruptServiceJourney",
        {"serviceJourneyId": journey_id, "reason": "Landslide", "idempotencyKey": key},
    )


async def an_exchange(
    api: Api, product: str = "Flex", to: str = "Premium Flex"
) -> tuple[dict[str, Any], str]:
    """An exchangeOrderLines input that passes: both lines of a CONFIRMED order of two adults
    on `product`, replaced by an offer of `to` on another journey; and that journey."""
    order = await paid_order(api, product)
    offer = await an_offer(api, to, not_on=journey_of(order))
    exchange = {"orderId": order["id"], "orderLineIds": line_ids(order), "offerId": offer["id"]}
    return exchange, str(offer["travelSpecification"]["serviceJourneyId"])


# Inputs that pass GraphQL validation and name nothing that exists.
NOTHING: dict[str, dict[str, Any]] = {
    "createOrder": {},
    "updateOrder": {"orderId": "nope"},
    "cancelOrder": {"orderId": "nope"},
    "resetOrder": {"orderId": "nope"},
    "confirmOrder": {"orderId": "nope"},
    "changeSeats": {"reservationId": "nope", "seats": []},
    "createPayment": {"orderId": "nope"},
    "updatePayment": {"paymentId": "nope"},
    "createTransaction": {"paymentId": "nope", "paymentType": "VISA", "amount": "1.00"},
    "captureTransaction": {"transactionId": "nope"},
    "cancelTransaction": {"transactionId": "nope"},
    "generateTickets": {"orderId": "nope"},
    "distributeTickets": {"orderId": "nope", "distributionMethod": "APP"},
    "sendReceipt": {"orderId": "nope"},
    "refundOrder": {"orderId": "nope", "idempotencyKey": "nope"},
    "deleteWebhookSubscription": {"webhookSubscriptionId": "nope"},
    "redeliverWebhook": {"webhookDeliveryId": "nope"},
    "cancelOrderLines": {"orderId": "nope", "orderLineIds": ["nope"]},
    "extendOrderExpiry": {"orderId": "nope"},
    "addFee": {"orderId": "nope", "type": "MANUAL", "amount": "10.00", "description": "x"},
    "compensateOrder": {"orderId": "nope", "amount": "10.00", "reason": "x", "idempotencyKey": "k"},
    "rebookDisruptedOrderLines": {
        "orderId": "nope",
        "orderLineIds": ["nope"],
        "toServiceJourneyId": "nope",
        "idempotencyKey": "k",
    },
}


def _nothing_case(mutation: str, code: ErrorCode, **kwargs: Any) -> None:
    async def provoke(w: World) -> list[str]:
        return await codes(w.api, mutation, NOTHING[mutation], **kwargs)

    CASES.append((mutation, code, provoke))


for _name in NOTHING:
    if E.NOT_FOUND in MUTATION_ERRORS.get(_name, ()):
        _nothing_case(_name, E.NOT_FOUND)
    if E.DISTRIBUTION_CHANNEL_NOT_ALLOWED in MUTATION_ERRORS.get(_name, ()):
        _nothing_case(_name, E.DISTRIBUTION_CHANNEL_NOT_ALLOWED, channel=CLOSED_CHANNEL)


# -- orders


@provokes("createOrder", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    return await codes(w.api, "createOrder", {"currency": "nok!"})


@provokes("updateOrder", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = (await succeeds(w.api, "createOrder", {}, "order { id }"))["order"]
    return await codes(
        w.api, "updateOrder", {"orderId": order["id"], "contactInfo": {"email": "not-mail"}}
    )


async def a_cancelled_order(api: Api) -> str:
    order_id: str = (await succeeds(api, "createOrder", {}, "order { id }"))["order"]["id"]
    await succeeds(api, "cancelOrder", {"orderId": order_id})
    return order_id


@provokes("updateOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order_id = await a_cancelled_order(w.api)
    return await codes(w.api, "updateOrder", {"orderId": order_id, "externalReference": "x"})


def _version_conflict(mutation: str, **fields: Any) -> None:
    """The mutation on a DRAFT order at version 1, expecting version 9 (`fields`: the rest
    of the input; the version is checked before anything it names)."""

    async def provoke(w: World) -> list[str]:
        order_id = (await reserved(w.api))["order"]["id"]
        return await codes(w.api, mutation, {"orderId": order_id, "expectedVersion": 9, **fields})

    CASES.append((mutation, E.VERSION_CONFLICT, provoke))


for _name in ("updateOrder", "cancelOrder", "resetOrder", "confirmOrder", "extendOrderExpiry"):
    _version_conflict(_name)
for _name in ("cancelOrderLines", "addFee", "compensateOrder"):
    _version_conflict(_name, **{k: v for k, v in NOTHING[_name].items() if k != "orderId"})


@provokes("updateOrder", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "updateOrder", {"orderId": order_id, "externalReference": "x"})


@provokes("cancelOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "cancelOrder", {"orderId": order["id"]})


@provokes("resetOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "resetOrder", {"orderId": order["id"]})


def _give_back_fails(mutation: str) -> None:
    async def declined(w: World) -> list[str]:
        order = await part_paid(w.api, token="tok_refund_error")
        return await codes(w.api, mutation, {"orderId": order["id"]})

    async def no_answer(w: World) -> list[str]:
        api = await w.lost()
        order = await part_paid(api)
        return await codes(api, mutation, {"orderId": order["id"]})

    CASES.append((mutation, E.PAYMENT_DECLINED, declined))
    CASES.append((mutation, E.PAYMENT_PROVIDER_UNAVAILABLE, no_answer))


for _name in ("cancelOrder", "resetOrder"):
    _give_back_fails(_name)


@provokes("confirmOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    return await codes(w.api, "confirmOrder", {"orderId": order_id})


@provokes("confirmOrder", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    free = await reserve_offer(w.api, await offer_id(w.api, INFANT))
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "confirmOrder", {"orderId": free["order"]["id"]})


@provokes("confirmOrder", E.PAYMENT_PROVIDER_UNAVAILABLE)
async def _(w: World) -> list[str]:
    api = await w.lost()
    exchange, _to = await an_exchange(api, "Premium Flex", to="Flex")  # costs less than paid
    await succeeds(api, "exchangeOrderLines", exchange)
    return await codes(api, "confirmOrder", {"orderId": exchange["orderId"]})


@provokes("confirmOrder", E.PAYMENT_DECLINED)
async def _(w: World) -> list[str]:
    # Paid with a card the provider will not credit; the exchange costs less than was paid.
    order = await read(w.api, (await a_paid_order(w.api, "Premium Flex", "tok_refund_error"))["id"])
    offer = await an_offer(w.api, "Flex", not_on=journey_of(order))
    exchange = {"orderId": order["id"], "orderLineIds": line_ids(order), "offerId": offer["id"]}
    await succeeds(w.api, "exchangeOrderLines", exchange)
    return await codes(w.api, "confirmOrder", {"orderId": order["id"]})


@provokes("exchangeOrderLines", E.CURRENCY_MISMATCH)
async def _(w: World) -> list[str]:
    made = await succeeds(w.api, "createOrder", {"currency": "SEK"}, "order { id }")
    offer = await an_offer(w.api, "Flex")
    exchange = {"orderId": made["order"]["id"], "orderLineIds": ["x"], "offerId": offer["id"]}
    return await codes(w.api, "exchangeOrderLines", exchange)


# -- reservations


def _reserve(offer: str, **fields: Any) -> dict[str, Any]:
    return {"offerConfigurations": [{"offerId": offer}], **fields}


@provokes("reserveOffers", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    return await codes(w.api, "reserveOffers", {"offerConfigurations": []})


@provokes("reserveOffers", E.NOT_FOUND)
async def _(w: World) -> list[str]:
    return await codes(w.api, "reserveOffers", _reserve(await a_flex_offer(w.api), orderId="x"))


@provokes("reserveOffers", E.DISTRIBUTION_CHANNEL_NOT_ALLOWED)
async def _(w: World) -> list[str]:
    offer = await a_flex_offer(w.api)
    return await codes(w.api, "reserveOffers", _reserve(offer), channel=CLOSED_CHANNEL)


@provokes("reserveOffers", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order_id = await a_cancelled_order(w.api)
    offer = await a_flex_offer(w.api)
    return await codes(w.api, "reserveOffers", _reserve(offer, orderId=order_id))


@provokes("reserveOffers", E.VERSION_CONFLICT)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    offer = await a_flex_offer(w.api)
    return await codes(w.api, "reserveOffers", _reserve(offer, orderId=order_id, expectedVersion=9))


@provokes("reserveOffers", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    w.clock.advance(timedelta(minutes=21))
    offer = await a_flex_offer(w.api)
    return await codes(w.api, "reserveOffers", _reserve(offer, orderId=order_id))


@provokes("reserveOffers", E.OFFER_NOT_FOUND)
async def _(w: World) -> list[str]:
    return await codes(w.api, "reserveOffers", _reserve("not-an-offer"))


@provokes("reserveOffers", E.OFFER_EXPIRED)
async def _(w: World) -> list[str]:
    offer = await a_flex_offer(w.api)
    w.clock.advance(timedelta(minutes=16))
    return await codes(w.api, "reserveOffers", _reserve(offer))


@provokes("reserveOffers", E.NO_SEATS_AVAILABLE)
async def _(w: World) -> list[str]:
    nine = [{"id": f"p{i}", "userType": "ADULT"} for i in range(9)]
    for _ in range(2):  # 18 of the 24 premium seats
        await reserve_offer(w.api, await offer_id(w.api, nine, product="Premium Flex"))
    offer = await offer_id(w.api, nine, product="Premium Flex")
    return await codes(w.api, "reserveOffers", _reserve(offer))


@provokes("reserveOffers", E.SEAT_UNAVAILABLE)
async def _(w: World) -> list[str]:
    seat = (await reserved(w.api))["reservations"][0]["seats"][0]
    offer = await a_flex_offer(w.api)
    request = {"offerId": offer, "seats": [seat]}
    return await codes(w.api, "reserveOffers", {"offerConfigurations": [request]})


@provokes("reserveOffers", E.CURRENCY_MISMATCH)
async def _(w: World) -> list[str]:
    order = (await succeeds(w.api, "createOrder", {"currency": "SEK"}, "order { id }"))["order"]
    offer = await a_flex_offer(w.api)
    return await codes(w.api, "reserveOffers", _reserve(offer, orderId=order["id"]))


@provokes("reserveOffers", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    await succeeds(w.api, "reserveOffers", _reserve(await a_flex_offer(w.api), idempotencyKey="k"))
    lowfare = await offer_id(w.api, product="Lowfare")
    return await codes(w.api, "reserveOffers", _reserve(lowfare, idempotencyKey="k"))


@provokes("reserveOffers", E.SERVICE_JOURNEY_DISRUPTED)
async def _(w: World) -> list[str]:
    offer = await a_flex_offer(w.api)  # on journey(), found before it is disrupted
    await disrupt(w.api, journey())
    return await codes(w.api, "reserveOffers", _reserve(offer))


@provokes("changeSeats", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    reservation = (await reserved(w.api))["reservations"][0]
    return await codes(w.api, "changeSeats", {"reservationId": reservation["id"], "seats": []})


@provokes("changeSeats", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    result = await reserved(w.api)
    await succeeds(w.api, "cancelOrder", {"orderId": result["order"]["id"]})
    reservation = result["reservations"][0]
    return await codes(
        w.api,
        "changeSeats",
        {"reservationId": reservation["id"], "seats": reservation["seats"]},
    )


@provokes("changeSeats", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    reservation = (await reserved(w.api))["reservations"][0]
    w.clock.advance(timedelta(minutes=21))
    return await codes(
        w.api,
        "changeSeats",
        {"reservationId": reservation["id"], "seats": reservation["seats"]},
    )


@provokes("changeSeats", E.SEAT_UNAVAILABLE)
async def _(w: World) -> list[str]:
    taken = (await reserved(w.api))["reservations"][0]["seats"]
    mine = (await reserved(w.api))["reservations"][0]
    return await codes(w.api, "changeSeats", {"reservationId": mine["id"], "seats": taken})


# -- payments


@provokes("createPayment", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    return await codes(w.api, "createPayment", {"orderId": order["id"], "totalAmount": "0.00"})


@provokes("createPayment", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = (await succeeds(w.api, "createOrder", {}, "order { id }"))["order"]
    return await codes(w.api, "createPayment", {"orderId": order["id"]})


@provokes("createPayment", E.VERSION_CONFLICT)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    return await codes(w.api, "createPayment", {"orderId": order["id"], "orderVersion": 5})


@provokes("createPayment", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "createPayment", {"orderId": order["id"]})


@provokes("createPayment", E.CURRENCY_MISMATCH)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    return await codes(w.api, "createPayment", {"orderId": order["id"], "currency": "SEK"})


@provokes("createPayment", E.AMOUNT_MISMATCH)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    return await codes(w.api, "createPayment", {"orderId": order["id"], "totalAmount": "99999.00"})


@provokes("createPayment", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    first = {"orderId": order["id"], "totalAmount": "10.00", "idempotencyKey": "k"}
    await succeeds(w.api, "createPayment", first)
    return await codes(w.api, "createPayment", {**first, "totalAmount": "11.00"})


@provokes("updatePayment", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    return await codes(w.api, "updatePayment", {"paymentId": payment["id"], "totalAmount": "0.00"})


@provokes("updatePayment", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await part_paid(w.api)
    payments = await w.api.gql(
        "query($id: ID!) { order(id: $id) { payments { id } } }", {"id": order["id"]}
    )
    paid = payments["order"]["payments"][0]["id"]
    return await codes(w.api, "updatePayment", {"paymentId": paid, "totalAmount": "20.00"})


@provokes("updatePayment", E.AMOUNT_MISMATCH)
async def _(w: World) -> list[str]:
    payment_id, _tx = await an_open_transaction(w.api)
    return await codes(w.api, "updatePayment", {"paymentId": payment_id, "totalAmount": "1.00"})


@provokes("updatePayment", E.PAYMENT_INACTIVE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    more = await reserve_offer(w.api, await offer_id(w.api), orderId=order["id"])
    assert more["order"]["version"] == 2
    payment = await pay(w.api, order["id"])
    await succeeds(w.api, "resetOrder", {"orderId": order["id"]})  # back to version 1
    return await codes(w.api, "updatePayment", {"paymentId": payment["id"], "active": True})


def _transaction(payment_id: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {"paymentId": payment_id, "paymentType": "VISA", "amount": amount, **fields}


@provokes("createTransaction", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    return await codes(w.api, "createTransaction", _transaction(payment["id"], "0.00"))


@provokes("createTransaction", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "createTransaction", _transaction(payment["id"], "1.00"))


@provokes("createTransaction", E.AMOUNT_MISMATCH)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    return await codes(w.api, "createTransaction", _transaction(payment["id"], "99999.00"))


@provokes("createTransaction", E.PAYMENT_INACTIVE)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    await succeeds(w.api, "updatePayment", {"paymentId": payment["id"], "active": False})
    return await codes(w.api, "createTransaction", _transaction(payment["id"], "1.00"))


@provokes("createTransaction", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    payment = await pay(w.api, (await a_reserved_order(w.api, travellers=1))["id"])
    await succeeds(
        w.api, "createTransaction", _transaction(payment["id"], "1.00", idempotencyKey="k")
    )
    return await codes(
        w.api, "createTransaction", _transaction(payment["id"], "2.00", idempotencyKey="k")
    )


def _key_refused(mutation: str) -> None:
    async def provoke(w: World) -> list[str]:
        _payment, tx = await an_open_transaction(w.api)
        return await codes(w.api, mutation, {"transactionId": tx, "idempotencyKey": ""})

    CASES.append((mutation, E.VALIDATION_FAILED, provoke))


def _key_reused(mutation: str) -> None:
    async def provoke(w: World) -> list[str]:
        order = await a_reserved_order(w.api, travellers=1)
        payment = await pay(w.api, order["id"], amount="20.00")
        first = await transact(w.api, payment["id"], "10.00")
        second = await transact(w.api, payment["id"], "10.00")
        await succeeds(w.api, mutation, {"transactionId": first["id"], "idempotencyKey": "k"})
        return await codes(w.api, mutation, {"transactionId": second["id"], "idempotencyKey": "k"})

    CASES.append((mutation, E.IDEMPOTENCY_KEY_REUSED, provoke))


def _twice(mutation: str) -> None:
    async def provoke(w: World) -> list[str]:
        _payment, tx = await an_open_transaction(w.api)
        await succeeds(w.api, mutation, {"transactionId": tx})
        return await codes(w.api, mutation, {"transactionId": tx})

    CASES.append((mutation, E.INVALID_STATE, provoke))


for _name in ("captureTransaction", "cancelTransaction"):
    _key_refused(_name)
    _key_reused(_name)
    _twice(_name)


@provokes("captureTransaction", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    _payment, tx = await an_open_transaction(w.api)
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "captureTransaction", {"transactionId": tx})


@provokes("captureTransaction", E.AMOUNT_MISMATCH)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    first, second = [await pay(w.api, order["id"]) for _ in range(2)]
    tx1 = await transact(w.api, first["id"], order["balance"])
    tx2 = await transact(w.api, second["id"], order["balance"])
    await succeeds(w.api, "captureTransaction", {"transactionId": tx1["id"]})
    return await codes(w.api, "captureTransaction", {"transactionId": tx2["id"]})


@provokes("captureTransaction", E.PAYMENT_INACTIVE)
async def _(w: World) -> list[str]:
    payment_id, tx = await an_open_transaction(w.api)
    await succeeds(w.api, "updatePayment", {"paymentId": payment_id, "active": False})
    return await codes(w.api, "captureTransaction", {"transactionId": tx})


@provokes("captureTransaction", E.PAYMENT_DECLINED)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=1)
    payment = await pay(w.api, order["id"])
    tx = await transact(w.api, payment["id"], order["balance"], token="tok_declined")
    return await codes(w.api, "captureTransaction", {"transactionId": tx["id"]})


@provokes("captureTransaction", E.PAYMENT_PROVIDER_UNAVAILABLE)
async def _(w: World) -> list[str]:
    api = await w.lost()
    order = await a_reserved_order(api, travellers=1)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], order["balance"], token="tok_lost")
    return await codes(api, "captureTransaction", {"transactionId": tx["id"]})


# -- tickets and receipts


@provokes("generateTickets", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    return await codes(w.api, "generateTickets", {"orderId": order_id})


@provokes("distributeTickets", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    await succeeds(w.api, "generateTickets", {"orderId": order["id"]})
    return await codes(
        w.api, "distributeTickets", {"orderId": order["id"], "distributionMethod": "EMAIL"}
    )


@provokes("distributeTickets", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)  # no generateTickets first
    return await codes(
        w.api, "distributeTickets", {"orderId": order["id"], "distributionMethod": "APP"}
    )


@provokes("sendReceipt", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "sendReceipt", {"orderId": order["id"], "email": "not-mail"})


@provokes("sendReceipt", E.RECEIPT_NOT_AVAILABLE)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    return await codes(w.api, "sendReceipt", {"orderId": order_id, "email": "a@example.com"})


@provokes("sendReceipt", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    first = {"orderId": order["id"], "email": "a@example.com", "idempotencyKey": "k"}
    await succeeds(w.api, "sendReceipt", first)
    return await codes(w.api, "sendReceipt", {**first, "email": "b@example.com"})


# -- refunds


def _refund(order: dict[str, Any], key: str = "k", **fields: Any) -> dict[str, Any]:
    return {"orderId": order["id"], "idempotencyKey": key, **fields}


@provokes("refundOrder", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "refundOrder", _refund(order, orderLineIds=[]))


@provokes("refundOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    line = order["orderLines"][0]["id"]
    await succeeds(w.api, "refundOrder", _refund(order, "a", orderLineIds=[line]))
    return await codes(w.api, "refundOrder", _refund(order, "b", orderLineIds=[line]))


@provokes("refundOrder", E.VERSION_CONFLICT)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "refundOrder", _refund(order, expectedVersion=9))


@provokes("refundOrder", E.PAYMENT_DECLINED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api, token="tok_refund_error")
    return await codes(w.api, "refundOrder", _refund(order))


@provokes("refundOrder", E.NOT_REFUNDABLE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api, product="Lowfare")
    return await codes(w.api, "refundOrder", _refund(order))


@provokes("refundOrder", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    first, second = (line["id"] for line in order["orderLines"])
    await succeeds(w.api, "refundOrder", _refund(order, orderLineIds=[first]))
    return await codes(w.api, "refundOrder", _refund(order, orderLineIds=[second]))


@provokes("refundOrder", E.PAYMENT_PROVIDER_UNAVAILABLE)
async def _(w: World) -> list[str]:
    api = await w.lost()
    order = await a_paid_order(api)
    return await codes(api, "refundOrder", _refund(order))


# -- after-sale: exchange

# Passes GraphQL validation; the offer is decoded (OFFER_NOT_FOUND) before the order is read.
NO_OFFER = {"orderId": "nope", "orderLineIds": ["nope"], "offerId": "nope"}


@provokes("exchangeOrderLines", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api)
    return await codes(w.api, "exchangeOrderLines", {**exchange, "orderLineIds": []})


@provokes("exchangeOrderLines", E.NOT_FOUND)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api)
    return await codes(w.api, "exchangeOrderLines", {**exchange, "orderId": "nope"})


@provokes("exchangeOrderLines", E.DISTRIBUTION_CHANNEL_NOT_ALLOWED)
async def _(w: World) -> list[str]:
    return await codes(w.api, "exchangeOrderLines", NO_OFFER, channel=CLOSED_CHANNEL)


@provokes("exchangeOrderLines", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = (await reserved(w.api))["order"]  # its line is DRAFT, not CONFIRMED
    offer = await an_offer(w.api, "Premium Flex")
    exchange = {"orderId": order["id"], "orderLineIds": line_ids(order), "offerId": offer["id"]}
    return await codes(w.api, "exchangeOrderLines", exchange)


@provokes("exchangeOrderLines", E.VERSION_CONFLICT)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api)
    return await codes(w.api, "exchangeOrderLines", {**exchange, "expectedVersion": 9})


@provokes("exchangeOrderLines", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order = (await reserved(w.api))["order"]
    w.clock.advance(timedelta(minutes=21))
    offer = await an_offer(w.api, "Premium Flex")  # a fresh offer
    exchange = {"orderId": order["id"], "orderLineIds": line_ids(order), "offerId": offer["id"]}
    return await codes(w.api, "exchangeOrderLines", exchange)


@provokes("exchangeOrderLines", E.OFFER_NOT_FOUND)
async def _(w: World) -> list[str]:
    return await codes(w.api, "exchangeOrderLines", NO_OFFER)


@provokes("exchangeOrderLines", E.OFFER_EXPIRED)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api)
    w.clock.advance(timedelta(minutes=16))
    return await codes(w.api, "exchangeOrderLines", exchange)


@provokes("exchangeOrderLines", E.NO_SEATS_AVAILABLE)
async def _(w: World) -> list[str]:
    exchange, to = await an_exchange(w.api)
    await fill_premium_but_one(w.api, to)  # one premium seat left, two travellers
    return await codes(w.api, "exchangeOrderLines", exchange)


@provokes("exchangeOrderLines", E.SEAT_UNAVAILABLE)
async def _(w: World) -> list[str]:
    exchange, to = await an_exchange(w.api)
    other = await reserve_offer(w.api, (await an_offer(w.api, "Premium Flex", on=to))["id"])
    taken = [seat for r in other["reservations"] for seat in r["seats"]]
    assert len(taken) == 2
    return await codes(w.api, "exchangeOrderLines", {**exchange, "seats": taken})


@provokes("exchangeOrderLines", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api)
    await succeeds(w.api, "exchangeOrderLines", {**exchange, "idempotencyKey": "k"})
    other = {**exchange, "expectedVersion": 1, "idempotencyKey": "k"}
    return await codes(w.api, "exchangeOrderLines", other)


@provokes("exchangeOrderLines", E.SERVICE_JOURNEY_DISRUPTED)
async def _(w: World) -> list[str]:
    exchange, to = await an_exchange(w.api)
    await disrupt(w.api, to)
    return await codes(w.api, "exchangeOrderLines", exchange)


@provokes("exchangeOrderLines", E.NOT_CHANGEABLE)
async def _(w: World) -> list[str]:
    exchange, _to = await an_exchange(w.api, "Lowfare", to="Flex")
    return await codes(w.api, "exchangeOrderLines", exchange)


# -- after-sale: cancelled lines, longer holds, fees


@provokes("cancelOrderLines", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    return await codes(w.api, "cancelOrderLines", {"orderId": order_id, "orderLineIds": []})


@provokes("cancelOrderLines", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)  # CONFIRMED lines are refunded, not cancelled
    cancel = {"orderId": order["id"], "orderLineIds": line_ids(order)[:1]}
    return await codes(w.api, "cancelOrderLines", cancel)


@provokes("cancelOrderLines", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order = (await reserved(w.api))["order"]
    w.clock.advance(timedelta(minutes=21))
    cancel = {"orderId": order["id"], "orderLineIds": line_ids(order)}
    return await codes(w.api, "cancelOrderLines", cancel)


@provokes("cancelOrderLines", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order = await a_reserved_order(w.api, travellers=2)
    first, second = line_ids(order)
    await succeeds(
        w.api,
        "cancelOrderLines",
        {"orderId": order["id"], "orderLineIds": [first], "idempotencyKey": "k"},
    )
    return await codes(
        w.api,
        "cancelOrderLines",
        {"orderId": order["id"], "orderLineIds": [second], "idempotencyKey": "k"},
    )


@provokes("extendOrderExpiry", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)  # CONFIRMED: no hold to extend
    return await codes(w.api, "extendOrderExpiry", {"orderId": order["id"]})


@provokes("extendOrderExpiry", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "extendOrderExpiry", {"orderId": order_id})


@provokes("extendOrderExpiry", E.HOLD_LIMIT_REACHED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    for minutes in (10, 15, 15):  # held until 30, 45, then the longest hold: 60
        w.clock.advance(timedelta(minutes=minutes))
        await succeeds(w.api, "extendOrderExpiry", {"orderId": order_id})
    return await codes(w.api, "extendOrderExpiry", {"orderId": order_id})


def _fee(order_id: str, amount: str = "10.00", **fields: Any) -> dict[str, Any]:
    return {"orderId": order_id, "type": "MANUAL", "amount": amount, "description": "x", **fields}


@provokes("addFee", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    return await codes(w.api, "addFee", {**_fee(order_id), "type": "PENALTY"})


@provokes("addFee", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    return await codes(w.api, "addFee", _fee(await a_cancelled_order(w.api)))


@provokes("addFee", E.ORDER_EXPIRED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    w.clock.advance(timedelta(minutes=21))
    return await codes(w.api, "addFee", _fee(order_id))


@provokes("addFee", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]
    await succeeds(w.api, "addFee", _fee(order_id, idempotencyKey="k"))
    return await codes(w.api, "addFee", _fee(order_id, "11.00", idempotencyKey="k"))


# -- after-sale: compensation


def _compensation(order_id: str, amount: str = "10.00", key: str = "k") -> dict[str, Any]:
    return {"orderId": order_id, "amount": amount, "reason": "Late", "idempotencyKey": key}


@provokes("compensateOrder", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "compensateOrder", {**_compensation(order["id"]), "reason": " "})


@provokes("compensateOrder", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order_id = (await reserved(w.api))["order"]["id"]  # DRAFT, nothing paid
    return await codes(w.api, "compensateOrder", _compensation(order_id))


@provokes("compensateOrder", E.AMOUNT_MISMATCH)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    return await codes(w.api, "compensateOrder", _compensation(order["id"], "99999.00"))


@provokes("compensateOrder", E.PAYMENT_DECLINED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api, token="tok_refund_error")
    return await codes(w.api, "compensateOrder", _compensation(order["id"]))


@provokes("compensateOrder", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order = await a_paid_order(w.api)
    await succeeds(w.api, "compensateOrder", _compensation(order["id"]))
    return await codes(w.api, "compensateOrder", _compensation(order["id"], "11.00"))


@provokes("compensateOrder", E.PAYMENT_PROVIDER_UNAVAILABLE)
async def _(w: World) -> list[str]:
    api = await w.lost()
    order = await a_paid_order(api)
    return await codes(api, "compensateOrder", _compensation(order["id"]))


# -- after-sale: disruptions and rebooking


def _disruption(journey_id: str, reason: str = "Landslide", key: str = "k") -> dict[str, Any]:
    return {"serviceJourneyId": journey_id, "reason": reason, "idempotencyKey": key}


@provokes("disruptServiceJourney", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    return await codes(w.api, "disruptServiceJourney", _disruption(journey(), " "))


@provokes("disruptServiceJourney", E.NOT_FOUND)
async def _(w: World) -> list[str]:
    return await codes(w.api, "disruptServiceJourney", _disruption("nope"))


@provokes("disruptServiceJourney", E.DISTRIBUTION_CHANNEL_NOT_ALLOWED)
async def _(w: World) -> list[str]:
    disruption = _disruption(journey())
    return await codes(w.api, "disruptServiceJourney", disruption, channel=CLOSED_CHANNEL)


@provokes("disruptServiceJourney", E.PERMISSION_DENIED)
async def _(w: World) -> list[str]:
    disruption = _disruption(journey())  # other-app lacks sales:disruptions
    return await codes(w.api, "disruptServiceJourney", disruption, client_id="other-app")


@provokes("disruptServiceJourney", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    await succeeds(w.api, "disruptServiceJourney", _disruption(journey()))
    return await codes(w.api, "disruptServiceJourney", _disruption(journey(), "Flood"))


async def a_disrupted_order(api: Api, product: str = "Flex") -> tuple[dict[str, Any], str]:
    """A CONFIRMED order of two adults on `product` whose journey is now disrupted; and
    another journey of the product to rebook it to."""
    order = await paid_order(api, product)
    await disrupt(api, journey_of(order))
    other = await an_offer(api, product)  # a disrupted journey is no longer offered
    return order, str(other["travelSpecification"]["serviceJourneyId"])


def _rebook(order: dict[str, Any], to: str, key: str = "k", **fields: Any) -> dict[str, Any]:
    return {
        "orderId": order["id"],
        "orderLineIds": line_ids(order),
        "toServiceJourneyId": to,
        "idempotencyKey": key,
        **fields,
    }


@provokes("rebookDisruptedOrderLines", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    order = await paid_order(w.api, "Flex")  # its journey is not disrupted
    other = await an_offer(w.api, "Flex", not_on=journey_of(order))
    to = other["travelSpecification"]["serviceJourneyId"]
    return await codes(w.api, "rebookDisruptedOrderLines", _rebook(order, to))


@provokes("rebookDisruptedOrderLines", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    order, to = await a_disrupted_order(w.api)
    await succeeds(w.api, "rebookDisruptedOrderLines", _rebook(order, to, "a"))
    # The old lines are CANCELLED now.
    return await codes(w.api, "rebookDisruptedOrderLines", _rebook(order, to, "b"))


@provokes("rebookDisruptedOrderLines", E.VERSION_CONFLICT)
async def _(w: World) -> list[str]:
    order, to = await a_disrupted_order(w.api)
    rebooking = _rebook(order, to, expectedVersion=9)
    return await codes(w.api, "rebookDisruptedOrderLines", rebooking)


@provokes("rebookDisruptedOrderLines", E.NO_SEATS_AVAILABLE)
async def _(w: World) -> list[str]:
    order, to = await a_disrupted_order(w.api, "Premium Flex")
    await fill_premium_but_one(w.api, to)  # one premium seat left, two travellers
    return await codes(w.api, "rebookDisruptedOrderLines", _rebook(order, to))


@provokes("rebookDisruptedOrderLines", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    order, to = await a_disrupted_order(w.api)
    await succeeds(w.api, "rebookDisruptedOrderLines", _rebook(order, to))
    rebooking = _rebook(order, to, expectedVersion=1)
    return await codes(w.api, "rebookDisruptedOrderLines", rebooking)


@provokes("rebookDisruptedOrderLines", E.SERVICE_JOURNEY_DISRUPTED)
async def _(w: World) -> list[str]:
    order, to = await a_disrupted_order(w.api)
    await disrupt(w.api, to, key="d2")  # the target is disrupted too
    return await codes(w.api, "rebookDisruptedOrderLines", _rebook(order, to))


# -- webhooks

HOOK = "http://127.0.0.1:9/hook"


def _subscription(url: str = HOOK, **fields: Any) -> dict[str, Any]:
    return {"url": url, "eventTypes": ["ORDER_CREATED"], **fields}


@provokes("createWebhookSubscription", E.VALIDATION_FAILED)
async def _(w: World) -> list[str]:
    return await codes(w.api, "createWebhookSubscription", _subscription("not a url"))


@provokes("createWebhookSubscription", E.INVALID_STATE)
async def _(w: World) -> list[str]:
    for _ in range(20):
        await succeeds(w.api, "createWebhookSubscription", _subscription())
    return await codes(w.api, "createWebhookSubscription", _subscription())


@provokes("createWebhookSubscription", E.IDEMPOTENCY_KEY_REUSED)
async def _(w: World) -> list[str]:
    await succeeds(w.api, "createWebhookSubscription", _subscription(idempotencyKey="k"))
    other = _subscription(HOOK + "/other", idempotencyKey="k")
    return await codes(w.api, "createWebhookSubscription", other)


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize(
    ("mutation", "code", "provoke"),
    CASES,
    ids=[f"{mutation}-{code.value}" for mutation, code, _ in CASES],
)
async def test_each_declared_code_is_answered_by_its_mutation(
    world: World, mutation: str, code: ErrorCode, provoke: Provoke
) -> None:
    assert await provoke(world) == [code.value]


def test_every_declared_pair_has_a_provoking_case_and_no_more() -> None:
    declared = {(m, code) for m, codes in MUTATION_ERRORS.items() for code in codes}
    provoked = [(m, code) for m, code, _ in CASES]
    assert len(provoked) == len(set(provoked)), "a pair is provoked twice"
    assert set(provoked) == declared


def test_every_mutation_has_an_entry_of_known_codes() -> None:
    assert set(MUTATION_ERRORS) == set(_MUTATIONS.fields)
    for name, declared in MUTATION_ERRORS.items():
        assert declared, name
        assert all(isinstance(code, ErrorCode) for code in declared), name
        assert len(set(declared)) == len(declared), name
        description = _MUTATIONS.fields[name].description or ""
        assert description.endswith(errors_line(name)), name


def test_every_code_has_a_meaning() -> None:
    assert set(ERROR_MEANINGS) == set(ErrorCode)
    assert all(meaning.strip() for meaning in ERROR_MEANINGS.values())


def test_the_committed_error_reference_is_the_generated_one() -> None:
    assert ERRORS_DOC.read_text("utf-8") == markdown_errors(), REGENERATE


def test_export_schema_errors_prints_the_reference() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "sales_api", "export-schema", "--errors"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert output == ERRORS_DOC.read_text("utf-8"), REGENERATE
