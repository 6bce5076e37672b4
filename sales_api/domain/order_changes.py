"""After-sale changes of an order: longer holds, cancelled lines, fees, exchanges,
compensation and rebooking after a disruption. Each checks the same rule `changeOptions`
answers with (after_sale.py), so what is offered succeeds and what is not is refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sales_api.domain.after_sale import (
    compensate_blocker,
    exchange_fee,
    extend_blocker,
    line_cancel_blocker,
    line_exchange_refusal,
    order_blocker,
    rebook_blocker,
)
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.ids import new_id
from sales_api.domain.money import PriceWithTax
from sales_api.domain.order_parts import MAX_FEE_DESCRIPTION_LENGTH, SELLER_FEE_TYPES
from sales_api.domain.orders import (
    Fee,
    FeeType,
    HoldRules,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    ReservationStatus,
)

ZERO = Decimal("0.00")


def chosen_lines(order: Order, line_ids: Sequence[str], path: list[str]) -> list[OrderLine]:
    """The order's lines named by `line_ids` (at least one, each once), in that order."""
    if not line_ids:
        raise ValidationFailed("Name at least one order line", path)
    by_id = {line.id: line for line in order.lines}
    chosen: list[OrderLine] = []
    for index, line_id in enumerate(line_ids):
        line = by_id.get(line_id)
        if line is None:
            raise NotFound("Order line", [*path, str(index)])
        if line in chosen:
            raise ValidationFailed(f"Order line {line_id} is named twice", [*path, str(index)])
        chosen.append(line)
    return chosen


def extend_expiry(order: Order, now: datetime, hold: HoldRules) -> None:
    """The DRAFT's hold (and its seats') to now + the hold period, capped at the longest hold
    after the DRAFT version began; HOLD_LIMIT_REACHED when it is already there."""
    order.ensure_changeable()
    order.ensure_not_expired(now)
    if order.status is OrderStatus.DRAFT and order.expire_at is not None:
        if order.draft_started_at is None:
            order.draft_started_at = now  # a DRAFT from before holds were counted
        limit = order.longest_hold_until(hold)
        if order.expire_at >= limit:
            raise SalesError(
                ErrorCode.HOLD_LIMIT_REACHED,
                f"Order {order.id} holds its seats until {limit:%Y-%m-%dT%H:%M:%SZ}, its "
                "longest hold; confirm it or let it expire",
            )
    blocker = extend_blocker(order, now, hold)
    if blocker:
        raise SalesError(ErrorCode.INVALID_STATE, f"Order {order.id}: {blocker}")
    order.hold_until(min(now + hold.period, order.longest_hold_until(hold)))


def cancel_lines(order: Order, line_ids: Sequence[str], now: datetime) -> list[OrderLine]:
    """Lines added in the current DRAFT version: CANCELLED, out of the totals, their seats
    freed at once. All of them or none."""
    order.ensure_not_expired(now)
    lines = chosen_lines(order, line_ids, ["input", "orderLineIds"])
    for index, line in enumerate(lines):
        blocker = line_cancel_blocker(order, line, now)
        if blocker:
            path = ["input", "orderLineIds", str(index)]
            raise SalesError(ErrorCode.INVALID_STATE, blocker, path)
    # Each line alone may fit; together they must too (checked before any line changes).
    if order.owed - sum((line.price.amount for line in lines), ZERO) < 0:
        raise SalesError(
            ErrorCode.INVALID_STATE,
            "Cancelling these lines would leave more paid than the order costs",
            ["input", "orderLineIds"],
        )
    for line in lines:
        line.status = OrderLineStatus.CANCELLED
        if line.reservation is not None and line.reservation.holds_seats:
            line.reservation.status = ReservationStatus.CANCELLED
            line.reservation.expire_at = None
    return lines


def validate_fee(type: FeeType, amount: Decimal, description: str) -> str:
    """A seller's fee: BOOKING or MANUAL, above 0.00, described. The description, cleaned."""
    if type not in SELLER_FEE_TYPES:
        raise ValidationFailed(
            f"A {type.value} fee comes from the rules; add BOOKING or MANUAL", ["input", "type"]
        )
    if amount <= 0:
        raise ValidationFailed("A fee is above 0.00", ["input", "amount"])
    cleaned = description.strip()
    if not cleaned or len(cleaned) > MAX_FEE_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"Describe the fee in 1 to {MAX_FEE_DESCRIPTION_LENGTH} characters",
            ["input", "description"],
        )
    if any(ord(ch) < 32 for ch in cleaned):
        raise ValidationFailed("Control characters are not allowed", ["input", "description"])
    return cleaned


def _fee(order: Order, type: FeeType, amount: Decimal, description: str, now: datetime) -> Fee:
    return Fee(
        id=new_id(),
        order_id=order.id,
        order_version=order.version,
        type=type,
        price=PriceWithTax.including_vat(amount, order.currency),
        description=description,
        created_at=now,
    )


def add_fee(
    order: Order,
    type: FeeType,
    amount: Decimal,
    description: str,
    now: datetime,
    hold: HoldRules,
) -> Fee:
    """A BOOKING or MANUAL fee, VAT included; on a CONFIRMED order a new DRAFT version whose
    balance is the fee."""
    cleaned = validate_fee(type, amount, description)
    order.ensure_changeable()
    order.ensure_not_expired(now)
    blocker = order_blocker(order, now)
    if blocker:
        raise SalesError(ErrorCode.INVALID_STATE, blocker)
    order.mark_changed(now, hold)
    fee = _fee(order, type, amount, cleaned, now)
    order.fees.append(fee)
    return fee


