"""After the sale: which changes an order and its lines allow now, and refunds.

Every option answered here is the rule the mutations enforce, so a client can trust
`allowed`: what is allowed succeeds when tried right after, what is not is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.orders import (
    DEFAULT_HOLD,
    HoldRules,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
)

NO_FEE = Decimal("0.00")


class ChangeType(StrEnum):
    UPDATE_TRAVELLERS = "UPDATE_TRAVELLERS"
    UPDATE_CONTACT_INFO = "UPDATE_CONTACT_INFO"
    ADD_OFFERS = "ADD_OFFERS"
    CHANGE_SEATS = "CHANGE_SEATS"
    CANCEL_ORDER_LINE = "CANCEL_ORDER_LINE"
    REFUND_ORDER_LINE = "REFUND_ORDER_LINE"
    CANCEL_ORDER = "CANCEL_ORDER"
    RESET_ORDER = "RESET_ORDER"
    EXCHANGE_ORDER_LINE = "EXCHANGE_ORDER_LINE"
    EXTEND_EXPIRY = "EXTEND_EXPIRY"
    ADD_FEE = "ADD_FEE"
    COMPENSATE_ORDER = "COMPENSATE_ORDER"
    REBOOK_DISRUPTED_ORDER_LINE = "REBOOK_DISRUPTED_ORDER_LINE"


@dataclass(frozen=True, slots=True)
class ChangeOption:
    type: ChangeType
    allowed: bool
    reason: str | None = None
    fee: Decimal | None = None
    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class MoneyInFlight:
    """Money of the order that is moving now: refunds not yet settled (and their lines), a
    capture waiting for the provider's answer. While a refund settles no new version
    starts; while a capture is in flight no version is discarded."""

    refund_line_ids: frozenset[str] = frozenset()
    refunding: bool = False
    capturing: bool = False


NOTHING_IN_FLIGHT = MoneyInFlight()
REFUNDING = "Money of the order is being given back; try again once it is settled"
CAPTURING = "A capture of the order is waiting for the payment provider's answer"


def _no(change: ChangeType, reason: str) -> ChangeOption:
    return ChangeOption(change, False, reason)


def order_blocker(order: Order, now: datetime) -> str | None:
    """Why nothing about the order can change now, if anything stops it."""
    if order.status is OrderStatus.CANCELLED:
        return "The order is cancelled"
    if order.is_expired(now):
        return "The order's unconfirmed changes have expired"
    return None


def line_refund_blocker(
    order: Order, line: OrderLine, now: datetime, moving: MoneyInFlight = NOTHING_IN_FLIGHT
) -> str | None:
    """Why the line cannot be refunded now, if it cannot (None: it can, with no fee)."""
    if line.id in moving.refund_line_ids:
        return "A refund of the line is pending; retry it with its idempotencyKey"
    if order.status is not OrderStatus.CONFIRMED:
        return "Only a CONFIRMED order is refunded; pay or reset its changes first"
    if line.status is OrderLineStatus.REFUNDED:
        return "The line is already refunded"
    if line.status is not OrderLineStatus.CONFIRMED:
        return f"The line is {line.status.value}, not CONFIRMED"
    if line.travel.disrupted:
        return None  # refunded in full whatever the product's rules
    if not line.product.refundable:
        return f"{line.product.name} is not refundable"
    if now >= line.travel.departure_time:
        return "The train has left"
    return None


def line_exchange_refusal(order: Order, line: OrderLine, now: datetime) -> SalesError | None:
    """Why the line cannot be exchanged now (exchangeOrderLines), if it cannot."""
    blocker = order_blocker(order, now)
    if blocker:
        return SalesError(ErrorCode.INVALID_STATE, blocker)
    if line.status is not OrderLineStatus.CONFIRMED:
        return SalesError(
            ErrorCode.INVALID_STATE,
            f"The line is {line.status.value}; a CONFIRMED line is exchanged",
        )
    if line.travel.disrupted:
        return None  # exchanged without fee whatever the product's rules
    if not line.product.changeable:
        return SalesError(ErrorCode.NOT_CHANGEABLE, f"{line.product.name} is not changeable")
    if now >= line.travel.departure_time:
        return SalesError(ErrorCode.NOT_CHANGEABLE, "The train has left")
    return None


def exchange_fee(line: OrderLine) -> Decimal:
    """The CHANGE fee of exchanging the line: the product's, none on a disrupted journey."""
    return NO_FEE if line.travel.disrupted else line.product.change_fee


