"""Tickets: one per traveller of a CONFIRMED order line, carrying a signed token that an
inspector verifies offline against the published keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

# A ticket is valid from an hour before departure until two hours after arrival.
VALID_BEFORE_DEPARTURE = timedelta(hours=1)
VALID_AFTER_ARRIVAL = timedelta(hours=2)


class TicketStatus(StrEnum):
    GENERATED = "GENERATED"
    DISTRIBUTED = "DISTRIBUTED"
    DISABLED = "DISABLED"


class DistributionMethod(StrEnum):
    APP = "APP"
    PDF = "PDF"
    EMAIL = "EMAIL"


class Language(StrEnum):
    NOB = "NOB"
    NNO = "NNO"
    ENG = "ENG"


@dataclass(slots=True)
class TicketDistribution:
    id: str
    group_id: str
    order_id: str
    order_line_id: str
    traveller_id: str
    ticket_token: str
    valid_from: datetime
    valid_to: datetime
    created_at: datetime
    status: TicketStatus = TicketStatus.GENERATED
    distribution_method: DistributionMethod | None = None
    distributed_at: datetime | None = None


@dataclass(slots=True)
class TicketDistributionGroup:
    id: str
    order_id: str
    order_line_id: str
    order_version: int
    tickets: list[TicketDistribution] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TicketDocument:
    """What a printed ticket shows (and its QR code carries as `token`)."""

    ticket_id: str
    order_id: str
    product_name: str
    fare_class: str
    line_name: str
    origin: str
    destination: str
    departure_time: datetime
    arrival_time: datetime
    traveller_type: str
    traveller_name: str | None
    seats: tuple[str, ...]  # e.g. ("Car 2, seat 14",)
    price: str  # "805.50 NOK"
    valid_from: datetime
    valid_to: datetime
    token: str


class TicketSigner(Protocol):
    """Signs ticket claims as a compact JWS and checks tokens against the published keys."""

    async def prepare(self) -> None:
        """Load (or, the first time ever, make) the signing key. Call it before opening a
        write transaction: making the key takes a write transaction of its own."""

    async def sign(self, claims: dict[str, Any]) -> str: ...

    async def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed by one of our keys (current or retired), else None."""


class TicketRenderer(Protocol):
    def render_pdf(self, document: TicketDocument) -> bytes:
        """A one-page PDF of the ticket with a QR code of its token."""
