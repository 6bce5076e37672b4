"""The read side's door: a `Reader` per request, reading every object the request shows.

Every read keeps to the caller's organisation in its root statement. A request's readings
share one connection and one snapshot (`single_use`: a query with one root field, whose
one reading ends the snapshot and gives the connection back at once). After a mutation
commits, `end_snapshot` lets the payload's reads see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select

from sales_api.domain.after_sale import MoneyInFlight
from sales_api.domain.caller import Caller, Permission
from sales_api.domain.orders import Order
from sales_api.domain.paging import ListQuery, PageRequest
from sales_api.domain.seating import SeatKey
from sales_api.domain.tickets import TicketDistribution
from sales_api.queries import rules
from sales_api.queries.filters import order_by, where_clause
from sales_api.queries.pages import PAGES, PagedList
from sales_api.queries.plans import (
    _DIALECTS,
    CompiledSql,
    Query,
    RootPlan,
    by_keys_sql,
    compile_sql,
    complete,
    root_plan,
)
from sales_api.queries.selection import Selected, Selection
from sales_api.queries.source import ReadSource, Session

Answer = dict[str, Any]


class Reader:
    def __init__(self, source: ReadSource, caller: Caller, *, single_use: bool = False) -> None:
        self._source = source
        self.caller = caller
        self.single_use = single_use
        self._session: Session | None = None
        self._lock = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self._source.dialect

    async def run(self, reading: Any, *, single: bool) -> Any:
        """Runs a reading (plans.complete and the like) on the request's connection."""
        async with self._lock:
            if self._session is None:
                self._session = await self._source.session()
            session = self._session
            try:
                found = await session.run(
                    reading, last=self.single_use, single=single and self.single_use
                )
                for answered in self._source.answered:
                    answered()
                return found
            finally:
                if self.single_use:
                    self._session = None
                    await session.close()

    async def end_snapshot(self) -> None:
        """Reads from now on see what was committed since (a mutation's own commit)."""
        async with self._lock:
            if self._session is not None:
                await self._session.end_snapshot()

    async def close(self) -> None:
        async with self._lock:
            session, self._session = self._session, None
            if session is not None:
                await session.close()

    # -------------------------------------------------------------- for the domain's rules

    async def order(self, order_id: str) -> Order | None:
        """The caller's order as the rules see it (SalesReads)."""
        self.caller.require(Permission.SALES_READ)
        reading = rules.order_reading(self.dialect, order_id, self.caller.organisation_id)
        found: Order | None = await self.run(reading, single=False)
        return found

    async def ticket(self, ticket_id: str) -> TicketDistribution | None:
        self.caller.require(Permission.SALES_READ)
        reading = rules.ticket_reading(self.dialect, ticket_id, self.caller.organisation_id)
        found: TicketDistribution | None = await self.run(reading, single=True)
        return found

    async def live_holds(
        self, journey_ids: Sequence[str], now: datetime
    ) -> dict[str, list[tuple[int, str, int]]]:
        holds: dict[str, list[tuple[int, str, int]]] = await self.run(
            rules.live_holds_reading(self.dialect, journey_ids, now), single=True
        )
        return holds

    async def money_in_flight(self, order_id: str) -> MoneyInFlight:
        found: MoneyInFlight = await self.run(
            rules.money_in_flight_reading(self.dialect, order_id), single=False
        )
        return found

    async def disrupted(self, journey_ids: Sequence[str]) -> set[str]:
        found: set[str] = await self.run(
            rules.disrupted_reading(self.dialect, journey_ids), single=True
        )
        return found

    async def taken(
        self, journey_id: str, from_index: int, to_index: int, now: datetime
    ) -> set[SeatKey]:
        taken: set[SeatKey] = await self.run(
            rules.taken_reading(self.dialect, journey_id, from_index, to_index, now), single=True
        )
        return taken

    # -------------------------------------------------------------- reads by id

    async def by_ids(
        self, type_name: str, ids: Sequence[str], selection: Selection, *, by: str | None = None
    ) -> list[Answer]:
        """The caller's objects of a type with these ids (or whose column `by` holds them),
        in the order of `ids`; ids that are not the caller's, or do not exist, are left
        out."""
        self.caller.require(Permission.SALES_READ)
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        uses = (Selected("", "", selection),)
        plan = root_plan(type_name, uses, self.dialect, 1)
        sql = by_keys_sql(type_name, uses, self.dialect, by)

        def reading() -> Any:
            rows = yield sql.query({"keys": wanted, "organisation": self.caller.organisation_id})
            built = yield from complete(plan.uses, rows)
            return {row[0]: built[0][index] for index, row in enumerate(rows)}

        found = await self.run(reading(), single=plan.single_statement)
        return [found[i] for i in wanted if i in found]

    async def one(self, type_name: str, id: str, selection: Selection) -> Answer | None:
        found = await self.by_ids(type_name, [id], selection)
        return found[0] if found else None

    # -------------------------------------------------------------- pages

    async def page(
        self,
        type_name: str,
        query: ListQuery,
        page: PageRequest,
        selection: Selection,
    ) -> Answer:
        """A page of the caller's objects, filtered and sorted in SQL, as the connection the
        selection asks for (items, page, perPage, totalItems, totalPages)."""
        self.caller.require(Permission.SALES_READ)
        paged = PAGES[type_name]
        item_uses = tuple(selection.under("items"))
        if query.filters:
            page_sql, count_sql = _page_statements(type_name, item_uses, self.dialect, query)
        else:  # compiled once per shape
            page_sql, count_sql = _unfiltered_statements(
                type_name, item_uses, self.dialect, query.sort
            )
        organisation = {"organisation": self.caller.organisation_id}
        if page_sql is None:
            reading = _count_reading(count_sql.query(organisation))
            single = True
        else:
            plan = root_plan(type_name, item_uses, self.dialect, 1)
            paging = {**organisation, "limit": page.per_page, "offset": page.offset}
            reading = _page_reading(plan, page_sql.query(paging), count_sql.query(organisation))
            single = plan.single_statement
        items, total = await self.run(reading, single=single)
        return _connection(paged, selection, items, total, page)


