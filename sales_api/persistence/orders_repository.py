"""The order repository: aggregates for writes, headers and pages for reads."""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.orders import Order, OrderSummary
from sales_api.domain.paging import Comparison, ListQuery, Page, PageRequest
from sales_api.persistence import tables as t
from sales_api.persistence.filters import (
    FilterableColumn,
    comparison_clause,
    money,
    order_by,
    timestamp,
    where_clause,
)
from sales_api.persistence.mapping import (
    line_from_row,
    line_to_row,
    order_from_row,
    order_summary_from_row,
    order_to_row,
    traveller_from_row,
    traveller_rows,
)

ORDER_FILTER_COLUMNS = {
    "id": FilterableColumn(t.orders.c.id),
    "status": FilterableColumn(t.orders.c.status, lambda value: str(value)),
    "total_amount": money(t.orders.c.total_amount),
    "balance": money(t.orders.c.balance),
    "currency": FilterableColumn(t.orders.c.currency),
    "organisation_id": FilterableColumn(t.orders.c.organisation_id),
    "pos": FilterableColumn(t.orders.c.pos),
    "distribution_channel_id": FilterableColumn(t.orders.c.distribution_channel_id),
    "external_reference": FilterableColumn(t.orders.c.external_reference),
    "created_at": timestamp(t.orders.c.created_at),
}

ORDER_SORT_COLUMNS = {
    "created_at": t.orders.c.created_at,
    "total_amount": t.orders.c.total_amount,
    "id": t.orders.c.id,
}


def _service_journey_clause(comparison: Comparison):  # type: ignore[no-untyped-def]
    """`eq`/`in`: orders with at least one order line on the journey(s); `ne`/`nin`: orders
    with no order line on it (them), orders without lines included. Operators are ANDed."""
    journey = FilterableColumn(t.order_lines.c.service_journey_id)

    def has_line(on: Comparison):  # type: ignore[no-untyped-def]
        return exists().where(
            t.order_lines.c.order_id == t.orders.c.id, comparison_clause(journey, on)
        )

    clauses = []
    if comparison.eq is not None:
        clauses.append(has_line(Comparison(eq=comparison.eq)))
    if comparison.in_ is not None:
        clauses.append(has_line(Comparison(in_=comparison.in_)))
    if comparison.ne is not None:
        clauses.append(~has_line(Comparison(eq=comparison.ne)))
    if comparison.nin is not None:
        clauses.append(~has_line(Comparison(in_=comparison.nin)))
    return and_(true(), *clauses)


class SqlOrderRepository:
    def __init__(self, connection: AsyncConnection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._new: list[Order] = []
        self._loaded_line_ids: dict[str, set[str]] = {}

    def add(self, order: Order) -> None:
        self._new.append(order)

    async def flush(self) -> None:
        """Insert what `add` staged (called by the unit of work before commit)."""
        new, self._new = self._new, []
        for order in new:
            await self._connection.execute(insert(t.orders).values(order_to_row(order)))
            await self._write_children(order, replace_travellers=False)

    async def get(self, order_id: str, organisation_id: int) -> OrderSummary | None:
        row = (
            (
                await self._connection.execute(
                    select(t.orders).where(
                        t.orders.c.id == order_id, t.orders.c.organisation_id == organisation_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return order_summary_from_row(row) if row else None

    async def get_for_update(self, order_id: str, organisation_id: int) -> Order | None:
        statement = select(t.orders).where(
            t.orders.c.id == order_id, t.orders.c.organisation_id == organisation_id
        )
        if self._lock_rows:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).mappings().first()
        if row is None:
            return None
        order = order_from_row(row)
        travellers = await self._connection.execute(
            select(t.order_travellers)
            .where(t.order_travellers.c.order_id == order_id)
            .order_by(t.order_travellers.c.position)
        )
        order.travellers = [traveller_from_row(r) for r in travellers.mappings()]
        lines = await self._connection.execute(
            select(t.order_lines)
            .where(t.order_lines.c.order_id == order_id)
            .order_by(t.order_lines.c.position)
        )
        order.lines = [line_from_row(r) for r in lines.mappings()]
        self._loaded_line_ids[order.id] = {line.id for line in order.lines}
        return order

    async def save(self, order: Order) -> None:
        if order.id not in self._loaded_line_ids:
            raise RuntimeError("save() takes an order loaded with get_for_update()")
        await self._connection.execute(
            update(t.orders).where(t.orders.c.id == order.id).values(order_to_row(order))
        )
        await self._write_children(order, replace_travellers=True)

    async def _write_children(self, order: Order, *, replace_travellers: bool) -> None:
        if replace_travellers:
            await self._connection.execute(
                delete(t.order_travellers).where(t.order_travellers.c.order_id == order.id)
            )
        if order.travellers:
            await self._connection.execute(
                insert(t.order_travellers), traveller_rows(order.id, order.travellers)
            )
        known = self._loaded_line_ids.setdefault(order.id, set())
        for position, line in enumerate(order.lines):
            row = line_to_row(line, position)
            if line.id in known:
                await self._connection.execute(
                    update(t.order_lines).where(t.order_lines.c.id == line.id).values(row)
                )
            else:
                await self._connection.execute(insert(t.order_lines).values(row))
                known.add(line.id)

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[OrderSummary]:
        condition = (t.orders.c.organisation_id == organisation_id) & where_clause(
            query.filters, ORDER_FILTER_COLUMNS, {"service_journey_id": _service_journey_clause}
        )
        total = (
            await self._connection.execute(
                select(func.count()).select_from(t.orders).where(condition)
            )
        ).scalar_one()
        if total == 0 or page.offset >= total:
            return Page([], page, total)
        ordering = order_by(
            query.sort,
            ORDER_SORT_COLUMNS,
            default=[t.orders.c.created_at.desc(), t.orders.c.id.desc()],
            tie_break=t.orders.c.id,
        )
        rows = await self._connection.execute(
            select(t.orders)
            .where(condition)
            .order_by(*ordering)
            .limit(page.per_page)
            .offset(page.offset)
        )
        return Page([order_summary_from_row(r) for r in rows.mappings()], page, total)
