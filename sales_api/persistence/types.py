"""Column types that keep the domain's promises: aware UTC datetimes on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC (naive on SQLite, timestamptz on PostgreSQL); always reads back aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text ('2026-11-27 10:15:00.000000', as SQLAlchemy writes
        it) is read with `datetime.fromisoformat`, several times faster than the dialect's
        regular expression; elsewhere the driver's datetimes go through the usual path."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fromisoformat = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            parsed = fromisoformat(value)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)

        return process
