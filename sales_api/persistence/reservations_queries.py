"""Reading reservations: pages of one organisation's reservations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.orders import Reservation
from sales_api.domain.paging import ListQuery, Page, PageRequest
from sales_api.persistence import tables as t
from sales_api.persistence.filters import FilterableColumn, fetch_page, timestamp, where_clause
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
        return await fetch_page(
            self._connection, t.reservations, joined, condition, page, reservation_from_row
        )