def check_exchange(order: Order, line_ids: Sequence[str], now: datetime) -> list[OrderLine]:
    """The lines to replace, each one that can be exchanged now (NOT_CHANGEABLE if not)."""
    order.ensure_changeable()
    order.ensure_not_expired(now)
    replaced = chosen_lines(order, line_ids, ["input", "orderLineIds"])
    for index, line in enumerate(replaced):
        refusal = line_exchange_refusal(order, line, now)
        if refusal:
            raise SalesError(
                refusal.code, f"Order line {line.id}: {refusal.message}",
                ["input", "orderLineIds", str(index)],
            )  # fmt: skip
    return replaced


def exchange_lines(
    order: Order,
    line_ids: Sequence[str],
    new_lines: Sequence[OrderLine],
    now: datetime,
    hold: HoldRules,
) -> list[Fee]:
    """The named CONFIRMED lines are replaced by `new_lines` (for the same travellers) in a
    new DRAFT version: CANCELLED in it, their seats and tickets valid until it is confirmed;
    a CHANGE fee per replaced line by its product's rules. Returns the fees added."""
    replaced = check_exchange(order, line_ids, now)
    old_travellers = sorted(t for line in replaced for t in line.traveller_ids)
    new_travellers = sorted(t for line in new_lines for t in line.traveller_ids)
    if old_travellers != new_travellers:
        raise ValidationFailed(
            "The offer must be for exactly the travellers of the lines replaced "
            f"({', '.join(old_travellers)})",
            ["input", "offerId"],
        )
    cost = order.total_amount - sum((x.price.amount for x in replaced), ZERO)
    cost += sum((x.price.amount for x in new_lines), ZERO)
    cost += sum((exchange_fee(line) for line in replaced), ZERO)
    if cost < 0:
        raise SalesError(
            ErrorCode.INVALID_STATE,
            f"The order's compensations exceed what it would cost after this exchange "
            f"({cost:.2f}); choose another offer",
            ["input", "offerId"],
        )
    order.mark_changed(now, hold)
    for line in replaced:
        line.status = OrderLineStatus.CANCELLED
    order.lines.extend(new_lines)
    fees = [
        _fee(order, FeeType.CHANGE, exchange_fee(line), f"Exchange of order line {line.id}", now)
        for line in replaced
        if exchange_fee(line) > 0
    ]
    order.fees.extend(fees)
    return fees


def replaced_line_ids(order: Order) -> list[str]:
    """Lines CONFIRMED in the last confirmed version and no longer active now: those whose
    tickets are disabled when the version confirms (exchanged lines)."""
    state = order.confirmed_state
    if state is None:
        return []
    return [
        line.id
        for line in order.lines
        if state.line_statuses.get(line.id) is OrderLineStatus.CONFIRMED
        and line.status is OrderLineStatus.CANCELLED
    ]


def check_compensation(order: Order, amount: Decimal) -> None:
    """Refused before any money moves: a CONFIRMED order, above 0.00, at most what is
    captured and not yet credited."""
    blocker = compensate_blocker(order)
    if blocker:
        raise SalesError(ErrorCode.INVALID_STATE, f"Order {order.id}: {blocker}")
    if amount <= 0:
        raise ValidationFailed("A compensation is above 0.00", ["input", "amount"])
    left = order.captured_amount - order.credited_amount
    if amount > left:
        raise SalesError(
            ErrorCode.AMOUNT_MISMATCH,
            f"At most {left:.2f} can be given back (captured and not yet credited)",
            ["input", "amount"],
        )


def compensate(order: Order, amount: Decimal, reason: str, now: datetime) -> Fee:
    """Once `amount` is credited back: a new CONFIRMED version with a COMPENSATION fee of
    minus that amount; no line changes and the balance stays 0.00."""
    order.version += 1
    fee = _fee(order, FeeType.COMPENSATION, -amount, reason, now)
    order.fees.append(fee)
    order.credited_amount += amount
    order.last_confirmed_at = now
    order.remember_confirmed()
    return fee


def check_rebooking(order: Order, lines: Sequence[OrderLine]) -> None:
    for index, line in enumerate(lines):
        blocker = rebook_blocker(order, line)
        if blocker:
            code = ErrorCode.INVALID_STATE if line.travel.disrupted else ErrorCode.VALIDATION_FAILED
            raise SalesError(
                code, f"Order line {line.id}: {blocker}", ["input", "orderLineIds", str(index)]
            )


def rebook(
    order: Order, old_lines: Sequence[OrderLine], new_lines: Sequence[OrderLine], now: datetime
) -> None:
    """Lines of a disrupted journey moved to `new_lines` (CONFIRMED, seats held, priced as
    the old ones: a price difference is waived) in a new CONFIRMED version; the old lines
    CANCELLED and their seats released."""
    check_rebooking(order, old_lines)
    order.version += 1
    for line in old_lines:
        line.status = OrderLineStatus.CANCELLED
        if line.reservation is not None and line.reservation.holds_seats:
            line.reservation.status = ReservationStatus.CANCELLED
            line.reservation.expire_at = None
    order.lines.extend(new_lines)
    order.last_confirmed_at = now
    order.remember_confirmed()
    if order.owed != ZERO:  # pragma: no cover - the prices are carried over
        raise AssertionError("a rebooking changed what the order costs")
