"""The Subscription root (events.graphql), served over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry

from sales_api.queries.selection import Built
from sales_api.resolvers import live
from sales_api.schema.event_types import OrderEventObject
from sales_api.schema.sale_types import SeatMapType
from sales_api.schema.types import OrderType


@strawberry.type(
    description=(
        "Over WebSocket at /sales/v1/graphql, protocol graphql-transport-ws; see DOMAIN.md, Events."
    )
)
class Subscription:
    order_updated: AsyncIterator[Built] = strawberry.subscription(
        graphql_type=OrderType,
        resolver=live.order_updated,
        description=(
            "The order as order(id) reads it: once at once, then after every change "
            "committed to it."
        ),
    )
    seat_map_updated: AsyncIterator[SeatMapType] = strawberry.subscription(
        graphql_type=SeatMapType,
        resolver=live.seat_map_updated,
        description=(
            "The seat map of a segment: once at once, then after every hold, release or sale "
            "that touches it."
        ),
    )
    order_events: AsyncIterator[Built] = strawberry.subscription(
        graphql_type=OrderEventObject,
        resolver=live.order_events,
        description="The caller's organisation's events as they are committed.",
    )
