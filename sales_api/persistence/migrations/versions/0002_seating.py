"""Catalogue, reservations, seat holds per leg, journey locks, idempotency keys, secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sales_api.persistence.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("confirmed_state", sa.JSON(), nullable=True))

    op.create_table(
        "catalogue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column(
            "order_id", sa.String(16), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "order_line_id",
            sa.String(16),
            sa.ForeignKey("order_lines.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("service_journey_id", sa.String(100), nullable=False),
        sa.Column("from_stop_id", sa.String(64), nullable=False),
        sa.Column("from_stop_name", sa.String(200), nullable=False),
        sa.Column("to_stop_id", sa.String(64), nullable=False),
        sa.Column("to_stop_name", sa.String(200), nullable=False),
        sa.Column("from_index", sa.Integer(), nullable=False),
        sa.Column("to_index", sa.Integer(), nullable=False),
        sa.Column("seats", sa.JSON(), nullable=False),
        sa.Column("expire_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_reservations_order_id", "reservations", ["order_id"])
    op.create_index("ix_reservations_service_journey_id", "reservations", ["service_journey_id"])
    op.create_table(
        "seat_holds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "reservation_id",
            sa.String(16),
            sa.ForeignKey("reservations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("service_journey_id", sa.String(100), nullable=False),
        sa.Column("car_number", sa.Integer(), nullable=False),
        sa.Column("seat_number", sa.String(8), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("expire_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint(
            "service_journey_id", "car_number", "seat_number", "leg", name="uq_seat_holds_seat_leg"
        ),
    )
    op.create_index("ix_seat_holds_reservation_id", "seat_holds", ["reservation_id"])
    op.create_table(
        "journey_locks",
        sa.Column("service_journey_id", sa.String(100), primary_key=True),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("organisation_id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_secrets")
    op.drop_table("idempotency_keys")
    op.drop_table("journey_locks")
    op.drop_table("seat_holds")
    op.drop_table("reservations")
    op.drop_table("catalogue")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("confirmed_state")
