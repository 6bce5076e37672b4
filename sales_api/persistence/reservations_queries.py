"""Reading reservations: pages of one organisation's reservations."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.orders import Reservation
from sales_api.domain.paging import ListQuery, Page, PageRequest
from sales_api.persistence import tables as t
from sales_api.persistence.filters import FilterableColumn, timestamp, where_clause
from sales_api.persistence.mapping import reservation_from_row

RESERVATION_FILTER_COLUMNS = {
    "id": FilterableColumn(t.reservations.c.id),
    "order_id": FilterableColumn(t.reservations.c.order_id),
    "status": FilterableColumn(t.reservations.c.status, lambda value: str(value)),
    "service_journey_id": FilterableColumn(t.reservations.c.service_journey_id),
    "created_at": timestamp(t.reservations.c.created_at),
}


class SqlReservationQueries:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[Reservation]:
        condition = (t.orders.c.organisation_id == organisation_id) & where_clause(
            query.filters, RESERVATION_FILTER_COLUMNS
        )
        joined = t.reservations.join(t.orders, t.orders.c.id == t.reservations.c.order_id)
        total = (
            await self._connection.execute(
                select(func.count()).select_from(joined).where(condition)
            )
        ).scalar_one()
        if total == 0 or page.offset >= total:
            return Page([], page, total)
        rows = await self._connection.execute(
            select(t.reservations)
            .select_from(joined)
            .where(condition)
            .order_by(t.reservations.c.created_at.desc(), t.reservations.c.id.desc())
            .limit(page.per_page)
            .offset(page.offset)
        )
        return Page([reservation_from_row(r) for r in rows.mappings()], page, total)
