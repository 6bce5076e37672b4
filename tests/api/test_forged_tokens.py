"""Forged bearer tokens against an app whose verifier fetches the issuer's JWKS over real
HTTP, as it does in production (SALES_AUTH_JWKS_URL): the matrix of forgeries (each a 401),
key URLs in token headers never followed (x5u, jku: the bait is served and never asked for),
and a key rotation at the issuer picked up after exactly one JWKS re-fetch.

The token-making helpers come from test_auth.py, which covers the rest of the refusals."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette

import sales_api.app
from sales_api.app import create_app, create_dev_issuer
from sales_api.settings import Settings
from sales_api.web.tokens import TokenVerifier
from tests.api.test_auth import (
    ORG_CLAIM,
    assert_unauthenticated,
    b64url,
    b64url_decode,
    b64url_json,
    bearer,
    good_claims,
    graphql,
    issuer_key,
    issuer_of,
    other_key,
    sign,
)
from tests.conftest import Api

JWKS_PATH = "/jwks.json"


# ------------------------------------------------------------------ the issuer over HTTP


class KeyServer:
    """The identity provider's JWKS on a real loopback socket, recording every request.
    Its other paths are an attacker's bait: a JWKS (for jku) and a certificate (for x5u)
    holding the attacker's key, so a verifier that followed them would accept the forgery."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.bait: dict[str, tuple[str, bytes]] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append(self.path)
                if self.path == JWKS_PATH:
                    kind, body = "application/json", json.dumps({"keys": server.keys}).encode()
                elif self.path in server.bait:
                    kind, body = server.bait[self.path]
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll so that stopping takes milliseconds, not the default half second.
        serve = functools.partial(self._http.serve_forever, poll_interval=0.01)
        self._thread = threading.Thread(target=serve, daemon=True)

    def url(self, path: str) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)

    @property
    def fetches(self) -> int:
        return self.hits.count(JWKS_PATH)


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outgoing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL requested through httpx's network transport, whatever the host."""
    urls: list[str] = []
    real = httpx.AsyncHTTPTransport.handle_async_request

    async def record(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return await real(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", record)
    return urls


class Monotonic:
    """The verifier's monotonic clock, moved by the test instead of by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def jwks_app(
    database_url: str,
    tmp_path: Path,
    key_server: KeyServer,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Starlette]:
    """The app with its built-in issuer (key in SALES_DATA_DIR), verifying tokens against
    the JWKS published at the key server, as it would against a separate identity provider."""
    monotonic = Monotonic()
    monkeypatch.setattr(
        sales_api.app, "TokenVerifier", functools.partial(TokenVerifier, monotonic=monotonic)
    )
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_jwks_url=key_server.url(JWKS_PATH),
    )
    app = create_app(settings)
    app.state.monotonic = monotonic
    key_server.keys = issuer_of(app).jwks()["keys"]
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def jwks_client(jwks_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=jwks_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def accepted(client: httpx.AsyncClient, token: str) -> bool:
    response = await graphql(client, bearer(token))
    if response.status_code == 401:
        assert_unauthenticated(response)
        return False
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return True


# ------------------------------------------------------------------ forgeries


def self_signed(key: ECKey, name: str) -> x509.Certificate:
    """A certificate for the key, signed by itself: what an attacker puts behind x5u/x5c."""
    assert key.private_key is not None
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key.private_key, hashes.SHA256())
    )


@functools.cache
def attacker() -> ECKey:
    return other_key(kid="attacker-key")


def hmac_token(app: Starlette, secret: bytes) -> str:
    """The classic algorithm confusion: HS256 keyed with the issuer's public key."""
    header = {"alg": "HS256", "kid": issuer_key(app).kid, "typ": "at+jwt"}
    signing_input = f"{b64url_json(header)}.{b64url_json(good_claims(app))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered(app: Starlette) -> str:
    header, payload, signature = sign(app, good_claims(app)).split(".")
    claims = json.loads(b64url_decode(payload))
    claims[ORG_CLAIM] = 2
    return f"{header}.{b64url_json(claims)}.{signature}"


def by_attacker(app: Starlette, **header: Any) -> str:
    """Signed with the attacker's key, whatever the header says."""
    return sign(app, good_claims(app), key=attacker(), header=header)


def now() -> int:
    return int(time.time())


def x5c(key: ECKey) -> list[str]:
    der = self_signed(key, "urn:sales-api:dev-issuer").public_bytes(serialization.Encoding.DER)
    return [base64.b64encode(der).decode()]


Forge = Callable[[Starlette, KeyServer], str]
FORGERIES: dict[str, Forge] = {
    "alg none": lambda app, _: (
        f"{b64url_json({'alg': 'none', 'kid': issuer_key(app).kid})}"
        f".{b64url_json(good_claims(app))}."
    ),
    "HS256 keyed with the public JWK": lambda app, _: hmac_token(
        app, json.dumps(issuer_of(app).jwks()["keys"][0]).encode()
    ),
    "HS256 keyed with the public PEM": lambda app, _: hmac_token(
        app, issuer_key(app).as_pem(private=False)
    ),
    "wrong iss": lambda app, _: sign(app, good_claims(app, iss="urn:evil:issuer")),
    "wrong aud": lambda app, _: sign(app, good_claims(app, aud="someone-else")),
    "expired": lambda app, _: sign(
        app, good_claims(app, iat=now() - 7200, nbf=now() - 7200, exp=now() - 120)
    ),
    "nbf in the future": lambda app, _: sign(
        app, good_claims(app, nbf=now() + 600, exp=now() + 900)
    ),
    "missing exp": lambda app, _: sign(app, good_claims(app, exp=None)),
    "unknown kid": lambda app, _: sign(app, good_claims(app), header={"kid": "unknown-kid"}),
    "path kid": lambda app, _: sign(app, good_claims(app), header={"kid": "../../etc/passwd"}),
    "SQL kid": lambda app, _: sign(app, good_claims(app), header={"kid": "' OR 1=1 --"}),
    "no kid": lambda app, _: jwt.encode({"alg": "ES256"}, good_claims(app), issuer_key(app)),
    "another key under the issuer's kid": lambda app, s: by_attacker(app, kid=issuer_key(app).kid),
    "jku to the attacker's JWKS": lambda app, s: by_attacker(
        app, kid=attacker().kid, jku=s.url("/evil/jwks.json")
    ),
    "jku, the issuer's kid": lambda app, s: by_attacker(app, jku=s.url("/evil/jwks.json")),
    "x5u to the attacker's certificate": lambda app, s: by_attacker(
        app, kid=attacker().kid, x5u=s.url("/evil/cert.pem")
    ),
    "x5u, the issuer's kid": lambda app, s: by_attacker(app, x5u=s.url("/evil/cert.pem")),
    "x5u, no kid": lambda app, s: jwt.encode(
        {"alg": "ES256", "x5u": s.url("/evil/cert.pem")}, good_claims(app), attacker()
    ),
    "x5c with the attacker's certificate": lambda app, s: by_attacker(
        app, kid=attacker().kid, x5c=x5c(attacker())
    ),
    "jwk embedded": lambda app, s: by_attacker(
        app, kid=attacker().kid, jwk=attacker().as_dict(private=False)
    ),
    "tampered payload": lambda app, _: tampered(app),
}


def set_bait(server: KeyServer) -> None:
    cert = self_signed(attacker(), "urn:sales-api:dev-issuer")
    jwks = json.dumps({"keys": [attacker().as_dict(private=False)]}).encode()
    server.bait = {
        "/evil/jwks.json": ("application/json", jwks),
        "/evil/cert.pem": (
            "application/pem-certificate-chain",
            cert.public_bytes(serialization.Encoding.PEM),
        ),
    }


async def test_the_control_a_token_of_the_issuer_is_accepted(
    jwks_client: httpx.AsyncClient, jwks_app: Starlette, key_server: KeyServer, outgoing: list[str]
) -> None:
    """The forgeries below differ from this token only in what they forge."""
    assert await accepted(jwks_client, sign(jwks_app, good_claims(jwks_app)))
    assert await accepted(jwks_client, await Api(jwks_client).token())
    assert key_server.hits == [JWKS_PATH], "one fetch of the JWKS, over HTTP"
    assert outgoing == [key_server.url(JWKS_PATH)]


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_every_forged_token_is_401_and_only_the_issuers_jwks_is_fetched(
    jwks_client: httpx.AsyncClient,
    jwks_app: Starlette,
    key_server: KeyServer,
    outgoing: list[str],
    forgery: str,
) -> None:
    set_bait(key_server)
    token = FORGERIES[forgery](jwks_app, key_server)
    assert_unauthenticated(await graphql(jwks_client, bearer(token)))
    assert set(key_server.hits) <= {JWKS_PATH} and key_server.fetches <= 1, key_server.hits
    assert set(outgoing) <= {key_server.url(JWKS_PATH)}, outgoing
    # and nothing was harmed: a good token still works, with no further fetch
    assert await accepted(jwks_client, sign(jwks_app, good_claims(jwks_app)))
    assert key_server.hits == [JWKS_PATH]


async def test_x5u_and_jku_are_never_followed_though_the_bait_would_verify(
    jwks_client: httpx.AsyncClient, jwks_app: Starlette, key_server: KeyServer, outgoing: list[str]
) -> None:
    set_bait(key_server)
    forged = {
        name: FORGERIES[name](jwks_app, key_server)
        for name in FORGERIES
        if name.startswith(("x5u", "jku"))
    }
    # The bait is good: whoever fetched it would verify each forged token with it.
    async with httpx.AsyncClient() as browser:
        cert_pem = (await browser.get(key_server.url("/evil/cert.pem"))).content
        bait_jwks = (await browser.get(key_server.url("/evil/jwks.json"))).json()
    cert_key = ECKey.import_key(
        x509.load_pem_x509_certificate(cert_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for token in forged.values():
        assert jwt.decode(token, cert_key, algorithms=["ES256"]).claims[ORG_CLAIM] == 1
        bait_key = ECKey.import_key(bait_jwks["keys"][0])
        assert jwt.decode(token, bait_key, algorithms=["ES256"]).claims[ORG_CLAIM] == 1
    key_server.hits.clear()
    outgoing.clear()

    for name, token in forged.items():
        response = await graphql(jwks_client, bearer(token))
        assert response.status_code == 401, name
        assert_unauthenticated(response)
    assert key_server.hits == [JWKS_PATH], "only the configured JWKS, never a header's URL"
    assert outgoing == [key_server.url(JWKS_PATH)]
    # A URL elsewhere is not asked for either (httpx would have seen it).
    elsewhere = by_attacker(jwks_app, x5u="https://evil.example/cert.pem")
    assert_unauthenticated(await graphql(jwks_client, bearer(elsewhere)))
    assert outgoing == [key_server.url(JWKS_PATH)]


async def test_a_key_rotation_at_the_issuer_is_picked_up_after_one_jwks_fetch(
    jwks_client: httpx.AsyncClient,
    jwks_app: Starlette,
    key_server: KeyServer,
    outgoing: list[str],
) -> None:
    verifier = jwks_app.state.verifier
    monotonic: Monotonic = jwks_app.state.monotonic
    settings: Settings = jwks_app.state.settings
    api = Api(jwks_client)
    old_token = await api.token()  # POST /oauth/token: the key in SALES_DATA_DIR
    assert await accepted(jwks_client, old_token)
    assert await accepted(jwks_client, old_token)
    assert (key_server.fetches, verifier.fetch_count) == (1, 1)

    # The issuer rotates: a new key in SALES_DATA_DIR, the old one still published a while.
    old_kid = issuer_key(jwks_app).kid
    settings.issuer_key_file.rename(settings.issuer_key_file.with_suffix(".retired"))
    rotated = create_dev_issuer(settings)
    assert rotated.jwks()["keys"][0]["kid"] != old_kid
    key_server.keys = [*rotated.jwks()["keys"], *key_server.keys]
    new_token = rotated.mint(rotated.client("demo-app"))["access_token"]

    # An unknown kid within the re-fetch interval of the last fetch is refused without a
    # fetch: forged kids cannot hammer the issuer.
    monotonic.now += 10
    assert not await accepted(jwks_client, new_token)
    assert key_server.fetches == 1
    # Past the interval, the new key is fetched once and then used.
    monotonic.now += settings.auth_jwks_refetch_seconds
    assert await accepted(jwks_client, new_token)
    assert key_server.fetches == 2
    for _ in range(3):
        assert await accepted(jwks_client, new_token)
        assert await accepted(jwks_client, old_token)  # still published
    forged_kid = sign(jwks_app, good_claims(jwks_app), header={"kid": "unknown-kid"})
    assert not await accepted(jwks_client, forged_kid)
    assert (key_server.fetches, verifier.fetch_count) == (2, 2)

    # The old key is withdrawn: it is refused once the JWKS has been fetched again.
    key_server.keys = rotated.jwks()["keys"]
    monotonic.now += settings.auth_jwks_refetch_seconds + 1
    assert not await accepted(jwks_client, forged_kid)  # an unknown kid: the one re-fetch
    assert key_server.fetches == 3
    assert not await accepted(jwks_client, old_token)
    assert await accepted(jwks_client, new_token)
    assert (key_server.fetches, verifier.fetch_count) == (3, 3)
    assert set(key_server.hits) == {JWKS_PATH}
    assert outgoing == [key_server.url(JWKS_PATH)] * 3
