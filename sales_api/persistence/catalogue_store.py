"""The catalogue document and the service's shared secrets."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.persistence import tables as t
from sales_api.persistence.database import dialect_insert


class SqlCatalogueStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def load(self) -> dict[str, Any] | None:
        row = await self._connection.execute(
            select(t.catalogue.c.document).where(t.catalogue.c.id == 1)
        )
        document = row.scalar_one_or_none()
        return dict(document) if document is not None else None

    async def replace(self, document: dict[str, Any], now: datetime) -> None:
        await self._connection.execute(delete(t.catalogue))
        await self._connection.execute(
            insert(t.catalogue).values(id=1, document=document, loaded_at=now)
        )


class SqlSecrets:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get_or_create(self, name: str) -> str:
        """A random secret made once and shared by every process using this database."""
        await self._connection.execute(
            dialect_insert(self._connection, t.service_secrets)
            .values(name=name, value=secrets.token_urlsafe(48))
            .on_conflict_do_nothing()
        )
        value = await self._connection.execute(
            select(t.service_secrets.c.value).where(t.service_secrets.c.name == name)
        )
        return str(value.scalar_one())
