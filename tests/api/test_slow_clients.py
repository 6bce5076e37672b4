"""Slow and idle clients cannot exhaust the service: sockets that send nothing, or their
headers or body a byte at a time, are closed within the limits; with more sockets open
than the cap, /health/live and a whole sale still succeed (idle sockets make room)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.served import demo_token, sales_service

LIMIT = 1.0  # header and body time limits of the served process, in seconds
CAP = 20


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:
    with sales_service(
        tmp_path_factory.mktemp("slow") / "data",
        database_url,
        http_header_timeout_seconds=str(LIMIT),
        http_body_timeout_seconds=str(LIMIT),
        http_keep_alive_seconds="1",
        http_max_connections=str(CAP),
    ) as (base, _):
        yield base


def connect(base: str) -> socket.socket:
    address = urlsplit(base)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> float:
    """How long until the server closed the connection (fails past `seconds`)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pytest.fail(f"still open after {seconds} s")
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_a_socket_that_sends_nothing_is_closed(service: str) -> None:
    with connect(service) as sock:
        assert closed_within(sock, LIMIT + 2) < LIMIT + 1.5


def test_headers_sent_a_byte_at_a_time_are_cut_off(service: str) -> None:
    with connect(service) as sock:
        started = time.monotonic()
        request = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 50
        try:
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - started > LIMIT + 2:
                    pytest.fail("the slow headers were taken for more than the limit")
        except (BrokenPipeError, ConnectionResetError):
            pass
        closed_within(sock, LIMIT + 2)
        assert time.monotonic() - started < LIMIT + 2


def test_a_body_sent_too_slowly_is_cut_off(service: str) -> None:
    token = demo_token(service)
    with connect(service) as sock:
        head = (
            "POST /sales/v1/graphql HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Entur-POS: slow\r\nContent-Length: 200\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"query": "')
        assert closed_within(sock, LIMIT + 2) < LIMIT + 1.5


def a_sale(client: httpx.Client, headers: dict[str, str]) -> str:
    """Offers, reserveOffers, createPayment, createTransaction, captureTransaction."""
    from datetime import UTC, datetime, timedelta

    from sales_api.domain.catalogue import LOCAL_TIME

    day = (datetime.now(UTC).astimezone(LOCAL_TIME).date() + timedelta(days=1)).isoformat()

    def gql(query: str, **variables: object) -> dict[str, object]:
        response = client.post(
            "/sales/v1/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()["data"]
        return body

    offers = gql(
        'query($d: Date!) { offers(search: {fromStopPlaceId: "NSR:StopPlace:337", '
        'toStopPlaceId: "NSR:StopPlace:548", date: $d, travellers: [{id: "a", '
        "userType: ADULT}]}) { id product { name } } }",
        d=day,
    )["offers"]
    offer = next(o for o in offers if o["product"]["name"] == "Flex")  # type: ignore[index]
    order = gql(
        "mutation($o: ID!) { reserveOffers(input: {offerConfigurations: [{offerId: $o}]}) "
        "{ order { id balance } } }",
        o=offer["id"],
    )["reserveOffers"]["order"]  # type: ignore[index]
    payment = gql(
        "mutation($o: ID!) { createPayment(input: {orderId: $o}) { payment { id totalAmount } } }",
        o=order["id"],
    )["createPayment"]["payment"]  # type: ignore[index]
    transaction = gql(
        "mutation($p: ID!, $a: Amount!) { createTransaction(input: {paymentId: $p, "
        'paymentType: VISA, amount: $a, paymentToken: "tok_visa"}) { transaction { id } } }',
        p=payment["id"],
        a=payment["totalAmount"],
    )["createTransaction"]["transaction"]  # type: ignore[index]
    captured = gql(
        "mutation($t: ID!) { captureTransaction(input: {transactionId: $t}) { order { status } } }",
        t=transaction["id"],
    )["captureTransaction"]["order"]  # type: ignore[index]
    return str(captured["status"])  # type: ignore[index]


def test_more_sockets_than_the_cap_leave_health_and_sales_working(service: str) -> None:
    idle = [connect(service) for _ in range(3 * CAP)]
    try:
        time.sleep(0.2)
        assert httpx.get(f"{service}/health/live", timeout=5).status_code == 200
        headers = {
            "Authorization": f"Bearer {demo_token(service)}",
            "Entur-POS": "slow-test",
            "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
        }
        with httpx.Client(base_url=service, timeout=10) as client:
            assert a_sale(client, headers) == "CONFIRMED"
        # Room was made by closing idle sockets, the longest idle first.
        closed = 0
        for sock in idle:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed >= 2 * CAP - 5
    finally:
        for sock in idle:
            sock.close()
