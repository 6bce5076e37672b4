"""Reads for use cases that apply the domain's rules to what they read (change and refund
options, a ticket's check, its PDF, offers and seat maps): domain objects made from rows
by the same mapping the write side uses, read on the request's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Select, Table, bindparam, select

from sales_api.domain.after_sale import MoneyInFlight
from sales_api.domain.seating import SeatKey
from sales_api.domain.tickets import TicketDistribution
from sales_api.persistence import tables as t
from sales_api.persistence.mapping import (
    fee_from_row,
    line_from_row,
    order_from_row,
    reservation_from_row,
    traveller_from_row,
)
from sales_api.persistence.seat_inventory import active_hold
from sales_api.persistence.tickets_repository import ticket_from_row
from sales_api.persistence.types import UTCDateTime
from sales_api.queries.plans import (
    _DIALECTS,
    CompiledSql,
    Reading,
    compile_sql,
    json_value,
    keys_clause,
)

Convert = Callable[[Any], Any]


def _timestamp(dialect: str) -> Convert:
    if dialect == "sqlite":

        def parse(value: Any) -> Any:
            if value is None:
                return None
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed

        return parse
    return lambda value: None if value is None else value.astimezone(UTC)


@lru_cache(maxsize=64)
def _converters(table: Table, dialect: str) -> tuple[tuple[str, Convert | None], ...]:
    """Per column of the table: its name and how its raw driver value becomes the value
    SQLAlchemy would give (aware datetimes, decoded JSON, booleans)."""
    found: list[tuple[str, Convert | None]] = []
    for column in table.columns:
        kind = column.type
        convert: Convert | None = None
        if isinstance(kind, UTCDateTime):
            convert = _timestamp(dialect)
        elif isinstance(kind, JSON):
            convert = json_value
        elif isinstance(kind, Boolean):
            convert = lambda value: None if value is None else bool(value)  # noqa: E731
        found.append((column.name, convert))
    return tuple(found)


def _rows(table: Table, dialect: str, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    columns = _converters(table, dialect)
    return [
        {
            name: convert(value) if convert else value
            for (name, convert), value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


@lru_cache(maxsize=16)
def _order_statements(dialect: str) -> tuple[CompiledSql, ...]:
    """The order (within the organisation), its travellers, lines and reservations."""
    engine_dialect = _DIALECTS[dialect]
    o, tr, lines, res = t.orders, t.order_travellers, t.order_lines, t.reservations
    statements: list[Select[Any]] = [
        select(o).where(
            o.c.id == bindparam("order", required=False),
            o.c.organisation_id == bindparam("organisation", required=False),
        ),
        select(tr)
        .where(tr.c.order_id == bindparam("order", required=False))
        .order_by(tr.c.position),
        select(lines)
        .where(lines.c.order_id == bindparam("order", required=False))
        .order_by(lines.c.position),
        select(res).where(res.c.order_id == bindparam("order", required=False)),
        select(t.order_fees)
        .where(t.order_fees.c.order_id == bindparam("order", required=False))
        .order_by(t.order_fees.c.position),
    ]
    return tuple(compile_sql(statement, engine_dialect) for statement in statements)


def order_reading(dialect: str, order_id: str, organisation_id: int) -> Reading:
    found, travellers, lines, reservations, fees = _order_statements(dialect)
    values = {"order": order_id, "organisation": organisation_id}
    rows = yield found.query(values)
    if not rows:
        return None
    order = order_from_row(_rows(t.orders, dialect, rows)[0])
    order.travellers = [
        traveller_from_row(r)
        for r in _rows(t.order_travellers, dialect, (yield travellers.query(values)))
    ]
    order.lines = [
        line_from_row(r) for r in _rows(t.order_lines, dialect, (yield lines.query(values)))
    ]
    by_line = {
        r.order_line_id: r
        for r in map(
            reservation_from_row,
            _rows(t.reservations, dialect, (yield reservations.query(values))),
        )
    }
    for line in order.lines:
        line.reservation = by_line.get(line.id)
    order.fees = [fee_from_row(r) for r in _rows(t.order_fees, dialect, (yield fees.query(values)))]
    return order


@lru_cache(maxsize=16)
def _in_flight_statements(dialect: str) -> tuple[CompiledSql, CompiledSql]:
    """The line ids of the order's unsettled refunds; its captures awaiting an answer."""
    rf, tx, pay = t.refunds, t.transactions, t.payments
    order: Any = bindparam("order", required=False)
    refunds = select(rf.c.line_ids).where(rf.c.order_id == order, rf.c.status == "PENDING")
    captures = (
        select(tx.c.id)
        .join(pay, pay.c.id == tx.c.payment_id)
        .where(pay.c.order_id == order, tx.c.status == "PENDING")
        .limit(1)
    )
    engine_dialect = _DIALECTS[dialect]
    return compile_sql(refunds, engine_dialect), compile_sql(captures, engine_dialect)


