"""Webhook subscriptions, and the webhook outbox: a delivery per event and matching
subscription, written in the event's own transaction, then leased to one delivery worker
at a time (like the message outbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales_api.domain.events import OrderEvent, OrderEventType
from sales_api.domain.ids import new_id
from sales_api.domain.webhooks import (
    DeliveryOutcome,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from sales_api.persistence import tables as t
from sales_api.persistence.database import WRITE_OPTION

ERROR_LENGTH = 500
PENDING = WebhookDeliveryStatus.PENDING.value
ws, wd, ev = t.webhook_subscriptions, t.webhook_deliveries, t.order_events


class SqlWebhookSubscriptions:
    """WebhookSubscriptions inside a unit of work."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, subscription: WebhookSubscription) -> None:
        await self._connection.execute(
            insert(ws).values(
                id=subscription.id,
                organisation_id=subscription.organisation_id,
                url=subscription.url,
                event_types=[kind.value for kind in subscription.event_types],
                secret=subscription.secret,
                active=subscription.active,
                created_at=subscription.created_at,
            )
        )

    async def get_for_update(
        self, subscription_id: str, organisation_id: int
    ) -> WebhookSubscription | None:
        query = select(ws).where(
            ws.c.id == subscription_id, ws.c.organisation_id == organisation_id
        )
        if self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._connection.execute(query)).mappings().first()
        return None if row is None else _subscription(row)

    async def deactivate(self, subscription_id: str, now: datetime) -> None:
        await self._connection.execute(
            update(ws).where(ws.c.id == subscription_id).values(active=False, deleted_at=now)
        )
        await self._connection.execute(
            update(wd)
            .where(wd.c.subscription_id == subscription_id, wd.c.status == PENDING)
            .values(
                status=WebhookDeliveryStatus.FAILED.value,
                next_attempt_at=None,
                lease_until=None,
                last_error="the subscription was deleted",
            )
        )

    async def count_active(self, organisation_id: int) -> int:
        count = await self._connection.scalar(
            select(func.count())
            .select_from(ws)
            .where(ws.c.organisation_id == organisation_id, ws.c.active.is_(True))
        )
        return int(count or 0)

    async def redeliver(self, delivery_id: str, organisation_id: int, now: datetime) -> str | None:
        found = (
            await self._connection.execute(
                select(wd.c.subscription_id, wd.c.event_id, wd.c.event_type)
                .join(ws, ws.c.id == wd.c.subscription_id)
                .where(
                    wd.c.id == delivery_id,
                    wd.c.organisation_id == organisation_id,
                    ws.c.active.is_(True),
                )
            )
        ).first()
        if found is None:
            return None
        again = new_id()
        await self._connection.execute(
            insert(wd).values(
                _delivery_row(
                    again,
                    found.subscription_id,
                    organisation_id,
                    found.event_id,
                    found.event_type,
                    now,
                )
            )
        )
        return again


async def write_deliveries(connection: AsyncConnection, events: Sequence[OrderEvent]) -> int:
    """In the events' transaction: a PENDING delivery of each event to each active
    subscription of its organisation that names its type. How many were written."""
    organisations = {event.organisation_id for event in events}
    rows = await connection.execute(
        select(ws.c.id, ws.c.organisation_id, ws.c.event_types).where(
            ws.c.organisation_id.in_(organisations), ws.c.active.is_(True)
        )
    )
    wanted: dict[int, list[tuple[str, set[str]]]] = {}
    for row in rows:
        wanted.setdefault(row.organisation_id, []).append((row.id, set(row.event_types)))
    deliveries = [
        _delivery_row(
            new_id(),
            subscription_id,
            event.organisation_id,
            event.id,
            event.type.value,
            event.occurred_at,
        )
        for event in events
        for subscription_id, types in wanted.get(event.organisation_id, ())
        if event.type.value in types
    ]
    if deliveries:
        await connection.execute(insert(wd), deliveries)
    return len(deliveries)


