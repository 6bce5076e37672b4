"""GraphQL against the lean baseline (bench/lean.py), each in its own process, loaded by
wrk from outside both (bench/wrk.py): the correctness gate, then alternating rounds with
the same inputs, then medians, ratios and targets."""

from __future__ import annotations

import asyncio
import json
import math
import random
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.wrk import Load, Round, Wrk, wait_for_quiet

GRAPHQL = "/sales/v1/graphql"
GATE_PER_PAGE = 50

PAGE_QUERY = """query($page: Int!, $perPage: Int!) { orders(page: $page, perPage: $perPage) {
 items { id status totalAmount balance createdAt orderLines { id status price { amount
 taxAmount } travelSpecification { departureTime from { name } } reservation { seats {
 carNumber seatNumber } } } paymentRefs { amount } } totalItems } }"""

ORDER_QUERY = """query($id: ID!) { order(id: $id) { id version status totalAmount
 totalTaxAmount balance currency organisationId pos distributionChannelId externalReference
 contactInfo { name email phoneNumber } travellers { id userType name }
 orderLines { id orderId status product { id name fareClass refundable changeable }
   travelSpecification { serviceJourneyId from { id name } to { id name } departureTime
     arrivalTime }
   travellers { id userType name } price { amount taxAmount taxRate currency }
   reservation { ...R } createdAt }
 reservations { ...R }
 paymentRefs { orderVersion paymentId transactionId amount currency completedAt }
 payments { id orderId orderVersion organisationId totalAmount currency active
   transactions { id paymentId paymentType paymentTypeGroup amount currency status
     maskedCardNumber pspReference operationLog { operation amount status at }
     createdAt capturedAt }
   createdAt }
 createdAt lastConfirmedAt expireAt } }
fragment R on Reservation { id orderId orderLineId status serviceJourneyId from { id name }
 to { id name } seats { carNumber seatNumber travellerId } expireAt createdAt }"""

FLOOR_QUERY = "{ __typename }"
IDS_QUERY = """query($page: Int!) { orders(page: $page, perPage: 100) { items { id } } }"""
COUNT_QUERY = "{ orders(perPage: 1) { totalItems } }"

# How many times slower than the baseline GraphQL may be, per kind: its requests/s at least
# 1/target of the baseline's AND its p50 at most target times the baseline's. Kinds without
# a target (pages of 10 and 100) are reported, not judged.
TARGETS = {"page_50": 2.0, "order": 2.5, "floor": 2.0}
P99_OVER_P50 = 3.0  # GraphQL's p99 must stay under this many times its own p50, every kind
RSS_LIMIT_MIB = 200.0  # the service process's peak RSS (VmHWM) after the timed rounds
# Cores other processes may use during a round before its numbers are called disturbed.
QUIET_CORES = 0.25

# wrk's Lua script puts the drawn page or id where these stand in the JSON body.
PAGE_MARK = 987_654_321
ID_MARK = "@@bench-id@@"