def money_in_flight_reading(dialect: str, order_id: str) -> Reading:
    """What money of the order is moving now (an order already read within the caller's
    organisation)."""
    refunds, captures = _in_flight_statements(dialect)
    values = {"order": order_id}
    pending = yield refunds.query(values)
    lines: set[str] = set()
    for (line_ids,) in pending:
        lines.update(json_value(line_ids) or ())
    capturing = bool((yield captures.query(values)))
    return MoneyInFlight(frozenset(lines), bool(pending), capturing)


@lru_cache(maxsize=16)
def _disrupted_statement(dialect: str) -> CompiledSql:
    journeys = t.disrupted_service_journeys
    statement = select(journeys.c.service_journey_id).where(
        keys_clause(journeys.c.service_journey_id, dialect)
    )
    return compile_sql(statement, _DIALECTS[dialect])


def disrupted_reading(dialect: str, journey_ids: Sequence[str]) -> Reading:
    """Which of the journeys are disrupted (no longer sold)."""
    found: set[str] = set()
    if not journey_ids:
        return found
    rows = yield _disrupted_statement(dialect).query({"keys": list(journey_ids)})
    found.update(str(r[0]) for r in rows)
    return found


@lru_cache(maxsize=16)
def _ticket_statement(dialect: str) -> CompiledSql:
    tk, o = t.tickets, t.orders
    statement = (
        select(tk)
        .join(o, o.c.id == tk.c.order_id)
        .where(
            tk.c.id == bindparam("ticket", required=False),
            o.c.organisation_id == bindparam("organisation", required=False),
        )
    )
    return compile_sql(statement, _DIALECTS[dialect])


def ticket_reading(dialect: str, ticket_id: str, organisation_id: int) -> Reading:
    rows = yield _ticket_statement(dialect).query(
        {"ticket": ticket_id, "organisation": organisation_id}
    )
    found: TicketDistribution | None = None
    if rows:
        found = ticket_from_row(_rows(t.tickets, dialect, rows)[0])
    return found


@lru_cache(maxsize=16)
def _holds_statements(dialect: str) -> tuple[CompiledSql, CompiledSql]:
    """Live holds (journey, car, seat, leg) on a list of journeys; seats (car, seat) held
    on a span of legs of one journey."""
    holds = t.seat_holds
    now: Any = bindparam("now", required=False)
    on_journeys = select(
        holds.c.service_journey_id, holds.c.car_number, holds.c.seat_number, holds.c.leg
    ).where(keys_clause(holds.c.service_journey_id, dialect), active_hold(now))
    on_span = (
        select(holds.c.car_number, holds.c.seat_number)
        .where(
            holds.c.service_journey_id == bindparam("journey", required=False),
            holds.c.leg >= bindparam("first", required=False),
            holds.c.leg < bindparam("end", required=False),
            active_hold(now),
        )
        .distinct()
    )
    engine_dialect = _DIALECTS[dialect]
    return compile_sql(on_journeys, engine_dialect), compile_sql(on_span, engine_dialect)


def live_holds_reading(dialect: str, journey_ids: Sequence[str], now: datetime) -> Reading:
    grouped: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    if not journey_ids:
        return grouped
    on_journeys, _ = _holds_statements(dialect)
    rows = yield on_journeys.query({"keys": list(journey_ids), "now": now})
    for journey, car, seat, leg in rows:
        grouped[journey].append((int(car), str(seat), int(leg)))
    return grouped


def taken_reading(
    dialect: str, journey_id: str, from_index: int, to_index: int, now: datetime
) -> Reading:
    _, on_span = _holds_statements(dialect)
    values = {"journey": journey_id, "first": from_index, "end": to_index, "now": now}
    taken: set[SeatKey] = {(int(car), str(seat)) for car, seat in (yield on_span.query(values))}
    return taken


__all__ = [
    "disrupted_reading",
    "live_holds_reading",
    "money_in_flight_reading",
    "order_reading",
    "taken_reading",
    "ticket_reading",
]
