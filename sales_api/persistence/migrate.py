"""Alembic, driven from code: `sales-api db upgrade` and the start of `serve` call this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % specially; URLs may contain percent-escapes.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to `revision` (the newest by default). Not inside a running loop."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(database_url: str) -> str | None:
    """The database's revision now (None: never migrated). Not inside a running loop."""
    import asyncio

    from sqlalchemy import inspect, text

    from sales_api.persistence.database import create_engine

    async def read() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
                if "alembic_version" not in tables:
                    return None
                found = await connection.scalar(text("SELECT version_num FROM alembic_version"))
                return None if found is None else str(found)
        finally:
            await engine.dispose()

    return asyncio.run(read())
