"""Descriptions several types share, written once."""

from __future__ import annotations

from typing import Any

import strawberry

IDEMPOTENCY_KEY = (
    "1 to 200 characters of the caller's choosing: a retry with the same key and input "
    "answers the first result, for at least 24 hours; the key with other input is "
    "IDEMPOTENCY_KEY_REUSED."
)


def idempotency_key_field() -> Any:
    """The optional `idempotencyKey` of a mutation's input."""
    return strawberry.field(default=None, description=IDEMPOTENCY_KEY)