def line_cancel_blocker(order: Order, line: OrderLine, now: datetime) -> str | None:
    """Why the line cannot be cancelled by cancelOrderLines, if it cannot: only lines added
    in the current DRAFT version, and never leaving more paid than owed."""
    blocker = order_blocker(order, now)
    if blocker:
        return blocker
    if order.status is not OrderStatus.DRAFT:
        return "Only lines of unconfirmed changes are cancelled; refund confirmed lines"
    if line.status is not OrderLineStatus.DRAFT:
        return f"The line is {line.status.value}; only DRAFT lines are cancelled"
    if order.confirmed_state is not None and line.id in order.confirmed_state.line_statuses:
        return "The line is part of the confirmed order; refund it instead"
    if order.owed - line.price.amount < 0:
        return "Cancelling the line would leave more paid than the order costs"
    return None


def extend_blocker(order: Order, now: datetime, hold: HoldRules) -> str | None:
    blocker = order_blocker(order, now)
    if blocker:
        return blocker
    if order.status is not OrderStatus.DRAFT or order.expire_at is None:
        return "Only a DRAFT order's hold is extended"
    if order.draft_started_at is not None and order.expire_at >= order.longest_hold_until(hold):
        return "The order's longest hold is reached"
    return None


def fee_blocker(order: Order, now: datetime) -> str | None:
    return order_blocker(order, now)


def compensate_blocker(order: Order) -> str | None:
    if order.status is not OrderStatus.CONFIRMED:
        return f"The order is {order.status.value}; a CONFIRMED order is compensated"
    if order.captured_amount - order.credited_amount <= 0:
        return "Nothing paid is left to give back"
    return None


def rebook_blocker(order: Order, line: OrderLine) -> str | None:
    if not line.travel.disrupted:
        return "The line's service journey is not disrupted"
    if order.status is not OrderStatus.CONFIRMED:
        return f"The order is {order.status.value}; pay or reset its changes first"
    if line.status is not OrderLineStatus.CONFIRMED:
        return f"The line is {line.status.value}, not CONFIRMED"
    return None


def line_seat_change_blocker(order: Order, line: OrderLine, now: datetime) -> str | None:
    blocker = order_blocker(order, now)
    if blocker:
        return blocker
    if line.reservation is None or not line.reservation.holds_seats:
        return "The line holds no seats"
    if not line.active:
        return f"The line is {line.status.value}"
    if not line.product.changeable:
        return f"{line.product.name} is not changeable"
    if now >= line.travel.departure_time:
        return "The train has left"
    return None


def reset_blocker(order: Order, now: datetime) -> str | None:
    """Money taken for the unconfirmed changes is no blocker: it is given back first."""
    if order.status is OrderStatus.CANCELLED:
        return "The order is cancelled"
    if order.status is not OrderStatus.DRAFT:
        return "The order has no unconfirmed changes to discard"
    return None


def cancel_blocker(order: Order) -> str | None:
    """A DRAFT never confirmed is cancelled, money taken for it given back first."""
    if order.status is not OrderStatus.DRAFT:
        return f"The order is {order.status.value}; only a DRAFT order is cancelled"
    if order.confirmed_state is not None and order.captured_amount != 0:
        return "The order was confirmed and paid; refund or reset it instead"
    return None


def _option(change: ChangeType, blocker: str | None, deadline: datetime | None = None,
            fee: Decimal | None = None) -> ChangeOption:  # fmt: skip
    if blocker:
        return _no(change, blocker)
    return ChangeOption(change, True, None, fee, deadline)


