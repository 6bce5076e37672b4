"""Events under load: whole sales per second with and without a webhook receiver that
never answers (alternating rounds, same service process), then 500 open GraphQL
subscriptions (orderUpdated, over graphql-transport-ws) on that process while sales run:
its memory before and after, the sale rate, and every subscriber's messages counted
against the changes made to its order.

    .venv/bin/python -m bench.events [--postgres URL] [--sales 150] [--rounds 3]
                                     [--subscriptions 500]

Subscriptions: the same work (N DRAFT orders paid in full: three commits each) timed
unwatched and watched by N orderUpdated subscriptions, alternating rounds; every subscriber
must get 4 messages (the order at once, then one per commit).

The service is `sales-api serve` in its own process; load, receiver and subscribers run
in this one."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.processes import (
    environment,
    free_port,
    own_postgres_database,
    process,
    rss_kib,
    service_command,
    wait_until_up,
)
from bench.sales import (
    OFFERS,
    PAY,
    RESERVE,
    TRANSACT,
    Client,
    _checked,
    one_sale,
    run_concurrently,
)
from bench.seed import prepare_database

RESULTS = Path(__file__).resolve().parent / "results"
CAPTURE = """mutation($t: ID!) { captureTransaction(input: {transactionId: $t})
 { order { status } errors { code message } } }"""
SUBSCRIBE_HOOK = """mutation($url: String!, $types: [OrderEventType!]!) {
 createWebhookSubscription(input: {url: $url, eventTypes: $types})
 { webhookSubscription { id } errors { code message } } }"""
DELETE_HOOK = """mutation($id: ID!) {
 deleteWebhookSubscription(input: {webhookSubscriptionId: $id}) { errors { code } } }"""
ALL_TYPES = [
    "ORDER_CREATED", "ORDER_UPDATED", "OFFERS_RESERVED", "PAYMENT_CREATED",
    "TRANSACTION_CREATED", "TRANSACTION_CAPTURED", "ORDER_CONFIRMED", "TICKETS_GENERATED",
]  # fmt: skip
ORDER_UPDATED = "subscription($id: ID!) { orderUpdated(orderId: $id) { id version status } }"
PER_SOCKET = 5


@contextlib.asynccontextmanager
async def silent_receiver() -> AsyncIterator[str]:
    """A receiver that accepts connections, reads, and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def sales_round(client: Client, count: int, concurrency: int, seed: int) -> float:
    rng = random.Random(seed)
    seconds = await run_concurrently([lambda: one_sale(client, rng)] * count, concurrency)
    return count / seconds


