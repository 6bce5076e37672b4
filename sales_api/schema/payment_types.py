"""Payments, transactions, credits and payment references."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from sales_api.domain import payments as domain
from sales_api.schema.descriptions import idempotency_key_field
from sales_api.schema.filters import AmountFilter, DateTimeFilter, IdFilter, IntFilter, StringFilter

PaymentType = strawberry.enum(domain.PaymentType, name="PaymentType")
PaymentTypeGroup = strawberry.enum(domain.PaymentTypeGroup, name="PaymentTypeGroup")
TransactionStatus = strawberry.enum(domain.TransactionStatus, name="TransactionStatus")
CreditStatus = strawberry.enum(domain.CreditStatus, name="CreditStatus")


@strawberry.type(name="TransactionOperation")
class TransactionOperationType:
    operation: str = strawberry.field(description="CREATE, CAPTURE, CANCEL, CREDIT or FAIL")
    amount: Decimal
    status: domain.TransactionStatus
    at: datetime


@strawberry.type(name="Transaction")
class TransactionType:
    id: strawberry.ID
    payment_id: strawberry.ID
    payment_type: domain.PaymentType
    payment_type_group: domain.PaymentTypeGroup
    amount: Decimal
    currency: str
    status: domain.TransactionStatus
    masked_card_number: str | None = strawberry.field(
        description="Last four digits for cards, never more."
    )
    psp_reference: str | None
    operation_log: list[TransactionOperationType]
    created_at: datetime
    captured_at: datetime | None


@strawberry.type(name="Credit")
class CreditType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_version: int
    payment_id: strawberry.ID
    transaction_id: strawberry.ID
    amount: Decimal
    currency: str
    status: domain.CreditStatus
    created_at: datetime


@strawberry.type(name="Payment")
class PaymentType_:
    id: strawberry.ID
    order_id: strawberry.ID
    order_version: int
    organisation_id: int
    total_amount: Decimal
    currency: str
    active: bool
    transactions: list[TransactionType]
    credits: list[CreditType]
    created_at: datetime


@strawberry.type(name="PaymentRef")
class PaymentRefType:
    order_version: int
    payment_id: strawberry.ID
    transaction_id: strawberry.ID
    amount: Decimal
    currency: str
    completed_at: datetime | None


@strawberry.input(name="TransactionStatusFilter")
class TransactionStatusFilter:
    eq: domain.TransactionStatus | None = strawberry.field(default=None, description="This status.")
    ne: domain.TransactionStatus | None = strawberry.field(
        default=None, description="Any status but this."
    )
    in_: list[domain.TransactionStatus] | None = strawberry.field(
        default=None, name="in", description="One of these statuses."
    )
    nin: list[domain.TransactionStatus] | None = strawberry.field(
        default=None, description="None of these statuses."
    )


@strawberry.input(name="PaymentFilter")
class PaymentFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The payment's id.")
    order_id: IdFilter | None = strawberry.field(default=None, description="The order it is for.")
    order_version: IntFilter | None = strawberry.field(
        default=None, description="The order version it was opened for."
    )
    total_amount: AmountFilter | None = strawberry.field(
        default=None, description='The amount it asks, a decimal string like "805.50".'
    )
    currency: StringFilter | None = strawberry.field(
        default=None, description="ISO 4217 code, e.g. NOK."
    )
    transaction_status: TransactionStatusFilter | None = strawberry.field(
        default=None, description="Payments having at least one transaction in this status."
    )
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it was opened."
    )


@strawberry.input(name="CreditFilter")
class CreditFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The credit's id.")
    order_id: IdFilter | None = strawberry.field(
        default=None, description="The order it gave money back for."
    )
    payment_id: IdFilter | None = strawberry.field(
        default=None, description="The payment whose transaction it credits."
    )
    amount: AmountFilter | None = strawberry.field(
        default=None, description='The amount given back, a decimal string like "805.50".'
    )
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it was recorded."
    )


@strawberry.input(name="CreatePaymentInput")
class CreatePaymentInput:
    order_id: strawberry.ID = strawberry.field(description="The order to pay.")
    order_version: int | None = strawberry.field(
        default=None, description="Defaults to the order's current version."
    )
    total_amount: Decimal | None = strawberry.field(
        default=None, description="Defaults to the order's balance."
    )
    currency: str | None = strawberry.field(
        default=None,
        description=(
            "ISO 4217 code; must be the order's currency (CURRENCY_MISMATCH); default: the order's."
        ),
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="UpdatePaymentInput")
class UpdatePaymentInput:
    payment_id: strawberry.ID = strawberry.field(description="The payment's id.")
    active: bool | None = strawberry.field(
        default=None,
        description=(
            "false deactivates the payment; true reactivates it (for the order's current version "
            "only)."
        ),
    )
    total_amount: Decimal | None = strawberry.field(
        default=None,
        description=(
            "The new amount, a decimal above 0.00; only while nothing of the payment is captured."
        ),
    )


@strawberry.input(name="CreateTransactionInput")
class CreateTransactionInput:
    payment_id: strawberry.ID = strawberry.field(
        description="The active payment it takes money for."
    )
    payment_type: domain.PaymentType = strawberry.field(
        description="How the customer pays, e.g. VISA."
    )
    amount: Decimal = strawberry.field(
        description=(
            "Above 0.00 and at most what is unpaid on the payment and the order's balance, e.g. "
            '"805.50".'
        )
    )
    payment_token: str | None = strawberry.field(
        default=None, description="Opaque token from the payment provider's client SDK."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="TransactionRefInput")
class TransactionRefInput:
    transaction_id: strawberry.ID = strawberry.field(description="The transaction's id.")
    idempotency_key: str | None = idempotency_key_field()
