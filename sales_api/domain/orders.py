"""The order aggregate: totals, versions and the life cycle of a sale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.ids import new_id
from sales_api.domain.money import PriceWithTax
from sales_api.domain.order_parts import (
    ACTIVE_LINE_STATUSES,
    MAX_TRAVELLERS,
    ConfirmedState,
    ContactInfo,
    FareClass,
    Fee,
    FeeType,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    ProductSnapshot,
    Reservation,
    ReservationStatus,
    SeatAssignment,
    StopPlaceRef,
    Traveller,
    TravelSpecification,
    UserType,
    validate_external_reference,
    validate_travellers,
)

DRAFT_HOLD = timedelta(minutes=20)
LONGEST_HOLD = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class HoldRules:
    """How long a DRAFT version holds its seats: `period` from each change (or extension),
    never beyond `longest` after the DRAFT version began (settings
    SALES_ORDER_HOLD_SECONDS and SALES_ORDER_MAX_HOLD_SECONDS)."""

    period: timedelta = DRAFT_HOLD
    longest: timedelta = LONGEST_HOLD


DEFAULT_HOLD = HoldRules()

__all__ = [
    "ACTIVE_LINE_STATUSES",
    "DEFAULT_HOLD",
    "DRAFT_HOLD",
    "MAX_TRAVELLERS",
    "ConfirmedState",
    "ContactInfo",
    "FareClass",
    "Fee",
    "FeeType",
    "HoldRules",
    "Order",
    "OrderLine",
    "OrderLineStatus",
    "OrderStatus",
    "PriceWithTax",
    "ProductSnapshot",
    "Reservation",
    "ReservationStatus",
    "SeatAssignment",
    "StopPlaceRef",
    "TravelSpecification",
    "Traveller",
    "UserType",
    "validate_external_reference",
    "validate_travellers",
]


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
    confirmed_state: ConfirmedState | None = None
    fees: list[Fee] = field(default_factory=list)
    draft_started_at: datetime | None = None
    """When the current DRAFT version began (its longest hold runs from here)."""

    # ------------------------------------------------------------ derived money

    @property
    def active_lines(self) -> list[OrderLine]:
        return [line for line in self.lines if line.active]

    @property
    def active_fees(self) -> list[Fee]:
        return [fee for fee in self.fees if fee.active]

    @property
    def total_amount(self) -> Decimal:
        return sum((p.amount for p in self._prices()), Decimal("0.00"))

    @property
    def total_tax_amount(self) -> Decimal:
        return sum((p.tax_amount for p in self._prices()), Decimal("0.00"))

    def _prices(self) -> list[PriceWithTax]:
        return [line.price for line in self.active_lines] + [f.price for f in self.active_fees]

    @property
    def owed(self) -> Decimal:
        """What the current version costs less the money kept for it: negative when an
        exchange made it cheaper than what was paid (`surplus`)."""
        return self.total_amount - self.captured_amount + self.credited_amount

    @property
    def balance(self) -> Decimal:
        """What is left to pay, never below 0.00."""
        return max(self.owed, Decimal("0.00"))

    @property
    def surplus(self) -> Decimal:
        """Money kept beyond what the current version costs: given back at confirmation,
        never more than is left of what was paid (captured and not yet credited)."""
        left = self.captured_amount - self.credited_amount
        return min(max(-self.owed, Decimal("0.00")), max(left, Decimal("0.00")))

    # ------------------------------------------------------------ rules

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise SalesError(
                ErrorCode.VERSION_CONFLICT,
                f"Order {self.id} is at version {self.version}, not {expected}",
                ["input", "expectedVersion"],
            )

    @property
    def reservations(self) -> list[Reservation]:
        return [line.reservation for line in self.lines if line.reservation is not None]

    def ensure_changeable(self) -> None:
        if self.status is OrderStatus.CANCELLED:
            raise SalesError(ErrorCode.INVALID_STATE, f"Order {self.id} is cancelled")

    def is_expired(self, now: datetime) -> bool:
        return (
            self.status is OrderStatus.DRAFT
            and self.expire_at is not None
            and now >= self.expire_at
        )

    def ensure_not_expired(self, now: datetime) -> None:
        """An expired DRAFT's changes are discarded (by the sweep); nothing more is added."""
        if self.is_expired(now):
            raise SalesError(
                ErrorCode.ORDER_EXPIRED,
                f"Order {self.id} expired at {self.expire_at:%Y-%m-%dT%H:%M:%SZ}; "
                "its unconfirmed changes are discarded",
            )

    # ------------------------------------------------------------ life cycle

    def add_lines(
        self,
        lines: Sequence[OrderLine],
        travellers: Sequence[Traveller],
        now: datetime,
        hold: HoldRules = DEFAULT_HOLD,
    ) -> None:
        """New lines (and travellers not yet on the order): a CONFIRMED order starts a new
        DRAFT version; the hold on the order's seats runs the hold period from now."""
        self.ensure_changeable()
        # A traveller may be on several lines (a return, a journey in two legs), always as
        # the same user type: the type priced the line.
        known = {t.id: t for t in self.travellers}
        added: list[Traveller] = []
        for traveller in travellers:
            same = known.get(traveller.id)
            if same is None:
                known[traveller.id] = traveller
                added.append(traveller)
            elif same.user_type is not traveller.user_type:
                raise ValidationFailed(
                    f"Traveller {traveller.id} is {same.user_type.value} on this order, "
                    f"not {traveller.user_type.value}",
                    ["input", "offerConfigurations"],
                )
        self.travellers = validate_travellers(self.travellers + added)
        self.lines.extend(lines)
        self.mark_changed(now, hold)

    def confirm(self, now: datetime) -> None:
        """At balance 0.00: the order, its lines and reservations become CONFIRMED."""
        self.ensure_changeable()
        self.ensure_not_expired(now)
        if self.balance != 0:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Order {self.id} has a balance of {self.balance:.2f}; it confirms at 0.00",
            )
        if self.surplus != 0:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Order {self.id} has {self.surplus:.2f} more paid than it costs; it is "
                "credited back before it confirms",
            )
        for line in self.lines:
            if line.status is OrderLineStatus.DRAFT:
                line.status = OrderLineStatus.CONFIRMED
            reservation = line.reservation
            if reservation is None:
                continue
            if reservation.status is ReservationStatus.DRAFT:
                reservation.status = ReservationStatus.CONFIRMED
                reservation.expire_at = None
            elif not line.active and reservation.holds_seats:
                # A line replaced by an exchange kept its seats until now.
                reservation.status = ReservationStatus.CANCELLED
        self.status = OrderStatus.CONFIRMED
        self.last_confirmed_at = now
        self.expire_at = None
        self.remember_confirmed()

    def refund_lines(self, line_ids: Sequence[str], amount: Decimal, now: datetime) -> None:
        """Refunded lines free their seats; the credit keeps the balance at 0.00. A new
        version, CONFIRMED again, or CANCELLED when no line is left. No line chosen is refused:
        it would change nothing but the status, confirming an unpaid DRAFT."""
        if not line_ids:
            raise ValidationFailed(
                "Choose at least one order line to refund", ["input", "orderLineIds"]
            )
        for line in self.lines:
            if line.id in line_ids:
                line.status = OrderLineStatus.REFUNDED
                if line.reservation and line.reservation.holds_seats:
                    line.reservation.status = ReservationStatus.CANCELLED
                    line.reservation.expire_at = None
        self.credited_amount += amount
        self.version += 1
        self._keep_compensation_within_what_is_left(now)
        self.last_confirmed_at = now
        self.expire_at = None
        self.status = OrderStatus.CONFIRMED if self.active_lines else OrderStatus.CANCELLED
        self.remember_confirmed()

    def _keep_compensation_within_what_is_left(self, now: datetime) -> None:
        """A refund after a compensation gives back only what is left of what was paid; the
        compensation shrinks by what the refund could not give, so that the order still
        costs exactly what it keeps."""
        shortfall = -self.owed
        compensations = [f for f in self.active_fees if f.type is FeeType.COMPENSATION]
        if shortfall <= 0 or not compensations:
            return
        for fee in compensations:
            fee.active = False
        kept = sum((f.price.amount for f in compensations), Decimal("0.00")) + shortfall
        if kept < 0:
            self.fees.append(
                Fee(
                    id=new_id(),
                    order_id=self.id,
                    order_version=self.version,
                    type=FeeType.COMPENSATION,
                    price=PriceWithTax.including_vat(kept, self.currency),
                    description=compensations[-1].description,
                    created_at=now,
                )
            )

    def remember_confirmed(self) -> None:
        """The version now is what a reset or expiry of later changes returns to."""
        self.draft_started_at = None
        self.confirmed_state = ConfirmedState(
            version=self.version,
            travellers=tuple(self.travellers),
            line_statuses={line.id: line.status for line in self.lines},
            reservation_statuses={r.id: r.status for r in self.reservations},
            fee_ids=frozenset(f.id for f in self.active_fees),
        )

    def cancel(self) -> None:
        """A DRAFT order never confirmed: CANCELLED, every seat released. Money taken for
        it must have been given back first (money_beyond_confirmed)."""
        self.ensure_changeable()
        if self.status is not OrderStatus.DRAFT or (
            self.confirmed_state is not None and self.captured_amount != 0
        ):
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Order {self.id} was confirmed and paid; refund or reset it instead",
            )
        if self.captured_amount != self.credited_amount:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Order {self.id} has money taken for it; it is given back first",
            )
        self._discard_all(ReservationStatus.CANCELLED)

    def money_beyond_confirmed(self) -> Decimal:
        """Money taken (and not given back) beyond what the last confirmed version costs:
        what a reset, cancel or expiry of the DRAFT version gives back first."""
        beyond = self.captured_amount - self.credited_amount - self._confirmed_total()
        return max(beyond, Decimal("0.00"))

    def _confirmed_total(self) -> Decimal:
        state = self.confirmed_state
        if state is None:
            return Decimal("0.00")
        lines = sum(
            (line.price.amount for line in self.lines
             if state.line_statuses.get(line.id) in ACTIVE_LINE_STATUSES),
            Decimal("0.00"),
        )  # fmt: skip
        return lines + sum(
            (f.price.amount for f in self.fees if f.id in state.fee_ids), Decimal("0.00")
        )

    def reset(self, *, expired: bool = False) -> None:
        """Back to the last confirmed version, or cancelled if it was never confirmed."""
        self.ensure_changeable()
        released = ReservationStatus.EXPIRED if expired else ReservationStatus.CANCELLED
        state = self.confirmed_state
        blocker = self.reset_blocker()
        if blocker:
            raise SalesError(ErrorCode.INVALID_STATE, blocker)
        if self.status is OrderStatus.CONFIRMED:
            raise SalesError(
                ErrorCode.INVALID_STATE, f"Order {self.id} has no unconfirmed changes to discard"
            )
        if state is None:
            self._discard_all(released)
            return
        for line in self.lines:
            line.status = state.line_statuses.get(line.id, OrderLineStatus.CANCELLED)
            reservation = line.reservation
            if reservation is not None:
                reservation.status = state.reservation_statuses.get(reservation.id, released)
                reservation.expire_at = None
        for fee in self.fees:
            fee.active = fee.id in state.fee_ids
        self.travellers = list(state.travellers)
        self.version = state.version
        self.status = OrderStatus.CONFIRMED
        self.expire_at = None
        self.draft_started_at = None

    def reset_blocker(self) -> str | None:
        """Why the unconfirmed changes cannot be discarded: money taken for them would be
        more than what is left (the balance would go below zero)."""
        if self._confirmed_total() - self.captured_amount + self.credited_amount < 0:
            return (
                f"Order {self.id} has payments for its unconfirmed changes; "
                "pay the rest or refund them first"
            )
        return None

    def _discard_all(self, released: ReservationStatus) -> None:
        for line in self.lines:
            if line.active:
                line.status = OrderLineStatus.CANCELLED
            if line.reservation and line.reservation.holds_seats:
                line.reservation.status = released
                line.reservation.expire_at = None
        for fee in self.fees:
            fee.active = False
        self.status = OrderStatus.CANCELLED
        self.expire_at = None

    def update_details(
        self,
        now: datetime,
        *,
        contact_info: ContactInfo | None = None,
        travellers: Sequence[Traveller] | None = None,
        external_reference: str | None = None,
        hold: HoldRules = DEFAULT_HOLD,
    ) -> None:
        """Apply an `updateOrder`. New travellers on a CONFIRMED order start a new DRAFT version.
        An expired DRAFT takes no changes: they would revive holds whose seats are free to
        others (and may be sold) since the expiry."""
        self.ensure_changeable()
        self.ensure_not_expired(now)
        if contact_info is not None:
            self.contact_info = contact_info.validated(["input", "contactInfo"])
        if external_reference is not None:
            self.external_reference = validate_external_reference(external_reference)
        if travellers is not None:
            new = validate_travellers(travellers)
            self._ensure_travellers_cover_lines(new)
            if new != self.travellers:
                self.travellers = new
                self.mark_changed(now, hold)

    def _ensure_travellers_cover_lines(self, travellers: Sequence[Traveller]) -> None:
        ids = {t.id for t in travellers}
        for line in self.active_lines:
            missing = [tid for tid in line.traveller_ids if tid not in ids]
            if missing:
                raise ValidationFailed(
                    f"Traveller {missing[0]} is on order line {line.id} and cannot be removed",
                    ["input", "travellers"],
                )

    def mark_changed(self, now: datetime, hold: HoldRules = DEFAULT_HOLD) -> None:
        """A change to a CONFIRMED order is a new DRAFT version; a DRAFT's hold is extended,
        for the order and every seat it holds, never beyond the longest hold."""
        if self.status is OrderStatus.CONFIRMED:
            self.version += 1
            self.status = OrderStatus.DRAFT
            self.draft_started_at = now
        elif self.draft_started_at is None:
            self.draft_started_at = now
        self.hold_until(min(now + hold.period, self.longest_hold_until(hold)))

    def longest_hold_until(self, hold: HoldRules) -> datetime:
        assert self.draft_started_at is not None
        return self.draft_started_at + hold.longest

    def hold_until(self, expire_at: datetime) -> None:
        """The DRAFT version and the seats it holds expire at `expire_at`."""
        self.expire_at = expire_at
        for reservation in self.reservations:
            if reservation.status is ReservationStatus.DRAFT:
                reservation.expire_at = expire_at
