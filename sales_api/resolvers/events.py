"""Resolvers of order events."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.schema.context import Info
from sales_api.schema.event_types import OrderEventFilter


async def order_events(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[OrderEventFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    """The caller's organisation's events, oldest first."""
    return await page_of(info, "OrderEvent", filter, page, per_page)
