"""The Sales API benchmark: the GraphQL service against a lean hand-written baseline, each
in its own process, loaded by wrk from outside both; whole sales; statement counts.

    .venv/bin/python -m bench.run [--orders 10000] [--quick] [--no-postgres]

See bench/README.md for what it measures and how."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url

from bench.compare import (
    COUNT_QUERY,
    Servers,
    Sides,
    Timing,
    correctness_gate,
    floor_kind,
    measure,
    order_ids,
    order_kind,
    page_kind,
    targets,
)
from bench.processes import (
    ROOT,
    environment,
    free_port,
    lean_command,
    own_postgres_database,
    postgres_reachable,
    process,
    rss_kib,
    service_command,
    vacuum_postgres,
    wait_until_up,
)
from bench.report import machine_facts, markdown, print_tables
from bench.sales import Client, fetch_token, sales_rate, sales_with_workers
from bench.seed import prepare_database, seed_orders
from bench.wrk import Wrk

RESULTS = Path(__file__).resolve().parent / "results"
PER_PAGES = (10, 50, 100)

# Option defaults, and what --quick changes (an option given explicitly always wins).
DEFAULTS: dict[str, Any] = {
    "orders": 10_000, "rounds": 3, "seconds": 5, "warmup": 2, "sales": 300,
}  # fmt: skip
QUICK: dict[str, Any] = {"orders": 2_000, "rounds": 2, "seconds": 2, "warmup": 1, "sales": 100}


async def seed(
    label: str, database_url: str, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    print(f"[{label}] migrating and seeding {args.orders} orders ...", flush=True)
    await asyncio.to_thread(prepare_database, database_url)
    seeded = await asyncio.to_thread(
        seed_orders, database_url, args.orders, processes=args.seed_processes, work_dir=work
    )
    if database_url.startswith("postgresql"):
        await asyncio.to_thread(vacuum_postgres, database_url)
    print(
        f"[{label}] seeded {seeded.orders} orders ({seeded.order_lines} lines, "
        f"{seeded.failures} failed) in {seeded.seconds:.1f} s "
        f"({seeded.orders_per_second:.1f} orders/s)",
        flush=True,
    )
    return {
        "orders": seeded.orders,
        "order_lines": seeded.order_lines,
        "failures": seeded.failures,
        "seconds": round(seeded.seconds, 1),
        "weeks": seeded.windows,
    }


async def bench_database(
    label: str, database_url: str, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Seed; `sales-api serve` and the lean baseline as two processes; the gate, the
    timed rounds, the service's RSS, then whole sales against the same service; then the
    statement counts in process."""
    result: dict[str, Any] = {"seed": await seed(label, database_url, work, args)}
    data_dir = work / f"data-{label}"
    env = environment(database_url, data_dir)
    graphql_port, baseline_port = free_port(), free_port()
    graphql, baseline = f"http://127.0.0.1:{graphql_port}", f"http://127.0.0.1:{baseline_port}"
    with process(service_command(graphql_port), env, work / f"{label}-service.log") as service:
        # The service makes the issuer's key in the data dir at start; the baseline reads it.
        await wait_until_up(f"{graphql}/health/live", service)
        lean = lean_command(database_url, data_dir, baseline_port)
        with process(lean, env, work / f"{label}-lean.log") as child:
            await wait_until_up(f"{baseline}/health", child)
            database = None
            if database_url.startswith("postgresql"):
                database = make_url(database_url).database
            servers = Servers(graphql, service.pid, baseline, child.pid, database)
            result["latency"] = await compare(servers, work, args)
            result["service_memory_kib"] = rss_kib(service.pid)
            result["baseline_memory_kib"] = rss_kib(child.pid)
            result["targets"] = targets(result["latency"]["kinds"], result["service_memory_kib"])
        result["sales_1_worker"] = await sales_rate(graphql, args, random.Random(7))
        result["service_memory_after_sales_kib"] = rss_kib(service.pid)
    result["statement_counts"] = await statement_counts(database_url, data_dir)
    print(f"[{label}] statement counts in {result['statement_counts']['seconds']} s", flush=True)
    return result


