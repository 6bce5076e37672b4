"""Delivering the outbox: claim due messages, send each, record the outcome. Delivery is
at least once: a worker that dies after sending but before recording leaves the message
to be sent again when its lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sales_api.domain.clock import Clock
from sales_api.domain.outbox import (
    MAX_ATTEMPTS,
    DeliveryFailed,
    MessageSender,
    OutboxMessage,
    next_attempt,
)
from sales_api.domain.ports import OutboxStore

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 20
DEFAULT_LEASE = timedelta(seconds=60)


async def deliver_due(
    store: OutboxStore,
    sender: MessageSender,
    clock: Clock,
    *,
    limit: int = DEFAULT_LIMIT,
    lease: timedelta = DEFAULT_LEASE,
    stop: asyncio.Event | None = None,
) -> int:
    """Deliver up to `limit` due messages; how many were sent. A message whose send fails
    is retried later with back-off, and FAILED after MAX_ATTEMPTS. When `stop` is set the
    rest of the batch is left alone (its lease runs out and another worker takes it)."""
    claimed_at = clock.now()
    messages = await store.claim_due(claimed_at, limit, lease)
    lease_ends = claimed_at + lease
    sent = 0
    for message in messages:
        if stop is not None and stop.is_set():
            break
        if clock.now() >= lease_ends:
            # Another worker may hold these now; sending would deliver them twice.
            log.warning("outbox lease ran out with %d messages unsent", len(messages) - sent)
            break
        if await _deliver(store, sender, clock, message):
            sent += 1
    return sent


async def _deliver(
    store: OutboxStore, sender: MessageSender, clock: Clock, message: OutboxMessage
) -> bool:
    try:
        await sender.send(message)
    except DeliveryFailed as error:
        reason = str(error) or type(error).__name__
        log.info(
            "outbox message %s not delivered (attempt %d): %s", message.id, message.attempts, reason
        )
    except Exception as error:
        # A bug in a sender must not stop the worker; the message counts it as a failure.
        reason = f"{type(error).__name__}: {error}"
        log.exception("outbox message %s: the sender failed unexpectedly", message.id)
    else:
        await store.mark_sent(message.id, clock.now())
        return True
    if message.attempts >= MAX_ATTEMPTS:
        log.warning("outbox message %s FAILED after %d attempts", message.id, message.attempts)
        await store.mark_failed(message.id, reason, clock.now())
    else:
        await store.mark_retry(message.id, reason, next_attempt(message.attempts, clock.now()))
    return False


async def run_outbox_worker(
    store: OutboxStore,
    sender: MessageSender,
    clock: Clock,
    stop: asyncio.Event,
    every: float = 1.0,
    *,
    limit: int = DEFAULT_LIMIT,
    lease: timedelta = DEFAULT_LEASE,
) -> None:
    """Deliver due messages until `stop` is set; a message being sent when it is set is
    finished and recorded before this returns. A failing store (database down) is logged
    and tried again after `every` seconds."""
    while not stop.is_set():
        try:
            sent = await deliver_due(store, sender, clock, limit=limit, lease=lease, stop=stop)
        except Exception:
            log.exception("outbox delivery round failed")
            sent = 0
        if sent == limit:
            continue  # a full batch: there may be more waiting
        with contextlib.suppress(TimeoutError):  # `every` passed without a stop
            await asyncio.wait_for(stop.wait(), timeout=every)
