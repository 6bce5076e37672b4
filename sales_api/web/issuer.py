"""The built-in development token issuer: OAuth2 client credentials, ES256, keys in a file.

For local use only: it refuses to run when SALES_ENV=production (see Settings)."""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class IssuerClient:
    client_id: str
    client_secret: str
    organisation_id: int
    permissions: tuple[str, ...]


ALL_PERMISSIONS = ("sales:read", "sales:write", "payments:write", "refunds:write")
# Disrupting a service journey affects every seller's orders on it: an operator's right,
# given to demo-app (the operator of the demo) and not to other-app.
OPERATOR_PERMISSIONS = (*ALL_PERMISSIONS, "sales:disruptions")
DEMO_CLIENTS = (
    IssuerClient("demo-app", "demo-secret", 1, OPERATOR_PERMISSIONS),
    IssuerClient("other-app", "other-secret", 2, ALL_PERMISSIONS),
)


class IssuerError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def load_or_create_key(path: Path) -> ECKey:
    """The signing key kept at `path`; made on first use. Safe when several workers start at
    once: the key is written to a temporary file and linked into place only if none exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": ALGORITHM})
        key.ensure_kid()
        document = json.dumps(key.as_dict(private=True))
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".issuer-key-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(document)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    data = json.loads(path.read_text("utf-8"))
    return ECKey.import_key(data)


class DevIssuer:
    def __init__(
        self,
        key: ECKey,
        *,
        issuer: str,
        audience: str,
        organisation_claim: str,
        lifetime_seconds: int = 3600,
        clients: tuple[IssuerClient, ...] = DEMO_CLIENTS,
    ) -> None:
        self._key = key
        self.issuer = issuer
        self.audience = audience
        self._organisation_claim = organisation_claim
        self._lifetime = lifetime_seconds
        self._clients = {client.client_id: client for client in clients}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}

    def client(self, client_id: str) -> IssuerClient:
        client = self._clients.get(client_id)
        if client is None:
            raise IssuerError("invalid_client", "unknown client", 401)
        return client

    def authenticate(self, client_id: str, client_secret: str) -> IssuerClient:
        client = self._clients.get(client_id)
        expected = client.client_secret if client else "-"
        if not hmac.compare_digest(expected.encode(), client_secret.encode()) or client is None:
            raise IssuerError("invalid_client", "client authentication failed", 401)
        return client

    def mint(self, client: IssuerClient, audience: str | None = None) -> dict[str, Any]:
        """An access token response as RFC 6749 section 5.1 describes it."""
        if audience is not None and audience != self.audience:
            raise IssuerError(
                "invalid_target", f"this issuer serves the audience {self.audience!r}"
            )
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime,
            self._organisation_claim: client.organisation_id,
            "permissions": list(client.permissions),
        }
        header = {"alg": ALGORITHM, "kid": self._key.kid, "typ": "at+jwt"}
        token = jwt.encode(header, claims, self._key)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self._lifetime}
