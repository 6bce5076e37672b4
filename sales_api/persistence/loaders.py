"""Batch functions behind the per-request dataloaders: one statement per batch of keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.orders import OrderLine, Reservation, Traveller
from sales_api.persistence import tables as t
from sales_api.persistence.mapping import line_from_row, traveller_from_row
from sales_api.persistence.reservations_queries import reservations_by_order_ids


class OrderBatchReads:
    """Each call is one SELECT ... WHERE order_id IN (...) on its own short connection,
    since sibling fields resolve concurrently and must not share one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def travellers_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Traveller]]:
        grouped: dict[str, list[Traveller]] = defaultdict(list)
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(t.order_travellers)
                .where(t.order_travellers.c.order_id.in_(list(order_ids)))
                .order_by(t.order_travellers.c.order_id, t.order_travellers.c.position)
            )
            for row in rows.mappings():
                grouped[row["order_id"]].append(traveller_from_row(row))
        return [grouped.get(order_id, []) for order_id in order_ids]

    async def order_lines_by_order_ids(self, order_ids: Sequence[str]) -> list[list[OrderLine]]:
        grouped: dict[str, list[OrderLine]] = defaultdict(list)
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(t.order_lines)
                .where(t.order_lines.c.order_id.in_(list(order_ids)))
                .order_by(t.order_lines.c.order_id, t.order_lines.c.position)
            )
            for row in rows.mappings():
                grouped[row["order_id"]].append(line_from_row(row))
        return [grouped.get(order_id, []) for order_id in order_ids]

    async def reservations_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Reservation]]:
        return await reservations_by_order_ids(self._engine, order_ids)
