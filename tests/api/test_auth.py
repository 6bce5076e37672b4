"""Authentication over HTTP through the real app: the built-in issuer's token endpoint and
JWKS, and every way a bearer token can be refused by the GraphQL endpoint."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette

from sales_api.web.issuer import DevIssuer
from tests.conftest import Api

GRAPHQL = "/sales/v1/graphql"
ORG_CLAIM = "https://entur.io/organisationID"
ORDERS = "{ orders { totalItems } }"
ALL_PERMISSIONS = ["sales:read", "sales:write", "payments:write", "refunds:write"]


# ------------------------------------------------------------------ helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def issuer_of(app: Starlette) -> DevIssuer:
    issuer = app.state.issuer
    assert isinstance(issuer, DevIssuer)
    return issuer


def issuer_key(app: Starlette) -> ECKey:
    key = issuer_of(app)._key
    assert key.kid
    return key


def good_claims(app: Starlette, **changes: Any) -> dict[str, Any]:
    """Claims as the built-in issuer mints them; `changes` override (None removes)."""
    issuer = issuer_of(app)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "demo-app",
        "client_id": "demo-app",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        ORG_CLAIM: 1,
        "permissions": ALL_PERMISSIONS,
    }
    for name, value in changes.items():
        name = ORG_CLAIM if name == "org" else name
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(
    app: Starlette,
    claims: dict[str, Any],
    *,
    key: ECKey | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    """An ES256 JWS; by default signed with the issuer's own key and naming its kid."""
    signing_key = key if key is not None else issuer_key(app)
    full_header = {"alg": "ES256", "kid": issuer_key(app).kid, "typ": "at+jwt"}
    full_header.update(header or {})
    return jwt.encode(full_header, claims, signing_key)


def other_key(kid: str | None = None) -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    if kid is None:
        key.ensure_kid()
    else:
        key = ECKey.import_key({**key.as_dict(private=True), "kid": kid})
    return key


