"""The audit trail (order events) and webhooks: subscriptions, and the deliveries written
with each event (the webhook outbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from sales_api.persistence.types import UTCDateTime


def utc_column(*, nullable: bool = False) -> datetime:
    column: datetime = Field(sa_column=Column(UTCDateTime(), nullable=nullable))
    return column


class OrderEventRow(SQLModel, table=True):
    """An order's audit trail, in the order it happened (`seq`)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_organisation_seq", "organisation_id", "seq"),)

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    organisation_id: int
    order_id: str = Field(
        sa_column=Column(
            String(16), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    order_version: int
    type: str = Field(max_length=40)
    occurred_at: datetime = utc_column()
    client_id: str | None = Field(default=None, max_length=200)
    pos: str | None = Field(default=None, max_length=200)
    distribution_channel_id: str | None = Field(default=None, max_length=200)
    correlation_id: str | None = Field(default=None, max_length=64)
    subject_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))


order_events = OrderEventRow.__table__  # type: ignore[attr-defined]


class WebhookSubscriptionRow(SQLModel, table=True):
    """An organisation's URL for the event types it names; its secret signs deliveries."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_org", "organisation_id", "active"),)

    id: str = Field(primary_key=True, max_length=16)
    organisation_id: int
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)
    active: bool
    created_at: datetime = utc_column()
    deleted_at: datetime | None = utc_column(nullable=True)


class WebhookDeliveryRow(SQLModel, table=True):
    """One event to one subscription: PENDING until a 2xx (DELIVERED) or a day of
    retries (FAILED); leased to one delivery worker at a time."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_org", "organisation_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=16)
    subscription_id: str = Field(
        sa_column=Column(
            String(16),
            ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    organisation_id: int
    event_id: str = Field(
        sa_column=Column(
            String(16),
            ForeignKey("order_events.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    event_type: str = Field(max_length=40)
    status: str = Field(max_length=16)
    attempts: int
    last_response_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_attempt_at: datetime | None = utc_column(nullable=True)
    next_attempt_at: datetime | None = utc_column(nullable=True)
    delivered_at: datetime | None = utc_column(nullable=True)
    lease_until: datetime | None = utc_column(nullable=True)
    created_at: datetime = utc_column()


webhook_subscriptions = WebhookSubscriptionRow.__table__  # type: ignore[attr-defined]
webhook_deliveries = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
