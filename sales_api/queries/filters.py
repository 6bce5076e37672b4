"""Domain filters and sorts -> SQL. Every operator runs in the database, never in Python."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.sql.elements import ColumnClause

from sales_api.domain.errors import ValidationFailed
from sales_api.domain.money import to_minor_units
from sales_api.domain.paging import Comparison, SortDirection, SortKey

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FilterableColumn:
    """A column and how domain values become column values (e.g. Decimal -> øre)."""

    column: Any
    to_db: Callable[[Any], Any] = lambda value: value
    # Timestamps are shown to the second, so a filter compares whole seconds: `eq` on a
    # createdAt the client was shown matches, whatever the stored fraction.
    whole_seconds: bool = False


def timestamp(column: Any) -> FilterableColumn:
    return FilterableColumn(column, whole_seconds=True)


def money(column: Any) -> FilterableColumn:
    return FilterableColumn(column, lambda value: to_minor_units(Decimal(value)))


def _comparison_clause(target: FilterableColumn, comparison: Comparison) -> ColumnElement[bool]:
    column: ColumnClause[Any] = target.column
    # A missing value (NULL) is not equal to any given value: `ne` and `nin` include it,
    # where SQL's three-valued logic alone would silently drop those rows.
    nullable = bool(getattr(column, "nullable", False))
    clauses: list[ColumnElement[bool]] = []
    for operator, value in comparison.operators():
        if operator in ("in", "nin"):
            values = [target.to_db(v) for v in value]  # type: ignore[attr-defined]
            if operator == "in":
                clauses.append(column.in_(values) if values else false())
            elif not values:
                clauses.append(true())
            elif nullable:
                clauses.append(or_(column.not_in(values), column.is_(None)))
            else:
                clauses.append(column.not_in(values))
            continue
        db_value = target.to_db(value)
        if target.whole_seconds:
            clause = _whole_second_clause(column, operator, db_value)
        else:
            clause = _OPERATORS[operator](column, db_value)
        if operator == "ne" and nullable:
            clause = or_(clause, column.is_(None))
        clauses.append(clause)
    return and_(true(), *clauses)


_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column != value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}


def _whole_second_clause(column: Any, operator: str, moment: datetime) -> ColumnElement[bool]:
    start = moment.replace(microsecond=0)
    try:
        end = start + timedelta(seconds=1)
    except OverflowError:  # the last second there is: nothing comes after it
        return _last_second_clause(column, operator, start)
    clauses: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: and_(column >= start, column < end),
        "ne": lambda: or_(column < start, column >= end),
        "gt": lambda: column >= end,
        "gte": lambda: column >= start,
        "lt": lambda: column < start,
        "lte": lambda: column < end,
    }
    return clauses[operator]()


def _last_second_clause(column: Any, operator: str, start: datetime) -> ColumnElement[bool]:
    clauses: dict[str, Callable[[], ColumnElement[bool]]] = {
        "eq": lambda: column >= start,
        "ne": lambda: column < start,
        "gt": lambda: false(),
        "gte": lambda: column >= start,
        "lt": lambda: column < start,
        "lte": lambda: true(),
    }
    return clauses[operator]()


def where_clause(
    filters: Mapping[str, Comparison],
    columns: Mapping[str, FilterableColumn],
    special: Mapping[str, Callable[[Comparison], ColumnElement[bool]]] | None = None,
) -> ColumnElement[bool]:
    """AND of every filtered field; `special` builds fields that are not plain columns."""
    clauses: list[ColumnElement[bool]] = []
    for name, comparison in filters.items():
        if special and name in special:
            clauses.append(special[name](comparison))
        elif name in columns:
            clauses.append(_comparison_clause(columns[name], comparison))
        else:
            raise ValidationFailed(f"Cannot filter on {name!r}", ["filter", name])
    return and_(true(), *clauses)


def comparison_clause(target: FilterableColumn, comparison: Comparison) -> ColumnElement[bool]:
    return _comparison_clause(target, comparison)


def order_by(
    sort: tuple[SortKey, ...],
    columns: Mapping[str, Any],
    default: list[Any],
    tie_break: Any,
) -> list[Any]:
    """The requested sort, then the id as a tie-break so that pages never overlap."""
    if not sort:
        return default
    clauses = []
    for key in sort:
        column = columns[key.field]
        clauses.append(column.desc() if key.direction is SortDirection.DESC else column.asc())
    if not any(key.field == "id" for key in sort):
        clauses.append(tie_break.asc())
    return clauses
