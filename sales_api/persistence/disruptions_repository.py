"""Disrupted service journeys: no longer sold, their lines marked for everyone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.persistence import tables as t


class SqlDisruptions:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def disrupt(
        self, journey_id: str, reason: str, organisation_id: int, client_id: str, now: datetime
    ) -> bool:
        """Mark the journey disrupted and every line sold on it; False when it already was."""
        if await self.disrupted_among([journey_id]):
            return False
        await self._connection.execute(
            insert(t.disrupted_service_journeys).values(
                service_journey_id=journey_id,
                reason=reason,
                organisation_id=organisation_id,
                client_id=client_id,
                disrupted_at=now,
            )
        )
        await self._connection.execute(
            update(t.order_lines)
            .where(t.order_lines.c.service_journey_id == journey_id)
            .values(disrupted=True)
        )
        return True

    async def disrupted_among(self, journey_ids: Iterable[str]) -> set[str]:
        ids = list(set(journey_ids))
        if not ids:
            return set()
        rows = await self._connection.execute(
            select(t.disrupted_service_journeys.c.service_journey_id).where(
                t.disrupted_service_journeys.c.service_journey_id.in_(ids)
            )
        )
        return {r[0] for r in rows}
