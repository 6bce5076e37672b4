"""Messages to customers go through a transactional outbox: written in the transaction
of the work that causes them, delivered afterwards by a worker that retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


class MessageStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(slots=True)
class OutboxMessage:
    id: str
    channel: Channel
    recipient: str
    subject: str
    body: str
    created_at: datetime
    attachments: list[Attachment] = field(default_factory=list)
    receipt_id: str | None = None
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


def next_attempt(attempts: int, now: datetime) -> datetime:
    """Exponential back-off: 5 s, 10 s, 20 s ... at most 10 minutes apart."""
    delay: timedelta = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return now + delay


class DeliveryFailed(Exception):
    """A sender could not deliver now (server down, refused); the outbox retries."""


class MessageSender(Protocol):
    async def send(self, message: OutboxMessage) -> None:
        """Deliver the message, or raise DeliveryFailed."""
