"""Seat holds per leg. Writers lock the journey first; the unique key on (journey, car, seat,
leg) is the last word: a seat can never be held twice on one leg, whatever else happens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.orders import Order, Reservation
from sales_api.domain.seating import SeatKey
from sales_api.persistence import tables as t
from sales_api.persistence.database import dialect_insert


def active_hold(now: Any) -> Any:
    """A hold that still holds its seat at `now` (a datetime or a bound parameter)."""
    return or_(t.seat_holds.c.expire_at.is_(None), t.seat_holds.c.expire_at > now)


def taken_statement(
    journey_id: str, from_index: int, to_index: int, now: datetime, excluding: Sequence[str] = ()
) -> Select[Any]:
    """Seats (car, seat) held on any leg of [from_index, to_index) by a live hold."""
    statement = select(t.seat_holds.c.car_number, t.seat_holds.c.seat_number).where(
        t.seat_holds.c.service_journey_id == journey_id,
        t.seat_holds.c.leg >= from_index,
        t.seat_holds.c.leg < to_index,
        active_hold(now),
    )
    if excluding:
        statement = statement.where(t.seat_holds.c.reservation_id.not_in(list(excluding)))
    return statement.distinct()


class SqlSeatInventory:
    def __init__(self, connection: AsyncConnection, *, lock_rows: bool) -> None:
        self._connection = connection
        self._lock_rows = lock_rows

    async def lock_journey(self, journey_id: str) -> None:
        """Serialise seat writers of one journey (PostgreSQL row lock; SQLite's IMMEDIATE
        transaction already serialises every writer)."""
        await self._connection.execute(
            dialect_insert(self._connection, t.journey_locks)
            .values(service_journey_id=journey_id)
            .on_conflict_do_nothing()
        )
        if self._lock_rows:
            await self._connection.execute(
                select(t.journey_locks.c.service_journey_id)
                .where(t.journey_locks.c.service_journey_id == journey_id)
                .with_for_update()
            )

    async def release_expired(self, journey_id: str, now: datetime) -> None:
        """Holds of DRAFT orders past their expiry free their seats at once, swept or not."""
        await self._connection.execute(
            delete(t.seat_holds).where(
                t.seat_holds.c.service_journey_id == journey_id,
                t.seat_holds.c.expire_at.is_not(None),
                t.seat_holds.c.expire_at <= now,
            )
        )

    async def taken(
        self,
        journey_id: str,
        from_index: int,
        to_index: int,
        now: datetime,
        excluding: Sequence[str] = (),
    ) -> set[SeatKey]:
        """Seats held on any leg of [from_index, to_index) by a live hold."""
        statement = taken_statement(journey_id, from_index, to_index, now, excluding)
        rows = await self._connection.execute(statement)
        return {(int(car), str(seat)) for car, seat in rows}

    async def sync(self, order: Order) -> None:
        """Make the holds match the order's reservations: live ones hold their seats on each
        leg until the order's expiry (DRAFT) or for good (CONFIRMED); others hold nothing."""
        reservations = order.reservations
        if not reservations:
            return
        await self._connection.execute(
            delete(t.seat_holds).where(
                t.seat_holds.c.reservation_id.in_([r.id for r in reservations])
            )
        )
        rows = [row for r in reservations if r.holds_seats for row in _hold_rows(r)]
        if not rows:
            return
        try:
            await self._connection.execute(insert(t.seat_holds), rows)
        except IntegrityError as error:
            if "seat_holds" in str(error.orig) or "uq_seat_holds_seat_leg" in str(error.orig):
                raise SalesError(
                    ErrorCode.SEAT_UNAVAILABLE,
                    "A requested seat was taken by another sale at the same moment",
                ) from error
            raise


def _hold_rows(reservation: Reservation) -> list[dict[str, Any]]:
    return [
        {
            "reservation_id": reservation.id,
            "service_journey_id": reservation.service_journey_id,
            "car_number": seat.car_number,
            "seat_number": seat.seat_number,
            "leg": leg,
            "expire_at": reservation.expire_at,
        }
        for seat in reservation.seats
        for leg in range(reservation.from_index, reservation.to_index)
    ]
