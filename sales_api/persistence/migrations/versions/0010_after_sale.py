"""After-sale: fees, disrupted service journeys, the change fee and disruption of a line,
and when an order's DRAFT version began (its longest hold runs from there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# The hold before it was a setting: a DRAFT of before this revision began at most this long
# before its expiry.
OLD_HOLD = timedelta(minutes=20)


def upgrade() -> None:
    op.add_column("orders", sa.Column("draft_started_at", UTCDateTime(), nullable=True))
    op.add_column(
        "order_lines",
        sa.Column("change_fee", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column(
        "order_lines",
        sa.Column("disrupted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "order_fees",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id",
            sa.String(16),
            sa.ForeignKey("orders.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("order_version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_rate_basis_points", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_order_fees_order_id", "order_fees", ["order_id"])
    op.create_table(
        "disrupted_service_journeys",
        sa.Column("service_journey_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("disrupted_at", UTCDateTime(), nullable=False),
    )
    orders = sa.table(
        "orders",
        sa.column("id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("expire_at", UTCDateTime()),
        sa.column("draft_started_at", UTCDateTime()),
    )
    bind = op.get_bind()
    drafts = bind.execute(
        sa.select(orders.c.id, orders.c.expire_at).where(
            orders.c.status == "DRAFT", orders.c.expire_at.is_not(None)
        )
    ).all()
    for order_id, expire_at in drafts:
        bind.execute(
            orders.update()
            .where(orders.c.id == order_id)
            .values(draft_started_at=expire_at - OLD_HOLD)
        )


def downgrade() -> None:
    op.drop_table("disrupted_service_journeys")
    op.drop_index("ix_order_fees_order_id", "order_fees")
    op.drop_table("order_fees")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("disrupted")
        batch.drop_column("change_fee")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("draft_started_at")
