"""The lean baseline: the leanest hand-written endpoint we can write for the reads the
benchmark compares, in a process of its own. Raw driver SQL (sqlite3, each connection on
a thread of its own, or asyncpg; no SQLAlchemy), rows straight to dicts, orjson, and the
same bearer-token check as the service (its TokenVerifier against the same issuer key).
The statements and the rows-to-JSON are in bench/lean_answers.py.

    python -m bench.lean --database-url URL --data-dir DIR --port P

- POST /ping: the token check and `{"data": {"__typename": "Query"}}`;
- POST /orders {"page", "perPage"}: the benchmark's nested page, 3 statements (the page
  with its total; lines left-joined to their reservations; captured transactions of the
  page's payments);
- POST /order {"id"}: the benchmark's whole order, 4 statements (the order; travellers;
  lines with reservations; payments with transactions).

An answer's statements run in one read transaction on one connection; on SQLite all of
them in one hand-over to the connection's thread (as the service's read side does), so
the comparison is about everything but the driver.

The JSON equals GraphQL's `data` for the benchmark's documents (bench.run checks it before
timing anything)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.lean_answers import Statements, one_order, orders_page, pg_stamp, sqlite_stamp
from sales_api.settings import Settings
from sales_api.web.issuer import DevIssuer, load_or_create_key
from sales_api.web.tokens import StaticKeySource, TokenVerifier


class Database:
    stamp: Callable[[Any], str | None]

    async def run(self, work: Statements) -> Any:
        raise NotImplementedError


class SqliteDatabase(Database):
    """sqlite3 connections, each on a thread of its own; an answer's statements all run in
    one hand-over to that thread (a round trip per statement costs more than the SELECT)."""

    stamp = staticmethod(sqlite_stamp)

    def __init__(self, path: str, size: int = 4) -> None:
        self.path = path
        self.size = size
        self.pool: asyncio.Queue[tuple[ThreadPoolExecutor, list[sqlite3.Connection]]] = (
            asyncio.Queue()
        )

    async def start(self) -> None:
        for _ in range(self.size):
            executor = ThreadPoolExecutor(1)
            holder: list[sqlite3.Connection] = []

            def connect(holder: list[sqlite3.Connection] = holder) -> None:
                connection = sqlite3.connect(self.path, isolation_level=None)
                # As the service's read side: wait for a writer rather than fail, never write.
                connection.execute("PRAGMA busy_timeout=10000")
                connection.execute("PRAGMA query_only=ON")
                holder.append(connection)

            await asyncio.get_running_loop().run_in_executor(executor, connect)
            self.pool.put_nowait((executor, holder))

    async def run(self, work: Statements) -> Any:
        executor, holder = await self.pool.get()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                executor, _drive_sqlite, holder[0], work
            )
        finally:
            self.pool.put_nowait((executor, holder))


def _drive_sqlite(connection: sqlite3.Connection, work: Statements) -> Any:
    connection.execute("BEGIN")  # one snapshot for the answer's statements
    try:
        sql, arguments = next(work)
        while True:
            sql, arguments = work.send(connection.execute(sql, arguments).fetchall())
    except StopIteration as done:
        return done.value
    finally:
        connection.execute("COMMIT")


class PostgresDatabase(Database):
    stamp = staticmethod(pg_stamp)

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=2, max_size=8)

    async def run(self, work: Statements) -> Any:
        async with (
            self.pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            try:
                sql, arguments = next(work)
                while True:
                    rows = await connection.fetch(_numbered(sql), *arguments)
                    sql, arguments = work.send(list(rows))
            except StopIteration as done:
                return done.value


def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's $1, $2, ..."""
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


def lean_app(db: Database, verifier: TokenVerifier) -> Starlette:
    def answer(data: Any) -> Response:
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def organisation(request: Request) -> int | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return (await verifier.verify(token)).organisation_id
        except Exception:
            return None

    def endpoint(
        work: Callable[[int, dict[str, Any]], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            organisation_id = await organisation(request)
            if organisation_id is None:
                return Response(status_code=401)
            body = orjson.loads(await request.body() or b"{}")
            return answer(await work(organisation_id, body))

        return handle

    async def ping(_org: int, _body: dict[str, Any]) -> Any:
        return {"__typename": "Query"}

    async def page(org: int, body: dict[str, Any]) -> Any:
        number, per_page = int(body.get("page", 1)), int(body.get("perPage", 20))
        return await db.run(orders_page(db.stamp, org, number, per_page))

    async def order(org: int, body: dict[str, Any]) -> Any:
        return await db.run(one_order(db.stamp, org, str(body["id"])))

    return Starlette(
        routes=[
            Route("/ping", endpoint(ping), methods=["POST"]),
            Route("/orders", endpoint(page), methods=["POST"]),
            Route("/order", endpoint(order), methods=["POST"]),
            Route("/health", lambda _request: Response(b"ok"), methods=["GET"]),
        ]
    )


def verifier_for(settings: Settings) -> TokenVerifier:
    """The service's own verifier over the built-in issuer's key in the data dir."""
    if not settings.issuer_key_file.exists():
        # A key made here would sign nothing the service's tokens match.
        raise SystemExit(f"no issuer key at {settings.issuer_key_file}: start the service first")
    issuer = DevIssuer(
        load_or_create_key(settings.issuer_key_file),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        organisation_claim=settings.auth_organisation_claim,
        lifetime_seconds=settings.token_lifetime_seconds,
    )
    return TokenVerifier(
        StaticKeySource(issuer.jwks),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        algorithms=settings.auth_algorithms,
        organisation_claim=settings.auth_organisation_claim,
        leeway=settings.auth_leeway_seconds,
    )


def tune_garbage_collection(settings: Settings) -> None:
    """The service's own start-up tuning (sales_api/app.py: gc.freeze, larger thresholds).
    Without it the baseline pays full collections the service avoids: measured here, its
    order(id) answered a quarter fewer requests per second and its page's p99 doubled."""
    gc.set_threshold(*settings.gc_thresholds)
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()


async def serve(args: argparse.Namespace) -> None:
    url: str = args.database_url
    db: SqliteDatabase | PostgresDatabase
    if url.startswith("sqlite"):
        db = SqliteDatabase(url.split("///", 1)[1], size=args.connections)
    else:
        db = PostgresDatabase(url.replace("postgresql+asyncpg://", "postgresql://"))
    await db.start()
    settings = Settings(data_dir=Path(args.data_dir))
    app = lean_app(db, verifier_for(settings))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )
    tune_garbage_collection(settings)
    await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--connections", type=int, default=4, help="SQLite connections (threads); 4"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
