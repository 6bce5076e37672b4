"""The order repository: aggregates for writes, headers and pages for reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.orders import Order, OrderSummary
from sales_api.domain.paging import Comparison, ListQuery, Page, PageRequest
from sales_api.persistence import tables as t
from sales_api.persistence.filters import (
    FilterableColumn,
    comparison_clause,
    fetch_page,
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
    reservation_from_row,
    reservation_to_row,
    traveller_from_row,
    traveller_rows,
)
from sales_api.persistence.seat_inventory import SqlSeatInventory

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
        self._loaded_reservation_ids: dict[str, set[str]] = {}
        self.seats = SqlSeatInventory(connection, lock_rows=lock_rows)

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

    async def get_for_update(self, order_id: str, organisation_id: int | None) -> Order | None:
        """The whole aggregate, locked; `organisation_id=None` only for system work (expiry)."""
        statement = select(t.orders).where(t.orders.c.id == order_id)
        if organisation_id is not None:
            statement = statement.where(t.orders.c.organisation_id == organisation_id)
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
        reservations = await self._connection.execute(
            select(t.reservations).where(t.reservations.c.order_id == order_id)
        )
        by_line = {r.order_line_id: r for r in map(reservation_from_row, reservations.mappings())}
        for line in order.lines:
            line.reservation = by_line.get(line.id)
        self._loaded_line_ids[order.id] = {line.id for line in order.lines}
        self._loaded_reservation_ids[order.id] = set(r.id for r in by_line.values())
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
        held = self._loaded_reservation_ids.setdefault(order.id, set())
        for reservation in order.reservations:
            row = reservation_to_row(reservation)
            if reservation.id in held:
                await self._connection.execute(
                    update(t.reservations).where(t.reservations.c.id == reservation.id).values(row)
                )
            else:
                await self._connection.execute(insert(t.reservations).values(row))
                held.add(reservation.id)
        await self.seats.sync(order)

    async def find_reservation_order(
        self, reservation_id: str, organisation_id: int
    ) -> tuple[str, str] | None:
        """(order id, service journey id) of the caller's reservation."""
        found = await self._connection.execute(
            select(t.reservations.c.order_id, t.reservations.c.service_journey_id)
            .join(t.orders, t.orders.c.id == t.reservations.c.order_id)
            .where(
                t.reservations.c.id == reservation_id,
                t.orders.c.organisation_id == organisation_id,
            )
        )
        row = found.first()
        return (str(row[0]), str(row[1])) if row else None

    async def expired_order_ids(self, now: datetime, limit: int) -> list[str]:
        rows = await self._connection.execute(
            select(t.orders.c.id)
            .where(t.orders.c.status == "DRAFT", t.orders.c.expire_at <= now)
            .order_by(t.orders.c.expire_at)
            .limit(limit)
        )
        return [r[0] for r in rows]

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[OrderSummary]:
        condition = (t.orders.c.organisation_id == organisation_id) & where_clause(
            query.filters, ORDER_FILTER_COLUMNS, {"service_journey_id": _service_journey_clause}
        )
        ordering = order_by(
            query.sort,
            ORDER_SORT_COLUMNS,
            default=[t.orders.c.created_at.desc(), t.orders.c.id.desc()],
            tie_break=t.orders.c.id,
        )
        return await fetch_page(
            self._connection, t.orders, t.orders, condition, page, order_summary_from_row, ordering
        )
