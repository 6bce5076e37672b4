"""A refund of order lines: credits on the captured transactions, then the lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sales_api.domain.payments import Payment, TransactionStatus


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"


class RefundPurpose(StrEnum):
    """What the money given back is for, and so what happens once all of it is credited."""

    LINES = "LINES"
    """refundOrder: the lines are REFUNDED, their seats freed, their tickets disabled."""
    RESET = "RESET"
    """resetOrder of a DRAFT version that money was taken for: back to the confirmed one."""
    CANCEL = "CANCEL"
    """cancelOrder of an order never confirmed that money was taken for."""
    EXPIRE = "EXPIRE"
    """The expiry of such a DRAFT version."""
    CONFIRM = "CONFIRM"
    """confirmOrder of a DRAFT version that costs less than was paid (an exchange to a
    cheaper journey): the difference given back, then it confirms."""
    COMPENSATE = "COMPENSATE"
    """compensateOrder: goodwill given back; a new CONFIRMED version with a COMPENSATION fee."""


@dataclass(slots=True)
class Refund:
    id: str
    order_id: str
    status: RefundStatus
    order_version: int
    amount: Decimal
    fee: Decimal
    currency: str
    line_ids: list[str]
    created_at: datetime
    disabled_ticket_ids: list[str] = field(default_factory=list)
    reason: str | None = None
    purpose: RefundPurpose = RefundPurpose.LINES


def allocate_credits(
    payments: list[Payment], amount: Decimal, in_flight: dict[str, Decimal] | None = None
) -> list[tuple[str, str, Decimal]]:
    """(payment id, transaction id, amount) to credit, newest capture first; no transaction
    is credited more than it captured, counting credits sent and not yet answered
    (`in_flight`, by transaction). Raises ValueError when the captures cannot cover it."""
    in_flight = in_flight or {}
    captured = [
        (p, t)
        for p in payments
        for t in p.transactions
        if t.status in (TransactionStatus.CAPTURED, TransactionStatus.CREDITED)
    ]
    captured.sort(key=lambda pair: (pair[1].captured_at or pair[1].created_at, pair[1].id),
                  reverse=True)  # fmt: skip
    plan: list[tuple[str, str, Decimal]] = []
    left = amount
    for payment, transaction in captured:
        if left <= 0:
            break
        available = (
            transaction.amount - transaction.credited_amount - in_flight.get(transaction.id, 0)
        )
        part = min(available, left)
        if part > 0:
            plan.append((payment.id, transaction.id, part))
            left -= part
    if left > 0:
        raise ValueError(f"captures cannot cover a refund of {amount:.2f}")
    return plan
