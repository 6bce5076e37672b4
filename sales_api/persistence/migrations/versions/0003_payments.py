"""Payments, transactions and credits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_index("ix_payments_organisation_id", "payments", ["organisation_id"])
    op.create_table(
        "transactions",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "payment_id",
            sa.String(16),
            sa.ForeignKey("payments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("payment_type", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("credited_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_token", sa.String(200), nullable=True),
        sa.Column("masked_card_number", sa.String(32), nullable=True),
        sa.Column("psp_reference", sa.String(100), nullable=True),
        sa.Column("operation_log", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_transactions_payment_id", "transactions", ["payment_id"])
    op.create_table(
        "credits",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column(
            "payment_id",
            sa.String(16),
            sa.ForeignKey("payments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "transaction_id",
            sa.String(16),
            sa.ForeignKey("transactions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_credits_order_id", "credits", ["order_id"])
    op.create_index("ix_credits_payment_id", "credits", ["payment_id"])


def downgrade() -> None:
    op.drop_table("credits")
    op.drop_table("transactions")
    op.drop_table("payments")
