"""Idempotency keys: the same key and input answer the first result; other input is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

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


KEEP_KEYS_FOR = timedelta(hours=48)


async def forget_old_keys(uow_factory: UnitOfWorkFactory, clock: Clock) -> int:
    """Idempotency keys are answered for at least 24 hours; older than 48 they are dropped."""
    async with uow_factory(write=True) as uow:
        dropped = await uow.idempotency.forget_older_than(clock.now() - KEEP_KEYS_FOR)
        await uow.commit()
    return dropped