class SqlWebhookOutbox:
    """WebhookStore: every method runs in a short transaction of its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[WebhookDelivery]:
        """Lease up to `limit` due deliveries and count the attempt. PostgreSQL: rows
        another worker is claiming are skipped; SQLite: one claimer at a time."""
        query = (
            select(
                wd.c.id.label("delivery_id"),
                wd.c.subscription_id,
                wd.c.attempts,
                wd.c.created_at.label("delivery_created_at"),
                ws.c.url,
                ws.c.secret,
                *(column for column in ev.c if column.name != "seq"),
            )
            .join(ws, ws.c.id == wd.c.subscription_id)
            .join(ev, ev.c.id == wd.c.event_id)
            .where(
                wd.c.status == PENDING,
                (wd.c.next_attempt_at.is_(None)) | (wd.c.next_attempt_at <= now),
                (wd.c.lease_until.is_(None)) | (wd.c.lease_until < now),
            )
            .order_by(wd.c.next_attempt_at, wd.c.id)
            .limit(limit)
        )
        async with self._write() as connection:
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(of=wd, skip_locked=True)
            rows = (await connection.execute(query)).mappings().all()
            if not rows:
                return []
            await connection.execute(
                update(wd)
                .where(wd.c.id.in_([row["delivery_id"] for row in rows]))
                .values(lease_until=now + lease, attempts=wd.c.attempts + 1)
            )
        return [
            WebhookDelivery(
                id=row["delivery_id"],
                subscription_id=row["subscription_id"],
                url=row["url"],
                secret=row["secret"],
                event=event_from_row(row),
                attempts=row["attempts"] + 1,
                created_at=row["delivery_created_at"],
            )
            for row in rows
        ]

    async def finish(
        self,
        delivery: WebhookDelivery,
        outcome: DeliveryOutcome,
        now: datetime,
        retry_at: datetime | None,
    ) -> WebhookDeliveryStatus:
        values: dict[str, Any] = {
            "last_response_status": outcome.status,
            "last_attempt_at": now,
            "lease_until": None,
        }
        if outcome.delivered:
            status = WebhookDeliveryStatus.DELIVERED
            values |= {"delivered_at": now, "next_attempt_at": None, "last_error": None}
        elif retry_at is None:
            status = WebhookDeliveryStatus.FAILED
            values |= {"next_attempt_at": None, "last_error": (outcome.error or "")[:ERROR_LENGTH]}
        else:
            status = WebhookDeliveryStatus.PENDING
            values |= {
                "next_attempt_at": retry_at,
                "last_error": (outcome.error or "")[:ERROR_LENGTH],
            }
        async with self._write() as connection:
            # Only while still PENDING and on this attempt: a lease that ran out and was
            # taken by another worker leaves the row to that worker.
            await connection.execute(
                update(wd)
                .where(
                    wd.c.id == delivery.id,
                    wd.c.status == PENDING,
                    wd.c.attempts == delivery.attempts,
                )
                .values(status=status.value, **values)
            )
        return status

    async def backlog(self) -> int:
        """How many deliveries are PENDING."""
        async with self._engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(wd).where(wd.c.status == PENDING)
            )
        return int(count or 0)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        engine = self._engine.execution_options(**{WRITE_OPTION: True})
        async with engine.begin() as connection:
            yield connection


def _delivery_row(
    delivery_id: str,
    subscription_id: str,
    organisation_id: int,
    event_id: str,
    event_type: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "subscription_id": subscription_id,
        "organisation_id": organisation_id,
        "event_id": event_id,
        "event_type": event_type,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _subscription(row: RowMapping) -> WebhookSubscription:
    return WebhookSubscription(
        id=row["id"],
        organisation_id=row["organisation_id"],
        url=row["url"],
        event_types=tuple(OrderEventType(kind) for kind in row["event_types"]),
        secret=row["secret"],
        active=bool(row["active"]),
        created_at=row["created_at"],
    )


def event_from_row(row: RowMapping) -> OrderEvent:
    return OrderEvent(
        id=row["id"],
        organisation_id=row["organisation_id"],
        order_id=row["order_id"],
        order_version=row["order_version"],
        type=OrderEventType(row["type"]),
        occurred_at=row["occurred_at"],
        client_id=row["client_id"],
        pos=row["pos"],
        distribution_channel_id=row["distribution_channel_id"],
        correlation_id=row["correlation_id"],
        subject_ids=tuple(row["subject_ids"]),
    )
