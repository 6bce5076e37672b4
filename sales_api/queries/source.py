"""Where reads run: raw driver connections, one per request, each reading a consistent
snapshot.

- SQLite: connections of the read side's own, each on a thread of its own (sqlite3 is
  blocking). A whole reading, every level of it, runs in one hand-over to that thread,
  instead of a thread round trip per statement (each costs more than a small SELECT).
  Connections are `query_only`: the read side cannot write.
- PostgreSQL: asyncpg connections from the service's pool, statements awaited one after
  another; several statements in REPEATABLE READ READ ONLY, so they see one snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales_api.persistence.tracing import StatementSpans
from sales_api.queries.plans import Reading, register_dialect

PG_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class Session(Protocol):
    async def run(self, reading: Reading, *, last: bool, single: bool) -> Any:
        """Runs a reading to its end; `last`: no other reading follows in this snapshot;
        `single`: the reading is one statement (needs no transaction)."""

    async def end_snapshot(self) -> None:
        """Later readings see what was committed since (after a mutation's commit)."""

    async def close(self) -> None: ...


Observer = Callable[[int, str, Sequence[Any]], None]
"""Told of every statement the read side sends: (the connection's number, SQL, arguments);
tests and the benchmark count statements and connections with it."""


class ReadSource(Protocol):
    dialect: str
    observers: list[Observer]
    answered: list[Callable[[], None]]
    """Told after each reading that the database answered (the outage log's end)."""
    spans: StatementSpans | None
    """OpenTelemetry spans per reading and per statement, when tracing is on."""

    async def session(self) -> Session: ...

    async def close(self) -> None: ...


def _sqlite_argument(value: Any) -> Any:
    """Arguments as SQLite and SQLAlchemy's storage have them: a list is a JSON array
    (read with json_each), a timestamp naive UTC text, as stored."""
    if isinstance(value, list | tuple):
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


Traced = Callable[[str], contextlib.AbstractContextManager[None]]
"""A span around a statement (when tracing is on)."""


def drive_sqlite(
    connection: sqlite3.Connection,
    reading: Reading,
    commit: bool,
    observe: Callable[[str, Sequence[Any]], None] | None = None,
    traced: Traced | None = None,
) -> Any:
    """Runs a reading on this thread's connection."""
    try:
        query = next(reading)
        while True:
            sql, arguments = query
            values = [_sqlite_argument(a) for a in arguments]
            if observe is not None:
                observe(sql, values)
            if traced is None:
                rows = connection.execute(sql, values).fetchall()
            else:
                with traced(sql):
                    rows = connection.execute(sql, values).fetchall()
            query = reading.send(rows)
    except StopIteration as stop:
        return stop.value
    finally:
        if commit and connection.in_transaction:
            _execute(connection, "COMMIT", observe)


def _execute(
    connection: sqlite3.Connection, sql: str, observe: Callable[[str, Sequence[Any]], None] | None
) -> None:
    if observe is not None:
        observe(sql, ())
    connection.execute(sql)


class _SqliteConnection:
    def __init__(self, path: str, timeout: float, number: int, observers: list[Observer]):
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="sales-read")
        self.path = path
        self.timeout = timeout
        self.number = number
        self.observers = observers
        self.connection: sqlite3.Connection | None = None
        self.deadline = 0.0

    def _observe(self, sql: str, arguments: Sequence[Any]) -> None:
        for observer in self.observers:
            observer(self.number, sql, arguments)

    def open(self) -> None:
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=True
        )
        connection.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        connection.execute("PRAGMA query_only=ON")
        # A reading that runs past the time limit is interrupted (OperationalError).
        connection.set_progress_handler(self._past_deadline, 10_000)
        self.connection = connection

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0

    def run(self, reading: Reading, begin: bool, commit: bool, traced: Traced | None) -> Any:
        if self.connection is None:
            self.open()
        connection = self.connection
        assert connection is not None
        self.deadline = time.monotonic() + self.timeout
        observe = self._observe if self.observers else None
        if begin and not connection.in_transaction:
            _execute(connection, "BEGIN", observe)
        return drive_sqlite(connection, reading, commit, observe, traced)

    def end(self) -> None:
        if self.connection is not None and self.connection.in_transaction:
            _execute(self.connection, "COMMIT", self._observe if self.observers else None)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class SqliteSession:
    def __init__(self, source: SqliteReadSource, connection: _SqliteConnection) -> None:
        self._source = source
        self._connection: _SqliteConnection | None = connection
        self._open = False

    async def run(self, reading: Reading, *, last: bool, single: bool) -> Any:
        connection = self._connection
        assert connection is not None, "the session is closed"
        loop = asyncio.get_running_loop()
        begin = not single or self._open
        spans = self._source.spans
        if spans is None:
            result = await loop.run_in_executor(
                connection.executor, connection.run, reading, begin, last, None
            )
        else:
            with spans.reading("sales.read"):
                # The statements run on the connection's thread; their parent is this span.
                parent = spans.parent()

                def traced(sql: str) -> contextlib.AbstractContextManager[None]:
                    return spans.statement(sql, parent)

                result = await loop.run_in_executor(
                    connection.executor, connection.run, reading, begin, last, traced
                )
        self._open = begin and not last
        return result

    async def end_snapshot(self) -> None:
        if self._open and self._connection is not None:
            connection = self._connection
            await asyncio.get_running_loop().run_in_executor(connection.executor, connection.end)
        self._open = False

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self._open:
                await asyncio.get_running_loop().run_in_executor(
                    connection.executor, connection.end
                )
        finally:
            self._source.release(connection)


