"""Fields whose objects the read side builds: given ids, read them for the selection below
the field being resolved (mutation payloads, a verified ticket)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import strawberry

from sales_api.queries.selection import Built
from sales_api.schema.context import Info
from sales_api.schema.selection import selection_of


async def read_one(info: Info, type_name: str, id: str | None) -> Built | None:
    if id is None:
        return None
    found = await info.context.reader.one(type_name, id, selection_of(info))
    return None if found is None else Built(found)


async def read_many(
    info: Info, type_name: str, ids: Sequence[str], *, by: str | None = None
) -> Built:
    """The objects with these ids (or whose column `by` holds them), in the ids' order."""
    reader = info.context.reader
    return Built(await reader.by_ids(type_name, ids, selection_of(info), by=by))


def one_by_id(type_name: str, attribute: str) -> Callable[..., Awaitable[Built | None]]:
    """A field resolver: the object whose id the parent keeps in `attribute`."""

    async def resolve(root: strawberry.Parent[Any], info: Info) -> Built | None:
        return await read_one(info, type_name, getattr(root, attribute))

    return resolve


def many_by_ids(
    type_name: str, attribute: str, *, by: str | None = None
) -> Callable[..., Awaitable[Built]]:
    """A field resolver: the objects whose ids the parent keeps in `attribute`."""

    async def resolve(root: strawberry.Parent[Any], info: Info) -> Built:
        return await read_many(info, type_name, getattr(root, attribute), by=by)

    return resolve
