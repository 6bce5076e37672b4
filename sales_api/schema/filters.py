"""Filter and sort inputs: operators eq, ne, gt, gte, lt, lte, in, nin; all ANDed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import strawberry

from sales_api.domain.orders import OrderStatus
from sales_api.domain.paging import Comparison, ListQuery, SortDirection, SortKey
from sales_api.schema import types as _registered_enums  # noqa: F401  (registers enums)
from sales_api.schema.scalars import Amount


@strawberry.input(name="IdFilter")
class IdFilter:
    eq: strawberry.ID | None = None
    ne: strawberry.ID | None = None
    in_: list[strawberry.ID] | None = strawberry.field(default=None, name="in")
    nin: list[strawberry.ID] | None = None


@strawberry.input(name="StringFilter")
class StringFilter:
    eq: str | None = None
    ne: str | None = None
    in_: list[str] | None = strawberry.field(default=None, name="in")
    nin: list[str] | None = None


@strawberry.input(name="IntFilter")
class IntFilter:
    eq: int | None = None
    ne: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None
    in_: list[int] | None = strawberry.field(default=None, name="in")
    nin: list[int] | None = None


@strawberry.input(name="AmountFilter")
class AmountFilter:
    eq: Amount | None = None
    ne: Amount | None = None
    gt: Amount | None = None
    gte: Amount | None = None
    lt: Amount | None = None
    lte: Amount | None = None


@strawberry.input(name="DateTimeFilter")
class DateTimeFilter:
    eq: datetime | None = None
    ne: datetime | None = None
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None


@strawberry.input(name="OrderStatusFilter")
class OrderStatusFilter:
    eq: OrderStatus | None = None
    ne: OrderStatus | None = None
    in_: list[OrderStatus] | None = strawberry.field(default=None, name="in")
    nin: list[OrderStatus] | None = None


@strawberry.input(name="OrderFilter")
class OrderFilter:
    id: IdFilter | None = None
    status: OrderStatusFilter | None = None
    total_amount: AmountFilter | None = None
    balance: AmountFilter | None = None
    currency: StringFilter | None = None
    organisation_id: IntFilter | None = None
    pos: StringFilter | None = None
    distribution_channel_id: StringFilter | None = None
    external_reference: StringFilter | None = None
    service_journey_id: IdFilter | None = strawberry.field(
        default=None, description="Orders with at least one order line on this service journey."
    )
    created_at: DateTimeFilter | None = None


@strawberry.enum(name="OrderSortField")
class OrderSortField(StrEnum):
    CREATED_AT = "created_at"
    TOTAL_AMOUNT = "total_amount"
    ID = "id"


@strawberry.input(name="OrderSort")
class OrderSort:
    field: OrderSortField
    direction: SortDirection = SortDirection.ASC


def comparison(operators: object) -> Comparison:
    """A filter input's operators as a domain comparison (enum values as plain strings)."""

    def plain(value: object) -> object:
        return value.value if isinstance(value, StrEnum) else value

    def get(name: str) -> object:
        value = getattr(operators, name, None)
        if isinstance(value, list):
            return [plain(v) for v in value]
        return plain(value)

    return Comparison(
        eq=get("eq"),
        ne=get("ne"),
        gt=get("gt"),
        gte=get("gte"),
        lt=get("lt"),
        lte=get("lte"),
        in_=get("in_"),  # type: ignore[arg-type]
        nin=get("nin"),  # type: ignore[arg-type]
    )


def list_query(filter_input: object | None, sort: list[OrderSort] | None = None) -> ListQuery:
    """Filter fields keep their Python names (snake_case), the domain's field names."""
    filters: dict[str, Comparison] = {}
    if filter_input is not None:
        for name, value in vars(filter_input).items():
            if value is not None:
                filters[name] = comparison(value)
    keys = tuple(SortKey(s.field.value, SortDirection(s.direction)) for s in sort or [])
    return ListQuery(filters=filters, sort=keys)
