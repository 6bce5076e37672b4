"""Refunds of orders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.money import from_minor_units, to_minor_units
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus
from sales_api.persistence import tables as t


def refund_from_row(row: Mapping[Any, Any]) -> Refund:
    return Refund(
        id=row["id"],
        order_id=row["order_id"],
        status=RefundStatus(row["status"]),
        order_version=row["order_version"],
        amount=from_minor_units(row["amount"]),
        fee=from_minor_units(row["fee"]),
        currency=row["currency"],
        line_ids=list(row["line_ids"]),
        disabled_ticket_ids=list(row["disabled_ticket_ids"]),
        reason=row["reason"],
        created_at=row["created_at"],
        purpose=RefundPurpose(row["purpose"]),
    )


def refund_to_row(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "order_id": refund.order_id,
        "status": refund.status.value,
        "order_version": refund.order_version,
        "amount": to_minor_units(refund.amount),
        "fee": to_minor_units(refund.fee),
        "currency": refund.currency,
        "line_ids": list(refund.line_ids),
        "disabled_ticket_ids": list(refund.disabled_ticket_ids),
        "reason": refund.reason,
        "created_at": refund.created_at,
        "purpose": refund.purpose.value,
    }


class SqlRefundRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, refund_id: str) -> Refund | None:
        row = (
            (await self._connection.execute(select(t.refunds).where(t.refunds.c.id == refund_id)))
            .mappings()
            .first()
        )
        return refund_from_row(row) if row else None

    async def pending(self, order_id: str) -> list[Refund]:
        """The order's refunds that are not finished (credits not all answered)."""
        rows = await self._connection.execute(
            select(t.refunds).where(
                t.refunds.c.order_id == order_id,
                t.refunds.c.status == RefundStatus.PENDING.value,
            )
        )
        return [refund_from_row(row) for row in rows.mappings()]

    async def pending_line_ids(self, order_id: str) -> set[str]:
        rows = await self._connection.execute(
            select(t.refunds.c.line_ids).where(
                t.refunds.c.order_id == order_id,
                t.refunds.c.status == RefundStatus.PENDING.value,
            )
        )
        return {line_id for (line_ids,) in rows for line_id in line_ids}

    async def save(self, refund: Refund, *, new: bool) -> None:
        row = refund_to_row(refund)
        if new:
            await self._connection.execute(insert(t.refunds).values(row))
        else:
            await self._connection.execute(
                update(t.refunds).where(t.refunds.c.id == refund.id).values(row)
            )
