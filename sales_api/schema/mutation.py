"""The Mutation root."""

from __future__ import annotations

import strawberry

from sales_api.resolvers import orders
from sales_api.schema.types import OrderPayload


@strawberry.type
class Mutation:
    create_order: OrderPayload = strawberry.mutation(resolver=orders.create_order)
    update_order: OrderPayload = strawberry.mutation(resolver=orders.update_order)