PageStatements = tuple[CompiledSql | None, CompiledSql]


def _page_statements(
    type_name: str, item_uses: tuple[Selected, ...], dialect_name: str, query: ListQuery
) -> PageStatements:
    """The page's statement (its items, with the total as a scalar subquery; none when no
    items are asked for) and the count alone (for a page past the end). The organisation,
    limit and offset are parameters."""
    paged = PAGES[type_name]
    source, organisation = _scope(type_name)
    condition = (organisation == bindparam("organisation", required=False)) & where_clause(
        query.filters, paged.filters, paged.special
    )
    count = select(func.count()).select_from(source).where(condition)
    dialect = _DIALECTS[dialect_name]
    if not item_uses:
        return None, compile_sql(count, dialect)
    plan = root_plan(type_name, item_uses, dialect_name, 1)
    statement = (
        select(count.correlate(None).scalar_subquery(), *plan.columns)
        .select_from(source)
        .where(condition)
        .order_by(*_ordering(paged, query))
        .limit(bindparam("limit", required=False))
        .offset(bindparam("offset", required=False))
    )
    return compile_sql(statement, dialect), compile_sql(count, dialect)


@lru_cache(maxsize=256)
def _unfiltered_statements(
    type_name: str, item_uses: tuple[Selected, ...], dialect_name: str, sort: Any
) -> PageStatements:
    return _page_statements(type_name, item_uses, dialect_name, ListQuery(sort=sort))


def _scope(type_name: str) -> Any:
    from sales_api.queries.views import VIEWS

    scope = VIEWS[type_name].scope
    assert scope is not None
    return scope


def _ordering(paged: PagedList, query: ListQuery) -> list[Any]:
    if paged.sort_columns:
        return order_by(query.sort, paged.sort_columns, list(paged.default_order), paged.tie_break)
    return list(paged.default_order)


def _page_reading(plan: RootPlan, page_query: Query, count_query: Query) -> Any:
    rows = yield page_query
    built = yield from complete(plan.uses, rows)
    if rows:
        return built, rows[0][0]
    counted = yield count_query
    return built, counted[0][0]


def _count_reading(count_query: Query) -> Any:
    rows = yield count_query
    return [], rows[0][0]


def _connection(
    paged: PagedList,
    selection: Selection,
    items: list[list[Answer]],
    total: int,
    page: PageRequest,
) -> Answer:
    answer: Answer = {}
    use = 0
    for selected in selection.fields:
        name = selected.name
        if name == "items":
            answer[selected.key] = items[use]
            use += 1
        elif name == "page":
            answer[selected.key] = page.page
        elif name == "perPage":
            answer[selected.key] = page.per_page
        elif name == "totalItems":
            answer[selected.key] = total
        elif name == "totalPages":
            answer[selected.key] = -(-total // page.per_page)
        elif name == "__typename":
            answer[selected.key] = paged.connection
    return answer
