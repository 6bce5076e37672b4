"""Idempotency keys: the same key and input answer the first result; other input is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sales_api.domain.caller import Caller
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory

MAX_KEY = 200


def request_hash(operation: str, request: Any) -> str:
    """A stable fingerprint of the request (dataclasses and the like, through repr)."""
    canonical = json.dumps([operation, request], sort_keys=True, default=repr)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    uow: UnitOfWork,
    organisation_id: int,
    key: str,
    operation: str,
    request: Any,
    now: datetime,
) -> dict[str, Any] | None:
    """None when this request owns the key and must do the work; the first result when the
    same request was made before; IDEMPOTENCY_KEY_REUSED when the key served other input.
    `request` is fingerprinted (with the operation), so the same key with other input is
    recognised."""
    if not key or len(key) > MAX_KEY:
        raise ValidationFailed(
            f"idempotencyKey is 1 to {MAX_KEY} characters", ["input", "idempotencyKey"]
        )
    fingerprint = request_hash(operation, request)
    record = await uow.idempotency.claim(organisation_id, key, operation, fingerprint, now)
    if record is None:
        return None
    if record.operation != operation or record.request_hash != fingerprint:
        raise SalesError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotencyKey was used for a different request",
            ["input", "idempotencyKey"],
        )
    return record.result


Result = dict[str, Any]
"""What an idempotent mutation records: the ids of what it made or changed (and, for a
refusal that still changed something, the refusal)."""


@dataclass(frozen=True, slots=True)
class Done:
    result: Result
    replayed: bool
    """True when the key answered an earlier result: nothing happened now."""


def _always(_earlier: Result) -> bool:
    return True


async def once(
    uow: UnitOfWork,
    caller: Caller,
    key: str | None,
    operation: str,
    request: Any,
    now: datetime,
    work: Callable[[Result | None], Awaitable[Result]],
    *,
    finished: Callable[[Result], bool] = _always,
) -> Done:
    """The one way an idempotent mutation runs: claim, replay, complete.

    Without a key, `work` runs. With a key this request now owns, `work` runs and its
    result is recorded in the same transaction (nothing is recorded if it raises). With a
    key that served this same request before, the recorded result is the answer (replayed),
    unless `finished` says that attempt has more to do (a refund the provider did not
    finish): then `work` gets the earlier result and carries on. The same key with other
    input is IDEMPOTENCY_KEY_REUSED."""
    if key is None:
        return Done(await work(None), replayed=False)
    earlier = await claim(uow, caller.organisation_id, key, operation, request, now)
    if earlier is not None and finished(earlier):
        return Done(earlier, replayed=True)
    result = await work(earlier)
    await uow.idempotency.complete(caller.organisation_id, key, result)
    return Done(result, replayed=False)


KEEP_KEYS_FOR = timedelta(hours=48)


async def forget_old_keys(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Idempotency keys are answered for at least 24 hours; older than 48 they are dropped."""
    async with uow_factory(write=True) as uow:
        dropped = await uow.idempotency.forget_older_than(clock.now() - KEEP_KEYS_FOR)
        await uow.commit()
    return dropped
