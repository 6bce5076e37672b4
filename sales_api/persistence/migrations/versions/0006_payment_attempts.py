"""When a capture was sent to the payment provider (a PENDING transaction's attempt), and
what a refund's money is for (refunded lines, or a DRAFT version's money given back).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
    op.create_index("ix_transactions_status", "transactions", ["status"])
    op.create_index("ix_credits_status", "credits", ["status"])
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(16), nullable=False, server_default="LINES")
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("purpose")
    op.drop_index("ix_credits_status", "credits")
    op.drop_index("ix_transactions_status", "transactions")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("sent_at")
