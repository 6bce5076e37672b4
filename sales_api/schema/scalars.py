"""The contract's scalars: Amount (two-decimal string), DateTime (UTC, ISO 8601), Date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypeAlias

import strawberry
from strawberry.types.scalar import ScalarDefinition

from sales_api.domain.money import format_amount, parse_amount

# Every Decimal in this schema is money: the schema maps Decimal to the Amount scalar.
Amount: TypeAlias = Decimal

AmountScalar = strawberry.scalar(
    name="Amount",
    description='A money amount: a decimal string with exactly two decimals, e.g. "1446.00".',
    serialize=format_amount,
    parse_value=lambda value: parse_amount(value),
)


def serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError('DateTime must be an ISO 8601 string such as "2018-12-24T18:00:00Z"')
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; write it in UTC with a trailing Z")
    return parsed.astimezone(UTC)


def parse_date(value: object) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError('Date must be a string such as "2026-12-24"')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date (YYYY-MM-DD)") from None


DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description='A UTC timestamp in ISO 8601, e.g. "2018-09-03T12:44:27Z".',
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

DateScalar = strawberry.scalar(
    name="Date",
    description='A calendar date, e.g. "2026-12-24".',
    serialize=lambda value: value.isoformat(),
    parse_value=parse_date,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    Decimal: AmountScalar,
    datetime: DateTimeScalar,
    date: DateScalar,
}
