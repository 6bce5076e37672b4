"""The order life cycle over HTTP: cancel, confirm, reset, expectedVersion, expiry of DRAFT
orders, idempotent reserveOffers, and versions of a confirmed (free) order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from sales_api.domain.services.lifecycle import expire_orders
from tests.api.test_sale_flow import BERGEN, DRAMMEN, GOL, OSLO, RESERVE, offers_for, tomorrow
from tests.conftest import Api, MovableClock

JOURNEY_RUN = "0825"
ADULT = [{"id": "a1", "userType": "ADULT"}]
INFANT = [{"id": "i1", "userType": "INFANT"}]

ORDER_FIELDS = """
  id version status totalAmount balance expireAt lastConfirmedAt
  travellers { id userType }
  orderLines { id status price { amount }
               reservation { id status expireAt seats { carNumber seatNumber } } }
  reservations { id status expireAt }
"""
ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


def lifecycle_mutation(name: str) -> str:
    return (
        f"mutation($input: OrderRefInput!) {{ {name}(input: $input) {{ "
        f"order {{ {ORDER_FIELDS} }} errors {{ code message path }} }} }}"
    )


SEAT_MAP = """
query($j: ID!, $f: ID!, $t: ID!) {
  seatMap(serviceJourneyId: $j, fromStopPlaceId: $f, toStopPlaceId: $t) {
    cars { number seats { seatNumber available } }
  }
}
"""


def journey() -> str:
    return f"DEMO:ServiceJourney:F4-west-{JOURNEY_RUN}:{tomorrow()}"


async def offer_id(
    api: Api,
    travellers: list[dict[str, str]] = ADULT,
    origin: str = OSLO,
    destination: str = BERGEN,
    product: str = "Flex",
    **kwargs: Any,
) -> str:
    offers = await offers_for(api, travellers, origin, destination, journey=journey(), **kwargs)
    return str(next(o for o in offers if o["product"]["name"] == product)["id"])


async def reserve_offer(
    api: Api, oid: str, seat: str | None = None, client_id: str = "demo-app", **fields: Any
) -> dict[str, Any]:
    configuration: dict[str, Any] = {"offerId": oid}
    if seat is not None:
        configuration["seats"] = [{"carNumber": 2, "seatNumber": seat}]
    variables = {"input": {"offerConfigurations": [configuration], **fields}}
    return dict((await api.gql(RESERVE, variables, client_id=client_id))["reserveOffers"])


async def change(api: Api, name: str, order_id: str, **fields: Any) -> dict[str, Any]:
    data = await api.gql(lifecycle_mutation(name), {"input": {"orderId": order_id, **fields}})
    return dict(data[name])


async def order_of(api: Api, order_id: str) -> dict[str, Any]:
    return dict((await api.gql(ORDER, {"id": order_id}))["order"])


async def seat_free(api: Api, seat: str, origin: str = OSLO, destination: str = BERGEN) -> bool:
    data = await api.gql(SEAT_MAP, {"j": journey(), "f": origin, "t": destination})
    car = next(c for c in data["seatMap"]["cars"] if c["number"] == 2)
    return bool(next(s for s in car["seats"] if s["seatNumber"] == seat)["available"])


async def free_flex_seats(api: Api) -> int:
    offers = await offers_for(api, ADULT, journey=journey())
    return int(next(o for o in offers if o["product"]["name"] == "Flex")["availableSeats"])


def codes(result: dict[str, Any]) -> list[str]:
    return [error["code"] for error in result["errors"]]


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


# ------------------------------------------------------------------ cancel and confirm


async def test_cancel_a_draft_order_frees_its_seats(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api), seat="10")
    order_id = reserved["order"]["id"]
    assert not await seat_free(api, "10")

    result = await change(api, "cancelOrder", order_id)
    assert result["errors"] == []
    order = result["order"]
    assert order["status"] == "CANCELLED"
    assert order["expireAt"] is None
    assert [line["status"] for line in order["orderLines"]] == ["CANCELLED"]
    assert [r["status"] for r in order["reservations"]] == ["CANCELLED"]
    assert order["totalAmount"] == "0.00" and order["balance"] == "0.00"
    assert await seat_free(api, "10")
    assert await free_flex_seats(api) == 48

    stored = await order_of(api, order_id)
    assert stored["status"] == "CANCELLED"
    assert [r["status"] for r in stored["reservations"]] == ["CANCELLED"]

    again = await change(api, "cancelOrder", order_id)
    assert codes(again) == ["INVALID_STATE"]
    onto = await reserve_offer(api, await offer_id(api), orderId=order_id)
    assert codes(onto) == ["INVALID_STATE"]


async def test_confirm_at_a_balance_other_than_zero_is_invalid(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api))
    order_id = reserved["order"]["id"]
    result = await change(api, "confirmOrder", order_id)
    assert codes(result) == ["INVALID_STATE"]
    assert result["order"] is None
    order = await order_of(api, order_id)
    assert (order["status"], order["version"], order["balance"]) == ("DRAFT", 1, "805.50")
    assert order["lastConfirmedAt"] is None


async def test_lifecycle_of_an_order_of_another_organisation_is_not_found(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api))
    order_id = reserved["order"]["id"]
    for name in ("cancelOrder", "resetOrder", "confirmOrder"):
        data = await api.gql(
            lifecycle_mutation(name), {"input": {"orderId": order_id}}, client_id="other-app"
        )
        assert codes(data[name]) == ["NOT_FOUND"], name
    assert (await order_of(api, order_id))["status"] == "DRAFT"


# ------------------------------------------------------------------ expectedVersion


async def test_a_version_mismatch_is_a_conflict_and_changes_nothing(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api), seat="3")
    order_id = reserved["order"]["id"]
    before = await order_of(api, order_id)

    onto = await reserve_offer(api, await offer_id(api), orderId=order_id, expectedVersion=2)
    assert codes(onto) == ["VERSION_CONFLICT"]
    assert onto["errors"][0]["path"] == ["input", "expectedVersion"]
    for name in ("cancelOrder", "resetOrder", "confirmOrder"):
        result = await change(api, name, order_id, expectedVersion=7)
        assert codes(result) == ["VERSION_CONFLICT"], name
        assert result["order"] is None

    assert await order_of(api, order_id) == before
    assert not await seat_free(api, "3")
    assert await free_flex_seats(api) == 47

    # The right version goes through.
    onto = await reserve_offer(api, await offer_id(api), orderId=order_id, expectedVersion=1)
    assert onto["errors"] == []
    assert len(onto["order"]["orderLines"]) == 2
    assert (await change(api, "cancelOrder", order_id, expectedVersion=1))["errors"] == []


# ------------------------------------------------------------------ reset


async def test_reset_of_a_never_confirmed_order_cancels_it(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api), seat="4")
    order_id = reserved["order"]["id"]
    result = await change(api, "resetOrder", order_id, expectedVersion=1)
    assert result["errors"] == []
    order = result["order"]
    assert (order["status"], order["version"]) == ("CANCELLED", 1)
    assert [line["status"] for line in order["orderLines"]] == ["CANCELLED"]
    assert [r["status"] for r in order["reservations"]] == ["CANCELLED"]
    assert await seat_free(api, "4")
    assert (await order_of(api, order_id))["status"] == "CANCELLED"


# ------------------------------------------------------------------ expiry


async def test_an_expired_draft_is_cancelled_by_the_sweep_and_frees_its_seats(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    travellers = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    reserved = await reserve_offer(api, await offer_id(api, travellers))
    order_id = reserved["order"]["id"]
    expire_at = parse(reserved["order"]["expireAt"])
    now = datetime.now(UTC)
    assert timedelta(minutes=19) < expire_at - now <= timedelta(minutes=20, seconds=1)
    assert all(parse(r["expireAt"]) == expire_at for r in reserved["reservations"])

    # Not yet: the sweep leaves it alone.
    clock.advance(timedelta(minutes=19))
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 0
    assert (await order_of(api, order_id))["status"] == "DRAFT"
    assert await free_flex_seats(api) == 46

    clock.advance(timedelta(minutes=2))
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 1
    order = await order_of(api, order_id)
    assert (order["status"], order["version"]) == ("CANCELLED", 1)
    assert order["lastConfirmedAt"] is None and order["expireAt"] is None
    assert [line["status"] for line in order["orderLines"]] == ["CANCELLED", "CANCELLED"]
    assert [r["status"] for r in order["reservations"]] == ["EXPIRED", "EXPIRED"]
    assert await free_flex_seats(api) == 48
    # Swept once is enough.
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 0


async def test_adding_to_an_expired_order_is_refused(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    reserved = await reserve_offer(api, await offer_id(api))
    order_id = reserved["order"]["id"]
    clock.advance(timedelta(minutes=20, seconds=1))

    onto = await reserve_offer(api, await offer_id(api), orderId=order_id)
    assert codes(onto) == ["ORDER_EXPIRED"]
    order = await order_of(api, order_id)
    assert len(order["orderLines"]) == 1 and order["status"] == "DRAFT"

    # After the sweep it is a cancelled order, and still nothing can be added.
    await expire_orders(app.state.uow_factory, app.state.provider, clock)
    onto = await reserve_offer(api, await offer_id(api), orderId=order_id)
    assert codes(onto) == ["INVALID_STATE"]


UPDATE = """
mutation($input: UpdateOrderInput!) {
  updateOrder(input: $input) { order { id version expireAt } errors { code message path } }
}
"""


async def test_updating_an_expired_order_neither_revives_nor_trips_on_its_seats(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    """Its seat 12 went to another buyer after the expiry: the update answers ORDER_EXPIRED
    (not SEAT_UNAVAILABLE), and new travellers do not put its hold back on the clock."""
    expired = await reserve_offer(api, await offer_id(api), seat="12")
    idle = await reserve_offer(api, await offer_id(api), seat="13")
    order_id, idle_id = expired["order"]["id"], idle["order"]["id"]
    clock.advance(timedelta(minutes=21))
    taker = await reserve_offer(api, await offer_id(api), seat="12")
    assert taker["errors"] == []

    contact = {"orderId": order_id, "contactInfo": {"name": "Kari"}}
    result = (await api.gql(UPDATE, {"input": contact}))["updateOrder"]
    assert codes(result) == ["ORDER_EXPIRED"]
    travellers = [{"id": "a1", "userType": "ADULT"}, {"id": "b1", "userType": "ADULT"}]
    result = await api.gql(UPDATE, {"input": {"orderId": idle_id, "travellers": travellers}})
    assert codes(result["updateOrder"]) == ["ORDER_EXPIRED"]
    assert await seat_free(api, "13")
    assert not await seat_free(api, "12")

    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 2
    assert (await order_of(api, idle_id))["status"] == "CANCELLED"
    assert (await order_of(api, taker["order"]["id"]))["status"] == "DRAFT"


async def test_a_change_extends_the_hold_of_every_seat(api: Api, clock: MovableClock) -> None:
    reserved = await reserve_offer(api, await offer_id(api), seat="1")
    order_id = reserved["order"]["id"]
    clock.advance(timedelta(minutes=15))
    onto = await reserve_offer(api, await offer_id(api), seat="2", orderId=order_id)
    assert onto["errors"] == []
    new_expiry = parse(onto["order"]["expireAt"])
    assert new_expiry > parse(reserved["order"]["expireAt"])
    order = await order_of(api, order_id)
    assert {parse(r["expireAt"]) for r in order["reservations"]} == {new_expiry}
    # 21 minutes after the first reservation, both seats are still held.
    clock.advance(timedelta(minutes=6))
    assert not await seat_free(api, "1") and not await seat_free(api, "2")


# ------------------------------------------------------------------ idempotency


async def test_the_same_idempotency_key_and_input_answers_the_first_order(api: Api) -> None:
    oid = await offer_id(api)
    first = await reserve_offer(api, oid, idempotencyKey="key-1")
    assert first["errors"] == []
    again = await reserve_offer(api, oid, idempotencyKey="key-1")
    assert again["errors"] == []
    assert again["order"]["id"] == first["order"]["id"]
    assert [line["id"] for line in again["orderLines"]] == [
        line["id"] for line in first["orderLines"]
    ]
    assert [r["id"] for r in again["reservations"]] == [r["id"] for r in first["reservations"]]
    assert [r["seats"] for r in again["reservations"]] == [
        r["seats"] for r in first["reservations"]
    ]
    assert await free_flex_seats(api) == 47
    orders = await api.gql("{ orders { totalItems } reservations { totalItems } }")
    assert orders["orders"]["totalItems"] == 1 and orders["reservations"]["totalItems"] == 1

    other = await reserve_offer(api, await offer_id(api, [{"id": "x", "userType": "CHILD"}]),
                                idempotencyKey="key-1")  # fmt: skip
    assert codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    assert other["errors"][0]["path"] == ["input", "idempotencyKey"]
    assert await free_flex_seats(api) == 47

    # Another organisation's key of the same name is its own.
    theirs = await reserve_offer(
        api, await offer_id(api, client_id="other-app"), client_id="other-app",
        idempotencyKey="key-1",
    )  # fmt: skip
    assert theirs["errors"] == []
    assert theirs["order"]["id"] != first["order"]["id"]


async def test_a_retry_with_the_same_key_answers_the_first_order_after_the_offer_expired(
    api: Api, clock: MovableClock
) -> None:
    """A client that retries late (its first answer was lost) gets its order, not
    OFFER_EXPIRED for the offer it already reserved."""
    oid = await offer_id(api)
    first = await reserve_offer(api, oid, idempotencyKey="late-retry")
    assert first["errors"] == []
    clock.advance(timedelta(minutes=16))
    again = await reserve_offer(api, oid, idempotencyKey="late-retry")
    assert again["errors"] == []
    assert again["order"]["id"] == first["order"]["id"]
    assert [line["id"] for line in again["orderLines"]] == [
        line["id"] for line in first["orderLines"]
    ]
    # Without the key, the old offer is expired.
    assert codes(await reserve_offer(api, oid)) == ["OFFER_EXPIRED"]


async def test_an_idempotent_add_to_an_order_is_applied_once(api: Api) -> None:
    reserved = await reserve_offer(api, await offer_id(api))
    order_id = reserved["order"]["id"]
    oid = await offer_id(api)
    first = await reserve_offer(api, oid, orderId=order_id, idempotencyKey="add-1")
    again = await reserve_offer(api, oid, orderId=order_id, idempotencyKey="add-1")
    assert first["errors"] == [] and again["errors"] == []
    assert [line["id"] for line in again["orderLines"]] == [
        line["id"] for line in first["orderLines"]
    ]
    assert len((await order_of(api, order_id))["orderLines"]) == 2
    assert await free_flex_seats(api) == 46


# ------------------------------------------------------------------ versions of a free order


async def test_a_free_order_confirms_and_later_changes_make_a_new_version(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    infant_offer = await offer_id(api, INFANT)
    reserved = await reserve_offer(api, infant_offer, seat="20")
    assert reserved["errors"] == []
    order_id = reserved["order"]["id"]
    assert (reserved["order"]["totalAmount"], reserved["order"]["balance"]) == ("0.00", "0.00")

    confirmed = await change(api, "confirmOrder", order_id, expectedVersion=1)
    assert confirmed["errors"] == []
    order = confirmed["order"]
    assert (order["status"], order["version"]) == ("CONFIRMED", 1)
    assert order["lastConfirmedAt"] is not None and order["expireAt"] is None
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED"]
    assert [(r["status"], r["expireAt"]) for r in order["reservations"]] == [("CONFIRMED", None)]
    confirmed_at = order["lastConfirmedAt"]
    assert await order_of(api, order_id) == order

    # A confirmed seat is held for good: no expiry, no sweep frees it.
    clock.advance(timedelta(minutes=30))
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 0
    assert not await seat_free(api, "20")
    assert codes(await change(api, "cancelOrder", order_id)) == ["INVALID_STATE"]

    # Adding to it starts version 2 as a DRAFT.
    added = await reserve_offer(api, await offer_id(api), seat="21", orderId=order_id,
                                expectedVersion=1)  # fmt: skip
    assert added["errors"] == []
    order = added["order"]
    assert (order["status"], order["version"]) == ("DRAFT", 2)
    assert order["expireAt"] is not None
    assert order["balance"] == "805.50"
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED", "DRAFT"]
    assert [t["id"] for t in order["travellers"]] == ["i1", "a1"]
    assert codes(await change(api, "confirmOrder", order_id)) == ["INVALID_STATE"]
    assert codes(await change(api, "resetOrder", order_id, expectedVersion=1)) == [
        "VERSION_CONFLICT"
    ]
    assert not await seat_free(api, "21")

    # Reset: back to version 1, CONFIRMED, with only the first line active.
    reset = await change(api, "resetOrder", order_id, expectedVersion=2)
    assert reset["errors"] == []
    order = reset["order"]
    assert (order["status"], order["version"]) == ("CONFIRMED", 1)
    assert order["expireAt"] is None and order["lastConfirmedAt"] == confirmed_at
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED", "CANCELLED"]
    assert [r["status"] for r in order["reservations"]] == ["CONFIRMED", "CANCELLED"]
    assert [t["id"] for t in order["travellers"]] == ["i1"]
    assert (order["totalAmount"], order["balance"]) == ("0.00", "0.00")
    assert await order_of(api, order_id) == order
    assert not await seat_free(api, "20")
    assert await seat_free(api, "21")


async def test_an_expired_new_version_falls_back_to_the_confirmed_one(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    reserved = await reserve_offer(api, await offer_id(api, INFANT), seat="30")
    order_id = reserved["order"]["id"]
    assert (await change(api, "confirmOrder", order_id))["errors"] == []
    added = await reserve_offer(api, await offer_id(api, ADULT, DRAMMEN, GOL), seat="31",
                                orderId=order_id)  # fmt: skip
    assert added["order"]["version"] == 2

    clock.advance(timedelta(minutes=21))
    assert await seat_free(api, "31", DRAMMEN, GOL)  # free at once, before any sweep
    assert not await seat_free(api, "30", DRAMMEN, GOL)
    assert await expire_orders(app.state.uow_factory, app.state.provider, clock) == 1
    order = await order_of(api, order_id)
    assert (order["status"], order["version"]) == ("CONFIRMED", 1)
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED", "CANCELLED"]
    assert [r["status"] for r in order["reservations"]] == ["CONFIRMED", "EXPIRED"]
    assert [t["id"] for t in order["travellers"]] == ["i1"]
    assert not await seat_free(api, "30")


async def test_confirming_an_expired_free_draft_is_refused(api: Api, clock: MovableClock) -> None:
    reserved = await reserve_offer(api, await offer_id(api, INFANT))
    clock.advance(timedelta(minutes=21))
    result = await change(api, "confirmOrder", reserved["order"]["id"])
    assert codes(result) == ["ORDER_EXPIRED"]
