"""The order repository: aggregates for writes, headers and pages for reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.orders import Order
from sales_api.persistence import tables as t
from sales_api.persistence.mapping import (
    fee_from_row,
    fee_to_row,
    line_from_row,
    line_to_row,
    order_from_row,
    order_to_row,
    reservation_from_row,
    reservation_to_row,
    traveller_from_row,
    traveller_rows,
)
from sales_api.persistence.seat_inventory import SqlSeatInventory


class SqlOrderRepository:
    def __init__(self, connection: AsyncConnection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows
        self._new: list[Order] = []
        self._loaded_line_ids: dict[str, set[str]] = {}
        self._loaded_reservation_ids: dict[str, set[str]] = {}
        self._loaded_fee_ids: dict[str, set[str]] = {}
        self.seats = SqlSeatInventory(connection, lock_rows=lock_rows)

    def add(self, order: Order) -> None:
        self._new.append(order)

    async def flush(self) -> None:
        """Insert what `add` staged (called by the unit of work before commit)."""
        new, self._new = self._new, []
        for order in new:
            await self._connection.execute(insert(t.orders).values(order_to_row(order)))
            await self._write_children(order, replace_travellers=False)

    async def get_for_update(self, order_id: str, organisation_id: int | None) -> Order | None:
        """The whole aggregate, locked; `organisation_id=None` only for system work (expiry)."""
        statement = select(t.orders).where(t.orders.c.id == order_id)
        if organisation_id is not None:
            statement = statement.where(t.orders.c.organisation_id == organisation_id)
        if self._lock_rows:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).mappings().first()
        if row is None:
            return None
        order = order_from_row(row)
        travellers = await self._connection.execute(
            select(t.order_travellers)
            .where(t.order_travellers.c.order_id == order_id)
            .order_by(t.order_travellers.c.position)
        )
        order.travellers = [traveller_from_row(r) for r in travellers.mappings()]
        lines = await self._connection.execute(
            select(t.order_lines)
            .where(t.order_lines.c.order_id == order_id)
            .order_by(t.order_lines.c.position)
        )
        order.lines = [line_from_row(r) for r in lines.mappings()]
        reservations = await self._connection.execute(
            select(t.reservations).where(t.reservations.c.order_id == order_id)
        )
        by_line = {r.order_line_id: r for r in map(reservation_from_row, reservations.mappings())}
        for line in order.lines:
            line.reservation = by_line.get(line.id)
        fees = await self._connection.execute(
            select(t.order_fees)
            .where(t.order_fees.c.order_id == order_id)
            .order_by(t.order_fees.c.position)
        )
        order.fees = [fee_from_row(r) for r in fees.mappings()]
        self._loaded_fee_ids[order.id] = {fee.id for fee in order.fees}
        self._loaded_line_ids[order.id] = {line.id for line in order.lines}
        self._loaded_reservation_ids[order.id] = set(r.id for r in by_line.values())
        return order

    async def save(self, order: Order) -> None:
        if order.id not in self._loaded_line_ids:
            raise RuntimeError("save() takes an order loaded with get_for_update()")
        await self._connection.execute(
            update(t.orders).where(t.orders.c.id == order.id).values(order_to_row(order))
        )
        await self._write_children(order, replace_travellers=True)

    async def _write_children(self, order: Order, *, replace_travellers: bool) -> None:
        if replace_travellers:
            await self._connection.execute(
                delete(t.order_travellers).where(t.order_travellers.c.order_id == order.id)
            )
        if order.travellers:
            await self._connection.execute(
                insert(t.order_travellers), traveller_rows(order.id, order.travellers)
            )
        known = self._loaded_line_ids.setdefault(order.id, set())
        for position, line in enumerate(order.lines):
            row = line_to_row(line, position)
            if line.id in known:
                await self._connection.execute(
                    update(t.order_lines).where(t.order_lines.c.id == line.id).values(row)
                )
            else:
                await self._connection.execute(insert(t.order_lines).values(row))
                known.add(line.id)
        held = self._loaded_reservation_ids.setdefault(order.id, set())
        for reservation in order.reservations:
            row = reservation_to_row(reservation)
            if reservation.id in held:
                await self._connection.execute(
                    update(t.reservations).where(t.reservations.c.id == reservation.id).values(row)
                )
            else:
                await self._connection.execute(insert(t.reservations).values(row))
                held.add(reservation.id)
        fees = self._loaded_fee_ids.setdefault(order.id, set())
        for position, fee in enumerate(order.fees):
            row = fee_to_row(fee, position)
            if fee.id in fees:
                await self._connection.execute(
                    update(t.order_fees).where(t.order_fees.c.id == fee.id).values(row)
                )
            else:
                await self._connection.execute(insert(t.order_fees).values(row))
                fees.add(fee.id)
        await self.seats.sync(order)

    async def find_reservation_order(
        self, reservation_id: str, organisation_id: int
    ) -> tuple[str, str] | None:
        """(order id, service journey id) of the caller's reservation."""
        found = await self._connection.execute(
            select(t.reservations.c.order_id, t.reservations.c.service_journey_id)
            .join(t.orders, t.orders.c.id == t.reservations.c.order_id)
            .where(
                t.reservations.c.id == reservation_id,
                t.orders.c.organisation_id == organisation_id,
            )
        )
        row = found.first()
        return (str(row[0]), str(row[1])) if row else None

    async def with_confirmed_line_on(
        self, journey_id: str, organisation_id: int | None
    ) -> list[str]:
        """Orders with a CONFIRMED line on the service journey: the organisation's, or
        everyone's for system work (`None`)."""
        statement = (
            select(t.order_lines.c.order_id)
            .join(t.orders, t.orders.c.id == t.order_lines.c.order_id)
            .where(
                t.order_lines.c.service_journey_id == journey_id,
                t.order_lines.c.status == "CONFIRMED",
            )
            .distinct()
            .order_by(t.order_lines.c.order_id)
        )
        if organisation_id is not None:
            statement = statement.where(t.orders.c.organisation_id == organisation_id)
        rows = await self._connection.execute(statement)
        return [r[0] for r in rows]

    async def expired_order_ids(self, now: datetime, limit: int) -> list[str]:
        rows = await self._connection.execute(
            select(t.orders.c.id)
            .where(t.orders.c.status == "DRAFT", t.orders.c.expire_at <= now)
            .order_by(t.orders.c.expire_at)
            .limit(limit)
        )
        return [r[0] for r in rows]
