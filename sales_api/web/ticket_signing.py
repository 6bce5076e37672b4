"""Ticket tokens: compact JWS (ES256) signed with the current ticket key; the public keys,
old ones included, are published at /.well-known/ticket-keys.json for offline checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"


class TicketKeyStore(Protocol):
    async def all(self) -> list[Any]: ...

    async def add_current(
        self, kid: str, private_jwk: dict[str, Any], now: datetime, *, only_if_none: bool
    ) -> None: ...


class JoseTicketSigner:
    def __init__(self, store: TicketKeyStore, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now
        self._current: ECKey | None = None
        self._public: KeySet | None = None
        self._lock = asyncio.Lock()

    async def _load(self, *, create: bool = True) -> None:
        records = await self._store.all()
        if not records and create:
            await self._store.add_current(*_new_key(), self._now(), only_if_none=True)
            records = await self._store.all()
        keys = [ECKey.import_key(r.private_jwk) for r in records]
        current = [k for k, r in zip(keys, records, strict=True) if r.retired_at is None]
        self._current = current[-1] if current else None
        self._public = KeySet(list(keys))  # type: ignore[arg-type]

    async def _ready(self) -> tuple[ECKey, KeySet]:
        if self._current is None or self._public is None:
            async with self._lock:
                if self._current is None or self._public is None:
                    await self._load()
        assert self._current is not None and self._public is not None
        return self._current, self._public

    async def prepare(self) -> None:
        await self._ready()

    async def sign(self, claims: dict[str, Any]) -> str:
        key, _ = await self._ready()
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": "ticket+jwt"}
        return jwt.encode(header, claims, key)

    async def verify(self, token: str) -> dict[str, Any] | None:
        _, public = await self._ready()
        try:
            header = jws.extract_compact(token.encode()).protected
            kid = header.get("kid")
            if header.get("alg") != ALGORITHM or not isinstance(kid, str):
                return None
            key = next((k for k in public.keys if k.kid == kid), None)
            if key is None:
                # A key rotated in by another process since this one loaded its keys.
                async with self._lock:
                    await self._load(create=False)
                    key = next((k for k in (self._public or public).keys if k.kid == kid), None)
            if key is None:
                return None
            return dict(jwt.decode(token, key, algorithms=[ALGORITHM]).claims)
        except (JoseError, ValueError, TypeError, UnicodeError):
            return None

    async def jwks(self) -> dict[str, Any]:
        """Every ticket key, current and retired, public parts only."""
        await self._ready()
        async with self._lock:
            await self._load(create=False)
        assert self._public is not None
        return {"keys": [key.as_dict(private=False) for key in self._public.keys]}

    async def rotate(self) -> str:
        """A new current key; the old ones stay published. Returns the new kid."""
        kid, jwk = _new_key()
        await self._store.add_current(kid, jwk, self._now(), only_if_none=False)
        async with self._lock:
            await self._load()
        return kid


def _new_key() -> tuple[str, dict[str, Any]]:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": ALGORITHM})
    key.ensure_kid()
    assert key.kid is not None
    return key.kid, key.as_dict(private=True)
