"""Engines: SQLite in WAL with IMMEDIATE write transactions, or PostgreSQL through asyncpg."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

DEFAULT_TIMEOUT_SECONDS = 10.0
WRITE_OPTION = "sales_write"
# Reads of one statement each need no transaction around them: one SELECT sees one
# consistent snapshot by itself on both databases.
SINGLE_STATEMENT_OPTION = "sales_single_statement"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str, *, echo: bool = False, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> AsyncEngine:
    """An engine for the URL; SQLite gets the pragmas and explicit BEGINs it needs for safety.
    A request waits on the database at most about `timeout` seconds in all. On PostgreSQL:
    a quarter of it for a pooled connection, a quarter to connect, half for a statement
    (the pool's ping included; timed by the client too, so a frozen server cannot hold a
    request). On SQLite: for the write lock, and for a read."""
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": timeout},
            json_deserializer=orjson.loads,
            pool_size=8,
            max_overflow=8,
            pool_timeout=timeout,
        )
        _configure_sqlite(engine, timeout)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        connect_args={
            "timeout": timeout / 4,
            "command_timeout": timeout / 2,
            "server_settings": {"statement_timeout": str(int(timeout * 500))},
        },
        json_deserializer=orjson.loads,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=timeout / 4,
    )


def _configure_sqlite(engine: AsyncEngine, timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit, late BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock before it reads, so two writers can never both
        # read the same state and then both write: the second waits (busy timeout).
        options = connection.get_execution_options()
        if options.get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get(SINGLE_STATEMENT_OPTION):
            connection.exec_driver_sql("BEGIN")


def single_statement_reads(engine: AsyncEngine) -> AsyncEngine:
    """The engine for batch loads, each one SELECT on a short connection of its own:
    no BEGIN and ROLLBACK round trips around it (autocommit on PostgreSQL; on SQLite,
    where the driver is left in autocommit mode, no BEGIN is sent)."""
    if is_sqlite(str(engine.url)):
        return engine.execution_options(**{SINGLE_STATEMENT_OPTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


# Migrating and seeding take this PostgreSQL advisory lock in their transaction, so that
# several processes or hosts starting at once on one database do it one after another.
# (SQLite serialises them with BEGIN IMMEDIATE.)
SETUP_LOCK_KEY = 0x5A1E5_0001


def take_setup_lock(connection: Connection) -> None:
    """Waits for (and holds until the transaction ends) the database's setup lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK_KEY})


def dialect_insert(connection: AsyncConnection, table: Table) -> Any:
    """INSERT with the dialect's ON CONFLICT support (both SQLite and PostgreSQL have it)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


async def refresh_statistics(engine: AsyncEngine) -> None:
    """SQLite: the planner's statistics (ANALYZE, sampling at most 1000 rows an index so it
    stays quick on a large file). Without them it may pick a low-selectivity index (the
    organisation of every order) over the primary key. PostgreSQL's autovacuum keeps its
    own statistics."""
    if engine.dialect.name != "sqlite":
        return
    engine = engine.execution_options(**{WRITE_OPTION: True})
    async with engine.begin() as connection:
        await connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        await connection.exec_driver_sql("ANALYZE")
