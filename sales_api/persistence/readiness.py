"""Is the database ready for this code? It answers, and it is migrated to the newest head."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.persistence.migrate import head_revision

log = logging.getLogger("sales_api.persistence.readiness")


async def database_problem(engine: AsyncEngine, expected_revision: str) -> str | None:
    """None when the database answers and its alembic_version is `expected_revision`;
    otherwise what is wrong. Driver messages go to the log only: they may name hosts."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            try:
                revisions = (
                    (await connection.execute(text("SELECT version_num FROM alembic_version")))
                    .scalars()
                    .all()
                )
            except SQLAlchemyError:
                log.warning("alembic_version could not be read", exc_info=True)
                return "the database is not migrated (no alembic_version table)"
    except SQLAlchemyError as error:
        log.warning("database did not answer", exc_info=True)
        return f"the database did not answer ({type(error).__name__})"
    if list(revisions) != [expected_revision]:
        found = ", ".join(revisions) or "none"
        return f"the database is at revision {found}; this code needs {expected_revision}"
    return None


def readiness_check(engine: AsyncEngine) -> Callable[[], Awaitable[str | None]]:
    """A check for the health endpoint; the head revision is read from the scripts once."""
    expected = head_revision()

    async def check() -> str | None:
        return await database_problem(engine, expected)

    return check
