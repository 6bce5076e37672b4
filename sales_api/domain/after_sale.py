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


@dataclass(frozen=True, slots=True)
class ChangeOption:
    type: ChangeType
    allowed: bool
    reason: str | None = None
    fee: Decimal | None = None
    deadline: datetime | None = None


def _no(change: ChangeType, reason: str) -> ChangeOption:
    return ChangeOption(change, False, reason)


def order_blocker(order: Order, now: datetime) -> str | None:
    """Why nothing about the order can change now, if anything stops it."""
    if order.status is OrderStatus.CANCELLED:
        return "The order is cancelled"
    if order.is_expired(now):
        return "The order's unconfirmed changes have expired"
    return None


def line_refund_blocker(order: Order, line: OrderLine, now: datetime) -> str | None:
    """Why the line cannot be refunded now, if it cannot (None: it can, with no fee)."""
    if order.status is not OrderStatus.CONFIRMED:
        return "Only a CONFIRMED order is refunded; pay or reset its changes first"
    if line.status is OrderLineStatus.REFUNDED:
        return "The line is already refunded"
    if line.status is not OrderLineStatus.CONFIRMED:
        return f"The line is {line.status.value}, not CONFIRMED"
    if not line.product.refundable:
        return f"{line.product.name} is not refundable"
    if now >= line.travel.departure_time:
        return "The train has left"
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


CANCEL_LINE_REASON = (
    "An order line is cancelled by refundOrder (paid lines) or resetOrder (unpaid changes)"
)


def change_options(
    order: Order, now: datetime
) -> tuple[list[ChangeOption], list[tuple[OrderLine, list[ChangeOption]]]]:
    """The options of the order, and of each line."""
    blocker = order_blocker(order, now)
    first_departure = min((line.travel.departure_time for line in order.active_lines), default=None)
    line_options: list[tuple[OrderLine, list[ChangeOption]]] = []
    shared = [
        _option(ChangeType.UPDATE_TRAVELLERS, blocker),
        _option(ChangeType.UPDATE_CONTACT_INFO, blocker),
        _option(ChangeType.ADD_OFFERS, blocker),
    ]
    for line in order.lines:
        seats = line_seat_change_blocker(order, line, now)
        refund = line_refund_blocker(order, line, now)
        line_options.append(
            (
                line,
                [
                    *shared[:3],
                    _option(ChangeType.CHANGE_SEATS, seats, line.travel.departure_time),
                    _no(ChangeType.CANCEL_ORDER_LINE, CANCEL_LINE_REASON),
                    _option(
                        ChangeType.REFUND_ORDER_LINE, refund, line.travel.departure_time, NO_FEE
                    ),
                    _option(ChangeType.CANCEL_ORDER, cancel_blocker(order)),
                    _option(ChangeType.RESET_ORDER, reset_blocker(order, now)),
                ],
            )
        )
    any_seats = any(o.allowed for _, opts in line_options for o in opts
                    if o.type is ChangeType.CHANGE_SEATS)  # fmt: skip
    any_refund = any(o.allowed for _, opts in line_options for o in opts
                     if o.type is ChangeType.REFUND_ORDER_LINE)  # fmt: skip
    order_options = [
        *shared,
        _option(ChangeType.CHANGE_SEATS, None if any_seats else "No line's seats can change now",
                first_departure),
        _no(ChangeType.CANCEL_ORDER_LINE, CANCEL_LINE_REASON),
        _option(ChangeType.REFUND_ORDER_LINE,
                None if any_refund else "No line of the order can be refunded now",
                first_departure, NO_FEE),
        _option(ChangeType.CANCEL_ORDER, cancel_blocker(order)),
        _option(ChangeType.RESET_ORDER, reset_blocker(order, now)),
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


def refund_options(order: Order, lines: list[OrderLine], now: datetime) -> list[LineRefundOption]:
    """Per line: what was paid for it, the fee (none for a flexible product), what comes back."""
    options = []
    for line in lines:
        blocker = line_refund_blocker(order, line, now)
        paid = line.price.amount if line.status in (OrderLineStatus.CONFIRMED,) else Decimal("0.00")
        options.append(LineRefundOption(line, blocker is None, blocker, paid, NO_FEE))
    return options
