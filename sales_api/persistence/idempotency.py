"""Idempotency keys, scoped to the organisation and claimed in the transaction of the work."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.ports import IdempotencyRecord
from sales_api.persistence import tables as t
from sales_api.persistence.database import dialect_insert

KEEP_FOR = timedelta(hours=48)


class SqlIdempotencyKeys:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(
        self, organisation_id: int, key: str, operation: str, request_hash: str, now: datetime
    ) -> IdempotencyRecord | None:
        """Claim the key for this transaction, or answer the record of whoever claimed it
        first. A concurrent claimant of the same key waits here for the first to finish
        (PostgreSQL: the primary key; SQLite: the IMMEDIATE transaction)."""
        inserted = await self._connection.execute(
            dialect_insert(self._connection, t.idempotency_keys)
            .values(
                organisation_id=organisation_id,
                key=key,
                operation=operation,
                request_hash=request_hash,
                result={},
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        if inserted.rowcount == 1:
            return None
        row = (
            (
                await self._connection.execute(
                    select(t.idempotency_keys).where(
                        t.idempotency_keys.c.organisation_id == organisation_id,
                        t.idempotency_keys.c.key == key,
                    )
                )
            )
            .mappings()
            .one()
        )
        return IdempotencyRecord(row["operation"], row["request_hash"], dict(row["result"]))

    async def complete(self, organisation_id: int, key: str, result: dict[str, Any]) -> None:
        await self._connection.execute(
            update(t.idempotency_keys)
            .where(
                t.idempotency_keys.c.organisation_id == organisation_id,
                t.idempotency_keys.c.key == key,
            )
            .values(result=result)
        )

    async def forget_older_than(self, moment: datetime) -> int:
        result = await self._connection.execute(
            delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at < moment)
        )
        return int(result.rowcount or 0)
