"""Tickets, their groups and verification; receipts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from sales_api.domain import receipts as domain_receipts
from sales_api.domain import tickets as domain
from sales_api.schema.filters import DateTimeFilter, IdFilter

TicketDistributionStatus = strawberry.enum(domain.TicketStatus, name="TicketDistributionStatus")
DistributionMethod = strawberry.enum(domain.DistributionMethod, name="DistributionMethod")
Language = strawberry.enum(domain.Language, name="Language")
ReceiptStatus = strawberry.enum(domain_receipts.ReceiptStatus, name="ReceiptStatus")


@strawberry.type(name="TicketDistribution")
class TicketDistributionType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_line_id: strawberry.ID
    traveller_id: strawberry.ID
    status: domain.TicketStatus
    distribution_method: domain.DistributionMethod | None
    ticket_token: str = strawberry.field(
        description="Compact signed token (JWS) that an inspector can verify offline."
    )
    valid_from: datetime
    valid_to: datetime
    created_at: datetime
    distributed_at: datetime | None


@strawberry.type(name="TicketDistributionGroup")
class TicketDistributionGroupType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_line_id: strawberry.ID
    order_version: int
    ticket_distributions: list[TicketDistributionType]


@strawberry.type(name="TicketVerification")
class TicketVerificationType:
    valid: bool
    reason: str | None = strawberry.field(
        description="Why it is not valid: BAD_SIGNATURE, DISABLED, NOT_YET_VALID, EXPIRED, UNKNOWN."
    )
    ticket_distribution: TicketDistributionType | None


@strawberry.type(name="ReceiptLine")
class ReceiptLineType:
    description: str
    amount: Decimal
    tax_amount: Decimal
    tax_rate: str


@strawberry.type(name="Receipt")
class ReceiptType:
    id: strawberry.ID
    reference: str
    order_id: strawberry.ID
    order_version: int
    language: domain.Language
    email: str | None
    phone_number: str | None
    status: domain_receipts.ReceiptStatus
    lines: list[ReceiptLineType]
    total_amount: Decimal
    total_tax_amount: Decimal
    currency: str
    created_at: datetime
    sent_at: datetime | None


@strawberry.type(name="TicketDistributionConnection")
class TicketDistributionConnection:
    items: list[TicketDistributionType]
    page: int
    per_page: int
    total_items: int
    total_pages: int


@strawberry.type(name="ReceiptConnection")
class ReceiptConnection:
    items: list[ReceiptType]
    page: int
    per_page: int
    total_items: int
    total_pages: int


@strawberry.input(name="TicketDistributionStatusFilter")
class TicketDistributionStatusFilter:
    eq: domain.TicketStatus | None = None
    ne: domain.TicketStatus | None = None
    in_: list[domain.TicketStatus] | None = strawberry.field(default=None, name="in")
    nin: list[domain.TicketStatus] | None = None


@strawberry.input(name="TicketDistributionFilter")
class TicketDistributionFilter:
    id: IdFilter | None = None
    order_id: IdFilter | None = None
    order_line_id: IdFilter | None = None
    status: TicketDistributionStatusFilter | None = None
    created_at: DateTimeFilter | None = None


@strawberry.input(name="ReceiptFilter")
class ReceiptFilter:
    id: IdFilter | None = None
    order_id: IdFilter | None = None
    created_at: DateTimeFilter | None = None


@strawberry.input(name="GenerateTicketsInput")
class GenerateTicketsInput:
    order_id: strawberry.ID


@strawberry.input(name="DistributeTicketsInput")
class DistributeTicketsInput:
    order_id: strawberry.ID
    distribution_method: domain.DistributionMethod
    email: str | None = strawberry.field(default=None, description="Needed for EMAIL.")
    language: domain.Language | None = domain.Language.NOB


@strawberry.input(name="SendReceiptInput")
class SendReceiptInput:
    order_id: strawberry.ID
    order_version: int | None = strawberry.field(
        default=None, description="Defaults to the order's current version."
    )
    email: str | None = strawberry.field(
        default=None, description="One of email or phoneNumber; email wins when both are given."
    )
    phone_number: str | None = None
    language: domain.Language | None = domain.Language.NOB
    idempotency_key: str | None = None


# ------------------------------------------------------------------ mapping from the domain


def ticket_type(ticket: domain.TicketDistribution) -> TicketDistributionType:
    return TicketDistributionType(
        id=strawberry.ID(ticket.id),
        order_id=strawberry.ID(ticket.order_id),
        order_line_id=strawberry.ID(ticket.order_line_id),
        traveller_id=strawberry.ID(ticket.traveller_id),
        status=ticket.status,
        distribution_method=ticket.distribution_method,
        ticket_token=ticket.ticket_token,
        valid_from=ticket.valid_from,
        valid_to=ticket.valid_to,
        created_at=ticket.created_at,
        distributed_at=ticket.distributed_at,
    )


def group_type(group: domain.TicketDistributionGroup) -> TicketDistributionGroupType:
    return TicketDistributionGroupType(
        id=strawberry.ID(group.id),
        order_id=strawberry.ID(group.order_id),
        order_line_id=strawberry.ID(group.order_line_id),
        order_version=group.order_version,
        ticket_distributions=[ticket_type(t) for t in group.tickets],
    )


def receipt_type(receipt: domain_receipts.Receipt) -> ReceiptType:
    return ReceiptType(
        id=strawberry.ID(receipt.id),
        reference=receipt.reference,
        order_id=strawberry.ID(receipt.order_id),
        order_version=receipt.order_version,
        language=receipt.language,
        email=receipt.email,
        phone_number=receipt.phone_number,
        status=receipt.status,
        lines=[
            ReceiptLineType(
                description=line.description,
                amount=line.amount,
                tax_amount=line.tax_amount,
                tax_rate=f"{line.tax_rate:.2f}",
            )
            for line in receipt.lines
        ],
        total_amount=receipt.total_amount,
        total_tax_amount=receipt.total_tax_amount,
        currency=receipt.currency,
        created_at=receipt.created_at,
        sent_at=receipt.sent_at,
    )
