"""The paged lists, each read whole by the read side for what the query selects."""

from __future__ import annotations

from sales_api.domain.paging import PageRequest
from sales_api.queries.selection import Built
from sales_api.schema.context import Info
from sales_api.schema.filters import OrderSort, list_query
from sales_api.schema.selection import selection_of


async def page_of(
    info: Info,
    type_name: str,
    filter: object | None,
    page: int,
    per_page: int,
    sort: list[OrderSort] | None = None,
) -> Built:
    reader = info.context.reader
    return Built(
        await reader.page(
            type_name, list_query(filter, sort), PageRequest(page, per_page), selection_of(info)
        )
    )
