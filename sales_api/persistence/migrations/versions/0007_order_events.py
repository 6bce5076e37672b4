"""Order events: every order's audit trail.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(16), nullable=False, unique=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=True),
        sa.Column("pos", sa.String(200), nullable=True),
        sa.Column("distribution_channel_id", sa.String(200), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_index(
        "ix_order_events_organisation_seq", "order_events", ["organisation_id", "seq"]
    )


def downgrade() -> None:
    op.drop_table("order_events")
