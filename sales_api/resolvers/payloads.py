"""Mutations answer business-rule failures in their payload's `errors`, never as exceptions,
and read their payload after their commit, through the read side like any query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sales_api.domain.errors import SalesError
from sales_api.schema.context import Info
from sales_api.schema.types import SalesErrorType

T = TypeVar("T")


def sales_error_type(error: SalesError) -> SalesErrorType:
    return SalesErrorType(code=error.code, message=error.message, path=error.path)


async def answer(
    info: Info,
    work: Callable[[], Awaitable[T]],
    failed: Callable[[list[SalesErrorType]], T],
) -> T:
    """Run the use case; a SalesError becomes the payload's errors (nothing was written).
    Either way the payload's reads come after, and see, what was committed."""
    try:
        payload = await work()
    except SalesError as error:
        payload = failed([sales_error_type(error)])
    await info.context.reader.end_snapshot()
    return payload
