"""Is a failure the database being away (down, frozen, unreachable, over its time limit,
busy past the limit), which a client should retry later, rather than a fault of ours?
And one log line per outage instead of one per request."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

log = logging.getLogger("sales_api.database")

try:  # asyncpg is a dependency, but the check must not need PostgreSQL to run
    import asyncpg

    _ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.QueryCanceledError,  # statement_timeout on the server
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
        asyncpg.TooManyConnectionsError,
    )
except ImportError:  # pragma: no cover
    _ASYNCPG_UNAVAILABLE = ()

_SQLITE_BUSY = ("database is locked", "database is busy", "interrupted", "unable to open")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending.extend((item.__cause__, item.__context__, getattr(item, "orig", None)))


def database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the database did not answer in time."""
    for cause in _chain(error):
        if isinstance(cause, sa_exc.TimeoutError):  # no pooled connection in time
            return True
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, (TimeoutError, ConnectionError, *_ASYNCPG_UNAVAILABLE)):
            return True
        if isinstance(cause, OSError) and cause.errno is not None:  # refused, unreachable
            return True
        if isinstance(cause, sqlite3.OperationalError) and any(
            text in str(cause) for text in _SQLITE_BUSY
        ):
            return True
    return False


class DatabaseStatus:
    """Notes failures and answers: the first failure of an outage is logged (once), the
    first answer after it too, with how long the database was away."""

    def __init__(self) -> None:
        self.away_since: float | None = None
        self.failures = 0
        self.outages = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.away_since is None:
            self.away_since = time.monotonic()
            self.outages += 1
            log.error(
                "the database does not answer; requests are answered 503 until it does",
                extra={"error": type(error).__name__},
            )

    def answered(self) -> None:
        if self.away_since is None:
            return
        away = time.monotonic() - self.away_since
        self.away_since = None
        log.warning("the database answers again", extra={"away_seconds": round(away, 1)})
