"""The outbox table: messages staged in the transaction of the work that causes them, and
leased to one delivery worker at a time afterwards."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales_api.domain.events import OrderEventType, order_event
from sales_api.domain.live import EventNotice
from sales_api.domain.outbox import Attachment, Channel, MessageStatus, OutboxMessage
from sales_api.domain.receipts import ReceiptStatus
from sales_api.persistence import tables as t
from sales_api.persistence.database import WRITE_OPTION
from sales_api.persistence.events_repository import EventHooks, write_events

ERROR_LENGTH = 500  # outbox.last_error is VARCHAR(500)


class SqlOutbox:
    """OutboxStore on SQL. Inside a unit of work: `SqlOutbox(connection=...)`, where only
    `add` and `flush` are used. For the delivery worker: `SqlOutbox.for_engine(engine)`,
    where every other method runs in its own short transaction."""

    def __init__(
        self,
        *,
        connection: AsyncConnection | None = None,
        engine: AsyncEngine | None = None,
        hooks: EventHooks | None = None,
    ) -> None:
        if (connection is None) == (engine is None):
            raise ValueError("SqlOutbox needs exactly one of connection= or engine=")
        self._connection = connection
        self._engine = engine
        self._hooks = hooks or EventHooks()
        self._staged: list[OutboxMessage] = []

    @classmethod
    def for_engine(cls, engine: AsyncEngine, hooks: EventHooks | None = None) -> SqlOutbox:
        """The delivery worker's outbox; a receipt sent or failed is an order event, and
        `hooks` follow it as they follow every other."""
        return cls(engine=engine, hooks=hooks)

    # -- inside a unit of work ------------------------------------------------------------

    def add(self, message: OutboxMessage) -> None:
        """Stage a message; `flush()` writes it in the caller's transaction."""
        if self._connection is None:
            raise RuntimeError("SqlOutbox.add needs the unit of work's connection")
        self._staged.append(message)

    async def flush(self) -> None:
        """Insert the staged messages; the unit of work calls this before it commits."""
        if not self._staged:
            return
        assert self._connection is not None
        rows = [_to_row(message) for message in self._staged]
        await self._connection.execute(insert(t.outbox), rows)
        self._staged.clear()

    # -- the delivery worker --------------------------------------------------------------

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Lease up to `limit` due messages to this caller and count the attempt.
        PostgreSQL: rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED);
        SQLite: the IMMEDIATE transaction lets one claimer in at a time."""
        outbox = t.outbox
        query = (
            select(outbox)
            .where(
                outbox.c.status == MessageStatus.PENDING.value,
                (outbox.c.next_attempt_at.is_(None)) | (outbox.c.next_attempt_at <= now),
                (outbox.c.lease_until.is_(None)) | (outbox.c.lease_until < now),
            )
            .order_by(outbox.c.created_at, outbox.c.id)
            .limit(limit)
        )
        async with self._write() as connection:
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await connection.execute(query)).mappings().all()
            if not rows:
                return []
            await connection.execute(
                update(outbox)
                .where(outbox.c.id.in_([row["id"] for row in rows]))
                .values(lease_until=now + lease, attempts=outbox.c.attempts + 1)
            )
        messages = [_from_row(row) for row in rows]
        for message in messages:
            message.attempts += 1
        return messages

    async def mark_sent(self, message_id: str, now: datetime) -> None:
        """SENT, and its receipt (if any) SENT at `now` with its RECEIPT_SENT event, in one
        transaction."""
        notices: list[EventNotice] = []
        async with self._write() as connection:
            receipt_id = await self._finish(
                connection,
                message_id,
                status=MessageStatus.SENT,
                sent_at=now,
                last_error=None,
            )
            if receipt_id is not None:
                # The first message that reaches the customer dates the receipt.
                changed = await connection.execute(
                    update(t.receipts)
                    .where(
                        t.receipts.c.id == receipt_id,
                        t.receipts.c.status != ReceiptStatus.SENT.value,
                    )
                    .values(status=ReceiptStatus.SENT.value, sent_at=now)
                )
                if changed.rowcount:
                    notices = await self._receipt_event(
                        connection, receipt_id, OrderEventType.RECEIPT_SENT, now
                    )
        self._hooks.committed(notices)

    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime) -> None:
        """Still PENDING: release the lease and wait until `next_attempt_at`."""
        outbox = t.outbox
        async with self._write() as connection:
            await connection.execute(
                update(outbox)
                .where(outbox.c.id == message_id, outbox.c.status == MessageStatus.PENDING.value)
                .values(
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                    last_error=error[:ERROR_LENGTH],
                )
            )

    async def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        """FAILED for good, and its receipt FAILED (with its RECEIPT_FAILED event) unless
        another message already sent it."""
        notices: list[EventNotice] = []
        async with self._write() as connection:
            receipt_id = await self._finish(
                connection,
                message_id,
                status=MessageStatus.FAILED,
                sent_at=None,
                last_error=error[:ERROR_LENGTH],
            )
            if receipt_id is not None:
                changed = await connection.execute(
                    update(t.receipts)
                    .where(
                        t.receipts.c.id == receipt_id,
                        t.receipts.c.status == ReceiptStatus.PENDING.value,
                    )
                    .values(status=ReceiptStatus.FAILED.value)
                )
                if changed.rowcount:
                    notices = await self._receipt_event(
                        connection, receipt_id, OrderEventType.RECEIPT_FAILED, now
                    )
        self._hooks.committed(notices)

    async def backlog(self) -> int:
        """How many messages are PENDING."""
        async with self._engine_required().connect() as connection:
            count = await connection.scalar(
                select(func.count())
                .select_from(t.outbox)
                .where(t.outbox.c.status == MessageStatus.PENDING.value)
            )
        return int(count or 0)

    # -- internals ------------------------------------------------------------------------

    async def _receipt_event(
        self,
        connection: AsyncConnection,
        receipt_id: str,
        type: OrderEventType,
        now: datetime,
    ) -> list[EventNotice]:
        """The receipt's order event, written in `connection`'s transaction (the service's
        own work: no caller); the notices for after the commit."""
        order = (
            await connection.execute(
                select(t.orders.c.id, t.orders.c.organisation_id, t.orders.c.version)
                .join(t.receipts, t.receipts.c.order_id == t.orders.c.id)
                .where(t.receipts.c.id == receipt_id)
            )
        ).first()
        if order is None:
            return []
        return await write_events(
            connection, self._hooks, [order_event(order, type, None, now, receipt_id)]
        )

    @staticmethod
    async def _finish(
        connection: AsyncConnection,
        message_id: str,
        *,
        status: MessageStatus,
        sent_at: datetime | None,
        last_error: str | None,
    ) -> str | None:
        """Move a PENDING message to its final status; its receipt id, or None when the
        message has none or was already final."""
        outbox = t.outbox
        result = await connection.execute(
            update(outbox)
            .where(outbox.c.id == message_id, outbox.c.status == MessageStatus.PENDING.value)
            .values(status=status.value, sent_at=sent_at, lease_until=None, last_error=last_error)
            .returning(outbox.c.receipt_id)
        )
        row = result.first()
        return None if row is None else row.receipt_id

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A short write transaction of its own (SQLite: BEGIN IMMEDIATE)."""
        engine = self._engine_required().execution_options(**{WRITE_OPTION: True})
        async with engine.begin() as connection:
            yield connection

    def _engine_required(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the outbox worker methods need SqlOutbox.for_engine(engine)")
        return self._engine


def _to_row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel.value,
        "recipient": message.recipient,
        "subject": message.subject,
        "body": message.body,
        "attachments": [
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "content": base64.b64encode(attachment.content).decode("ascii"),
            }
            for attachment in message.attachments
        ],
        "receipt_id": message.receipt_id,
        "status": message.status.value,
        "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at,
        "lease_until": None,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "last_error": message.last_error,
    }


def _from_row(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        channel=Channel(row["channel"]),
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        created_at=row["created_at"],
        attachments=[
            Attachment(
                filename=item["filename"],
                content_type=item["content_type"],
                content=base64.b64decode(item["content"]),
            )
            for item in row["attachments"]
        ],
        receipt_id=row["receipt_id"],
        status=MessageStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
        last_error=row["last_error"],
    )
