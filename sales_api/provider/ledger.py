"""The simulated provider's books: what it charged and credited, by reference. Kept in a
SQLite file of its own in the data folder, so they survive restarts and every process of
the service (uvicorn's workers) writes the same books."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sales_api.domain.payments import ProviderEntry

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    reference TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    at TEXT NOT NULL,
    psp_reference TEXT NOT NULL,
    masked_card_number TEXT,
    capture_reference TEXT
)
"""


class Ledger:
    """In memory; the tests' and the benchmark's."""

    def __init__(self) -> None:
        self._entries: dict[str, ProviderEntry] = {}

    async def record(
        self, entry: ProviderEntry, capture_reference: str | None = None
    ) -> ProviderEntry:
        """The entry under its reference: this one, or the one recorded before."""
        return self._entries.setdefault(entry.reference, entry)

    async def find(self, reference: str) -> ProviderEntry | None:
        return self._entries.get(reference)

    async def all(self) -> list[ProviderEntry]:
        return list(self._entries.values())


class FileLedger(Ledger):
    """In a SQLite file; writes are serialised by SQLite (several processes may share it)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(SCHEMA)
            self._local.connection = connection
        return connection

    def _record(self, entry: ProviderEntry, capture_reference: str | None) -> ProviderEntry:
        connection = self._connection()
        connection.execute(
            "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.reference,
                entry.operation,
                f"{entry.amount:.2f}",
                entry.currency,
                entry.at.isoformat(),
                entry.psp_reference,
                entry.masked_card_number,
                capture_reference,
            ),
        )
        found = self._find(entry.reference)
        assert found is not None
        return found

    def _find(self, reference: str) -> ProviderEntry | None:
        row = (
            self._connection()
            .execute(
                "SELECT reference, operation, amount, currency, at, psp_reference, "
                "masked_card_number FROM entries WHERE reference = ?",
                (reference,),
            )
            .fetchone()
        )
        return None if row is None else _entry(row)

    def _all(self) -> list[ProviderEntry]:
        rows = (
            self._connection()
            .execute(
                "SELECT reference, operation, amount, currency, at, psp_reference, "
                "masked_card_number FROM entries ORDER BY at, reference"
            )
            .fetchall()
        )
        return [_entry(row) for row in rows]

    async def record(
        self, entry: ProviderEntry, capture_reference: str | None = None
    ) -> ProviderEntry:
        return await asyncio.to_thread(self._record, entry, capture_reference)

    async def find(self, reference: str) -> ProviderEntry | None:
        return await asyncio.to_thread(self._find, reference)

    async def all(self) -> list[ProviderEntry]:
        return await asyncio.to_thread(self._all)


def _entry(row: tuple[str, str, str, str, str, str, str | None]) -> ProviderEntry:
    reference, operation, amount, currency, at, psp_reference, masked = row
    moment = datetime.fromisoformat(at)
    return ProviderEntry(
        reference,
        operation,
        Decimal(amount),
        currency,
        moment if moment.tzinfo else moment.replace(tzinfo=UTC),
        psp_reference,
        masked,
    )