async def compare(servers: Servers, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The gate, the ids to draw from, then each kind's rounds."""
    async with httpx.AsyncClient(timeout=120) as http:
        token = await fetch_token(http, servers.graphql)
        sides = Sides(http, servers.graphql, servers.baseline, token)
        total = (await sides.graphql_data(COUNT_QUERY))["orders"]["totalItems"]
        if not total:
            raise SystemExit("the token's organisation has no orders: nothing to compare")
        ids = await order_ids(sides, total)
        await correctness_gate(sides, total, ids, random.Random(7))
    print(f"correctness gate passed ({total} orders)", flush=True)
    ids_file = work / "order-ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    wrk = Wrk.prepare(work, args.concurrency, args.wrk_threads)
    kinds = [floor_kind(), *(page_kind(n, total) for n in PER_PAGES), order_kind(ids_file)]
    timing = Timing(args.rounds, args.seconds, args.warmup, args.quiet_wait)
    results: dict[str, Any] = {
        "connections": args.concurrency,
        "wrk_threads": args.wrk_threads,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "kinds": {},
    }
    for kind in kinds:
        print(f"{kind.label}: warm-up, then {args.rounds} rounds each way ...", flush=True)
        results["kinds"][kind.name] = await measure(wrk, servers, kind, token, timing)
    return results


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
            client = Client(http, "http://bench")
            await client.login()
            return await report(http, app, client.headers)
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def postgres(url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """On a fresh PostgreSQL database beside the one named (dropped at the end): with
    `--postgres-latency` the whole comparison as on SQLite; then whole sales against
    `sales-api serve` with one and with two worker processes (they need no seeded orders)."""
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


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {k: v for k, v in vars(args).items() if k != "postgres"},
        "machine": machine_facts(),
        "databases": {},
    }
    with tempfile.TemporaryDirectory(prefix="sales-bench-") as folder:
        work = Path(folder)
        if not args.no_sqlite:
            sqlite_url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
            results["databases"]["sqlite"] = await bench_database("sqlite", sqlite_url, work, args)
        if args.postgres and not args.no_postgres:
            results["databases"]["postgresql"] = await postgres(args.postgres, work, args)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--orders", type=int, help="orders to seed (10000; --quick 2000)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2000 orders, 2 rounds of 2 s, 1 s warm-ups, 100 sales: a few minutes",
    )
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL for the sales with 1 and 2 workers (a fresh database is made "
        "beside this one and dropped); default %(default)s",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--no-sqlite", action="store_true", help="PostgreSQL only (with --postgres-latency)"
    )
    parser.add_argument(
        "--postgres-latency",
        action="store_true",
        help="also seed PostgreSQL and compare with the baseline there (adds several minutes)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="wrk connections (4)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--rounds", type=int, help="timed rounds per kind and side (3)")
    parser.add_argument("--seconds", type=int, help="seconds per round (5)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per kind and side (2)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30,
        help="seconds to wait at most, before each pair of rounds, for the machine to be "
        "quiet (%(default)s)",
    )
    parser.add_argument("--sales", type=int, help="sales to time (300; --quick 100)")
    parser.add_argument(
        "--sales-concurrency",
        type=int,
        default=16,
        help="sales in flight: enough to keep the server busy, so that a second worker "
        "has work to take (%(default)s)",
    )
    parser.add_argument("--seed-processes", type=int, default=2, help="seeding processes")
    args = parser.parse_args(argv)
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK[name] if args.quick else default)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = asyncio.run(main_async(args))
    print()
    print_tables(results)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    summary = path.with_suffix(".md")
    summary.write_text(markdown(results) + "\n")
    print(f"\nwhole run: {results['seconds']} s; results in {path.relative_to(ROOT)}")
    print(f"summary: {summary.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
