"""One database transaction per use case, with the repositories bound to it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from sales_api.persistence.channels_repository import SqlDistributionChannels
from sales_api.persistence.database import WRITE_OPTION, is_sqlite
from sales_api.persistence.disruptions_repository import SqlDisruptions
from sales_api.persistence.events_repository import EventHooks, SqlEventLog
from sales_api.persistence.idempotency import SqlIdempotencyKeys
from sales_api.persistence.orders_repository import SqlOrderRepository
from sales_api.persistence.outbox_repository import SqlOutbox
from sales_api.persistence.payments_repository import SqlPaymentRepository
from sales_api.persistence.refunds_repository import SqlRefundRepository
from sales_api.persistence.seat_inventory import SqlSeatInventory
from sales_api.persistence.tickets_repository import SqlReceiptRepository, SqlTicketRepository
from sales_api.persistence.webhooks_repository import SqlWebhookSubscriptions


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; `commit()` makes it durable, else it rolls back."""

    orders: SqlOrderRepository
    channels: SqlDistributionChannels
    seats: SqlSeatInventory
    idempotency: SqlIdempotencyKeys
    payments: SqlPaymentRepository
    tickets: SqlTicketRepository
    receipts: SqlReceiptRepository
    outbox: SqlOutbox
    events: SqlEventLog
    webhooks: SqlWebhookSubscriptions
    refunds: SqlRefundRepository

    def __init__(self, engine: AsyncEngine, *, write: bool, hooks: EventHooks) -> None:
        self._engine = engine
        self._write = write
        self._hooks = hooks
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    async def __aenter__(self) -> Self:
        engine = self._engine
        if self._write:
            engine = engine.execution_options(**{WRITE_OPTION: True})
        self._connection = await engine.connect()
        self._transaction = await self._connection.begin()
        # SQLite serialises writers with BEGIN IMMEDIATE; PostgreSQL locks the rows it changes.
        lock_rows = self._write and not is_sqlite(str(self._engine.url))
        self.orders = SqlOrderRepository(self._connection, lock_rows=lock_rows)
        self.channels = SqlDistributionChannels(self._connection)
        self.seats = self.orders.seats
        self.idempotency = SqlIdempotencyKeys(self._connection)
        self.payments = SqlPaymentRepository(self._connection)
        self.tickets = SqlTicketRepository(self._connection)
        self.receipts = SqlReceiptRepository(self._connection)
        self.outbox = SqlOutbox(connection=self._connection)
        self.events = SqlEventLog(self._connection, self._hooks)
        self.refunds = SqlRefundRepository(self._connection)
        self.webhooks = SqlWebhookSubscriptions(self._connection)
        self.disruptions = SqlDisruptions(self._connection)
        return self

    async def commit(self) -> None:
        assert self._transaction is not None
        await self.orders.flush()
        await self.outbox.flush()
        notices = await self.events.flush()
        await self._transaction.commit()
        if notices:
            self._hooks.committed(notices)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None and self._transaction is not None
        try:
            if self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            await self._connection.close()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, hooks: EventHooks | None = None) -> None:
        self.engine = engine
        self.hooks = hooks or EventHooks()

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, hooks=self.hooks)
