"""Resolvers of order events."""

from __future__ import annotations

from sales_api.queries.selection import Built
from sales_api.resolvers.pages import page_of
from sales_api.schema.context import Info
from sales_api.schema.event_types import OrderEventFilter


async def order_events(
    info: Info, page: int = 1, per_page: int = 20, filter: OrderEventFilter | None = None
) -> Built:
    """The caller's organisation's events, oldest first."""
    return await page_of(info, "OrderEvent", filter, page, per_page)
