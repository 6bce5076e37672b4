"""The service killed (SIGKILL) in the middle of captures, then started again: nothing is
charged without a record or twice; what was left PENDING is settled by asking the provider;
clients retrying with their keys get one answer; the books hold."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sales_api.domain.catalogue import LOCAL_TIME
from tests.faults.cluster import Cluster, private_cluster
from tests.faults.invariants import check_books
from tests.faults.stream import (
    CAPTURE,
    OFFERS,
    PAY,
    RESERVE,
    STOPS,
    TRANSACT,
    Interrupted,
    Seller,
    Stream,
)
from tests.faults.test_database_outage import start, stop, token

pytestmark = pytest.mark.slow

ORDERS = 30
PENDING = "query($id: ID!) { payment(id: $id) { transactions { id status } } }"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as made:
        yield made


async def ready_to_capture(seller: Seller, count: int) -> list[tuple[str, str]]:
    """(payment id, transaction id) of `count` reserved orders with a transaction each."""
    found: list[tuple[str, str]] = []
    day = (datetime.now(UTC).astimezone(LOCAL_TIME).date() + timedelta(days=1)).isoformat()
    while len(found) < count:
        leg = len(found) % (len(STOPS) - 1)
        search = {
            "fromStopPlaceId": STOPS[leg],
            "toStopPlaceId": STOPS[leg + 1],
            "date": day,
            "travellers": [{"id": "t1", "userType": "ADULT"}],
        }
        offers = (await seller.gql(OFFERS, s=search))["offers"]
        now = datetime.now(UTC)
        offer = next(
            o
            for o in offers
            if o["availableSeats"] > 0
            and datetime.fromisoformat(o["travelSpecification"]["departureTime"]) > now
        )
        order = (await seller.gql(RESERVE, o=offer["id"]))["reserveOffers"]["order"]
        payment = (await seller.gql(PAY, o=order["id"]))["createPayment"]["payment"]
        # Every third one answers only after the provider's time limit.
        kind = "tok_timeout" if len(found) % 3 == 0 else "tok_visa"
        created = await seller.gql(TRANSACT, p=payment["id"], a=payment["totalAmount"], t=kind)
        found.append((payment["id"], created["createTransaction"]["transaction"]["id"]))
    return found


async def settled(seller: Seller, ready: list[tuple[str, str]]) -> list[str]:
    """The transactions' statuses once the reconciler left none PENDING."""
    statuses: list[str] = []
    for _ in range(60):
        statuses = [
            t["status"]
            for payment, _ in ready
            for t in (await seller.gql(PENDING, id=payment))["payment"]["transactions"]
        ]
        if "PENDING" not in statuses:
            return statuses
        await asyncio.sleep(0.5)
    pytest.fail(f"still PENDING: {statuses}")


async def capture_all(seller: Seller, ready: list[tuple[str, str]]) -> list[Any]:
    async def one(transaction: str) -> Any:
        try:
            return await seller.gql(CAPTURE, t=transaction, k=f"capture-{transaction}")
        except Interrupted:
            return None

    return await asyncio.gather(*(one(t) for _, t in ready))


async def test_killed_during_captures(cluster: Cluster, tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start(cluster.url, data, tmp_path / "service.log")
    port = int(service.base.rsplit(":", 1)[1])
    try:
        stream = Stream()
        headers = {
            "Authorization": f"Bearer {token(service.base)}",
            "Entur-POS": "faults",
            "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
        }
        async with httpx.AsyncClient(base_url=service.base, timeout=60) as client:
            seller = Seller(client, headers, stream)
            ready = await ready_to_capture(seller, ORDERS)
            captures = asyncio.create_task(capture_all(seller, ready))
            await asyncio.sleep(1.2)  # some captured, some at the provider, some not begun
            service.process.send_signal(signal.SIGKILL)
            service.process.wait()
            await captures
    finally:
        stop(service)
    killed_mid_way = [a for a in stream.answers if a.status == 0]
    print(f"\nrequests cut by the kill: {len(killed_mid_way)} of {len(stream.answers)}")

    again = start(cluster.url, data, tmp_path / "service.log", port=port)
    try:
        headers["Authorization"] = f"Bearer {token(again.base)}"
        async with httpx.AsyncClient(base_url=again.base, timeout=60) as client:
            seller = Seller(client, headers, Stream())
            statuses = await settled(seller, ready)
            print(f"after the restart: {sorted(statuses)}")
            # Each client retries with its key: the capture's outcome, no second charge.
            outcomes = []
            for _, transaction in ready:
                response = await client.post(
                    "/sales/v1/graphql",
                    json={
                        "query": CAPTURE,
                        "variables": {"t": transaction, "k": f"capture-{transaction}"},
                    },
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                payload = response.json()["data"]["captureTransaction"]
                outcomes.append([e["code"] for e in payload["errors"]])
            print(f"retried captures answered: {sorted(map(tuple, outcomes))}")
            # A retry is the capture's outcome, or its own attempt that the provider
            # answers late (tok_timeout), settled by the reconciler like the others.
            assert all(codes in ([], ["PAYMENT_PROVIDER_UNAVAILABLE"]) for codes in outcomes), (
                outcomes
            )
            statuses = await settled(seller, ready)
            assert statuses == ["CAPTURED"] * ORDERS, statuses
        books = await check_books(cluster.url, again.ledger)
        print(f"books: {books.summary()}")
        assert books.problems == []
    finally:
        stop(again)
