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
    eq: strawberry.ID | None = strawberry.field(default=None, description="This id.")
    ne: strawberry.ID | None = strawberry.field(default=None, description="Any id but this one.")
    in_: list[strawberry.ID] | None = strawberry.field(
        default=None, name="in", description="One of these ids (at most 100)."
    )
    nin: list[strawberry.ID] | None = strawberry.field(
        default=None, description="None of these ids (at most 100)."
    )


@strawberry.input(name="StringFilter")
class StringFilter:
    eq: str | None = strawberry.field(
        default=None, description="Exactly this text (case-sensitive)."
    )
    ne: str | None = strawberry.field(default=None, description="Any text but this.")
    in_: list[str] | None = strawberry.field(
        default=None, name="in", description="One of these texts (at most 100)."
    )
    nin: list[str] | None = strawberry.field(
        default=None, description="None of these texts (at most 100)."
    )


@strawberry.input(name="IntFilter")
class IntFilter:
    eq: int | None = strawberry.field(default=None, description="Equal to this value.")
    ne: int | None = strawberry.field(default=None, description="Not equal to this value.")
    gt: int | None = strawberry.field(default=None, description="Greater than.")
    gte: int | None = strawberry.field(default=None, description="Greater than or equal to.")
    lt: int | None = strawberry.field(default=None, description="Less than.")
    lte: int | None = strawberry.field(default=None, description="Less than or equal to.")
    in_: list[int] | None = strawberry.field(
        default=None, name="in", description="Equal to one of these values (at most 100)."
    )
    nin: list[int] | None = strawberry.field(
        default=None, description="Equal to none of these values (at most 100)."
    )


@strawberry.input(name="AmountFilter")
class AmountFilter:
    eq: Amount | None = strawberry.field(
        default=None, description='Equal to an amount, a decimal string like "805.50".'
    )
    ne: Amount | None = strawberry.field(
        default=None, description='Not equal to an amount, a decimal string like "805.50".'
    )
    gt: Amount | None = strawberry.field(
        default=None, description='Greater than an amount, a decimal string like "805.50".'
    )
    gte: Amount | None = strawberry.field(
        default=None,
        description='Greater than or equal to an amount, a decimal string like "805.50".',
    )
    lt: Amount | None = strawberry.field(
        default=None, description='Less than an amount, a decimal string like "805.50".'
    )
    lte: Amount | None = strawberry.field(
        default=None, description='Less than or equal to an amount, a decimal string like "805.50".'
    )


# A moment in a DateTimeFilter; what the API shows (to the second, UTC) compares equal.
_MOMENT = "an ISO 8601 timestamp with its zone (2026-05-01T08:00:00Z), to the whole second"


@strawberry.input(name="DateTimeFilter")
class DateTimeFilter:
    eq: datetime | None = strawberry.field(default=None, description=f"At {_MOMENT}.")
    ne: datetime | None = strawberry.field(default=None, description=f"Not at {_MOMENT}.")
    gt: datetime | None = strawberry.field(default=None, description=f"After {_MOMENT}.")
    gte: datetime | None = strawberry.field(default=None, description=f"At or after {_MOMENT}.")
    lt: datetime | None = strawberry.field(default=None, description=f"Before {_MOMENT}.")
    lte: datetime | None = strawberry.field(default=None, description=f"At or before {_MOMENT}.")


@strawberry.input(name="OrderStatusFilter")
class OrderStatusFilter:
    eq: OrderStatus | None = strawberry.field(default=None, description="This status.")
    ne: OrderStatus | None = strawberry.field(default=None, description="Any status but this.")
    in_: list[OrderStatus] | None = strawberry.field(
        default=None, name="in", description="One of these statuses."
    )
    nin: list[OrderStatus] | None = strawberry.field(
        default=None, description="None of these statuses."
    )


@strawberry.input(name="OrderFilter")
class OrderFilter:
    id: IdFilter | None = strawberry.field(default=None, description="The order's id.")
    status: OrderStatusFilter | None = strawberry.field(
        default=None, description="DRAFT, CONFIRMED or CANCELLED."
    )
    total_amount: AmountFilter | None = strawberry.field(
        default=None, description="Total of the active order lines, VAT included."
    )
    balance: AmountFilter | None = strawberry.field(
        default=None, description="What is left to pay: total - captured + credited."
    )
    currency: StringFilter | None = strawberry.field(
        default=None, description="ISO 4217 code, e.g. NOK."
    )
    organisation_id: IntFilter | None = strawberry.field(
        default=None,
        description=(
            "Always the caller's organisation: other organisations' orders are never listed."
        ),
    )
    pos: StringFilter | None = strawberry.field(
        default=None, description="The Entur-POS the order was created with."
    )
    distribution_channel_id: StringFilter | None = strawberry.field(
        default=None, description="The distribution channel the order was created with."
    )
    external_reference: StringFilter | None = strawberry.field(
        default=None, description="The caller's own reference."
    )
    service_journey_id: IdFilter | None = strawberry.field(
        default=None, description="Orders with at least one order line on this service journey."
    )
    created_at: DateTimeFilter | None = strawberry.field(
        default=None, description="When the order was created."
    )


@strawberry.enum(name="OrderSortField")
class OrderSortField(StrEnum):
    CREATED_AT = "created_at"
    TOTAL_AMOUNT = "total_amount"
    ID = "id"


@strawberry.input(name="OrderSort")
class OrderSort:
    field: OrderSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="ASC (default) or DESC."
    )


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