async def webhook_rounds(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    """Alternating rounds without and with a subscription to a receiver that never
    answers (every sale's events delivered to it, each attempt timing out)."""
    rates: dict[str, list[float]] = {"without": [], "with": []}
    async with silent_receiver() as url:
        for round_number in range(args.rounds):
            for side in ("without", "with"):
                hook = None
                if side == "with":
                    made = await client.gql(SUBSCRIBE_HOOK, {"url": url, "types": ALL_TYPES})
                    hook = _checked(made["createWebhookSubscription"])["webhookSubscription"]["id"]
                rate = await sales_round(client, args.sales, args.concurrency, round_number)
                rates[side].append(rate)
                print(f"webhooks {side:>7}: {rate:.1f} sales/s", flush=True)
                if hook is not None:
                    await client.gql(DELETE_HOOK, {"id": hook})
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    return {
        "sales_per_round": args.sales,
        "concurrency": args.concurrency,
        "sales_per_second_without": round(without, 1),
        "sales_per_second_with_dead_receiver": round(with_, 1),
        "ratio": round(with_ / without, 3),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
    }


async def draft_order(client: Client, rng: random.Random) -> dict[str, Any]:
    from bench.sales import STOPS_WEST

    # One leg, either way, over the coming days: thousands of drafts must find seats.
    stops = list(STOPS_WEST) if rng.random() < 0.5 else list(reversed(STOPS_WEST))
    leg = rng.randrange(len(stops) - 1)
    search = {
        "fromStopPlaceId": stops[leg],
        "toStopPlaceId": stops[leg + 1],
        "date": _day(rng),
        "travellers": [{"id": "t0", "userType": "ADULT"}],
    }
    offers = (await client.gql(OFFERS, {"s": search}))["offers"]
    offer = rng.choice([o for o in offers if o["availableSeats"] >= 1])
    return dict(_checked((await client.gql(RESERVE, {"o": offer["id"]}))["reserveOffers"])["order"])


def _day(rng: random.Random) -> str:
    from datetime import datetime, timedelta

    from sales_api.domain.catalogue import LOCAL_TIME

    return (datetime.now(LOCAL_TIME).date() + timedelta(days=rng.randint(1, 6))).isoformat()


async def pay_fully(client: Client, order: dict[str, Any]) -> None:
    """Three commits to the order: createPayment, createTransaction, captureTransaction."""
    payment = _checked((await client.gql(PAY, {"o": order["id"]}))["createPayment"])["payment"]
    variables = {"p": payment["id"], "a": payment["totalAmount"]}
    tx = _checked((await client.gql(TRANSACT, variables))["createTransaction"])
    _checked((await client.gql(CAPTURE, {"t": tx["transaction"]["id"]}))["captureTransaction"])


class Subscriber:
    """One socket with up to PER_SOCKET orderUpdated subscriptions; counts what arrives."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[Any] = []

    async def start(self, token: str, order_ids: list[str]) -> None:
        init = {"Authorization": f"Bearer {token}", "Entur-POS": "bench"}
        await self.connection.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await self.connection.recv())["type"] == "connection_ack"
        for order_id in order_ids:
            self.received[order_id] = []
            message = {
                "id": order_id,
                "type": "subscribe",
                "payload": {"query": ORDER_UPDATED, "variables": {"id": order_id}},
            }
            await self.connection.send(json.dumps(message))

    async def listen(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.connection:
                message = json.loads(raw)
                if message.get("type") == "next":
                    self.received[message["id"]].append(message["payload"]["data"])
                elif message.get("type") == "error":
                    self.errors.append(message)


async def drafts(client: Client, count: int, concurrency: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    orders: list[dict[str, Any]] = []
    await run_concurrently([lambda: _append(orders, draft_order(client, rng))] * count, concurrency)
    return orders


async def paying(client: Client, orders: list[dict[str, Any]], concurrency: int) -> float:
    """Every order paid in full (three commits each), `concurrency` at a time; orders
    completed per second."""
    seconds = await run_concurrently(
        [lambda o=o: pay_fully(client, o) for o in orders], concurrency
    )
    return len(orders) / seconds


async def subscriptions_under_load(
    base: str, pid: int, client: Client, args: argparse.Namespace
) -> dict[str, Any]:
    """The same work twice, alternating: `count` DRAFT orders paid in full, first with no
    one watching, then each watched by an orderUpdated subscription opened before."""
    count = args.subscriptions
    rates: dict[str, list[float]] = {"without": [], "with": []}
    found: dict[str, Any] = {}
    for round_number in range(args.rounds):
        unwatched = await drafts(client, count, args.concurrency, 100 + round_number)
        rates["without"].append(await paying(client, unwatched, args.concurrency))
        orders = await drafts(client, count, args.concurrency, 200 + round_number)
        memory_before = rss_kib(pid)
        subscribers = await _open(base, client, orders)
        listening = [asyncio.create_task(s.listen()) for s in subscribers]
        await _until(lambda s=subscribers: _each_has(s, 1), 60)
        memory_open = rss_kib(pid)
        rates["with"].append(await paying(client, orders, args.concurrency))
        await _until(lambda s=subscribers: _each_has(s, 4), 30)
        memory_after = rss_kib(pid)
        counts = [len(v) for s in subscribers for v in s.received.values()]
        statuses = [
            v[-1]["orderUpdated"]["status"] for s in subscribers for v in s.received.values()
        ]
        for subscriber in subscribers:
            await subscriber.connection.close()
        for task in listening:
            task.cancel()
        print(
            f"subscriptions round {round_number + 1}: without {rates['without'][-1]:.1f}, "
            f"with {rates['with'][-1]:.1f} orders paid/s; messages {sorted(set(counts))}",
            flush=True,
        )
        found = {
            "rss_kib_before": memory_before.get("VmRSS"),
            "rss_kib_with_subscriptions_open": memory_open.get("VmRSS"),
            "rss_kib_after_changes": memory_after.get("VmRSS"),
            "kib_per_subscription": round(
                (memory_open.get("VmRSS", 0) - memory_before.get("VmRSS", 0)) / count, 1
            ),
            "messages_expected_each": 4,
            "subscribers_with_all_4": sum(1 for c in counts if c == 4),
            "subscribers_missing_a_change": sum(1 for c in counts if c < 4),
            "subscribers_with_extra": sum(1 for c in counts if c > 4),
            "last_seen_confirmed": sum(1 for status in statuses if status == "CONFIRMED"),
            "errors": sum(len(s.errors) for s in subscribers),
        }
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    return {
        "subscriptions": count,
        "sockets": -(-count // PER_SOCKET),
        "orders_paid_per_second_unwatched": round(without, 1),
        "orders_paid_per_second_watched": round(with_, 1),
        "ratio": round(with_ / without, 3),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
        "last_round": found,
    }


async def _open(base: str, client: Client, orders: list[dict[str, Any]]) -> list[Subscriber]:
    token = client.headers["Authorization"].removeprefix("Bearer ")
    url = base.replace("http://", "ws://") + "/sales/v1/graphql"
    subscribers = []
    for start in range(0, len(orders), PER_SOCKET):
        connection = await connect(
            url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            max_queue=None,
        )
        subscriber = Subscriber(connection)
        await subscriber.start(token, [o["id"] for o in orders[start : start + PER_SOCKET]])
        subscribers.append(subscriber)
    return subscribers


def _each_has(subscribers: list[Subscriber], count: int) -> bool:
    return all(len(seen) >= count for s in subscribers for seen in s.received.values())


async def _append(into: list[dict[str, Any]], made: Any) -> None:
    into.append(await made)


async def _until(condition: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110  (counts, polled)
        await asyncio.sleep(0.05)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    cleanup = None
    if args.postgres:
        database_url, cleanup = own_postgres_database(args.postgres)
    else:
        database_url = f"sqlite+aiosqlite:///{work / 'events.db'}"
    try:
        await asyncio.to_thread(prepare_database, database_url)
        port = free_port()
        env = environment(database_url, work / "data")
        # In production receivers on loopback are refused; this bench's receiver is one.
        env["SALES_WEBHOOK_ALLOW_PRIVATE"] = "true"
        env["SALES_MAX_SUBSCRIPTIONS_PER_CONNECTION"] = str(PER_SOCKET)
        with process(service_command(port), env, work / "service.log") as service:
            base = f"http://127.0.0.1:{port}"
            await wait_until_up(f"{base}/health/live", service)
            limits = httpx.Limits(max_connections=args.concurrency * 2)
            async with httpx.AsyncClient(timeout=120, limits=limits) as http:
                client = Client(http, base)
                await client.login()
                await sales_round(client, 10, args.concurrency, 1)  # warm up
                webhooks = await webhook_rounds(client, args)
                live = await subscriptions_under_load(base, service.pid, client, args)
        return {
            "database": "postgresql" if args.postgres else "sqlite",
            "webhooks_dead_receiver": webhooks,
            "subscriptions": live,
        }
    finally:
        if cleanup is not None:
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (a fresh database beside it)")
    parser.add_argument("--sales", type=int, default=150, help="sales per round (150)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (3)")
    parser.add_argument("--concurrency", type=int, default=8, help="sales in flight (8)")
    parser.add_argument("--subscriptions", type=int, default=500, help="open at once (500)")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"events-{result['database']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
