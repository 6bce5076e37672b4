"""Payments of an order version, their transactions and the payment-provider port."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed


class PaymentType(StrEnum):
    VISA = "VISA"
    MASTERCARD = "MASTERCARD"
    AMEX = "AMEX"
    VIPPS = "VIPPS"
    CASH = "CASH"
    GIFTCARD = "GIFTCARD"


class PaymentTypeGroup(StrEnum):
    PAYMENTCARD = "PAYMENTCARD"
    MOBILE = "MOBILE"
    CASH = "CASH"
    GIFTCARD = "GIFTCARD"


GROUP_OF = {
    PaymentType.VISA: PaymentTypeGroup.PAYMENTCARD,
    PaymentType.MASTERCARD: PaymentTypeGroup.PAYMENTCARD,
    PaymentType.AMEX: PaymentTypeGroup.PAYMENTCARD,
    PaymentType.VIPPS: PaymentTypeGroup.MOBILE,
    PaymentType.CASH: PaymentTypeGroup.CASH,
    PaymentType.GIFTCARD: PaymentTypeGroup.GIFTCARD,
}


class TransactionStatus(StrEnum):
    CREATED = "CREATED"
    PENDING = "PENDING"
    """Sent to the provider for capture; what it did is not known yet."""
    CAPTURED = "CAPTURED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    CREDITED = "CREDITED"


@dataclass(frozen=True, slots=True)
class TransactionOperation:
    operation: str  # CREATE, CAPTURE, CANCEL, CREDIT or FAIL
    amount: Decimal
    status: TransactionStatus
    at: datetime


@dataclass(slots=True)
class Transaction:
    id: str
    payment_id: str
    payment_type: PaymentType
    amount: Decimal
    currency: str
    created_at: datetime
    status: TransactionStatus = TransactionStatus.CREATED
    payment_token: str | None = None
    masked_card_number: str | None = None
    psp_reference: str | None = None
    captured_at: datetime | None = None
    credited_amount: Decimal = Decimal("0.00")
    operation_log: list[TransactionOperation] = field(default_factory=list)
    sent_at: datetime | None = None
    """When its capture was sent to the provider."""

    @property
    def payment_type_group(self) -> PaymentTypeGroup:
        return GROUP_OF[self.payment_type]

    def log(self, operation: str, amount: Decimal, at: datetime) -> None:
        self.operation_log.append(TransactionOperation(operation, amount, self.status, at))

    def ensure_status(self, *allowed: TransactionStatus) -> None:
        if self.status not in allowed:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Transaction {self.id} is {self.status.value}",
                ["input", "transactionId"],
            )


@dataclass(slots=True)
class Payment:
    """Money asked for one order version; its transactions take it."""

    id: str
    order_id: str
    order_version: int
    organisation_id: int
    total_amount: Decimal
    currency: str
    created_at: datetime
    active: bool = True
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def captured_amount(self) -> Decimal:
        return sum(
            (t.amount for t in self.transactions if t.status in _TAKEN),
            Decimal("0.00"),
        )

    @property
    def pending_amount(self) -> Decimal:
        """What its CREATED transactions ask for and may still capture, and what its PENDING
        ones are capturing."""
        return sum(
            (t.amount for t in self.transactions if t.status in _NOT_SETTLED),
            Decimal("0.00"),
        )

    @property
    def in_flight_amount(self) -> Decimal:
        """What its PENDING transactions are capturing (the provider's answer not in yet)."""
        return sum(
            (t.amount for t in self.transactions if t.status is TransactionStatus.PENDING),
            Decimal("0.00"),
        )

    @property
    def unpaid_amount(self) -> Decimal:
        """What its transactions may still take: the total less captured and pending."""
        return self.total_amount - self.captured_amount - self.pending_amount

    def ensure_active(self) -> None:
        if not self.active:
            raise SalesError(
                ErrorCode.PAYMENT_INACTIVE,
                f"Payment {self.id} is inactive; reactivate it with updatePayment",
                ["input", "paymentId"],
            )

    def change_amount(self, amount: Decimal) -> None:
        if any(t.status in _TAKEN for t in self.transactions):
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Payment {self.id} has a captured transaction; its amount is fixed",
                ["input", "totalAmount"],
            )
        if amount <= 0:
            raise ValidationFailed("A payment's amount is above 0.00", ["input", "totalAmount"])
        if amount < self.pending_amount:
            # Else its pending transactions could capture more than the payment asks.
            raise SalesError(
                ErrorCode.AMOUNT_MISMATCH,
                f"Payment {self.id} has transactions of {self.pending_amount:.2f} pending; "
                "cancel them first",
                ["input", "totalAmount"],
            )
        self.total_amount = amount


_TAKEN = (TransactionStatus.CAPTURED, TransactionStatus.CREDITED)
_NOT_SETTLED = (TransactionStatus.CREATED, TransactionStatus.PENDING)


@dataclass(frozen=True, slots=True)
class CaptureApproved:
    psp_reference: str
    masked_card_number: str | None


def mask_card_number(shown: str | None) -> str | None:
    """A card number as this service may show and keep it: the last four digits, never
    more, whatever the provider sent (many show the first six as well)."""
    if shown is None:
        return None
    last_four = "".join(c for c in shown if c.isdigit())[-4:]
    return "************" + last_four if last_four else None


class PaymentDeclined(Exception):
    """The provider said no (insufficient funds, a blocked card ...): nothing was charged."""


class PaymentProviderUnavailable(Exception):
    """The provider answered that it failed: nothing was charged (or credited)."""


class PaymentProviderNoAnswer(Exception):
    """The provider's answer never came (its time limit passed, the connection was lost):
    what it did is not known until it is asked (PaymentProvider.outcome)."""


@dataclass(frozen=True, slots=True)
class CreditApproved:
    psp_reference: str


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """What the provider did under one reference: a CHARGE or a CREDIT."""

    reference: str
    operation: str
    amount: Decimal
    currency: str
    at: datetime
    psp_reference: str
    masked_card_number: str | None = None


class PaymentProvider(Protocol):
    """The payment provider. Every call names a reference (the transaction's id for a
    capture, the credit's id for a credit), and a provider does what a reference asks at
    most once: asked again, it answers what it did the first time."""

    async def capture(
        self,
        reference: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        """Charge the amount, or raise PaymentDeclined / PaymentProviderUnavailable (an
        answer) or PaymentProviderNoAnswer (none came)."""

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        """Give money back on a captured transaction, or raise PaymentProviderUnavailable
        or PaymentProviderNoAnswer."""

    async def outcome(self, reference: str) -> ProviderEntry | None:
        """What the provider did under this reference (None: nothing), for settling an
        attempt whose answer never came."""


class CreditStatus(StrEnum):
    CREATED = "CREATED"
    CREDITED = "CREDITED"
    FAILED = "FAILED"


@dataclass(slots=True)
class Credit:
    """Money given back on a captured transaction (refunds)."""

    id: str
    order_id: str
    order_version: int
    payment_id: str
    transaction_id: str
    amount: Decimal
    currency: str
    status: CreditStatus
    created_at: datetime
    refund_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """A capture as the order shows it."""

    order_version: int
    payment_id: str
    transaction_id: str
    amount: Decimal
    currency: str
    completed_at: datetime | None


def payment_refs(payments: list[Payment]) -> list[PaymentRef]:
    return [
        PaymentRef(p.order_version, p.id, t.id, t.amount, t.currency, t.captured_at)
        for p in payments
        for t in p.transactions
        if t.status in _TAKEN
    ]
