"""Alembic environment: runs migrations over the async engine for SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from sales_api.persistence.database import WRITE_OPTION, create_engine, take_setup_lock
from sales_api.persistence.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # One transaction for the whole run on SQLite too (it does run DDL in a
        # transaction): Alembic otherwise commits after each revision there, letting a
        # process that waited on the write lock migrate a revision another had begun
        # from (seen as "duplicate column name" with processes starting at once).
        transactional_ddl=True,
    )
    with context.begin_transaction():
        # Processes starting at once migrate one after another; the later ones then find
        # the database at the newest revision.
        take_setup_lock(connection)
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        # A write connection: on SQLite, BEGIN IMMEDIATE serialises migrating processes.
        async with engine.execution_options(**{WRITE_OPTION: True}).connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set SALES_DATABASE_URL")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run `sales-api db upgrade`")
run_migrations_online()
