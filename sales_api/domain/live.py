"""Live notices of committed events, for subscriptions: the hub of one process. Notices
reach it from the database (PostgreSQL LISTEN/NOTIFY, so from every process) or, on
SQLite, straight from this process's commits. A listener's queue is bounded: one that
falls that far behind is cut off (its stream ends with an error) rather than let memory
grow or a change go missing unnoticed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sales_api.domain.events import OrderEventType

MAX_BEHIND = 1000


@dataclass(frozen=True, slots=True)
class EventNotice:
    """That an event was committed: enough to decide who cares, never the data itself
    (a subscriber reads what it shows, as its organisation, through the read side)."""

    event_id: str
    organisation_id: int
    order_id: str
    type: OrderEventType
    journey_ids: tuple[str, ...] = ()
    """The service journeys whose seats the change may have touched."""


class FellBehind(Exception):
    """The listener did not keep up with the notices for it."""


Wanted = Callable[[EventNotice], bool]


class Listener:
    def __init__(self, hub: EventHub, wanted: Wanted, limit: int) -> None:
        self._hub = hub
        self.wanted = wanted
        self._queue: asyncio.Queue[tuple[EventNotice, ...] | None] = asyncio.Queue(limit + 1)
        self._limit = limit
        self.behind = False

    def offer(self, notices: Sequence[EventNotice]) -> None:
        """The notices of one commit: those wanted are queued together."""
        if self.behind:
            return
        mine = tuple(notice for notice in notices if self.wanted(notice))
        if not mine:
            return
        if self._queue.qsize() >= self._limit:
            self.behind = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(mine)

    async def next(self) -> tuple[EventNotice, ...]:
        """The wanted notices of the next commit; FellBehind when it was cut off."""
        notices = await self._queue.get()
        if notices is None:
            raise FellBehind
        return notices

    def close(self) -> None:
        self._hub.forget(self)


class EventHub:
    """Fan-out of notices to this process's listeners."""

    def __init__(self, limit: int = MAX_BEHIND) -> None:
        self._listeners: set[Listener] = set()
        self._limit = limit

    def listen(self, wanted: Wanted) -> Listener:
        """A listener of the notices `wanted` accepts, from now on; close it when done."""
        listener = Listener(self, wanted, self._limit)
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def publish(self, notices: Sequence[EventNotice]) -> None:
        """The notices of one commit, in their order."""
        for listener in tuple(self._listeners):
            listener.offer(notices)

    @property
    def listening(self) -> int:
        return len(self._listeners)
