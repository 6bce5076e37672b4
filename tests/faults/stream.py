"""A stream of whole sales over HTTP, several at a time, every answer recorded."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sales_api.domain.catalogue import LOCAL_TIME

STOPS = (
    "NSR:StopPlace:337",
    "NSR:StopPlace:444",
    "NSR:StopPlace:530",
    "NSR:StopPlace:113",
    "NSR:StopPlace:601",
    "NSR:StopPlace:723",
    "NSR:StopPlace:548",
)
OFFERS = """query($s: OfferSearchInput!) { offers(search: $s) { id availableSeats
  product { name } travelSpecification { departureTime } } }"""
RESERVE = """mutation($o: ID!) { reserveOffers(input: {offerConfigurations: [{offerId: $o}]})
  { order { id } errors { code } } }"""
PAY = """mutation($o: ID!) { createPayment(input: {orderId: $o})
  { payment { id totalAmount } errors { code } } }"""
TRANSACT = """mutation($p: ID!, $a: Amount!, $t: String!) { createTransaction(input:
  {paymentId: $p, paymentType: VISA, amount: $a, paymentToken: $t}) { transaction { id }
  errors { code } } }"""
CAPTURE = """mutation($t: ID!, $k: String!) { captureTransaction(input: {transactionId: $t,
  idempotencyKey: $k}) { order { status } errors { code } } }"""


@dataclass
class Answer:
    at: float
    status: int
    seconds: float
    code: str | None
    retry_after: str | None


@dataclass
class Stream:
    """What the sellers were answered, and the sales they completed (with when)."""

    answers: list[Answer] = field(default_factory=list)
    completed: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def codes(self) -> dict[tuple[int, str | None], int]:
        counted: dict[tuple[int, str | None], int] = {}
        for answer in self.answers:
            key = (answer.status, answer.code)
            counted[key] = counted.get(key, 0) + 1
        return counted


class Interrupted(Exception):
    """A step of the sale was not answered with what the next step needs."""


class Seller:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], stream: Stream):
        self.client, self.headers, self.stream = client, headers, stream
        self.rng = random.Random()

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        started = time.monotonic()
        try:
            response = await self.client.post(
                "/sales/v1/graphql",
                json={"query": query, "variables": variables},
                headers=self.headers,
            )
        except httpx.HTTPError as error:
            self.stream.answers.append(
                Answer(started, 0, time.monotonic() - started, type(error).__name__, None)
            )
            raise Interrupted from error
        body = response.json()
        errors = body.get("errors") or []
        code = errors[0]["extensions"].get("code") if errors else None
        data = body.get("data") or {}
        if code is None and data:
            payload = next(iter(data.values()))
            if isinstance(payload, dict) and payload.get("errors"):
                code = payload["errors"][0]["code"]
        self.stream.answers.append(
            Answer(
                started,
                response.status_code,
                time.monotonic() - started,
                code,
                response.headers.get("retry-after"),
            )
        )
        if code is not None or response.status_code != 200:
            raise Interrupted
        return dict(data)

    async def sale(self, token: str) -> None:
        day = datetime.now(UTC).astimezone(LOCAL_TIME).date() + timedelta(days=1)
        stops = list(STOPS) if self.rng.random() < 0.5 else list(reversed(STOPS))
        leg = self.rng.randrange(len(stops) - 1)
        search = {
            "fromStopPlaceId": stops[leg],
            "toStopPlaceId": stops[leg + 1],
            "date": day.isoformat(),
            "travellers": [{"id": "t1", "userType": "ADULT"}],
        }
        offers = (await self.gql(OFFERS, s=search))["offers"]
        now = datetime.now(UTC)
        usable = [
            o
            for o in offers
            if o["availableSeats"] > 0
            and datetime.fromisoformat(o["travelSpecification"]["departureTime"]) > now
        ]
        if not usable:
            return
        offer = self.rng.choice(usable)
        order = (await self.gql(RESERVE, o=offer["id"]))["reserveOffers"]["order"]
        payment = (await self.gql(PAY, o=order["id"]))["createPayment"]["payment"]
        created = await self.gql(TRANSACT, p=payment["id"], a=payment["totalAmount"], t=token)
        transaction = created["createTransaction"]["transaction"]["id"]
        await self.gql(CAPTURE, t=transaction, k=f"capture-{transaction}")
        self.stream.completed.append(time.monotonic())

    async def run(self, stop: asyncio.Event, timeout_share: float) -> None:
        while not stop.is_set():
            token = "tok_timeout" if self.rng.random() < timeout_share else "tok_visa"
            try:
                await self.sale(token)
            except Interrupted:
                await asyncio.sleep(0.05)


async def sell(
    base: str, token: str, stop: asyncio.Event, stream: Stream, *, sellers: int = 4,
    timeout_share: float = 0.1,
) -> None:  # fmt: skip
    headers = {
        "Authorization": f"Bearer {token}",
        "Entur-POS": "faults",
        "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
    }
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(
            *(Seller(client, headers, stream).run(stop, timeout_share) for _ in range(sellers))
        )