def change_options(
    order: Order,
    now: datetime,
    hold: HoldRules = DEFAULT_HOLD,
    moving: MoneyInFlight = NOTHING_IN_FLIGHT,
) -> tuple[list[ChangeOption], list[tuple[OrderLine, list[ChangeOption]]]]:
    """The options of the order, and of each line: each as the mutation enforces it."""
    blocker = order_blocker(order, now)
    # What starts a new version waits for money being given back (services/orders.py).
    versioned = blocker or (REFUNDING if moving.refunding else None)
    discard = CAPTURING if moving.capturing else None
    first_departure = min((line.travel.departure_time for line in order.active_lines), default=None)
    line_options: list[tuple[OrderLine, list[ChangeOption]]] = []
    shared = [
        _option(ChangeType.UPDATE_TRAVELLERS, versioned),
        _option(ChangeType.UPDATE_CONTACT_INFO, blocker),
        _option(ChangeType.ADD_OFFERS, versioned),
    ]
    whole = [
        _option(ChangeType.CANCEL_ORDER, cancel_blocker(order) or discard),
        _option(ChangeType.RESET_ORDER, reset_blocker(order, now) or discard),
        _option(ChangeType.EXTEND_EXPIRY, extend_blocker(order, now, hold) or versioned,
                order.longest_hold_until(hold) if order.draft_started_at else None),
        _option(ChangeType.ADD_FEE, fee_blocker(order, now) or versioned),
        _option(ChangeType.COMPENSATE_ORDER, compensate_blocker(order) or versioned),
    ]  # fmt: skip
    for line in order.lines:
        departure = line.travel.departure_time
        exchange = line_exchange_refusal(order, line, now)
        line_options.append(
            (
                line,
                [
                    *shared,
                    _option(ChangeType.CHANGE_SEATS, line_seat_change_blocker(order, line, now),
                            departure),
                    _option(ChangeType.CANCEL_ORDER_LINE,
                            line_cancel_blocker(order, line, now) or versioned or discard),
                    _option(ChangeType.REFUND_ORDER_LINE,
                            line_refund_blocker(order, line, now, moving), departure, NO_FEE),
                    _option(ChangeType.EXCHANGE_ORDER_LINE,
                            (exchange.message if exchange else None) or versioned, departure,
                            exchange_fee(line)),
                    _option(ChangeType.REBOOK_DISRUPTED_ORDER_LINE,
                            rebook_blocker(order, line) or versioned),
                    *whole,
                ],
            )
        )  # fmt: skip

    def any_line(change: ChangeType, reason: str, fee: Decimal | None = None,
                 deadline: datetime | None = None) -> ChangeOption:  # fmt: skip
        allowed = any(o.allowed for _, opts in line_options for o in opts if o.type is change)
        return _option(change, None if allowed else reason, deadline, fee)

    order_options = [
        *shared,
        any_line(ChangeType.CHANGE_SEATS, "No line's seats can change now",
                 deadline=first_departure),
        any_line(ChangeType.CANCEL_ORDER_LINE, "No line of the order can be cancelled now"),
        any_line(ChangeType.REFUND_ORDER_LINE, "No line of the order can be refunded now",
                 NO_FEE, first_departure),
        any_line(ChangeType.EXCHANGE_ORDER_LINE, "No line of the order can be exchanged now",
                 deadline=first_departure),
        any_line(ChangeType.REBOOK_DISRUPTED_ORDER_LINE,
                 "No line of the order is on a disrupted journey"),
        *whole,
    ]  # fmt: skip
    return order_options, line_options


def ensure_refund_still_possible(order: Order, line_ids: list[str], now: datetime) -> None:
    """A refund resumed after a provider failure must still fit the order: its lines still
    CONFIRMED and refundable (the order may have changed while the refund was pending)."""
    for line in order.lines:
        if line.id in line_ids:
            blocker = line_refund_blocker(order, line, now)
            if blocker:
                raise SalesError(
                    ErrorCode.INVALID_STATE,
                    f"The pending refund cannot finish: {blocker} (order line {line.id})",
                )


@dataclass(frozen=True, slots=True)
class LineRefundOption:
    line: OrderLine
    refundable: bool
    reason: str | None
    paid_amount: Decimal
    fee: Decimal

    @property
    def refundable_amount(self) -> Decimal:
        return self.paid_amount - self.fee if self.refundable else Decimal("0.00")


def refund_options(
    order: Order,
    lines: list[OrderLine],
    now: datetime,
    moving: MoneyInFlight = NOTHING_IN_FLIGHT,
) -> list[LineRefundOption]:
    """Per line: what was paid for it, the fee (none for a flexible product), what comes back."""
    options = []
    for line in lines:
        blocker = line_refund_blocker(order, line, now, moving)
        paid = line.price.amount if line.status in (OrderLineStatus.CONFIRMED,) else Decimal("0.00")
        options.append(LineRefundOption(line, blocker is None, blocker, paid, NO_FEE))
    return options
