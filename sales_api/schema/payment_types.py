"""Payments, transactions, credits and payment references."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from sales_api.domain import payments as domain
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
    eq: domain.TransactionStatus | None = None
    ne: domain.TransactionStatus | None = None
    in_: list[domain.TransactionStatus] | None = strawberry.field(default=None, name="in")
    nin: list[domain.TransactionStatus] | None = None


@strawberry.input(name="PaymentFilter")
class PaymentFilter:
    id: IdFilter | None = None
    order_id: IdFilter | None = None
    order_version: IntFilter | None = None
    total_amount: AmountFilter | None = None
    currency: StringFilter | None = None
    transaction_status: TransactionStatusFilter | None = strawberry.field(
        default=None, description="Payments having at least one transaction in this status."
    )
    created_at: DateTimeFilter | None = None


@strawberry.input(name="CreditFilter")
class CreditFilter:
    id: IdFilter | None = None
    order_id: IdFilter | None = None
    payment_id: IdFilter | None = None
    amount: AmountFilter | None = None
    created_at: DateTimeFilter | None = None


@strawberry.input(name="CreatePaymentInput")
class CreatePaymentInput:
    order_id: strawberry.ID
    order_version: int | None = strawberry.field(
        default=None, description="Defaults to the order's current version."
    )
    total_amount: Decimal | None = strawberry.field(
        default=None, description="Defaults to the order's balance."
    )
    currency: str | None = None
    idempotency_key: str | None = None


@strawberry.input(name="UpdatePaymentInput")
class UpdatePaymentInput:
    payment_id: strawberry.ID
    active: bool | None = None
    total_amount: Decimal | None = None


@strawberry.input(name="CreateTransactionInput")
class CreateTransactionInput:
    payment_id: strawberry.ID
    payment_type: domain.PaymentType
    amount: Decimal
    payment_token: str | None = strawberry.field(
        default=None, description="Opaque token from the payment provider's client SDK."
    )
    idempotency_key: str | None = None


@strawberry.input(name="TransactionRefInput")
class TransactionRefInput:
    transaction_id: strawberry.ID
    idempotency_key: str | None = None