async def graphql(
    client: httpx.AsyncClient,
    headers: dict[str, str] | None = None,
    *,
    url: str = GRAPHQL,
    query: str = ORDERS,
) -> httpx.Response:
    return await client.post(
        url, json={"query": query}, headers={"Entur-POS": "test-pos", **(headers or {})}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthenticated(response: httpx.Response) -> str:
    """HTTP 401, the Bearer challenge and a GraphQL-shaped body; returns the message."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "errors"}
    assert body["data"] is None
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert isinstance(error["message"], str) and error["message"].startswith("Unauthorized")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    correlation_id = error["extensions"]["correlationId"]
    assert str(uuid.UUID(correlation_id)) == correlation_id
    assert response.headers["correlationId"] == correlation_id
    message: str = error["message"]
    return message


async def assert_token_works(client: httpx.AsyncClient, token: str) -> None:
    response = await graphql(client, bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["orders"]["totalItems"] == 0


# ------------------------------------------------------------------ POST /oauth/token


def assert_token_response(app: Starlette, response: httpx.Response, organisation: int) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    token = body["access_token"]
    assert isinstance(token, str) and token.count(".") == 2
    decoded = jwt.decode(token, issuer_key(app), algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256"
    assert decoded.header["kid"] == issuer_key(app).kid
    claims = decoded.claims
    assert claims["iss"] == issuer_of(app).issuer
    assert claims["aud"] == "sales-api"
    assert claims[ORG_CLAIM] == organisation
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert abs(claims["iat"] - time.time()) < 60
    assert "sales:read" in claims["permissions"]
    return token


async def test_token_with_json_body_works_on_graphql(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": "demo-secret",
            "audience": "sales-api",
        },
    )
    token = assert_token_response(app, response, organisation=1)
    await assert_token_works(client, token)


async def test_token_without_audience_is_for_the_default_audience(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": "demo-secret",
        },
    )
    token = assert_token_response(app, response, organisation=1)
    await assert_token_works(client, token)


async def test_token_with_form_body_works_on_graphql(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "other-app",
            "client_secret": "other-secret",
            "audience": "sales-api",
        },
    )
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    token = assert_token_response(app, response, organisation=2)
    await assert_token_works(client, token)


async def test_token_with_http_basic_client_auth_works_on_graphql(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "audience": "sales-api"},
        auth=("demo-app", "demo-secret"),
    )
    assert response.request.headers["authorization"].startswith("Basic ")
    token = assert_token_response(app, response, organisation=1)
    await assert_token_works(client, token)


async def test_tokens_of_two_organisations_see_only_their_own_orders(api: Api) -> None:
    create = (
        'mutation { createOrder(input: {travellers: [{id: "t1", userType: ADULT}]}) '
        "{ order { id } errors { code } } }"
    )
    created = await api.gql(create, client_id="demo-app")
    assert created["createOrder"]["errors"] == []
    assert (await api.gql(ORDERS, client_id="demo-app"))["orders"]["totalItems"] == 1
    assert (await api.gql(ORDERS, client_id="other-app"))["orders"]["totalItems"] == 0


def oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert "access_token" not in body
    return body


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("demo-app", "wrong-secret"),
        ("demo-app", ""),
        ("demo-app", "other-secret"),
        ("nobody", "demo-secret"),
        ("nobody", "-"),
        ("", ""),
    ],
)
async def test_bad_client_credentials_are_invalid_client(
    client: httpx.AsyncClient, client_id: str, secret: str
) -> None:
    response = await client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == "Basic"


async def test_missing_client_credentials_are_invalid_client(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("demo-app", "wrong-secret"), ("nobody", "demo-secret")],
)
async def test_bad_basic_credentials_are_invalid_client(
    client: httpx.AsyncClient, client_id: str, secret: str
) -> None:
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    oauth_error(response, 401, "invalid_client")


async def test_malformed_basic_credentials_are_invalid_client(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic not*base64!"},
    )
    oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "", None])
async def test_other_grant_types_are_unsupported(
    client: httpx.AsyncClient, grant_type: str | None
) -> None:
    body: dict[str, Any] = {"client_id": "demo-app", "client_secret": "demo-secret"}
    if grant_type is not None:
        body["grant_type"] = grant_type
    response = await client.post("/oauth/token", json=body)
    oauth_error(response, 400, "unsupported_grant_type")


async def test_wrong_audience_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": "demo-secret",
            "audience": "someone-else",
        },
    )
    oauth_error(response, 400, "invalid_target")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"grant_type=client_credentials{", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"client_credentials"', "application/json"),
        (b"grant_type=client_credentials", "text/plain"),
        (b"<xml/>", "application/xml"),
    ],
)
async def test_a_body_that_is_not_a_json_object_or_form_is_refused(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/oauth/token",
        content=content,
        headers={"Content-Type": content_type},
        auth=("demo-app", "demo-secret"),
    )
    oauth_error(response, 400, "invalid_request")


async def test_an_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": "demo-secret",
            "padding": "x" * 20_000,
        },
    )
    oauth_error(response, 413, "invalid_request")


async def test_token_endpoint_accepts_only_post(client: httpx.AsyncClient) -> None:
    response = await client.get("/oauth/token")
    assert response.status_code == 405


async def test_jwks_serves_the_public_key_only(app: Starlette, client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kid"] == issuer_key(app).kid
    assert keys[0]["kty"] == "EC"
    assert "d" not in keys[0]
    public = ECKey.import_key(keys[0])
    token = await Api(client).token()
    assert jwt.decode(token, public, algorithms=["ES256"]).claims[ORG_CLAIM] == 1


# ------------------------------------------------------------------ the happy path, forged


async def test_a_token_signed_by_the_issuer_key_is_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """The control for the refusals below: the helpers themselves make good tokens."""
    await assert_token_works(client, sign(app, good_claims(app)))


async def test_the_bearer_scheme_is_case_insensitive(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = sign(app, good_claims(app))
    response = await graphql(client, {"Authorization": f"bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["orders"]["totalItems"] == 0


async def test_clock_skew_within_the_leeway_is_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    now = int(time.time())
    await assert_token_works(client, sign(app, good_claims(app, exp=now - 5)))
    await assert_token_works(client, sign(app, good_claims(app, nbf=now + 5, iat=now + 5)))


async def test_an_audience_list_naming_this_api_is_accepted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await assert_token_works(client, sign(app, good_claims(app, aud=["other", "sales-api"])))


# ------------------------------------------------------------------ refused bearer tokens


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic xyz",
        "Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ=",
        "Token abc",
        "Bearer abc",
        "Bearer a.b.c",
        "Bearer a.b",
        "Bearer a.b.c.d.e",
        "Bearer ....",
        "Bearer e30.e30.",
        "Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    ],
)
async def test_missing_or_malformed_authorization_is_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthenticated(await graphql(client, headers))


async def test_the_correlation_id_of_the_request_is_in_the_401(
    client: httpx.AsyncClient,
) -> None:
    correlation_id = str(uuid.uuid4())
    response = await graphql(client, {"correlationId": correlation_id})
    assert_unauthenticated(response)
    assert response.json()["errors"][0]["extensions"]["correlationId"] == correlation_id


async def test_an_overlong_token_is_401(app: Starlette, client: httpx.AsyncClient) -> None:
    token = sign(app, good_claims(app, padding="x" * 9000))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_an_expired_token_is_401(app: Starlette, client: httpx.AsyncClient) -> None:
    now = int(time.time())
    token = sign(app, good_claims(app, iat=now - 7200, nbf=now - 7200, exp=now - 120))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_expired_just_beyond_the_leeway_is_401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    now = int(time.time())
    token = sign(app, good_claims(app, iat=now - 7200, nbf=now - 7200, exp=now - 35))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_without_exp_is_401(app: Starlette, client: httpx.AsyncClient) -> None:
    token = sign(app, good_claims(app, exp=None))
    message = assert_unauthenticated(await graphql(client, bearer(token)))
    assert "exp" in message


@pytest.mark.parametrize("exp", ["tomorrow", True, [9999999999]])
async def test_a_token_with_a_non_numeric_exp_is_401(
    app: Starlette, client: httpx.AsyncClient, exp: Any
) -> None:
    token = sign(app, good_claims(app, exp=exp))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_not_yet_valid_is_401(app: Starlette, client: httpx.AsyncClient) -> None:
    now = int(time.time())
    token = sign(app, good_claims(app, nbf=now + 300, exp=now + 900))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_issued_in_the_future_is_401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    now = int(time.time())
    token = sign(app, good_claims(app, iat=now + 300, nbf=None, exp=now + 900))
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_signed_by_another_key_with_the_issuers_kid_is_401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    impostor = other_key(kid=issuer_key(app).kid)
    token = sign(app, good_claims(app), key=impostor)
    # The forged token is otherwise perfect: it verifies with the impostor's own key.
    assert jwt.decode(token, impostor, algorithms=["ES256"]).claims[ORG_CLAIM] == 1
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize(
    "aud", [None, "someone-else", ["someone-else"], "sales-api ", "SALES-API", ""]
)
async def test_a_token_for_another_audience_is_401(
    app: Starlette, client: httpx.AsyncClient, aud: Any
) -> None:
    token = sign(app, good_claims(app, aud=aud))
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize(
    "iss", [None, "urn:evil:issuer", "urn:sales-api:dev-issuer/", ["urn:sales-api:dev-issuer"]]
)
async def test_a_token_from_another_issuer_is_401(
    app: Starlette, client: httpx.AsyncClient, iss: Any
) -> None:
    token = sign(app, good_claims(app, iss=iss))
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_an_unsigned_alg_none_token_is_401(
    app: Starlette, client: httpx.AsyncClient, alg: str
) -> None:
    header = {"alg": alg, "kid": issuer_key(app).kid, "typ": "at+jwt"}
    token = f"{b64url_json(header)}.{b64url_json(good_claims(app))}."
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_an_hmac_token_keyed_with_the_issuers_public_key_is_401(
    app: Starlette, client: httpx.AsyncClient, alg: str
) -> None:
    """The classic algorithm confusion: the public JWK used as an HMAC secret."""
    public = issuer_of(app).jwks()["keys"][0]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    header = {"alg": alg, "kid": issuer_key(app).kid, "typ": "at+jwt"}
    signing_input = f"{b64url_json(header)}.{b64url_json(good_claims(app))}"
    for secret in (
        json.dumps(public).encode(),
        json.dumps(public, separators=(",", ":"), sort_keys=True).encode(),
    ):
        signature = hmac.new(secret, signing_input.encode(), digest).digest()
        token = f"{signing_input}.{b64url(signature)}"
        assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_without_kid_is_401(app: Starlette, client: httpx.AsyncClient) -> None:
    key = issuer_key(app)
    token = jwt.encode(
        {"alg": "ES256"},
        good_claims(app),
        ECKey.import_key({k: v for k, v in key.as_dict(private=True).items() if k != "kid"}),
    )
    assert "kid" not in json.loads(b64url_decode(token.split(".")[0]))
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize(
    "kid",
    [
        "unknown-kid",
        "../../etc/passwd",
        "/dev/zero",
        "' OR 1=1 --",
        '"; DROP TABLE orders; --',
        "x" * 201,
    ],
)
async def test_a_token_with_a_kid_that_is_not_the_issuers_is_401(
    app: Starlette, client: httpx.AsyncClient, kid: str
) -> None:
    # Signed with the issuer's real key: only the kid is wrong.
    token = sign(app, good_claims(app), header={"kid": kid})
    assert_unauthenticated(await graphql(client, bearer(token)))
    # and nothing was harmed: the database still answers a good token
    await assert_token_works(client, sign(app, good_claims(app)))


@pytest.mark.parametrize("kid", [123, None, ["kid"], {"kid": "x"}])
async def test_a_token_with_a_non_string_kid_is_401(
    app: Starlette, client: httpx.AsyncClient, kid: Any
) -> None:
    header = {"alg": "ES256", "kid": kid}
    signing_input = f"{b64url_json(header)}.{b64url_json(good_claims(app))}"
    token = f"{signing_input}.{b64url(b'x' * 64)}"
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_jku_header_is_not_followed(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    outgoing: list[str] = []

    async def record(self: Any, request: httpx.Request) -> httpx.Response:
        outgoing.append(str(request.url))
        return httpx.Response(
            200, json={"keys": [attacker.as_dict(private=False)]}, request=request
        )

    # Any real network request would go through the default transport (the test client
    # speaks ASGI directly); answer it with the attacker's keys, as the attacker would.
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", record)
    attacker = other_key(kid="attacker-key")
    jku = "https://evil.example/jwks.json"
    token = sign(app, good_claims(app), key=attacker, header={"kid": attacker.kid, "jku": jku})
    assert_unauthenticated(await graphql(client, bearer(token)))
    # Also with the issuer's kid: the key still comes from the issuer's JWKS only.
    token = sign(app, good_claims(app), key=attacker, header={"jku": jku})
    assert_unauthenticated(await graphql(client, bearer(token)))
    assert outgoing == []


async def test_a_jwk_embedded_in_the_header_is_not_trusted(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    attacker = other_key(kid=issuer_key(app).kid)
    token = sign(
        app, good_claims(app), key=attacker, header={"jwk": attacker.as_dict(private=False)}
    )
    assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_tampered_payload_is_401(api: Api, client: httpx.AsyncClient) -> None:
    token = await api.token("demo-app")
    await assert_token_works(client, token)
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    assert claims[ORG_CLAIM] == 1
    claims[ORG_CLAIM] = 2
    tampered = f"{header}.{b64url_json(claims)}.{signature}"
    assert_unauthenticated(await graphql(client, bearer(tampered)))
    # a flipped signature byte is refused as well
    raw = bytearray(b64url_decode(signature))
    raw[-1] ^= 0x01
    assert_unauthenticated(await graphql(client, bearer(f"{header}.{payload}.{b64url(raw)}")))


async def test_a_token_with_an_algorithm_the_issuer_key_is_not_for_is_401(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """ES384 and RS256 are on the allow-list but cannot be used with the issuer's P-256 key."""
    for alg in ("ES384", "RS256", "PS256"):
        header = {"alg": alg, "kid": issuer_key(app).kid}
        signing_input = f"{b64url_json(header)}.{b64url_json(good_claims(app))}"
        token = f"{signing_input}.{b64url(b'x' * 96)}"
        assert_unauthenticated(await graphql(client, bearer(token)))


async def test_a_token_only_in_the_query_string_is_ignored(
    api: Api, client: httpx.AsyncClient
) -> None:
    token = await api.token("demo-app")
    await assert_token_works(client, token)
    response = await graphql(client, url=f"{GRAPHQL}?access_token={token}")
    assert_unauthenticated(response)


async def test_a_token_in_the_body_is_ignored(api: Api, client: httpx.AsyncClient) -> None:
    token = await api.token("demo-app")
    response = await client.post(
        GRAPHQL,
        json={"query": ORDERS, "access_token": token},
        headers={"Entur-POS": "test-pos"},
    )
    assert_unauthenticated(response)


async def test_the_401_does_not_echo_the_token(app: Starlette, client: httpx.AsyncClient) -> None:
    now = int(time.time())
    token = sign(app, good_claims(app, exp=now - 3600))
    response = await graphql(client, bearer(token))
    assert_unauthenticated(response)
    assert token not in response.text
    assert token.split(".")[2] not in response.text


# ------------------------------------------------------------------ identity claims


@pytest.mark.parametrize("org", [None, True, 1.5, "one", "", [1], {"id": 1}])
async def test_a_token_without_a_usable_organisation_is_401(
    app: Starlette, client: httpx.AsyncClient, org: Any
) -> None:
    token = sign(app, good_claims(app, org=org))
    message = assert_unauthenticated(await graphql(client, bearer(token)))
    assert "organisation" in message


async def test_the_organisation_under_another_claim_name_is_not_used(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    token = sign(app, good_claims(app, org=None, organisationID=1, org_id=1))
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize("permissions", [[1, 2], {"sales:read": True}, 7])
async def test_a_malformed_permissions_claim_is_401(
    app: Starlette, client: httpx.AsyncClient, permissions: Any
) -> None:
    token = sign(app, good_claims(app, permissions=permissions))
    assert_unauthenticated(await graphql(client, bearer(token)))


@pytest.mark.parametrize("permissions", [[], None, ["sales:write"], ["SALES:READ"], ""])
async def test_a_token_without_sales_read_is_forbidden(
    app: Starlette, client: httpx.AsyncClient, permissions: Any
) -> None:
    token = sign(app, good_claims(app, permissions=permissions))
    if permissions is None:
        assert "permissions" not in jwt.decode(token, issuer_key(app)).claims
    response = await graphql(client, bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "sales:read" in error["message"]
    assert error["extensions"]["correlationId"] == response.headers["correlationId"]


async def test_sales_read_alone_is_enough_to_list_orders(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await assert_token_works(client, sign(app, good_claims(app, permissions=["sales:read"])))
    await assert_token_works(client, sign(app, good_claims(app, permissions="sales:read")))
