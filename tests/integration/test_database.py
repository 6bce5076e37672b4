"""Persistence on the real database: migrations, SQLite settings, writers serialised."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from starlette.applications import Starlette

from sales_api.domain.caller import Caller
from sales_api.domain.errors import SalesError
from sales_api.domain.orders import Order
from sales_api.persistence.database import create_engine, is_sqlite
from sales_api.persistence.migrate import head_revision
from sales_api.persistence.tables import metadata
from sales_api.persistence.unit_of_work import SqlUnitOfWorkFactory
from sales_api.queries.reader import Reader
from sales_api.queries.selection import selection


def caller_of(organisation: int) -> Caller:
    return Caller(organisation, "test", frozenset({"sales:read"}), "pos", None, "")


def _new_order(order_id: str) -> Order:
    return Order(
        id=order_id,
        organisation_id=1,
        currency="NOK",
        pos="pos",
        distribution_channel_id="ch",
        created_at=datetime.now(UTC),
    )


async def test_migrations_match_the_tables(database_url: str) -> None:
    """The migrated schema is what the SQLModel tables describe: nothing to autogenerate."""
    engine = create_engine(database_url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
            version = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one()
            assert version == head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(database_url: str) -> None:
    if not is_sqlite(database_url):
        pytest.skip("SQLite settings")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (mode, keys) == ("wal", 1)
        assert timeout >= 5000
    finally:
        await engine.dispose()


async def test_a_write_rolls_back_entirely_when_it_fails(app: Starlette) -> None:
    factory = SqlUnitOfWorkFactory(app.state.engine)
    with pytest.raises(RuntimeError):
        async with factory(write=True) as uow:
            uow.orders.add(_new_order("ROLLBACK1"))
            await uow.orders.flush()
            raise RuntimeError("fails after the insert, before commit")
    async with factory() as uow:
        assert await uow.orders.get_for_update("ROLLBACK1", 1) is None


async def test_the_balance_can_never_be_stored_negative(app: Starlette) -> None:
    """The domain never shows a balance below 0.00 (more paid than owed is a surplus, given
    back at confirmation); the database refuses one whatever writes it."""
    from decimal import Decimal

    from sqlalchemy import update

    from sales_api.persistence import tables

    factory = SqlUnitOfWorkFactory(app.state.engine)
    order = _new_order("NEGATIVE1")
    order.captured_amount = Decimal("10.00")  # 10.00 more paid than owed
    assert order.balance == 0 and order.surplus == Decimal("10.00")
    async with factory(write=True) as uow:
        uow.orders.add(order)
        await uow.commit()
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        async with factory(write=True) as uow:
            await uow._connection.execute(  # type: ignore[attr-defined]
                update(tables.orders).where(tables.orders.c.id == "NEGATIVE1").values(balance=-1)
            )
            await uow.commit()


async def test_two_writers_of_one_order_never_interleave(app: Starlette) -> None:
    """The second writer waits until the first commits, then sees what the first wrote:
    SQLite by BEGIN IMMEDIATE, PostgreSQL by SELECT ... FOR UPDATE."""
    factory = SqlUnitOfWorkFactory(app.state.engine)
    async with factory(write=True) as uow:
        uow.orders.add(_new_order("RACE1"))
        await uow.commit()

    first_has_read = asyncio.Event()
    second_entered = asyncio.Event()
    events: list[str] = []

    async def first() -> None:
        async with factory(write=True) as uow:
            order = await uow.orders.get_for_update("RACE1", 1)
            assert order is not None
            first_has_read.set()
            await asyncio.sleep(0.3)
            assert not second_entered.is_set(), "the second writer ran inside the first"
            order.external_reference = "first"
            await uow.orders.save(order)
            await uow.commit()
            events.append("first committed")

    async def second() -> None:
        await first_has_read.wait()
        async with factory(write=True) as uow:
            order = await uow.orders.get_for_update("RACE1", 1)
            second_entered.set()
            assert order is not None
            events.append(f"second read {order.external_reference}")

    await asyncio.gather(first(), second())
    assert events == ["first committed", "second read first"]


async def test_an_order_of_another_organisation_is_not_found(app: Starlette) -> None:
    factory = SqlUnitOfWorkFactory(app.state.engine)
    async with factory(write=True) as uow:
        uow.orders.add(_new_order("ORG1ONLY"))
        await uow.commit()
    async with factory(write=True) as uow:
        assert await uow.orders.get_for_update("ORG1ONLY", 2) is None
        assert await uow.orders.get_for_update("ORG1ONLY", 1) is not None
    # The read side keeps to the caller's organisation in its own statements.
    for organisation, found in ((2, False), (1, True)):
        reader = Reader(app.state.reads, caller_of(organisation))
        try:
            order = await reader.one("Order", "ORG1ONLY", selection("id"))
            rules_view = await reader.order("ORG1ONLY")
        finally:
            await reader.close()
        assert (order is not None, rules_view is not None) == (found, found)


def test_sales_error_is_not_swallowed() -> None:
    assert issubclass(SalesError, Exception)


async def test_idempotency_keys_are_kept_a_day_and_dropped_after_two(app: Starlette) -> None:
    from datetime import timedelta

    from sales_api.domain.services.idempotency import forget_old_keys

    factory = SqlUnitOfWorkFactory(app.state.engine)
    now = datetime.now(UTC)
    async with factory(write=True) as uow:
        for key, age in (("fresh", timedelta(hours=25)), ("old", timedelta(hours=49))):
            assert await uow.idempotency.claim(1, key, "op", "hash", now - age) is None
        await uow.commit()

    class Clock:
        def now(self) -> datetime:
            return now

    assert await forget_old_keys(factory, Clock()) == 1
    async with factory(write=True) as uow:
        kept = await uow.idempotency.claim(1, "fresh", "op", "hash", now)
        again = await uow.idempotency.claim(1, "old", "op", "hash", now)
    assert kept is not None, "a key a day old still answers"
    assert again is None, "a key two days old is gone"
