"""Several processes starting at once on one empty database (as `serve` on several hosts
does): they migrate and seed one after another, and all of them start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sales_api.persistence import tables as t
from sales_api.persistence.database import create_engine
from sales_api.persistence.migrate import head_revision
from tests.conftest import _drop_postgres_database, _own_postgres_database

pytestmark = pytest.mark.slow

PROCESSES = 4
# What `sales-api serve` does before it serves: migrate, then seed the demo if none.
SETUP = """
import asyncio, sys
from sales_api.persistence.database import create_engine
from sales_api.persistence.migrate import upgrade
from sales_api.persistence.seed import load_catalogue_file, seed_catalogue

url = sys.argv[1]
upgrade(url)

async def seed():
    engine = create_engine(url)
    try:
        await seed_catalogue(engine, load_catalogue_file(), replace=False)
    finally:
        await engine.dispose()

asyncio.run(seed())
"""


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, of the kind the suite runs on."""
    if database_url.startswith("postgresql"):
        url, name = _own_postgres_database(database_url)
        try:
            yield url
        finally:
            _drop_postgres_database(database_url, name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


def test_processes_starting_at_once_migrate_and_seed_one_after_another(
    empty_database: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SETUP, empty_database],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * PROCESSES, outputs

    async def read() -> tuple[str, int, int]:
        engine = create_engine(empty_database)
        try:
            async with engine.connect() as connection:
                version = (
                    await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                ).scalar_one()
                catalogues = (
                    await connection.execute(select(func.count()).select_from(t.catalogue))
                ).scalar_one()
                channels = (
                    await connection.execute(
                        select(func.count()).select_from(t.distribution_channels)
                    )
                ).scalar_one()
                return version, catalogues, channels
        finally:
            await engine.dispose()

    version, catalogues, channels = asyncio.run(read())
    assert version == head_revision()
    assert catalogues == 1
    assert channels == 2  # the demo's App and Web, once each
