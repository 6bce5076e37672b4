"""Batch functions behind the per-request dataloaders: one statement per batch of keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.orders import OrderLine, Reservation, Traveller
from sales_api.persistence import tables as t
from sales_api.persistence.mapping import line_from_row, reservation_from_row, traveller_from_row

T = TypeVar("T")


async def rows_by_order_ids(
    engine: AsyncEngine,
    table: Table,
    order_ids: Sequence[str],
    build: Callable[[Mapping[Any, Any]], T],
    *order: Column[Any],
) -> list[list[T]]:
    """One SELECT ... WHERE order_id IN (...), grouped back in the order of `order_ids`.
    Each batch has its own short connection: sibling fields resolve concurrently."""
    grouped: dict[str, list[T]] = defaultdict(list)
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(table).where(table.c.order_id.in_(list(order_ids))).order_by(*order)
        )
        for row in rows.mappings():
            grouped[row["order_id"]].append(build(row))
    return [grouped.get(order_id, []) for order_id in order_ids]


class OrderBatchReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def travellers_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Traveller]]:
        table = t.order_travellers
        return await rows_by_order_ids(
            self._engine, table, order_ids, traveller_from_row, table.c.position
        )

    async def order_lines_by_order_ids(self, order_ids: Sequence[str]) -> list[list[OrderLine]]:
        table = t.order_lines
        return await rows_by_order_ids(
            self._engine, table, order_ids, line_from_row, table.c.position
        )

    async def reservations_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Reservation]]:
        table = t.reservations
        return await rows_by_order_ids(
            self._engine, table, order_ids, reservation_from_row, table.c.created_at, table.c.id
        )
