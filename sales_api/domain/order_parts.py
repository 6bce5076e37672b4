"""The parts of an order: travellers, contact info, order lines and their reservations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sales_api.domain.errors import ValidationFailed
from sales_api.domain.money import PriceWithTax

MAX_TRAVELLERS = 50
MAX_TEXT = 200
MAX_EXTERNAL_REFERENCE = 100
MAX_FEE_DESCRIPTION_LENGTH = 200

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 ]{4,19}")
_TRAVELLER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class OrderStatus(StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class OrderLineStatus(StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


ACTIVE_LINE_STATUSES = frozenset({OrderLineStatus.DRAFT, OrderLineStatus.CONFIRMED})


class UserType(StrEnum):
    ADULT = "ADULT"
    CHILD = "CHILD"
    YOUTH = "YOUTH"
    SENIOR = "SENIOR"
    STUDENT = "STUDENT"
    MILITARY = "MILITARY"
    INFANT = "INFANT"


class FareClass(StrEnum):
    STANDARD_CLASS = "STANDARD_CLASS"
    PREMIUM_CLASS = "PREMIUM_CLASS"


@dataclass(frozen=True, slots=True)
class Traveller:
    id: str
    user_type: UserType
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ContactInfo:
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None

    def validated(self, path: Sequence[str]) -> ContactInfo:
        name = _clean_text(self.name, [*path, "name"])
        email = _clean_text(self.email, [*path, "email"])
        phone = _clean_text(self.phone_number, [*path, "phoneNumber"])
        if email is not None and not _EMAIL.fullmatch(email):
            raise ValidationFailed(f"{email!r} is not an e-mail address", [*path, "email"])
        if phone is not None and not _PHONE.fullmatch(phone):
            raise ValidationFailed(
                f"{phone!r} is not a phone number (digits, optionally a leading +)",
                [*path, "phoneNumber"],
            )
        return ContactInfo(name, email, phone)


@dataclass(frozen=True, slots=True)
class StopPlaceRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ProductSnapshot:
    """The fare product as it was sold: its terms stay with the line if the catalogue changes."""

    id: str
    name: str
    fare_class: FareClass
    refundable: bool
    changeable: bool
    change_fee: Decimal = Decimal("0.00")
    """The CHANGE fee per line exchanged (when changeable), by the product's rules."""


@dataclass(frozen=True, slots=True)
class TravelSpecification:
    service_journey_id: str
    origin: StopPlaceRef
    destination: StopPlaceRef
    departure_time: datetime
    arrival_time: datetime
    disrupted: bool = False
    """The service journey was disrupted (disruptServiceJourney): refunded and exchanged
    whatever the product's rules, or rebooked."""


class ReservationStatus(StrEnum):
    DRAFT = "DRAFT"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class SeatAssignment:
    car_number: int
    seat_number: str
    traveller_id: str | None


@dataclass(slots=True)
class Reservation:
    """The seats held for an order line on a segment: calls from_index .. to_index."""

    id: str
    order_id: str
    order_line_id: str
    status: ReservationStatus
    service_journey_id: str
    origin: StopPlaceRef
    destination: StopPlaceRef
    from_index: int
    to_index: int
    created_at: datetime
    seats: list[SeatAssignment] = field(default_factory=list)
    expire_at: datetime | None = None

    @property
    def holds_seats(self) -> bool:
        return self.status in (ReservationStatus.DRAFT, ReservationStatus.CONFIRMED)


@dataclass(slots=True)
class OrderLine:
    id: str
    order_id: str
    status: OrderLineStatus
    product: ProductSnapshot
    travel: TravelSpecification
    traveller_ids: tuple[str, ...]
    price: PriceWithTax
    created_at: datetime
    reservation: Reservation | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_LINE_STATUSES


class FeeType(StrEnum):
    BOOKING = "BOOKING"
    CHANGE = "CHANGE"
    PENALTY = "PENALTY"
    MANUAL = "MANUAL"
    COMPENSATION = "COMPENSATION"


SELLER_FEE_TYPES = frozenset({FeeType.BOOKING, FeeType.MANUAL})


@dataclass(slots=True)
class Fee:
    """A fee of an order (negative for COMPENSATION). `active` while it counts: a fee of
    an unconfirmed version that is reset or expires stops counting, and stays on record."""

    id: str
    order_id: str
    order_version: int
    type: FeeType
    price: PriceWithTax
    description: str
    created_at: datetime
    active: bool = True


@dataclass(frozen=True, slots=True)
class ConfirmedState:
    """What `resetOrder` and expiry return to: the order as last confirmed."""

    version: int
    travellers: tuple[Traveller, ...]
    line_statuses: dict[str, OrderLineStatus]
    reservation_statuses: dict[str, ReservationStatus]
    fee_ids: frozenset[str] = frozenset()


def validate_travellers(travellers: Sequence[Traveller]) -> list[Traveller]:
    if len(travellers) > MAX_TRAVELLERS:
        raise ValidationFailed(
            f"An order has at most {MAX_TRAVELLERS} travellers", ["input", "travellers"]
        )
    seen: set[str] = set()
    result: list[Traveller] = []
    for index, traveller in enumerate(travellers):
        path = ["input", "travellers", str(index)]
        if not _TRAVELLER_ID.fullmatch(traveller.id):
            raise ValidationFailed(
                "A traveller id is 1 to 64 letters, digits or . _ : -", [*path, "id"]
            )
        if traveller.id in seen:
            raise ValidationFailed(f"Traveller id {traveller.id!r} is given twice", [*path, "id"])
        seen.add(traveller.id)
        result.append(replace(traveller, name=_clean_text(traveller.name, [*path, "name"])))
    return result


def validate_external_reference(value: str) -> str | None:
    cleaned = _clean_text(value, ["input", "externalReference"], MAX_EXTERNAL_REFERENCE)
    return cleaned


def _clean_text(value: str | None, path: Sequence[str], limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    if len(stripped) > limit:
        raise ValidationFailed(f"At most {limit} characters", path)
    if any(ord(ch) < 32 for ch in stripped):
        raise ValidationFailed("Control characters are not allowed", path)
    return stripped or None
