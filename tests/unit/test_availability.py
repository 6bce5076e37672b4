"""Which failures are the database being away (503, retry later) and which are faults."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from sales_api.persistence.availability import DatabaseStatus, database_unavailable


def wrapped(error: BaseException) -> BaseException:
    """As SQLAlchemy raises a driver's error: a DBAPIError with the driver's as `orig`."""
    return sa_exc.OperationalError("SELECT 1", {}, error)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        sa_exc.TimeoutError("QueuePool limit reached"),
        wrapped(ConnectionResetError(104, "reset")),
        wrapped(sqlite3.OperationalError("database is locked")),
        wrapped(sqlite3.OperationalError("interrupted")),
        OSError(113, "No route to host"),
    ],
    ids=["refused", "timeout", "pool", "reset", "locked", "interrupted", "unreachable"],
)
def test_the_database_being_away_is_recognised(error: BaseException) -> None:
    assert database_unavailable(error)
    try:
        raise RuntimeError("in a resolver") from error
    except RuntimeError as chained:
        assert database_unavailable(chained)


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("a bug"),
        ValueError("bad"),
        wrapped(sqlite3.OperationalError("no such table: orders")),
        sa_exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
    ],
    ids=["bug", "value", "missing-table", "integrity"],
)
def test_faults_are_not_outages(error: BaseException) -> None:
    assert not database_unavailable(error)


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    status = DatabaseStatus()
    with caplog.at_level(logging.INFO, logger="sales_api.database"):
        for _ in range(50):
            status.failed(ConnectionRefusedError())
        status.answered()
        status.answered()
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
    assert (status.outages, status.failures) == (1, 50)
