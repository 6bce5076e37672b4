"""Receipts of an order version: one line per order line with its VAT, and the text that
goes to the customer by e-mail or SMS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sales_api.domain.catalogue import LOCAL_TIME
from sales_api.domain.orders import FeeType, Order, OrderLine, OrderLineStatus
from sales_api.domain.payments import Credit, Payment, TransactionStatus
from sales_api.domain.tickets import Language


class ReceiptStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    description: str
    amount: Decimal
    tax_amount: Decimal
    tax_rate: Decimal


@dataclass(slots=True)
class Receipt:
    id: str
    reference: str
    order_id: str
    order_version: int
    language: Language
    currency: str
    created_at: datetime
    lines: list[ReceiptLine] = field(default_factory=list)
    email: str | None = None
    phone_number: str | None = None
    status: ReceiptStatus = ReceiptStatus.PENDING
    sent_at: datetime | None = None

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def total_tax_amount(self) -> Decimal:
        return sum((line.tax_amount for line in self.lines), Decimal("0.00"))


_TEXT = {
    Language.NOB: {
        "subject": "Kvittering {reference}",
        "order": "Ordre {order} versjon {version}",
        "total": "Totalt",
        "vat": "herav mva. {rate} %",
        "paid": "Betalt",
        "credited": "Refundert",
        "refunded": "refundert",
    },
    Language.NNO: {
        "subject": "Kvittering {reference}",
        "order": "Ordre {order} versjon {version}",
        "total": "Totalt",
        "vat": "av dette mva. {rate} %",
        "paid": "Betalt",
        "credited": "Refundert",
        "refunded": "refundert",
    },
    Language.ENG: {
        "subject": "Receipt {reference}",
        "order": "Order {order} version {version}",
        "total": "Total",
        "vat": "of which VAT {rate} %",
        "paid": "Paid",
        "credited": "Refunded",
        "refunded": "refunded",
    },
}


def describe(line: OrderLine, language: Language) -> str:
    travel = line.travel
    departure = travel.departure_time.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")
    text = f"{line.product.name}, {travel.origin.name} - {travel.destination.name}, {departure}"
    if line.status is OrderLineStatus.REFUNDED:
        text += f" ({_TEXT[language]['refunded']})"
    return text


_FEE_NAMES: dict[Language, dict[FeeType, str]] = {
    Language.NOB: {
        FeeType.BOOKING: "Bestillingsgebyr",
        FeeType.CHANGE: "Endringsgebyr",
        FeeType.PENALTY: "Gebyr",
        FeeType.MANUAL: "Gebyr",
        FeeType.COMPENSATION: "Kompensasjon",
    },
    Language.NNO: {
        FeeType.BOOKING: "Bestillingsgebyr",
        FeeType.CHANGE: "Endringsgebyr",
        FeeType.PENALTY: "Gebyr",
        FeeType.MANUAL: "Gebyr",
        FeeType.COMPENSATION: "Kompensasjon",
    },
    Language.ENG: {
        FeeType.BOOKING: "Booking fee",
        FeeType.CHANGE: "Change fee",
        FeeType.PENALTY: "Penalty",
        FeeType.MANUAL: "Fee",
        FeeType.COMPENSATION: "Compensation",
    },
}


def receipt_lines(order: Order, language: Language) -> list[ReceiptLine]:
    """What the version charges for: its active lines and fees (a compensation negative),
    at their price with VAT."""
    lines = [
        ReceiptLine(
            describe(line, language),
            line.price.amount,
            line.price.tax_amount,
            line.price.tax_rate,
        )
        for line in order.lines
        if line.active
    ]
    lines.extend(
        ReceiptLine(
            f"{_FEE_NAMES[language][fee.type]}: {fee.description}",
            fee.price.amount,
            fee.price.tax_amount,
            fee.price.tax_rate,
        )
        for fee in order.active_fees
    )
    return lines


def version_has_money(version: int, payments: list[Payment], credits: list[Credit]) -> bool:
    captured = any(
        p.order_version == version
        and any(t.status in (TransactionStatus.CAPTURED, TransactionStatus.CREDITED)
                for t in p.transactions)
        for p in payments
    )  # fmt: skip
    return captured or any(c.order_version == version for c in credits)


def receipt_text(
    receipt: Receipt, payments: list[Payment], credits: list[Credit]
) -> tuple[str, str]:
    """(subject, body) in the receipt's language; amounts with two decimals."""
    words = _TEXT[receipt.language]
    rows = [words["order"].format(order=receipt.order_id, version=receipt.order_version), ""]
    for line in receipt.lines:
        rows.append(f"{line.description}: {line.amount:.2f} {receipt.currency}")
        rows.append(f"  {words['vat'].format(rate=f'{line.tax_rate:.0f}')}: {line.tax_amount:.2f}")
    rows += [
        "",
        f"{words['total']}: {receipt.total_amount:.2f} {receipt.currency}",
        f"{words['vat'].format(rate='12')}: {receipt.total_tax_amount:.2f} {receipt.currency}",
        "",
    ]
    for payment in payments:
        if payment.order_version != receipt.order_version:
            continue
        for t in payment.transactions:
            if t.status in (TransactionStatus.CAPTURED, TransactionStatus.CREDITED):
                card = f" {t.masked_card_number}" if t.masked_card_number else ""
                rows.append(f"{words['paid']} {t.payment_type.value}{card}: {t.amount:.2f}")
    for credit in credits:
        if credit.order_version == receipt.order_version:
            rows.append(f"{words['credited']}: {credit.amount:.2f} {credit.currency}")
    subject = words["subject"].format(reference=receipt.reference)
    return subject, "\n".join(rows) + "\n"
