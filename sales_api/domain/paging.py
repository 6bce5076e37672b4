"""Paging, filtering and sorting as plain data; persistence turns them into SQL."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from sales_api.domain.errors import ValidationFailed

T = TypeVar("T")

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_SET_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValidationFailed("page starts at 1", ["page"])
        if self.page > 1_000_000:
            raise ValidationFailed("page is at most 1000000", ["page"])
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValidationFailed(f"perPage must be from 1 to {MAX_PER_PAGE}", ["perPage"])

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    request: PageRequest
    total_items: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_items / self.request.per_page)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The operators of one filtered field; several operators are ANDed."""

    eq: object | None = None
    ne: object | None = None
    gt: object | None = None
    gte: object | None = None
    lt: object | None = None
    lte: object | None = None
    in_: Sequence[object] | None = None
    nin: Sequence[object] | None = None

    def __post_init__(self) -> None:
        for name in ("in_", "nin"):
            values = getattr(self, name)
            if values is not None and len(values) > MAX_SET_SIZE:
                raise ValidationFailed(f"'{name.rstrip('_')}' takes at most {MAX_SET_SIZE} values")

    def operators(self) -> list[tuple[str, object]]:
        """(operator, value) for each operator given, in a stable order."""
        found: list[tuple[str, object]] = []
        for name in ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "nin"):
            value = getattr(self, name)
            if value is not None:
                found.append((name.rstrip("_"), value))
        return found


class SortDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    direction: SortDirection = SortDirection.ASC


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A filter (field name -> comparison) and a sort, in domain field names."""

    filters: dict[str, Comparison] = field(default_factory=dict)
    sort: tuple[SortKey, ...] = ()
