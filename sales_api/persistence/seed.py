"""Loads a catalogue data file into the database; loading the same file twice changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.catalogue import CATALOGUE_FORMAT, catalogue_from_document
from sales_api.persistence import tables as t
from sales_api.persistence.catalogue_store import SqlCatalogueStore
from sales_api.persistence.database import WRITE_OPTION, take_setup_lock


def load_catalogue_file(path: Path | None = None) -> dict[str, Any]:
    """The data file at `path`, or the demo catalogue shipped with the package."""
    if path is None:
        text = resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    if data.get("format") != CATALOGUE_FORMAT:
        raise ValueError(f"catalogue file format must be {CATALOGUE_FORMAT!r}")
    return data


async def seed_catalogue(engine: AsyncEngine, data: dict[str, Any], *, replace: bool = True) -> int:
    """Load the catalogue document (replacing the loaded one, or only when there is none
    with `replace=False`) and add missing distribution channels; returns rows added."""
    catalogue_from_document(data)  # refuse a bad file before anything is written
    added = 0
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        await connection.run_sync(take_setup_lock)
        store = SqlCatalogueStore(connection)
        if replace or await store.load() is None:
            await store.replace(data, datetime.now(UTC))
            added += 1
        for channel in data.get("distributionChannels", []):
            exists = await connection.execute(
                select(t.distribution_channels.c.id).where(
                    t.distribution_channels.c.id == channel["id"]
                )
            )
            if exists.first() is None:
                await connection.execute(
                    t.distribution_channels.insert().values(id=channel["id"], name=channel["name"])
                )
                added += 1
            for organisation_id in channel["organisations"]:
                link = await connection.execute(
                    select(t.distribution_channel_organisations.c.channel_id).where(
                        t.distribution_channel_organisations.c.channel_id == channel["id"],
                        t.distribution_channel_organisations.c.organisation_id == organisation_id,
                    )
                )
                if link.first() is None:
                    await connection.execute(
                        t.distribution_channel_organisations.insert().values(
                            channel_id=channel["id"], organisation_id=int(organisation_id)
                        )
                    )
                    added += 1
    return added
