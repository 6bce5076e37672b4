"""The paged lists, each read whole by the read side for what the query selects."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.paging import PageRequest
from sales_api.queries.selection import Built
from sales_api.schema.context import Info
from sales_api.schema.filters import OrderSort, list_query
from sales_api.schema.selection import selection_of

# The arguments every paged list takes.
Page = Annotated[int, strawberry.argument(description="The page, from 1; default 1.")]
PerPage = Annotated[
    int, strawberry.argument(description="Items per page, from 1 to 100; default 20.")
]
FILTER = "Only the items that match: every operator given must hold (ANDed); none: all."


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