class SqliteReadSource:
    """A pool of SQLite connections for reads, each on its own thread."""

    dialect: str

    def __init__(self, engine: AsyncEngine, size: int = 8, timeout: float = 10.0) -> None:
        self.dialect = register_dialect(engine.dialect)
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("the read side needs a SQLite file (several connections share it)")
        self._path = database
        self._timeout = timeout
        self._idle: list[_SqliteConnection] = []
        self._available = asyncio.Semaphore(size)
        self._all: list[_SqliteConnection] = []
        self.observers: list[Observer] = []
        self.answered: list[Callable[[], None]] = []
        self.spans: StatementSpans | None = None

    async def session(self) -> Session:
        await self._available.acquire()
        connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = _SqliteConnection(
                self._path, self._timeout, len(self._all) + 1, self.observers
            )
            self._all.append(connection)
        return SqliteSession(self, connection)

    def release(self, connection: _SqliteConnection) -> None:
        self._idle.append(connection)
        self._available.release()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for connection in self._all:
            await loop.run_in_executor(connection.executor, connection.close)
            connection.executor.shutdown(wait=False)
        self._all.clear()
        self._idle.clear()


class PostgresSession:
    def __init__(
        self, engine: AsyncEngine, observers: list[Observer], spans: StatementSpans | None
    ) -> None:
        self._engine = engine
        self._observers = observers
        self._spans = spans
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._open = False

    async def _execute(self, sql: str) -> None:
        self._observe(sql, ())
        await self._driver.execute(sql)

    def _observe(self, sql: str, arguments: Sequence[Any]) -> None:
        for observer in self._observers:
            observer(id(self._driver), sql, arguments)

    async def _driver_connection(self) -> Any:
        if self._driver is None:
            self._connection = await self._engine.connect()
            self._driver = (await self._connection.get_raw_connection()).driver_connection
        return self._driver

    async def run(self, reading: Reading, *, last: bool, single: bool) -> Any:
        if self._spans is None:
            return await self._run(reading, last=last, single=single)
        with self._spans.reading("sales.read"):
            return await self._run(reading, last=last, single=single)

    async def _run(self, reading: Reading, *, last: bool, single: bool) -> Any:
        connection = await self._driver_connection()
        if not single and not self._open:
            await self._execute(PG_SNAPSHOT)
            self._open = True
        try:
            query = next(reading)
            while True:
                sql, arguments = query
                self._observe(sql, arguments)
                rows: Sequence[Any]
                if self._spans is None:
                    rows = await connection.fetch(sql, *arguments)
                else:
                    with self._spans.statement(sql):
                        rows = await connection.fetch(sql, *arguments)
                query = reading.send(rows)
        except StopIteration as stop:
            return stop.value
        finally:
            if last:
                await self.end_snapshot()

    async def end_snapshot(self) -> None:
        if self._open:
            self._open = False
            await self._execute("COMMIT")

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self._open:  # read only: ending it is all a commit does
                self._open = False
                await self._execute("COMMIT")
        finally:
            self._driver = None
            await connection.close()


class PostgresReadSource:
    dialect: str

    def __init__(self, engine: AsyncEngine) -> None:
        self.dialect = register_dialect(engine.dialect)
        self._engine = engine
        self.observers: list[Observer] = []
        self.answered: list[Callable[[], None]] = []
        self.spans: StatementSpans | None = None

    async def session(self) -> Session:
        return PostgresSession(self._engine, self.observers, self.spans)

    async def close(self) -> None:
        return None


def read_source(engine: AsyncEngine, *, timeout: float = 10.0) -> ReadSource:
    """Where reads run; none waits on the database longer than `timeout` seconds (on
    PostgreSQL the engine's connections carry that limit already)."""
    if engine.dialect.name == "sqlite":
        return SqliteReadSource(engine, timeout=timeout)
    return PostgresReadSource(engine)
