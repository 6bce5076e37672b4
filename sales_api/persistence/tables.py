"""SQLModel tables. Money is integer minor units (øre); times are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from sales_api.persistence.types import UTCDateTime


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_org_created", "organisation_id", "created_at", "id"),
        CheckConstraint("balance >= 0", name="ck_orders_balance_not_negative"),
    )

    id: str = Field(primary_key=True, max_length=16)
    organisation_id: int = Field(index=True)
    version: int
    status: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    pos: str = Field(max_length=200)
    distribution_channel_id: str = Field(max_length=200)
    external_reference: str | None = Field(default=None, max_length=100)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=200)
    total_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    total_tax_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False))
    captured_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    credited_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = utc_column()
    last_confirmed_at: datetime | None = utc_column(nullable=True)
    expire_at: datetime | None = utc_column(nullable=True)
    confirmed_state: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    draft_started_at: datetime | None = utc_column(nullable=True)


class OrderTravellerRow(SQLModel, table=True):
    __tablename__ = "order_travellers"

    order_id: str = Field(
        sa_column=Column(String(16), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    )
    traveller_id: str = Field(primary_key=True, max_length=64)
    position: int
    user_type: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)


class OrderLineRow(SQLModel, table=True):
    __tablename__ = "order_lines"

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int
    status: str = Field(max_length=16)
    product_id: str = Field(max_length=64)
    product_name: str = Field(max_length=200)
    fare_class: str = Field(max_length=32)
    refundable: bool
    changeable: bool
    change_fee: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    disrupted: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    service_journey_id: str = Field(max_length=64, index=True)
    from_stop_id: str = Field(max_length=64)
    from_stop_name: str = Field(max_length=200)
    to_stop_id: str = Field(max_length=64)
    to_stop_name: str = Field(max_length=200)
    departure_time: datetime = utc_column()
    arrival_time: datetime = utc_column()
    traveller_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    price_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    tax_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    tax_rate_basis_points: int
    currency: str = Field(max_length=3)
    created_at: datetime = utc_column()


class OrderFeeRow(SQLModel, table=True):
    """Fees of an order (negative for COMPENSATION); `active` while they count."""

    __tablename__ = "order_fees"

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int
    order_version: int
    type: str = Field(max_length=16)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    tax_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    tax_rate_basis_points: int
    currency: str = Field(max_length=3)
    description: str = Field(max_length=200)
    created_at: datetime = utc_column()
    active: bool


class DisruptedServiceJourneyRow(SQLModel, table=True):
    """Dated service journeys no longer sold (disruptServiceJourney), for everyone."""

    __tablename__ = "disrupted_service_journeys"

    service_journey_id: str = Field(primary_key=True, max_length=64)
    reason: str = Field(max_length=500)
    organisation_id: int
    client_id: str = Field(max_length=200)
    disrupted_at: datetime = utc_column()


class DistributionChannelRow(SQLModel, table=True):
    __tablename__ = "distribution_channels"

    id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=200)


class DistributionChannelOrganisationRow(SQLModel, table=True):
    __tablename__ = "distribution_channel_organisations"

    channel_id: str = Field(
        sa_column=Column(
            String(200),
            ForeignKey("distribution_channels.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    organisation_id: int = Field(primary_key=True)


orders = OrderRow.__table__  # type: ignore[attr-defined]
order_travellers = OrderTravellerRow.__table__  # type: ignore[attr-defined]
order_lines = OrderLineRow.__table__  # type: ignore[attr-defined]
distribution_channels = DistributionChannelRow.__table__  # type: ignore[attr-defined]
order_fees = OrderFeeRow.__table__  # type: ignore[attr-defined]
disrupted_service_journeys = DisruptedServiceJourneyRow.__table__  # type: ignore[attr-defined]
distribution_channel_organisations = DistributionChannelOrganisationRow.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata


class CatalogueRow(SQLModel, table=True):
    """The catalogue data file as loaded by `sales-api seed` (one row, replaced on re-seed)."""

    __tablename__ = "catalogue"

    id: int = Field(primary_key=True)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    loaded_at: datetime = utc_column()


class ReservationRow(SQLModel, table=True):
    __tablename__ = "reservations"

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_line_id: str = Field(
        sa_column=Column(
            String(16),
            ForeignKey("order_lines.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    status: str = Field(max_length=16)
    service_journey_id: str = Field(max_length=100, index=True)
    from_stop_id: str = Field(max_length=64)
    from_stop_name: str = Field(max_length=200)
    to_stop_id: str = Field(max_length=64)
    to_stop_name: str = Field(max_length=200)
    from_index: int
    to_index: int
    seats: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    expire_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = utc_column()


class SeatHoldRow(SQLModel, table=True):
    """One seat on one leg of a journey, held by one reservation. The unique key is what
    makes selling a seat twice impossible, whatever the application does."""

    __tablename__ = "seat_holds"
    __table_args__ = (
        UniqueConstraint(
            "service_journey_id", "car_number", "seat_number", "leg", name="uq_seat_holds_seat_leg"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reservation_id: str = Field(
        sa_column=Column(
            String(16),
            ForeignKey("reservations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    service_journey_id: str = Field(max_length=100)
    car_number: int
    seat_number: str = Field(max_length=8)
    leg: int
    expire_at: datetime | None = utc_column(nullable=True)


class JourneyLockRow(SQLModel, table=True):
    """A row per dated journey that writers lock (FOR UPDATE) before they read seats."""

    __tablename__ = "journey_locks"

    service_journey_id: str = Field(primary_key=True, max_length=100)


class IdempotencyKeyRow(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    organisation_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=200)
    operation: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_column(index=True)


class ServiceSecretRow(SQLModel, table=True):
    """Secrets every process of a deployment must share (the offer signing key)."""

    __tablename__ = "service_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


catalogue = CatalogueRow.__table__  # type: ignore[attr-defined]
reservations = ReservationRow.__table__  # type: ignore[attr-defined]
seat_holds = SeatHoldRow.__table__  # type: ignore[attr-defined]
journey_locks = JourneyLockRow.__table__  # type: ignore[attr-defined]
idempotency_keys = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]
service_secrets = ServiceSecretRow.__table__  # type: ignore[attr-defined]


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payments"

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_version: int
    organisation_id: int = Field(index=True)
    total_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    active: bool
    created_at: datetime = utc_column()


class TransactionRow(SQLModel, table=True):
    __tablename__ = "transactions"
    # Only the PENDING ones (the reconciler's): a whole-column index on status would tempt
    # SQLite's planner away from payment_id when it reads an order's captures.
    __table_args__ = (
        Index(
            "ix_transactions_pending",
            "status",
            sqlite_where=text("status = 'PENDING'"),
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: str = Field(primary_key=True, max_length=16)
    payment_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    payment_type: str = Field(max_length=16)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    credited_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    payment_token: str | None = Field(default=None, max_length=200)
    masked_card_number: str | None = Field(default=None, max_length=32)
    psp_reference: str | None = Field(default=None, max_length=100)
    operation_log: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_column()
    captured_at: datetime | None = utc_column(nullable=True)
    sent_at: datetime | None = utc_column(nullable=True)
    """When the capture was sent to the provider (kept while PENDING, for the reconciler)."""


class CreditRow(SQLModel, table=True):
    __tablename__ = "credits"
    __table_args__ = (
        Index(
            "ix_credits_created",
            "status",
            sqlite_where=text("status = 'CREATED'"),
            postgresql_where=text("status = 'CREATED'"),
        ),
    )

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_version: int
    payment_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    transaction_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False
        )
    )
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    status: str = Field(max_length=16)
    created_at: datetime = utc_column()
    refund_id: str | None = Field(default=None, max_length=16, index=True)


payments = PaymentRow.__table__  # type: ignore[attr-defined]
transactions = TransactionRow.__table__  # type: ignore[attr-defined]
credits = CreditRow.__table__  # type: ignore[attr-defined]


class TicketGroupRow(SQLModel, table=True):
    __tablename__ = "ticket_distribution_groups"
    __table_args__ = (
        UniqueConstraint("order_line_id", "order_version", name="uq_ticket_groups_line_version"),
    )

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_line_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("order_lines.id", ondelete="CASCADE"), nullable=False
        )
    )
    order_version: int


class TicketRow(SQLModel, table=True):
    __tablename__ = "ticket_distributions"

    id: str = Field(primary_key=True, max_length=16)
    group_id: str = Field(
        sa_column=Column(
            String(16),
            ForeignKey("ticket_distribution_groups.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_line_id: str = Field(max_length=16, index=True)
    traveller_id: str = Field(max_length=64)
    status: str = Field(max_length=16)
    distribution_method: str | None = Field(default=None, max_length=16)
    ticket_token: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: datetime = utc_column()
    valid_to: datetime = utc_column()
    created_at: datetime = utc_column()
    distributed_at: datetime | None = utc_column(nullable=True)


class TicketKeyRow(SQLModel, table=True):
    """Ticket signing keys; retired keys stay published so old tickets still verify."""

    __tablename__ = "ticket_keys"

    kid: str = Field(primary_key=True, max_length=100)
    private_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_column()
    retired_at: datetime | None = utc_column(nullable=True)


class ReceiptRow(SQLModel, table=True):
    __tablename__ = "receipts"

    id: str = Field(primary_key=True, max_length=16)
    reference: str = Field(max_length=32, unique=True)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_version: int
    language: str = Field(max_length=3)
    email: str | None = Field(default=None, max_length=200)
    phone_number: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=16)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    total_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    total_tax_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    created_at: datetime = utc_column(index=True)
    sent_at: datetime | None = utc_column(nullable=True)


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=16)
    channel: str = Field(max_length=8)
    recipient: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    attachments: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    receipt_id: str | None = Field(default=None, max_length=16, index=True)
    status: str = Field(max_length=16)
    attempts: int
    next_attempt_at: datetime | None = utc_column(nullable=True)
    lease_until: datetime | None = utc_column(nullable=True)
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


ticket_groups = TicketGroupRow.__table__  # type: ignore[attr-defined]
tickets = TicketRow.__table__  # type: ignore[attr-defined]
ticket_keys = TicketKeyRow.__table__  # type: ignore[attr-defined]
receipts = ReceiptRow.__table__  # type: ignore[attr-defined]
outbox = OutboxRow.__table__  # type: ignore[attr-defined]


class RefundRow(SQLModel, table=True):
    """A refund, PENDING while the provider has not credited all of it (retry with the same
    idempotency key), COMPLETED when the lines are refunded."""

    __tablename__ = "refunds"

    id: str = Field(primary_key=True, max_length=16)
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: str = Field(max_length=16)
    order_version: int
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    fee: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    line_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    disabled_ticket_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_column()
    purpose: str = Field(default="LINES", max_length=16)


refunds = RefundRow.__table__  # type: ignore[attr-defined]


# The audit trail and webhooks live in their own module; one metadata holds them all.
from sales_api.persistence.event_tables import (  # noqa: E402
    order_events as order_events,
)
from sales_api.persistence.event_tables import (  # noqa: E402
    webhook_deliveries as webhook_deliveries,
)
from sales_api.persistence.event_tables import (  # noqa: E402
    webhook_subscriptions as webhook_subscriptions,
)
