"""The Sales API benchmark: GraphQL against a hand-written endpoint, and whole sales.

    .venv/bin/python -m bench.run [--orders 10000] [--postgres postgresql+asyncpg://...]

See bench/README.md for what it measures and how."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.seed import prepare_database, seed_orders
from sales_api.domain.catalogue import LOCAL_TIME

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
GRAPHQL = "/sales/v1/graphql"
APP_CHANNEL = "ENT:DistributionChannel:App"
PER_PAGE = 50

PAGE_QUERY = """query($page: Int!) { orders(page: $page, perPage: 50) { items { id status
 totalAmount balance createdAt orderLines { id status price { amount taxAmount }
 travelSpecification { departureTime from { name } } reservation { seats { carNumber
 seatNumber } } } paymentRefs { amount } } totalItems } }"""

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (uvicorn workers), in KiB."""
    total = rss_kib(pid).get("VmRSS", 0)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            with contextlib.suppress(FileNotFoundError):
                total += tree_rss_kib(int(child))
    return total


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


@contextlib.contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The server as a child process; what it prints (a JSON line per request) goes to
    `log`, whose end is shown if the run fails."""
    with log.open("wb") as output:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        yield child
    except BaseException:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        print(f"--- the end of {log.name}:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def wait_until_up(urls: list[str], child: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for url in urls:
            for _ in range(300):
                if child.poll() is not None:
                    raise RuntimeError(f"the server exited with {child.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    await client.get(url)
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{url} did not answer")


class Client:
    """GraphQL and baseline calls with a real token and the API's headers."""

    def __init__(self, http: httpx.AsyncClient, graphql: str, baseline: str | None) -> None:
        self.http = http
        self.graphql = graphql
        self.baseline = baseline
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        response = await self.http.post(
            self.graphql.replace(GRAPHQL, "/oauth/token"),
            json={
                "grant_type": "client_credentials",
                "client_id": "demo-app",
                "client_secret": "demo-secret",
                "audience": "sales-api",
            },
        )
        response.raise_for_status()
        self.headers = {
            "Authorization": f"Bearer {response.json()['access_token']}",
            "Entur-POS": "bench-pos",
            "Entur-Distribution-Channel": APP_CHANNEL,
        }

    async def gql(self, query: str, variables: dict[str, Any]) -> Any:
        response = await self.http.post(
            self.graphql, json={"query": query, "variables": variables}, headers=self.headers
        )
        response.raise_for_status()
        body = response.json()
        if "errors" in body:
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    async def page_by_hand(self, page: int) -> Any:
        response = await self.http.post(
            f"{self.baseline}/orders", json={"page": page, "perPage": PER_PAGE},
            headers=self.headers,
        )  # fmt: skip
        response.raise_for_status()
        return response.json()["data"]

    async def order_by_hand(self, order_id: str) -> Any:
        response = await self.http.get(f"{self.baseline}/order/{order_id}", headers=self.headers)
        response.raise_for_status()
        return response.json()["data"]


