"""The order aggregate: travellers, contact info, order lines, totals and versions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.money import PriceWithTax

DRAFT_HOLD = timedelta(minutes=20)
MAX_TRAVELLERS = 50
MAX_TEXT = 200
MAX_EXTERNAL_REFERENCE = 100

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


@dataclass(frozen=True, slots=True)
class TravelSpecification:
    service_journey_id: str
    origin: StopPlaceRef
    destination: StopPlaceRef
    departure_time: datetime
    arrival_time: datetime


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

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_LINE_STATUSES


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as lists and single reads show it: stored totals, no nested lists."""

    id: str
    organisation_id: int
    version: int
    status: OrderStatus
    currency: str
    pos: str
    distribution_channel_id: str
    external_reference: str | None
    contact_info: ContactInfo | None
    total_amount: Decimal
    total_tax_amount: Decimal
    balance: Decimal
    created_at: datetime
    last_confirmed_at: datetime | None
    expire_at: datetime | None


@dataclass(slots=True)
class Order:
    """An order of one organisation. Totals are derived from its active lines."""

    id: str
    organisation_id: int
    currency: str
    pos: str
    distribution_channel_id: str
    created_at: datetime
    version: int = 1
    status: OrderStatus = OrderStatus.DRAFT
    external_reference: str | None = None
    contact_info: ContactInfo | None = None
    travellers: list[Traveller] = field(default_factory=list)
    lines: list[OrderLine] = field(default_factory=list)
    captured_amount: Decimal = Decimal("0.00")
    credited_amount: Decimal = Decimal("0.00")
    last_confirmed_at: datetime | None = None
    expire_at: datetime | None = None

    # ------------------------------------------------------------ derived money

    @property
    def active_lines(self) -> list[OrderLine]:
        return [line for line in self.lines if line.active]

    @property
    def total_amount(self) -> Decimal:
        return sum((line.price.amount for line in self.active_lines), Decimal("0.00"))

    @property
    def total_tax_amount(self) -> Decimal:
        return sum((line.price.tax_amount for line in self.active_lines), Decimal("0.00"))

    @property
    def balance(self) -> Decimal:
        return self.total_amount - self.captured_amount + self.credited_amount

    def summary(self) -> OrderSummary:
        return OrderSummary(
            id=self.id,
            organisation_id=self.organisation_id,
            version=self.version,
            status=self.status,
            currency=self.currency,
            pos=self.pos,
            distribution_channel_id=self.distribution_channel_id,
            external_reference=self.external_reference,
            contact_info=self.contact_info,
            total_amount=self.total_amount,
            total_tax_amount=self.total_tax_amount,
            balance=self.balance,
            created_at=self.created_at,
            last_confirmed_at=self.last_confirmed_at,
            expire_at=self.expire_at,
        )

    # ------------------------------------------------------------ rules

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise SalesError(
                ErrorCode.VERSION_CONFLICT,
                f"Order {self.id} is at version {self.version}, not {expected}",
                ["input", "expectedVersion"],
            )

    def ensure_changeable(self) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise SalesError(ErrorCode.INVALID_STATE, f"Order {self.id} is cancelled")

    def update_details(
        self,
        now: datetime,
        *,
        contact_info: ContactInfo | None = None,
        travellers: Sequence[Traveller] | None = None,
        external_reference: str | None = None,
    ) -> None:
        """Apply an `updateOrder`. New travellers on a CONFIRMED order start a new DRAFT version."""
        self.ensure_changeable()
        if contact_info is not None:
            self.contact_info = contact_info.validated(["input", "contactInfo"])
        if external_reference is not None:
            self.external_reference = validate_external_reference(external_reference)
        if travellers is not None:
            new = validate_travellers(travellers)
            self._ensure_travellers_cover_lines(new)
            if new != self.travellers:
                self.travellers = new
                self._mark_changed(now)

    def _ensure_travellers_cover_lines(self, travellers: Sequence[Traveller]) -> None:
        ids = {t.id for t in travellers}
        for line in self.active_lines:
            missing = [tid for tid in line.traveller_ids if tid not in ids]
            if missing:
                raise ValidationFailed(
                    f"Traveller {missing[0]} is on order line {line.id} and cannot be removed",
                    ["input", "travellers"],
                )

    def _mark_changed(self, now: datetime) -> None:
        """A change to a CONFIRMED order is a new DRAFT version; a DRAFT's hold is extended."""
        if self.status is OrderStatus.CONFIRMED:
            self.version += 1
            self.status = OrderStatus.DRAFT
        self.expire_at = now + DRAFT_HOLD


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
