"""The Query root."""

from __future__ import annotations

import strawberry

from sales_api.resolvers import orders
from sales_api.schema.types import OrderConnection, OrderType


@strawberry.type
class Query:
    order: OrderType | None = strawberry.field(resolver=orders.order)
    orders: OrderConnection = strawberry.field(resolver=orders.orders)
