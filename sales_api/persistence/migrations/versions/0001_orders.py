"""Orders, their travellers and lines, and the distribution channel registry.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("pos", sa.String(200), nullable=False),
        sa.Column("distribution_channel_id", sa.String(200), nullable=False),
        sa.Column("external_reference", sa.String(100), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=True),
        sa.Column("contact_phone", sa.String(200), nullable=True),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("total_tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=False),
        sa.Column("credited_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("expire_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("balance >= 0", name="ck_orders_balance_not_negative"),
    )
    op.create_index("ix_orders_organisation_id", "orders", ["organisation_id"])
    op.create_index("ix_orders_org_created", "orders", ["organisation_id", "created_at", "id"])

    op.create_table(
        "order_travellers",
        sa.Column(
            "order_id",
            sa.String(16),
            sa.ForeignKey("orders.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("traveller_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
    )

    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("fare_class", sa.String(32), nullable=False),
        sa.Column("refundable", sa.Boolean(), nullable=False),
        sa.Column("changeable", sa.Boolean(), nullable=False),
        sa.Column("service_journey_id", sa.String(64), nullable=False),
        sa.Column("from_stop_id", sa.String(64), nullable=False),
        sa.Column("from_stop_name", sa.String(200), nullable=False),
        sa.Column("to_stop_id", sa.String(64), nullable=False),
        sa.Column("to_stop_name", sa.String(200), nullable=False),
        sa.Column("departure_time", UTCDateTime(), nullable=False),
        sa.Column("arrival_time", UTCDateTime(), nullable=False),
        sa.Column("traveller_ids", sa.JSON(), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_basis_points", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"])
    op.create_index("ix_order_lines_service_journey_id", "order_lines", ["service_journey_id"])

    op.create_table(
        "distribution_channels",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "distribution_channel_organisations",
        sa.Column(
            "channel_id",
            sa.String(200),
            sa.ForeignKey("distribution_channels.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("organisation_id", sa.Integer(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("distribution_channel_organisations")
    op.drop_table("distribution_channels")
    op.drop_table("order_lines")
    op.drop_table("order_travellers")
    op.drop_table("orders")
