"""The catalogue and the offer signing key, read from the database once per process."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.catalogue import Catalogue, catalogue_from_document
from sales_api.domain.offers import OfferCodec
from sales_api.persistence.catalogue_store import SqlCatalogueStore, SqlSecrets
from sales_api.persistence.database import WRITE_OPTION

OFFER_SECRET = "offer-signing-key"


class NoCatalogue(RuntimeError):
    """No catalogue has been loaded: run `sales-api seed`."""


class SqlReferenceData:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._catalogue: Catalogue | None = None
        self._codec: OfferCodec | None = None
        self._lock = asyncio.Lock()

    async def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            async with self._lock:
                if self._catalogue is None:
                    async with self._engine.connect() as connection:
                        document = await SqlCatalogueStore(connection).load()
                    if document is None:
                        raise NoCatalogue("no catalogue is loaded; run `sales-api seed`")
                    self._catalogue = catalogue_from_document(document)
        return self._catalogue

    async def offer_codec(self) -> OfferCodec:
        if self._codec is None:
            async with self._lock:
                if self._codec is None:
                    engine = self._engine.execution_options(**{WRITE_OPTION: True})
                    async with engine.begin() as connection:
                        secret = await SqlSecrets(connection).get_or_create(OFFER_SECRET)
                    self._codec = OfferCodec(secret.encode())
        return self._codec