async def run_concurrently(
    calls: list[Callable[[], Awaitable[Any]]], concurrency: int
) -> tuple[list[float], float]:
    """Runs the calls `concurrency` at a time; latencies of each, and the wall time."""
    latencies: list[float] = []
    queue = iter(calls)

    async def worker() -> None:
        for call in queue:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def correctness_gate(client: Client, pages: int, order_ids: list[str]) -> None:
    """The hand-written JSON equals GraphQL's `data`, or the comparison means nothing."""
    for page in sorted({1, max(1, pages // 2), pages}):
        graphql = await client.gql(PAGE_QUERY, {"page": page})
        by_hand = await client.page_by_hand(page)
        if graphql != by_hand:
            raise SystemExit(f"correctness gate: page {page} differs from GraphQL")
    for order_id in order_ids[:3]:
        if await client.gql(ORDER_QUERY, {"id": order_id}) != await client.order_by_hand(order_id):
            raise SystemExit(f"correctness gate: order {order_id} differs from GraphQL")


async def compare(client: Client, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    first = await client.gql(PAGE_QUERY, {"page": 1})
    total = first["orders"]["totalItems"]
    pages = max(1, math.ceil(total / PER_PAGE))
    order_ids: list[str] = []
    for page in rng.sample(range(1, pages + 1), min(5, pages)):
        order_ids += [o["id"] for o in (await client.page_by_hand(page))["orders"]["items"]]
    await correctness_gate(client, pages, order_ids)
    print(f"correctness gate passed ({total} orders, {pages} pages)", flush=True)

    def page_calls(kind: str, chosen: list[int]) -> list[Callable[[], Awaitable[Any]]]:
        if kind == "graphql":
            return [lambda p=p: client.gql(PAGE_QUERY, {"page": p}) for p in chosen]
        return [lambda p=p: client.page_by_hand(p) for p in chosen]

    def order_calls(kind: str, chosen: list[str]) -> list[Callable[[], Awaitable[Any]]]:
        if kind == "graphql":
            return [lambda i=i: client.gql(ORDER_QUERY, {"id": i}) for i in chosen]
        return [lambda i=i: client.order_by_hand(i) for i in chosen]

    results: dict[str, Any] = {}
    for name, make, choose in (
        ("orders_page", page_calls, lambda: [rng.randint(1, pages) for _ in range(args.requests)]),
        ("order_by_id", order_calls, lambda: [rng.choice(order_ids) for _ in range(args.requests)]),
    ):
        latencies: dict[str, list[float]] = {"graphql": [], "handwritten": []}
        await run_concurrently(make("graphql", choose()[:20]), args.concurrency)  # warm up
        await run_concurrently(make("handwritten", choose()[:20]), args.concurrency)
        for _ in range(args.rounds):
            chosen = choose()
            for kind in ("graphql", "handwritten"):  # alternating rounds, the same inputs
                measured, _ = await run_concurrently(make(kind, chosen), args.concurrency)
                latencies[kind] += measured
        graphql, by_hand = summary(latencies["graphql"]), summary(latencies["handwritten"])
        results[name] = {
            "graphql": graphql,
            "handwritten": by_hand,
            "ratio_of_medians": round(graphql["median_ms"] / by_hand["median_ms"], 2),
        }
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    return results


async def one_sale(client: Client, rng: random.Random) -> None:
    """offers -> reserveOffers -> createPayment -> createTransaction -> captureTransaction
    -> generateTickets, on today's real runs (the seeded orders sold earlier weeks)."""
    today = datetime.now(LOCAL_TIME).date()
    stops = list(STOPS_WEST) if rng.random() < 0.5 else list(reversed(STOPS_WEST))
    leg = rng.randrange(len(stops) - 1)
    travellers = [{"id": f"t{i}", "userType": "ADULT"} for i in range(rng.randint(1, 2))]
    on: date = today + timedelta(days=rng.randint(1, 6))
    offers = (
        await client.gql(
            OFFERS,
            {
                "s": {
                    "fromStopPlaceId": stops[leg],
                    "toStopPlaceId": stops[leg + 1],
                    "date": on.isoformat(),
                    "travellers": travellers,
                }
            },
        )
    )["offers"]
    offer = rng.choice([o for o in offers if o["availableSeats"] >= len(travellers)])
    reserved = (await client.gql(RESERVE, {"o": offer["id"]}))["reserveOffers"]
    _check(reserved)
    order = reserved["order"]
    payment = (await client.gql(PAY, {"o": order["id"]}))["createPayment"]
    _check(payment)
    tx = (
        await client.gql(
            TRANSACT, {"p": payment["payment"]["id"], "a": payment["payment"]["totalAmount"]}
        )
    )["createTransaction"]
    _check(tx)
    captured = (await client.gql(CAPTURE, {"t": tx["transaction"]["id"]}))["captureTransaction"]
    _check(captured)
    assert captured["order"]["status"] == "CONFIRMED", captured
    _check((await client.gql(TICKETS, {"o": order["id"]}))["generateTickets"])


def _check(payload: dict[str, Any]) -> None:
    if payload["errors"]:
        raise RuntimeError(f"business error: {payload['errors']}")


async def sales_rate(client: Client, args: argparse.Namespace, rng: random.Random) -> dict:
    await client.login()
    await run_concurrently([lambda: one_sale(client, rng)] * 4, args.sales_concurrency)  # warm
    _, seconds = await run_concurrently(
        [lambda: one_sale(client, rng)] * args.sales, args.sales_concurrency
    )
    result = {
        "sales": args.sales,
        "concurrency": args.sales_concurrency,
        "seconds": round(seconds, 2),
        "sales_per_second": round(args.sales / seconds, 2),
    }
    print(f"sales: {json.dumps(result)}", flush=True)
    return result


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["SALES_DATABASE_URL"] = database_url
    env["SALES_DATA_DIR"] = str(data_dir)
    return env


async def bench_database(
    label: str, database_url: str, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Seed, then latency (GraphQL vs hand-written) and sales with one worker in the bench's
    server process, then its memory."""
    print(f"[{label}] migrating and seeding {args.orders} orders ...", flush=True)
    await asyncio.to_thread(prepare_database, database_url)
    seeded = await asyncio.to_thread(
        seed_orders, database_url, args.orders, processes=args.seed_processes, work_dir=work
    )
    print(
        f"[{label}] seeded {seeded.orders} orders ({seeded.order_lines} lines, "
        f"{seeded.failures} failed) in {seeded.seconds:.1f} s "
        f"({seeded.orders_per_second:.1f} orders/s)",
        flush=True,
    )
    result: dict[str, Any] = {
        "seed": {
            "orders": seeded.orders,
            "order_lines": seeded.order_lines,
            "failures": seeded.failures,
            "seconds": round(seeded.seconds, 1),
            "weeks": seeded.windows,
        }
    }
    data_dir = work / f"data-{label}"
    graphql_port, baseline_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "bench.server", "--database-url", database_url,
        "--data-dir", str(data_dir), "--graphql-port", str(graphql_port),
        "--baseline-port", str(baseline_port),
    ]  # fmt: skip
    rng = random.Random(7)
    with process(command, environment(database_url, data_dir), work / f"{label}.log") as child:
        graphql = f"http://127.0.0.1:{graphql_port}"
        baseline = f"http://127.0.0.1:{baseline_port}"
        await wait_until_up([f"{graphql}/health/live", f"{baseline}/orders"], child)
        limits = httpx.Limits(max_connections=max(args.concurrency, args.sales_concurrency) * 2)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            client = Client(http, graphql + GRAPHQL, baseline)
            await client.login()
            result.update(await compare(client, args, rng))
            result["sales_1_worker"] = await sales_rate(client, args, rng)
        result["server_memory_kib"] = rss_kib(child.pid)
    result["statement_counts"] = await statement_counts(database_url, data_dir)
    print(f"[{label}] statement counts in {result['statement_counts']['seconds']} s", flush=True)
    return result


async def statement_counts(database_url: str, data_dir: Path) -> dict[str, Any]:
    """SELECTs per read query with every nested list, small and large (perPage 1 and 100;
    fewest and most lines, ...), after three whole sales, in process over the bench
    database (bench/statement_counts.py). The cost limit is raised for perPage: 100."""
    from bench.statement_counts import report
    from sales_api.app import create_app
    from sales_api.settings import Settings

    settings = Settings(database_url=database_url, data_dir=data_dir, max_query_cost=10_000_000)
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            client = Client(http, "http://bench" + GRAPHQL, None)
            await client.login()
            return await report(http, app, client.headers)
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def sales_with_workers(
    database_url: str, work: Path, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    """`python -m sales_api serve --workers N` as a subprocess; sales per second and RSS."""
    port = free_port()
    data_dir = work / f"data-serve-{workers}"
    command = [
        sys.executable, "-m", "sales_api", "serve", "--port", str(port), "--workers", str(workers)
    ]  # fmt: skip
    log = work / f"serve-{workers}.log"
    with process(command, environment(database_url, data_dir), log) as child:
        base = f"http://127.0.0.1:{port}"
        await wait_until_up([f"{base}/health/live"], child)
        await asyncio.sleep(1 if workers == 1 else 3)  # every worker up
        limits = httpx.Limits(max_connections=args.sales_concurrency * 2)
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            client = Client(http, base + GRAPHQL, None)
            result = await sales_rate(client, args, random.Random(11 + workers))
        result["rss_kib_all_processes"] = tree_rss_kib(child.pid)
    return result


async def postgres_sales(url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Whole sales on PostgreSQL against `sales-api serve` with one and then two worker
    processes, on a fresh database (migrated, catalogue loaded; the sales need no seeded
    orders). With `--postgres-latency`, the seeded latency comparison runs there too."""
    if not await asyncio.to_thread(postgres_reachable, url):
        print(f"[postgresql] {url} does not answer: skipped", flush=True)
        return {"skipped": f"{url} did not answer"}
    own, drop = await asyncio.to_thread(own_postgres_database, url)
    try:
        if args.postgres_latency:
            result = await bench_database("postgresql", own, work, args)
        else:
            await asyncio.to_thread(prepare_database, own)
            result = {}
        for workers in (1, 2):
            key = f"sales_serve_{workers}_worker{'s' if workers > 1 else ''}"
            print(f"[postgresql] sales against serve --workers {workers} ...", flush=True)
            result[key] = await sales_with_workers(own, work, workers, args)
        one = result["sales_serve_1_worker"]["sales_per_second"]
        two = result["sales_serve_2_workers"]["sales_per_second"]
        result["two_workers_over_one"] = round(two / one, 2) if one else None
        return result
    finally:
        await asyncio.to_thread(drop)


def postgres_reachable(url: str) -> bool:
    from sqlalchemy import make_url

    address = make_url(url)
    try:
        with socket.create_connection((address.host or "127.0.0.1", address.port or 5432), 2):
            return True
    except OSError:
        return False


def own_postgres_database(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database beside the one named (dropped afterwards), as the tests do."""
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    base = make_url(url)
    name = f"sales_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def run(statement: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    own = base.set(database=name).render_as_string(hide_password=False)
    return own, lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def print_table(results: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = []
    for label, result in results["databases"].items():
        if "skipped" in result:
            rows.append((label, "skipped", result["skipped"], ""))
            continue
        if "seed" in result:
            seed = result["seed"]
            rows.append(
                (label, "seed", f"{seed['orders']} orders, {seed['order_lines']} lines",
                 f"{seed['seconds']} s")
            )  # fmt: skip
        for name in ("orders_page", "order_by_id"):
            if name not in result:
                continue
            item = result[name]
            for kind in ("graphql", "handwritten"):
                rows.append(
                    (label, f"{name} {kind}", f"median {item[kind]['median_ms']} ms",
                     f"p99 {item[kind]['p99_ms']} ms")
                )  # fmt: skip
            rows.append((label, f"{name} ratio", f"{item['ratio_of_medians']}x", "of medians"))
        for key in ("sales_1_worker", "sales_serve_1_worker", "sales_serve_2_workers"):
            if key in result:
                sales = result[key]
                rows.append(
                    (label, key, f"{sales['sales_per_second']} sales/s",
                     f"{sales['sales']} sales, concurrency {sales['concurrency']}")
                )  # fmt: skip
                if "rss_kib_all_processes" in sales:
                    rss = sales["rss_kib_all_processes"] / 1024
                    rows.append((label, f"{key} RSS", f"{rss:.0f} MiB", "all processes"))
        if "two_workers_over_one" in result:
            rows.append(
                (label, "2 workers / 1 worker", f"{result['two_workers_over_one']}x", "sales/s")
            )
        if "server_memory_kib" in result:
            memory = result["server_memory_kib"]
            rows.append(
                (label, "server RSS", f"{memory['VmRSS'] / 1024:.0f} MiB",
                 f"peak {memory['VmHWM'] / 1024:.0f} MiB")
            )  # fmt: skip
        for name, counted in result.get("statement_counts", {}).get("queries", {}).items():
            small, large = counted["selects"]
            grows = "" if small == large else " GROWS"
            runs = "perPage 1 / 100" if counted["paged"] else "small / large"
            entries = "{} / {}".format(*counted["list_entries"])
            rows.append(
                (label, f"SELECTs {name}", f"{small} / {large}{grows}",
                 f"{runs}, {entries} list entries")
            )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k != "postgres"},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "databases": {},
    }
    with tempfile.TemporaryDirectory(prefix="sales-bench-") as folder:
        work = Path(folder)
        sqlite_url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        results["databases"]["sqlite"] = await bench_database("sqlite", sqlite_url, work, args)
        if args.postgres and not args.no_postgres:
            results["databases"]["postgresql"] = await postgres_sales(args.postgres, work, args)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000, help="orders to seed")
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL for the sales with 1 and 2 workers (a fresh database is made "
        "beside this one and dropped); default %(default)s",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--postgres-latency",
        action="store_true",
        help="also seed PostgreSQL and compare latencies there (adds several minutes)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--requests", type=int, default=100, help="requests per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each kind")
    parser.add_argument("--sales", type=int, default=300, help="sales to time")
    parser.add_argument(
        "--sales-concurrency",
        type=int,
        default=16,
        help="sales in flight: enough to keep the server busy, so that a second worker "
        "has work to take (%(default)s)",
    )
    parser.add_argument("--seed-processes", type=int, default=2, help="seeding processes")
    args = parser.parse_args(argv)
    results = asyncio.run(main_async(args))
    print()
    print_table(results)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwhole run: {results['seconds']} s; results in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
