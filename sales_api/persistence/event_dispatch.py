"""What follows from committed events: webhook deliveries written in the events' own
transaction, and notices to live subscribers. On PostgreSQL the notices go through
NOTIFY (sent only if the transaction commits, in commit order) and every process LISTENs,
its own included; on SQLite, one process, they are handed to the hub after the commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.events import OrderEvent, OrderEventType
from sales_api.domain.live import EventHub, EventNotice
from sales_api.persistence import tables as t
from sales_api.persistence.events_repository import EventHooks
from sales_api.persistence.webhooks_repository import write_deliveries

log = logging.getLogger("sales_api.events")

CHANNEL = "sales_events"
PING_SECONDS = 10
NOTICES_PER_NOTIFY = 25  # a NOTIFY payload is at most 8000 bytes; a notice ~250
SEATS_MOVE = frozenset(
    {
        OrderEventType.OFFERS_RESERVED,
        OrderEventType.SEATS_CHANGED,
        OrderEventType.ORDER_LINES_CANCELLED,
        OrderEventType.ORDER_CONFIRMED,
        OrderEventType.ORDER_CANCELLED,
        OrderEventType.ORDER_RESET,
        OrderEventType.ORDER_EXPIRED,
        OrderEventType.ORDER_REFUNDED,
        OrderEventType.ORDER_LINES_EXCHANGED,
        OrderEventType.ORDER_LINES_REBOOKED,
    }
)
"""Events after which the seat maps of the order's journeys may look different."""

Committed = Callable[[list[EventNotice]], None]


class EventDispatch(EventHooks):
    def __init__(
        self, hub: EventHub, *, notify: bool, on_committed: Sequence[Committed] = ()
    ) -> None:
        self.hub = hub
        self._notify = notify
        self._on_committed = list(on_committed)

    def also_on_commit(self, callback: Committed) -> None:
        self._on_committed.append(callback)

    async def in_transaction(
        self, connection: AsyncConnection, events: list[OrderEvent]
    ) -> list[EventNotice]:
        await write_deliveries(connection, events)
        journeys = await _journeys(connection, [e.order_id for e in events if e.type in SEATS_MOVE])
        notices = [
            EventNotice(
                e.id,
                e.organisation_id,
                e.order_id,
                e.type,
                journeys.get(e.order_id, ()) if e.type in SEATS_MOVE else (),
            )
            for e in events
        ]
        if self._notify:
            for start in range(0, len(notices), NOTICES_PER_NOTIFY):
                payload = orjson.dumps(
                    [_encoded(n) for n in notices[start : start + NOTICES_PER_NOTIFY]]
                ).decode()
                await connection.execute(select(func.pg_notify(CHANNEL, payload)))
        return notices

    def committed(self, notices: list[EventNotice]) -> None:
        if not self._notify:
            self.hub.publish(notices)
        for callback in self._on_committed:
            callback(notices)


async def _journeys(
    connection: AsyncConnection, order_ids: list[str]
) -> dict[str, tuple[str, ...]]:
    if not order_ids:
        return {}
    rows = await connection.execute(
        select(t.reservations.c.order_id, t.reservations.c.service_journey_id)
        .where(t.reservations.c.order_id.in_(set(order_ids)))
        .distinct()
    )
    found: dict[str, list[str]] = {}
    for order_id, journey_id in rows:
        found.setdefault(order_id, []).append(journey_id)
    return {order_id: tuple(sorted(ids)) for order_id, ids in found.items()}


def _encoded(notice: EventNotice) -> list[Any]:
    return [
        notice.event_id,
        notice.organisation_id,
        notice.order_id,
        notice.type.value,
        list(notice.journey_ids),
    ]


def _decoded(payload: str) -> list[EventNotice]:
    return [
        EventNotice(event_id, organisation_id, order_id, OrderEventType(kind), tuple(journeys))
        for event_id, organisation_id, order_id, kind, journeys in orjson.loads(payload)
    ]


class NotificationListener:
    """LISTENs on PostgreSQL and hands every notice to the hub; reconnects after an
    outage (changes committed while it was away are not replayed: a subscriber's next
    notice reads the current state)."""

    def __init__(self, database_url: str, hub: EventHub, *, retry_seconds: float = 1.0) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._hub = hub
        self._retry = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._received)
                self.connected.set()
                while not lost.is_set():
                    # A server that stops answering closes nothing: ask it now and then.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), PING_SECONDS)
                    if not lost.is_set():
                        await asyncio.wait_for(connection.fetchval("SELECT 1"), PING_SECONDS)
                log.warning("event listener lost its connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event listener cannot connect: %s", error)
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)
            await asyncio.sleep(self._retry)

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._hub.publish(_decoded(payload))
        except Exception:
            log.exception("an event notice could not be read")
