"""Whole sales over HTTP, as a client application makes them: offers -> reserveOffers ->
createPayment -> createTransaction -> captureTransaction -> generateTickets, many in
flight; sales per second against a running service, or against `sales-api serve
--workers N` started here."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.processes import (
    environment,
    free_port,
    process,
    service_command,
    tree_rss_kib,
    wait_until_up,
)
from sales_api.domain.catalogue import LOCAL_TIME

GRAPHQL = "/sales/v1/graphql"
APP_CHANNEL = "ENT:DistributionChannel:App"

OFFERS = """query($s: OfferSearchInput!) { offers(search: $s) { id availableSeats } }"""
RESERVE = """mutation($o: ID!) { reserveOffers(input: {offerConfigurations: [{offerId: $o}]})
 { order { id totalAmount } errors { code message } } }"""
PAY = """mutation($o: ID!) { createPayment(input: {orderId: $o})
 { payment { id totalAmount } errors { code message } } }"""
TRANSACT = """mutation($p: ID!, $a: Amount!) { createTransaction(input: {paymentId: $p,
 paymentType: VISA, amount: $a, paymentToken: "tok_visa"}) { transaction { id }
 errors { code message } } }"""
CAPTURE = """mutation($t: ID!) { captureTransaction(input: {transactionId: $t})
 { order { status } errors { code message } } }"""
TICKETS = """mutation($o: ID!) { generateTickets(input: {orderId: $o})
 { ticketDistributionGroups { id } errors { code message } } }"""

STOPS_WEST = (
    "NSR:StopPlace:337",
    "NSR:StopPlace:444",
    "NSR:StopPlace:530",
    "NSR:StopPlace:113",
    "NSR:StopPlace:601",
    "NSR:StopPlace:723",
    "NSR:StopPlace:548",
)


async def fetch_token(http: httpx.AsyncClient, base: str) -> str:
    """A token from the service's built-in issuer, as a client application gets one."""
    response = await http.post(
        f"{base}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": "demo-secret",
            "audience": "sales-api",
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


class Client:
    """GraphQL calls with a real token and the API's headers (mutations need a channel)."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http = http
        self.base = base
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        token = await fetch_token(self.http, self.base)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Entur-POS": "bench",
            "Entur-Distribution-Channel": APP_CHANNEL,
        }

    async def gql(self, query: str, variables: dict[str, Any]) -> Any:
        response = await self.http.post(
            self.base + GRAPHQL,
            json={"query": query, "variables": variables},
            headers=self.headers,
        )
        response.raise_for_status()
        body = response.json()
        if "errors" in body:
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]


async def run_concurrently(calls: list[Callable[[], Awaitable[Any]]], concurrency: int) -> float:
    """Runs the calls `concurrency` at a time; the wall time."""
    queue = iter(calls)

    async def worker() -> None:
        for call in queue:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def one_sale(client: Client, rng: random.Random) -> None:
    """offers -> reserveOffers -> createPayment -> createTransaction -> captureTransaction
    -> generateTickets, on the coming days' runs (the seeded orders sold earlier weeks)."""
    today = datetime.now(LOCAL_TIME).date()
    stops = list(STOPS_WEST) if rng.random() < 0.5 else list(reversed(STOPS_WEST))
    leg = rng.randrange(len(stops) - 1)
    travellers = [{"id": f"t{i}", "userType": "ADULT"} for i in range(rng.randint(1, 2))]
    on: date = today + timedelta(days=rng.randint(1, 6))
    search = {
        "fromStopPlaceId": stops[leg],
        "toStopPlaceId": stops[leg + 1],
        "date": on.isoformat(),
        "travellers": travellers,
    }
    offers = (await client.gql(OFFERS, {"s": search}))["offers"]
    offer = rng.choice([o for o in offers if o["availableSeats"] >= len(travellers)])
    reserved = _checked((await client.gql(RESERVE, {"o": offer["id"]}))["reserveOffers"])
    order = reserved["order"]
    payment = _checked((await client.gql(PAY, {"o": order["id"]}))["createPayment"])["payment"]
    variables = {"p": payment["id"], "a": payment["totalAmount"]}
    tx = _checked((await client.gql(TRANSACT, variables))["createTransaction"])
    captured = (await client.gql(CAPTURE, {"t": tx["transaction"]["id"]}))["captureTransaction"]
    assert _checked(captured)["order"]["status"] == "CONFIRMED", captured
    _checked((await client.gql(TICKETS, {"o": order["id"]}))["generateTickets"])


def _checked(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["errors"]:
        raise RuntimeError(f"business error: {payload['errors']}")
    return payload


def _limits(args: argparse.Namespace) -> httpx.Limits:
    return httpx.Limits(max_connections=args.sales_concurrency * 2)


async def sales_rate(base: str, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """A few sales to warm up, then `--sales` whole sales, `--sales-concurrency` at a time.
    A sale that fails (an HTTP error, a GraphQL or business error) is counted and its first
    error kept, not retried: sales/s counts the completed ones, and the failures are
    reported beside it rather than ending a run of many minutes."""
    failures: list[str] = []

    async def sale(client: Client) -> None:
        try:
            await one_sale(client, rng)
        except (httpx.HTTPError, RuntimeError, AssertionError) as error:
            failures.append(f"{type(error).__name__}: {error}"[:300])

    async with httpx.AsyncClient(timeout=120, limits=_limits(args)) as http:
        client = Client(http, base)
        await client.login()
        await run_concurrently([lambda: sale(client)] * 4, args.sales_concurrency)
        failures.clear()  # the warm-up's
        seconds = await run_concurrently(
            [lambda: sale(client)] * args.sales, args.sales_concurrency
        )
    done = args.sales - len(failures)
    result: dict[str, Any] = {
        "sales": args.sales,
        "concurrency": args.sales_concurrency,
        "seconds": round(seconds, 2),
        "sales_per_second": round(done / seconds, 2),
        "failed": len(failures),
    }
    if failures:
        result["first_failure"] = failures[0]
    print(f"sales: {json.dumps(result)}", flush=True)
    return result


async def sales_with_workers(
    database_url: str, work: Path, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    """`sales-api serve --workers N` as a subprocess; sales per second and the RSS of all
    its processes."""
    port = free_port()
    data_dir = work / f"data-serve-{workers}"
    env = environment(database_url, data_dir)
    with process(service_command(port, workers), env, work / f"serve-{workers}.log") as child:
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(f"{base}/health/live", child)
        await asyncio.sleep(1 if workers == 1 else 3)  # every worker up
        result = await sales_rate(base, args, random.Random(11 + workers))
        result["rss_kib_all_processes"] = tree_rss_kib(child.pid)
    return result
