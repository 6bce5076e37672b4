"""Tickets and their signing keys, receipts, and the outbox of messages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _order_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "ticket_distribution_groups",
        sa.Column("id", sa.String(16), primary_key=True),
        _order_fk(),
        sa.Column(
            "order_line_id",
            sa.String(16),
            sa.ForeignKey("order_lines.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "order_line_id", "order_version", name="uq_ticket_groups_line_version"
        ),
    )
    op.create_index(
        "ix_ticket_distribution_groups_order_id", "ticket_distribution_groups", ["order_id"]
    )
    op.create_table(
        "ticket_distributions",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "group_id",
            sa.String(16),
            sa.ForeignKey("ticket_distribution_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _order_fk(),
        sa.Column("order_line_id", sa.String(16), nullable=False),
        sa.Column("traveller_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("distribution_method", sa.String(16), nullable=True),
        sa.Column("ticket_token", sa.Text(), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_to", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("distributed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_ticket_distributions_group_id", "ticket_distributions", ["group_id"])
    op.create_index("ix_ticket_distributions_order_id", "ticket_distributions", ["order_id"])
    op.create_index(
        "ix_ticket_distributions_order_line_id", "ticket_distributions", ["order_line_id"]
    )
    op.create_table(
        "ticket_keys",
        sa.Column("kid", sa.String(100), primary_key=True),
        sa.Column("private_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        _order_fk(),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(3), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("phone_number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("total_tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_receipts_order_id", "receipts", ["order_id"])
    op.create_index("ix_receipts_created_at", "receipts", ["created_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("receipt_id", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_receipt_id", "outbox", ["receipt_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("receipts")
    op.drop_table("ticket_keys")
    op.drop_table("ticket_distributions")
    op.drop_table("ticket_distribution_groups")
