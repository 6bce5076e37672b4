"""Refunds, and the refund each credit belongs to.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credits") as batch:
        batch.add_column(sa.Column("refund_id", sa.String(16), nullable=True))
        batch.create_index("ix_credits_refund_id", ["refund_id"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("line_ids", sa.JSON(), nullable=False),
        sa.Column("disabled_ticket_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    with op.batch_alter_table("credits") as batch:
        batch.drop_index("ix_credits_refund_id")
        batch.drop_column("refund_id")
