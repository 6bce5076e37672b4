"""Order events, staged in the unit of work and written with its commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.events import OrderEvent
from sales_api.domain.live import EventNotice
from sales_api.persistence import tables as t


def event_row(event: OrderEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "organisation_id": event.organisation_id,
        "order_id": event.order_id,
        "order_version": event.order_version,
        "type": event.type.value,
        "occurred_at": event.occurred_at,
        "client_id": event.client_id,
        "pos": event.pos,
        "distribution_channel_id": event.distribution_channel_id,
        "correlation_id": event.correlation_id,
        "subject_ids": list(event.subject_ids),
    }


class EventHooks:
    """What follows from events besides their rows: in the same transaction (webhook
    deliveries, a notification to the other processes), and once committed (this process's
    live subscribers, counters). The default does nothing more."""

    async def in_transaction(
        self, connection: AsyncConnection, events: list[OrderEvent]
    ) -> list[EventNotice]:
        """Work in the events' transaction; the notices to hand to `committed`."""
        return []

    def committed(self, notices: list[EventNotice]) -> None:
        return None


async def write_events(
    connection: AsyncConnection, hooks: EventHooks, events: list[OrderEvent]
) -> list[EventNotice]:
    """The events' rows and what follows from them, in `connection`'s transaction; the
    notices to hand to `hooks.committed` once it is committed."""
    if not events:
        return []
    await connection.execute(insert(t.order_events), [event_row(e) for e in events])
    return await hooks.in_transaction(connection, events)


class SqlEventLog:
    def __init__(self, connection: AsyncConnection, hooks: EventHooks) -> None:
        self._connection = connection
        self._hooks = hooks
        self._staged: list[OrderEvent] = []

    def add(self, event: OrderEvent) -> None:
        self._staged.append(event)

    async def flush(self) -> list[EventNotice]:
        """Write the staged events (before the commit); the notices for after it."""
        staged, self._staged = self._staged, []
        return await write_events(self._connection, self._hooks, staged)
