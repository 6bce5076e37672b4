"""GraphQL subscriptions over WebSocket (graphql-transport-ws) against the service as a
separate process on a real port, changes made over HTTP: the order and the seat map as
they change, the organisation's events, authentication in connection_init, the limits."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from sales_api.settings import Settings
from sales_api.web.issuer import DEMO_CLIENTS, DevIssuer, load_or_create_key
from tests.api.test_operations import scrape, value
from tests.api.test_payment_flow import CAPTURE, CREATE_PAYMENT, CREATE_TRANSACTION
from tests.api.test_sale_flow import BERGEN, OSLO, RESERVE, offers_for
from tests.conftest import Api
from tests.served import sales_service

PROTOCOL = "graphql-transport-ws"
ORDER_UPDATED = """subscription($id: ID!) { orderUpdated(orderId: $id) {
  id version status balance orderLines { id status } } }"""
SEAT_MAP_UPDATED = """subscription($j: ID!, $f: ID!, $t: ID!) {
  seatMapUpdated(serviceJourneyId: $j, fromStopPlaceId: $f, toStopPlaceId: $t) {
    cars { number seats { seatNumber available } } } }"""
ORDER_EVENTS = """subscription($types: [OrderEventType!]) { orderEvents(types: $types) {
  id orderId type clientId correlationId } }"""


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("served") / "data"
    with sales_service(data, database_url, max_subscriptions_per_connection="3") as (base, _):
        yield base, data


@pytest.fixture
async def api(service: tuple[str, Path]) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=service[0], timeout=30) as client:
        yield Api(client)


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/sales/v1/graphql"


class Socket:
    """A graphql-transport-ws client, message by message."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, within: float = 5) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), within)
        message: dict[str, Any] = json.loads(raw)
        return message

    async def init(self, token: str, **headers: str) -> None:
        payload = {"Authorization": f"Bearer {token}", "Entur-POS": "ws-pos", **headers}
        await self.send({"type": "connection_init", "payload": payload})
        assert (await self.receive()) == {"type": "connection_ack"}

    async def subscribe(self, id: str, query: str, variables: dict[str, Any]) -> None:
        await self.send(
            {"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def next(self, id: str, within: float = 5) -> dict[str, Any]:
        message = await self.receive(within)
        assert message["id"] == id and message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        assert "errors" not in payload, payload
        return dict(payload["data"])


async def opened(base: str) -> Socket:
    return Socket(await connect(ws_url(base), subprotocols=[PROTOCOL]))  # type: ignore[list-item]


async def a_reservation(api: Api, key: str, client_id: str = "demo-app") -> dict[str, Any]:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    data = await api.gql(
        RESERVE,
        {"input": {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": key}},
        client_id=client_id,
    )
    assert data["reserveOffers"]["errors"] == [], data
    return dict(data["reserveOffers"]["order"])


async def pay_in_full(api: Api, order: dict[str, Any]) -> None:
    payment = (await api.gql(CREATE_PAYMENT, {"input": {"orderId": order["id"]}}))["createPayment"][
        "payment"
    ]
    tx = (
        await api.gql(
            CREATE_TRANSACTION,
            {
                "input": {
                    "paymentId": payment["id"],
                    "paymentType": "VISA",
                    "amount": order["balance"],
                    "paymentToken": "tok_visa",
                }
            },
        )
    )["createTransaction"]["transaction"]
    captured = await api.gql(CAPTURE, {"input": {"transactionId": tx["id"]}})
    assert captured["captureTransaction"]["errors"] == []


async def test_order_updated_sends_the_order_then_every_committed_change(
    service: tuple[str, Path], api: Api
) -> None:
    order = await a_reservation(api, "sub-1")
    socket = await opened(service[0])
    await socket.init(await api.token())
    await socket.subscribe("o", ORDER_UPDATED, {"id": order["id"]})
    first = (await socket.next("o"))["orderUpdated"]
    assert (first["id"], first["status"], first["version"]) == (order["id"], "DRAFT", 1)
    samples = await scrape(api.client)
    assert value(samples, "sales_open_subscriptions") >= 1
    assert value(samples, "sales_open_websockets") >= 1

    await pay_in_full(api, order)
    # createPayment, createTransaction, then the capture that confirms: one message each.
    seen = [(await socket.next("o"))["orderUpdated"] for _ in range(3)]
    assert seen[-1]["status"] == "CONFIRMED" and seen[-1]["balance"] == "0.00"
    assert [line["status"] for line in seen[-1]["orderLines"]] == ["CONFIRMED"]

    await socket.send({"id": "o", "type": "complete"})
    await api.gql(
        'mutation($id: ID!) { updateOrder(input: {orderId: $id, externalReference: "x"}) '
        "{ errors { code } } }",
        {"id": order["id"]},
    )
    with pytest.raises(TimeoutError):
        await socket.receive(within=1)  # completed: nothing more is sent
    await socket.connection.close()


async def test_a_seat_reserved_over_http_shows_taken_on_the_seat_map_stream(
    service: tuple[str, Path], api: Api
) -> None:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    journey = offer["travelSpecification"]["serviceJourneyId"]
    socket = await opened(service[0])
    await socket.init(await api.token())
    await socket.subscribe("m", SEAT_MAP_UPDATED, {"j": journey, "f": OSLO, "t": BERGEN})
    before = free_seats((await socket.next("m"))["seatMapUpdated"])

    data = await api.gql(
        RESERVE,
        {"input": {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": "seat"}},
    )
    [seat] = data["reserveOffers"]["order"]["orderLines"][0]["reservation"]["seats"]
    taken = (seat["carNumber"], seat["seatNumber"])
    assert taken in before
    after = free_seats((await socket.next("m"))["seatMapUpdated"])
    assert before - after == {taken}
    await socket.connection.close()


def free_seats(seat_map: dict[str, Any]) -> set[tuple[int, str]]:
    return {
        (car["number"], seat["seatNumber"])
        for car in seat_map["cars"]
        for seat in car["seats"]
        if seat["available"]
    }


async def test_order_events_stream_the_organisations_events_only(
    service: tuple[str, Path], api: Api
) -> None:
    socket = await opened(service[0])
    await socket.init(await api.token())
    await socket.subscribe("e", ORDER_EVENTS, {"types": ["OFFERS_RESERVED"]})
    await asyncio.sleep(0.2)  # the subscription is listening
    await a_reservation(api, "theirs", client_id="other-app")
    mine = await a_reservation(api, "events")
    event = (await socket.next("e"))["orderEvents"]
    assert (event["orderId"], event["type"], event["clientId"]) == (
        mine["id"],
        "OFFERS_RESERVED",
        "demo-app",
    )
    with pytest.raises(TimeoutError):
        await socket.receive(within=1)
    await socket.connection.close()


async def test_another_organisations_order_is_not_found_and_sends_no_data(
    service: tuple[str, Path], api: Api
) -> None:
    theirs = await a_reservation(api, "hidden", client_id="other-app")
    socket = await opened(service[0])
    await socket.init(await api.token())
    for order_id in (theirs["id"], "NOSUCHORDER1"):
        await socket.subscribe(order_id, ORDER_UPDATED, {"id": order_id})
        message = await socket.receive()
        assert (message["id"], message["type"]) == (order_id, "error"), message
        [error] = message["payload"]
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert theirs["id"] not in json.dumps(error) or order_id == theirs["id"]
    await socket.connection.close()


async def test_a_socket_without_a_valid_token_is_closed_with_4403(
    service: tuple[str, Path],
) -> None:
    for payload in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        socket = await opened(service[0])
        await socket.send({"type": "connection_init", "payload": payload})
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribing_before_connection_init_or_twice_with_one_id_closes(
    service: tuple[str, Path], api: Api
) -> None:
    socket = await opened(service[0])
    await socket.subscribe("x", ORDER_EVENTS, {})
    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    socket = await opened(service[0])
    await socket.init(await api.token())
    await socket.subscribe("x", ORDER_EVENTS, {})
    await socket.subscribe("x", ORDER_EVENTS, {})
    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409


async def test_the_limits_of_queries_apply_and_a_connection_holds_few_subscriptions(
    service: tuple[str, Path], api: Api
) -> None:
    socket = await opened(service[0])
    await socket.init(await api.token())
    simple = "subscription { orderEvents { id } }"
    too_costly = (
        "subscription($id: ID!) { orderUpdated(orderId: $id) { "
        + " ".join(f"a{i}: orderLines {{ travellers {{ id name userType }} }}" for i in range(60))
        + " } }"
    )
    await socket.subscribe("costly", too_costly, {"id": "X"})
    message = await socket.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] in {
        "QUERY_TOO_COMPLEX",
        "GRAPHQL_VALIDATION_FAILED",
    }

    await socket.subscribe("q", "{ stopPlaces { id } }", {})
    message = await socket.receive()
    assert (message["type"], message["payload"][0]["extensions"]["code"]) == (
        "error",
        "BAD_REQUEST",
    )

    for index in range(3):
        await socket.subscribe(f"s{index}", simple, {})
    await socket.subscribe("s3", simple, {})
    message = await socket.receive()
    assert (message["id"], message["type"]) == ("s3", "error")
    assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    await socket.connection.close()


async def test_the_socket_is_closed_when_its_token_expires(
    service: tuple[str, Path], database_url: str
) -> None:
    base, data = service
    settings = Settings(database_url=database_url, data_dir=data)
    issuer = DevIssuer(
        load_or_create_key(settings.issuer_key_file),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        organisation_claim=settings.auth_organisation_claim,
        lifetime_seconds=2,
    )
    demo = next(client for client in DEMO_CLIENTS if client.client_id == "demo-app")
    token = issuer.mint(demo)["access_token"]
    socket = await opened(base)
    await socket.init(token)
    await socket.subscribe("e", ORDER_EVENTS, {})
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        await socket.receive(within=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert time.monotonic() - started < 5


def test_two_processes_on_postgresql_a_change_through_a_reaches_a_subscriber_on_b(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("fan-out across processes is PostgreSQL's LISTEN/NOTIFY")
    root = tmp_path_factory.mktemp("two")
    with sales_service(root / "a", database_url) as (a, _):
        # One issuer key for both, as two instances behind one issuer would share.
        (root / "b").mkdir()
        shutil.copy(root / "a" / "issuer-key.json", root / "b" / "issuer-key.json")
        with sales_service(root / "b", database_url) as (b, _):
            asyncio.run(_across(a, b))


async def _across(a: str, b: str) -> None:
    async with httpx.AsyncClient(base_url=a, timeout=30) as client:
        api = Api(client)
        order = await a_reservation(api, f"across-{time.time()}")
        socket = await opened(b)
        await socket.init(await api.token())
        await socket.subscribe("o", ORDER_UPDATED, {"id": order["id"]})
        assert (await socket.next("o"))["orderUpdated"]["version"] == 1
        sent = time.monotonic()
        await api.gql(
            'mutation($id: ID!) { updateOrder(input: {orderId: $id, externalReference: "b"}) '
            "{ errors { code } } }",
            {"id": order["id"]},
        )
        changed = (await socket.next("o", within=1))["orderUpdated"]
        assert changed["id"] == order["id"]
        assert time.monotonic() - sent < 1
        await socket.connection.close()
