"""The registry of distribution channels and the organisations each is open to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.persistence import tables as t


class SqlDistributionChannels:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def allows(self, channel_id: str, organisation_id: int) -> bool:
        found = await self._connection.execute(
            select(t.distribution_channel_organisations.c.channel_id).where(
                t.distribution_channel_organisations.c.channel_id == channel_id,
                t.distribution_channel_organisations.c.organisation_id == organisation_id,
            )
        )
        return found.first() is not None
