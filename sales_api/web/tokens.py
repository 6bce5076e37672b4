"""Bearer token verification against the issuer's JWKS (joserfc)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

MAX_TOKEN_LENGTH = 8192
MAX_JWKS_BYTES = 256 * 1024


class InvalidToken(Exception):
    """Why a token was refused; the message goes into the 401 body (never the token)."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    organisation_id: int
    client_id: str
    permissions: frozenset[str]
    expires_at: float | None = field(default=None, compare=False)
    """The `exp` claim (Unix seconds): a live subscription is closed then."""


class KeySource(Protocol):
    async def fetch(self) -> dict[str, Any]:
        """The issuer's JWKS document."""


class HttpKeySource:
    """Fetches a JWKS over HTTP; redirects are not followed, sizes are bounded."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout

    async def fetch(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise ValueError("JWKS document too large")
            document: dict[str, Any] = response.json()
            return document


class StaticKeySource:
    """Keys handed over in-process (the built-in issuer, tests)."""

    def __init__(self, jwks: Callable[[], dict[str, Any]]) -> None:
        self._jwks = jwks

    async def fetch(self) -> dict[str, Any]:
        return self._jwks()


class TokenVerifier:
    """Checks signature (allow-listed asymmetric algorithms, key chosen by `kid` from the
    issuer's JWKS only), `iss`, `aud`, `exp` and `nbf`. Unknown `kid`s trigger at most one
    JWKS re-fetch per `refetch_interval` seconds, so forged kids cannot hammer the issuer.
    While no keys could be fetched yet, a failed fetch is retried at most once per
    `retry_interval` seconds; requests in between are refused at once instead of queueing
    behind one fetch each. Keys older than `max_age` seconds are fetched again on the next
    verification, so a key the issuer withdrew stops working (a failed fetch keeps the
    keys in hand: the issuer being down must not lock every caller out)."""

    def __init__(
        self,
        source: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        organisation_claim: str,
        leeway: int = 30,
        refetch_interval: float = 60.0,
        retry_interval: float = 5.0,
        max_age: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._organisation_claim = organisation_claim
        self._leeway = leeway
        self._refetch_interval = refetch_interval
        self._retry_interval = min(retry_interval, refetch_interval)
        self._max_age = max(max_age, refetch_interval)
        self._monotonic = monotonic
        self._keys: KeySet | None = None
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def verify(self, token: str) -> VerifiedToken:
        header = _compact_header(token)
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise InvalidToken(f"algorithm {str(algorithm)[:20]!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 200:
            raise InvalidToken("the token names no key (kid)")
        key = await self._key(kid)
        try:
            decoded = jwt.decode(token, key, algorithms=self._algorithms)
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                leeway=self._leeway,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
            ).validate(claims)
        except JoseError as error:
            raise InvalidToken(error.description or error.error) from None
        except (ValueError, TypeError) as error:
            raise InvalidToken("malformed token") from error
        return _identity(claims, self._organisation_claim)

    async def _key(self, kid: str) -> Any:
        keys = await self._current_keys()
        key = _find(keys, kid)
        if key is not None:
            return key
        async with self._lock:
            if self._fetched_at is not None and (
                self._monotonic() - self._fetched_at < self._refetch_interval
            ):
                key = _find(self._keys, kid)
            else:
                key = _find(await self._refresh(), kid)
        if key is None:
            raise InvalidToken("the token's key (kid) is not one of the issuer's keys")
        return key

    async def _current_keys(self) -> KeySet | None:
        if self._keys is not None and self._stale():
            async with self._lock:
                if self._stale():
                    with contextlib.suppress(Exception):
                        await self._refresh()
        if self._keys is None:
            async with self._lock:
                if self._keys is None:
                    if self._fetched_at is not None and (
                        self._monotonic() - self._fetched_at < self._retry_interval
                    ):
                        raise InvalidToken("the issuer's keys could not be fetched")
                    try:
                        await self._refresh()
                    except Exception as error:
                        raise InvalidToken("the issuer's keys could not be fetched") from error
        return self._keys

    def _stale(self) -> bool:
        return self._fetched_at is not None and (
            self._monotonic() - self._fetched_at >= self._max_age
        )

    async def _refresh(self) -> KeySet | None:
        self._fetched_at = self._monotonic()
        self.fetch_count += 1
        try:
            document = await self._source.fetch()
            self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except Exception:
            self._fetched_at = self._monotonic()  # a slow failure counts from its end
            if self._keys is None:
                raise
        return self._keys


def _find(keys: KeySet | None, kid: str) -> Any:
    if keys is None:
        return None
    for key in keys.keys:
        if key.kid == kid:
            return key
    return None


def _compact_header(token: str) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("the token is empty or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the token is not a compact JWS")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidToken("the token header is not valid") from None
    if not isinstance(header, dict):
        raise InvalidToken("the token header is not valid")
    return header


MAX_ORGANISATION = 2_147_483_647  # an INTEGER column on PostgreSQL
_ORGANISATION_DIGITS = re.compile(r"[0-9]{1,10}")


def _organisation(raw: object, claim: str) -> int:
    """The organisation: an integer from 1 to 2147483647, as a JSON number or a string of
    ASCII digits. Python's int() would take U+0661 (an Arabic-Indic one), "1_0" and " 2 "."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidToken(f"the token has no organisation claim {claim!r}")
    if isinstance(raw, str):
        if not _ORGANISATION_DIGITS.fullmatch(raw):
            raise InvalidToken("the organisation claim is not an integer")
        raw = int(raw)
    if not 1 <= raw <= MAX_ORGANISATION:
        raise InvalidToken(f"the organisation claim is not from 1 to {MAX_ORGANISATION}")
    return raw


def _identity(claims: dict[str, Any], organisation_claim: str) -> VerifiedToken:
    organisation_id = _organisation(claims.get(organisation_claim), organisation_claim)
    permissions = claims.get("permissions", [])
    if isinstance(permissions, str):
        permissions = permissions.split()
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise InvalidToken("the permissions claim is not a list of strings")
    client_id = claims.get("client_id") or claims.get("azp") or claims.get("sub") or ""
    expires = claims.get("exp")
    expires_at = float(expires) if isinstance(expires, int | float) else None
    return VerifiedToken(organisation_id, str(client_id), frozenset(permissions), expires_at)


VerifyToken = Callable[[str], Awaitable[VerifiedToken]]
