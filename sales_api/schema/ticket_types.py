"""Tickets, their groups and verification; receipts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from sales_api.domain import receipts as domain_receipts
from sales_api.domain import tickets as domain
from sales_api.queries.selection import Built
from sales_api.schema.descriptions import idempotency_key_field
from sales_api.schema.filters import DateTimeFilter, IdFilter
from sales_api.schema.reads import one_by_id

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
    ticket_id: strawberry.Private[str | None] = None
    ticket_distribution: Built | None = strawberry.field(
        graphql_type=TicketDistributionType | None,
        resolver=one_by_id("TicketDistribution", "ticket_id"),
    )


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


@strawberry.input(name="TicketDistributionStatusFilter")
class TicketDistributionStatusFilter:
    eq: domain.TicketStatus | None = strawberry.field(default=None, description="This status.")
    ne: domain.TicketStatus | None = strawberry.field(
        default=None, description="Any status but this."
    )
    in_: list[domain.TicketStatus] | None = strawberry.field(
        default=None, name="in", description="One of these statuses."
    )
    nin: list[domain.TicketStatus] | None = strawberry.field(
        default=None, description="None of these statuses."
    )


@strawberry.input(name="TicketDistributionFilter")
class TicketDistributionFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The ticket's id.")
    order_id: IdFilter | None = strawberry.field(
        default=None, description="The order it belongs to."
    )
    order_line_id: IdFilter | None = strawberry.field(
        default=None, description="The order line it is for."
    )
    status: TicketDistributionStatusFilter | None = strawberry.field(
        default=None, description="The ticket's status."
    )
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it was generated."
    )


@strawberry.input(name="ReceiptFilter")
class ReceiptFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The receipt's id.")
    order_id: IdFilter | None = strawberry.field(default=None, description="The order it is for.")
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When it was made."
    )


@strawberry.input(name="GenerateTicketsInput")
class GenerateTicketsInput:
    order_id: strawberry.ID = strawberry.field(description="The CONFIRMED order.")


@strawberry.input(name="DistributeTicketsInput")
class DistributeTicketsInput:
    order_id: strawberry.ID = strawberry.field(
        description="The CONFIRMED order whose tickets are generated."
    )
    distribution_method: domain.DistributionMethod = strawberry.field(
        description="APP, PDF or EMAIL (needs email)."
    )
    email: str | None = strawberry.field(default=None, description="Needed for EMAIL.")
    language: domain.Language | None = strawberry.field(
        default=domain.Language.NOB, description="Language of the PDFs and e-mail; default NOB."
    )


@strawberry.input(name="SendReceiptInput")
class SendReceiptInput:
    order_id: strawberry.ID = strawberry.field(description="The order.")
    order_version: int | None = strawberry.field(
        default=None, description="Defaults to the order's current version."
    )
    email: str | None = strawberry.field(
        default=None, description="One of email or phoneNumber; email wins when both are given."
    )
    phone_number: str | None = strawberry.field(
        default=None,
        description="Digits, optionally a leading +: sent by SMS when no e-mail is given or known.",
    )
    language: domain.Language | None = strawberry.field(
        default=domain.Language.NOB, description="Language of the receipt; default NOB."
    )
    idempotency_key: str | None = idempotency_key_field()
