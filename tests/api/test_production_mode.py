"""SALES_ENV=production through the real app: no GraphiQL, no introspection, no "Did you
mean ...?" in errors, unexpected exceptions masked; each can be turned back on explicitly."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.queries.reader import Reader
from sales_api.settings import Settings
from sales_api.web.tokens import StaticKeySource
from tests.conftest import Api

GRAPHQL = "/sales/v1/graphql"
ISSUER = "https://idp.example/"
ORG_CLAIM = "https://entur.io/organisationID"
# Mistakes graphql-core would answer with suggestions: a field, an argument, an input
# field and an enum value (in a literal and in a variable).
MISTAKES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ ordrs { totalItems } }", None),
    ("{ orders(perPag: 5) { totalItems } }", None),
    ("{ orders(filter: {statuss: {eq: DRAFT}}) { totalItems } }", None),
    ("{ orders(filter: {status: {eq: DRAFTT}}) { totalItems } }", None),
    (
        "query($s: OrderStatus!) { orders(filter: {status: {eq: $s}}) { totalItems } }",
        {"s": "DRAFTT"},
    ),
    ("{ orders { items { orderLine { id } } } }", None),
]


class ProductionApi(Api):
    """Speaks to an app whose tokens come from an external identity provider."""

    def __init__(self, client: httpx.AsyncClient, key: ECKey) -> None:
        super().__init__(client)
        self._key = key

    async def token(self, client_id: str = "demo-app", secret: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": "sales-api",
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            ORG_CLAIM: 1,
            "permissions": ["sales:read", "sales:write"],
        }
        return jwt.encode({"alg": "ES256", "kid": self._key.kid}, claims, self._key)


def production_settings(settings: Settings, **changes: Any) -> Settings:
    return Settings(
        **{
            **settings.model_dump(),
            "env": "production",
            "builtin_issuer": False,
            "auth_issuer": ISSUER,
            "auth_jwks_url": "https://idp.example/.well-known/jwks.json",
            **changes,
        }
    )


@pytest.fixture(autouse=True)
def _empty_tables(app: Starlette) -> None:
    """Each test starts with no orders: the `app` fixture empties the sales tables."""


@asynccontextmanager
async def production_app(settings: Settings, **changes: Any) -> AsyncIterator[ProductionApi]:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
    key.ensure_kid()
    public = key.as_dict(private=False)
    app = create_app(
        production_settings(settings, **changes),
        key_source=StaticKeySource(lambda: {"keys": [public]}),
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield ProductionApi(client, key)
    finally:
        await app.state.reads.close()
        await app.state.engine.dispose()


async def test_production_serves_graphql_without_the_builtin_issuer(settings: Settings) -> None:
    async with production_app(settings) as api:
        data = await api.gql("{ orders { totalItems } }")
        assert data["orders"]["totalItems"] == 0
        assert (await api.client.post("/oauth/token", json={})).status_code == 404


async def test_production_serves_no_graphiql(settings: Settings) -> None:
    async with production_app(settings) as api:
        response = await api.client.get(GRAPHQL, headers={"Accept": "text/html"})
        assert response.status_code == 405
        assert "graphiql" not in response.text.lower()


async def test_production_answers_no_introspection(settings: Settings) -> None:
    async with production_app(settings) as api:
        for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Order") { name } }'):
            body = (await api.post(query)).json()
            assert body["data"] is None
            [error] = body["errors"]  # once, not twice
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert "introspection" in error["message"].lower()


async def test_production_errors_suggest_no_names(settings: Settings, api: Api) -> None:
    async with production_app(settings) as production:
        for query, variables in MISTAKES:
            development = (await api.post(query, variables)).json()["errors"][0]
            assert "Did you mean" in development["message"], development
            error = (await production.post(query, variables)).json()["errors"][0]
            assert "Did you mean" not in error["message"], error
            # The same message, with only the suggestion cut out.
            before, _, after = development["message"].partition(" Did you mean ")
            assert error["message"] == before + after.partition("?")[2]
            assert error["extensions"]["code"] == development["extensions"]["code"]


async def test_production_masks_unexpected_exceptions(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(Reader, "page", broken)
    mine = str(uuid.uuid4())
    async with production_app(settings) as api:
        response = await api.post("{ orders { totalItems } }", headers={"correlationId": mine})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "correlationId": mine}
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_production_keeps_the_query_limits(settings: Settings) -> None:
    async with production_app(settings) as api:
        body = (await api.post("{ orders { totalItems } }")).json()
        assert body["extensions"]["cost"] == {"requested": 2, "maximum": 50_000}
        aliases = " ".join(f"a{i}: orders {{ totalItems }}" for i in range(31))
        body = (await api.post(f"{{ {aliases} }}")).json()
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_graphiql_and_introspection_may_be_turned_on_in_production(
    settings: Settings,
) -> None:
    async with production_app(settings, graphiql=True, introspection=True) as api:
        page = await api.client.get(GRAPHQL, headers={"Accept": "text/html"})
        assert page.status_code == 200
        data = await api.gql("{ __schema { queryType { name } } }")
        assert data["__schema"]["queryType"]["name"] == "Query"
        # Introspection tells every name anyway, so suggestions come back with it.
        error = (await api.post("{ ordrs { totalItems } }")).json()["errors"][0]
        assert "Did you mean 'orders'" in error["message"]


def test_graphiql_and_introspection_follow_sales_env(settings: Settings) -> None:
    production = production_settings(settings)
    assert not production.graphiql_enabled
    assert not production.introspection_enabled
    assert settings.graphiql_enabled
    assert settings.introspection_enabled
    assert production_settings(settings, graphiql=True).graphiql_enabled
    assert not Settings(**{**settings.model_dump(), "introspection": False}).introspection_enabled
