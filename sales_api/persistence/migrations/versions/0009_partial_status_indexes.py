"""Partial indexes on the statuses the reconciler looks for, instead of whole columns.

A whole-column index on transactions.status (10,000 CAPTURED rows, say) led SQLite's
planner, without statistics, to read an order's captures through it instead of through
payments.order_id: 12 ms instead of 0.2 ms per order read.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

PENDING = sa.text("status = 'PENDING'")
CREATED = sa.text("status = 'CREATED'")


def upgrade() -> None:
    op.drop_index("ix_transactions_status", "transactions")
    op.drop_index("ix_credits_status", "credits")
    op.create_index(
        "ix_transactions_pending",
        "transactions",
        ["status"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_credits_created", "credits", ["status"], sqlite_where=CREATED, postgresql_where=CREATED
    )


def downgrade() -> None:
    op.drop_index("ix_credits_created", "credits")
    op.drop_index("ix_transactions_pending", "transactions")
    op.create_index("ix_credits_status", "credits", ["status"])
    op.create_index("ix_transactions_status", "transactions", ["status"])
