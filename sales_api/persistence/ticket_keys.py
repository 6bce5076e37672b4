"""Ticket signing keys, kept in the database so every process signs with the same key and
every published key (retired ones included) stays available to verify old tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.persistence import tables as t
from sales_api.persistence.database import WRITE_OPTION


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    private_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None


class SqlTicketKeys:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self) -> list[StoredKey]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(t.ticket_keys).order_by(t.ticket_keys.c.created_at)
            )
            return [
                StoredKey(r["kid"], dict(r["private_jwk"]), r["created_at"], r["retired_at"])
                for r in rows.mappings()
            ]

    async def add_current(
        self, kid: str, private_jwk: dict[str, Any], now: datetime, *, only_if_none: bool
    ) -> None:
        """Make this key the one that signs; earlier keys are retired (still published).
        With `only_if_none`, nothing happens when a key exists (first start, many workers)."""
        writer = self._engine.execution_options(**{WRITE_OPTION: True})
        async with writer.begin() as connection:
            if self._engine.dialect.name == "postgresql":
                # Serialise key creation between processes for the length of this transaction.
                await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            if only_if_none:
                existing = await connection.execute(select(t.ticket_keys.c.kid).limit(1))
                if existing.first() is not None:
                    return
            await connection.execute(
                update(t.ticket_keys)
                .where(t.ticket_keys.c.retired_at.is_(None))
                .values(retired_at=now)
            )
            await connection.execute(
                insert(t.ticket_keys).values(
                    kid=kid, private_jwk=private_jwk, created_at=now, retired_at=None
                )
            )