@dataclass(frozen=True)
class Sides:
    """The two servers, a token both accept, and the headers GraphQL requests carry."""

    http: httpx.AsyncClient
    graphql: str  # http://127.0.0.1:port
    baseline: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Entur-POS": "bench"}

    async def graphql_data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = {"query": query, "variables": variables or {}}
        response = await self.http.post(self.graphql + GRAPHQL, json=body, headers=self.headers)
        response.raise_for_status()
        answer = response.json()
        if "errors" in answer:
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    async def baseline_data(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(self.baseline + path, json=body, headers=self.headers)
        response.raise_for_status()
        return response.json()["data"]


@dataclass(frozen=True)
class Kind:
    """A kind of request, as GraphQL and as the baseline have it."""

    name: str
    label: str
    graphql: Load
    baseline: Load
    target: float | None = None


def _split(body: dict[str, Any], mark: object) -> tuple[str, str]:
    """The JSON body around the place of the drawn value."""
    text = json.dumps(body, separators=(",", ":"))
    before, found, after = text.partition(str(mark))
    assert found, f"{mark} not in {text}"
    return before, after


def page_kind(per_page: int, total: int) -> Kind:
    pages = max(1, math.ceil(total / per_page))
    variables = {"page": PAGE_MARK, "perPage": per_page}
    graphql = _split({"query": PAGE_QUERY, "variables": variables}, PAGE_MARK)
    baseline = _split(variables, PAGE_MARK)
    return Kind(
        name=f"page_{per_page}",
        label=f"orders page, perPage {per_page}",
        graphql=Load(GRAPHQL, *graphql, draw="page", pages=pages),
        baseline=Load("/orders", *baseline, draw="page", pages=pages),
        target=TARGETS.get(f"page_{per_page}"),
    )


def order_kind(ids_file: Path) -> Kind:
    graphql = _split({"query": ORDER_QUERY, "variables": {"id": ID_MARK}}, ID_MARK)
    baseline = _split({"id": ID_MARK}, ID_MARK)
    return Kind(
        name="order",
        label="order(id), random ids",
        graphql=Load(GRAPHQL, *graphql, draw="id", ids_file=ids_file),
        baseline=Load("/order", *baseline, draw="id", ids_file=ids_file),
        target=TARGETS["order"],
    )


def floor_kind() -> Kind:
    graphql = json.dumps({"query": FLOOR_QUERY}, separators=(",", ":"))
    return Kind(
        name="floor",
        label="floor: { __typename } / ping",
        graphql=Load(GRAPHQL, graphql, ""),
        baseline=Load("/ping", "{}", ""),
        target=TARGETS["floor"],
    )


async def order_ids(sides: Sides, total: int) -> list[str]:
    """Every order id the token can read (100 a page), to draw random ids from."""
    ids: list[str] = []
    for page in range(1, math.ceil(total / 100) + 1):
        data = await sides.graphql_data(IDS_QUERY, {"page": page})
        ids += [item["id"] for item in data["orders"]["items"]]
    return ids


async def correctness_gate(sides: Sides, total: int, ids: list[str], rng: random.Random) -> None:
    """The baseline's JSON equals GraphQL's `data` for what is timed, or the comparison
    means nothing: the first, middle and last pages at perPage 50, the first page at the
    other sizes, a few orders and the floor."""
    pages = max(1, math.ceil(total / GATE_PER_PAGE))
    checks: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = [
        ("floor", FLOOR_QUERY, {}, "/ping", {}),
    ]
    sizes = [(page, GATE_PER_PAGE) for page in sorted({1, (pages + 1) // 2, pages})]
    others = [(1, 10), (math.ceil(total / 10), 10), (1, 100), (math.ceil(total / 100), 100)]
    for page, per_page in [*sizes, *others]:
        variables: dict[str, Any] = {"page": page, "perPage": per_page}
        name = f"page {page} (perPage {per_page})"
        checks.append((name, PAGE_QUERY, variables, "/orders", variables))
    for order_id in rng.sample(ids, min(5, len(ids))):
        checks.append(
            (f"order {order_id}", ORDER_QUERY, {"id": order_id}, "/order", {"id": order_id})
        )
    for name, query, variables, path, body in checks:
        graphql = await sides.graphql_data(query, variables)
        if graphql != await sides.baseline_data(path, body):
            raise SystemExit(f"correctness gate: {name}: the baseline differs from GraphQL")


@dataclass(frozen=True)
class Servers:
    """Where wrk sends each side's load, the processes whose CPU it is, and the PostgreSQL
    database they read, if any (its backends' CPU is then not "others")."""

    graphql: str
    graphql_pid: int
    baseline: str
    baseline_pid: int
    postgres_database: str | None = None


@dataclass(frozen=True)
class Timing:
    rounds: int  # pairs of timed rounds per kind
    seconds: int  # per round
    warmup: int  # seconds per side and kind, not counted
    quiet_wait: float  # seconds to wait at most, before each pair, for a quiet machine


async def measure(wrk: Wrk, servers: Servers, kind: Kind, token: str, timing: Timing) -> Any:
    """A warm-up of each side, then `timing.rounds` pairs of rounds with the same seed (the
    same random inputs in the same order): GraphQL first in odd pairs, the baseline first
    in even ones (ABBA), so that a drift of the machine falls on both sides alike. Before
    each pair, up to `quiet_wait` seconds for the machine to be quiet."""
    sides = {
        "graphql": (servers.graphql, kind.graphql),
        "baseline": (servers.baseline, kind.baseline),
    }
    pids = [servers.graphql_pid, servers.baseline_pid]
    measured: dict[str, list[Round]] = {"graphql": [], "baseline": []}

    async def run(side: str, seed: int, seconds: int) -> Round:
        url, load = sides[side]
        return await asyncio.to_thread(
            wrk.run, url, load, token=token, seed=seed, seconds=seconds, server_pids=pids,
            postgres_database=servers.postgres_database,
        )  # fmt: skip

    for side in sides:
        # JIT-free Python still warms: caches of prepared documents, pools, allocator.
        await run(side, 0, timing.warmup)
    waited = 0.0
    for number in range(1, timing.rounds + 1):
        waited += await asyncio.to_thread(wait_for_quiet, timing.quiet_wait, QUIET_CORES)
        for side in ("graphql", "baseline") if number % 2 else ("baseline", "graphql"):
            done = await run(side, number, timing.seconds)
            measured[side].append(done)
            print(
                f"  {kind.name} round {number} {side}: {done.requests_per_second:.0f} req/s, "
                f"p50 {done.p50_ms} ms, p99 {done.p99_ms} ms, cores {done.cpu}",
                flush=True,
            )
    result = summarise(kind, measured)
    result["waited_for_quiet_seconds"] = round(waited, 1)
    return result


def _medians(rounds: list[Round]) -> dict[str, float]:
    return {
        "requests_per_second": round(statistics.median(r.requests_per_second for r in rounds), 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in rounds), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in rounds), 3),
    }


def summarise(kind: Kind, measured: dict[str, list[Round]]) -> dict[str, Any]:
    """Medians over rounds; the ratios GraphQL / baseline of requests/s (below 1: GraphQL
    answers fewer), of p50 and of p99 (above 1: GraphQL takes longer); the target."""
    graphql, baseline = _medians(measured["graphql"]), _medians(measured["baseline"])
    ratio_rps = graphql["requests_per_second"] / baseline["requests_per_second"]
    ratio_p50 = graphql["p50_ms"] / baseline["p50_ms"]
    # How many times slower: 1 / throughput is the time per request at fixed connections.
    slowdown = max(1 / ratio_rps, ratio_p50)
    result: dict[str, Any] = {
        "label": kind.label,
        "graphql": graphql,
        "baseline": baseline,
        "ratio_requests_per_second": round(ratio_rps, 3),
        "ratio_p50": round(ratio_p50, 2),
        "ratio_p99": round(graphql["p99_ms"] / baseline["p99_ms"], 2),
        "slowdown": round(slowdown, 2),
        "graphql_p99_over_p50": round(graphql["p99_ms"] / graphql["p50_ms"], 2),
        "target": kind.target,
        "rounds": {side: [r.as_json() for r in rounds] for side, rounds in measured.items()},
        "others_cpu_max": max(r.cpu["others"] for rs in measured.values() for r in rs),
    }
    if kind.target is not None:
        result["within_target"] = slowdown <= kind.target
    return result


def targets(kinds: dict[str, Any], service_memory_kib: dict[str, int]) -> dict[str, Any]:
    """Each target with its number (the slowdown: the worse of 1 / the req/s ratio and the
    p50 ratio; the largest p99 / p50; the peak RSS in MiB) and whether it holds."""
    found: dict[str, Any] = {}
    for name, item in kinds.items():
        if item["target"] is not None:
            found[f"{name} at most {item['target']:g}x slower"] = _target(
                item["slowdown"], item["within_target"]
            )
    spread = max(item["graphql_p99_over_p50"] for item in kinds.values())
    found[f"GraphQL p99 under {P99_OVER_P50:g}x p50"] = _target(spread, spread < P99_OVER_P50)
    peak_mib = service_memory_kib["VmHWM"] / 1024
    found[f"service peak RSS under {RSS_LIMIT_MIB:g} MiB"] = _target(
        peak_mib, peak_mib < RSS_LIMIT_MIB
    )
    return found


def _target(value: float, holds: bool) -> dict[str, Any]:
    return {"value": round(value, 2), "pass": holds}
