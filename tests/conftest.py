"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
SALES_TEST_DATABASE_URL says so), the real app, and an HTTP client speaking to it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.persistence.database import create_engine
from sales_api.persistence.migrate import upgrade
from sales_api.persistence.seed import load_catalogue_file, seed_catalogue
from sales_api.settings import Settings

APP_CHANNEL = "ENT:DistributionChannel:App"
WEB_CHANNEL = "ENT:DistributionChannel:Web"
# Tables a test may fill; emptied before each test. The catalogue stays seeded.
SALES_TABLES = (
    "webhook_deliveries",
    "webhook_subscriptions",
    "order_events",
    "refunds",
    "outbox",
    "receipts",
    "ticket_distributions",
    "ticket_distribution_groups",
    "credits",
    "transactions",
    "payments",
    "seat_holds",
    "reservations",
    "journey_locks",
    "idempotency_keys",
    "order_fees",
    "disrupted_service_journeys",
    "order_lines",
    "order_travellers",
    "orders",
)


def _own_postgres_database(url: str) -> tuple[str, str]:
    """A fresh database for this test run beside the one named, so that test runs in
    parallel (or a crashed one) never see each other's rows. Returns (its URL, its name)."""
    base = make_url(url)
    name = f"sales_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()

    asyncio.run(run())
    return base.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(url: str, name: str) -> None:
    async def run() -> None:
        engine = create_async_engine(make_url(url), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("SALES_TEST_DATABASE_URL")
    own: str | None = None
    if url is None:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'sales-test.db'}"
    elif url.startswith("postgresql"):
        base = url
        try:
            url, own = _own_postgres_database(base)
        except Exception as error:  # one clear stop, not every test failing on its own
            shown = make_url(base).render_as_string(hide_password=True)
            pytest.exit(
                f"SALES_TEST_DATABASE_URL={shown}: cannot make the run's database beside it "
                f"({type(error).__name__}: {error}). The database named must exist, and the "
                "role must be allowed to create databases.",
                returncode=2,
            )
    upgrade(url)

    async def seed() -> None:
        engine = create_engine(url)
        await seed_catalogue(engine, load_catalogue_file())
        await engine.dispose()

    asyncio.run(seed())
    yield url
    if own is not None:
        _drop_postgres_database(base, own)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=data_dir)


class MovableClock:
    """The app's clock in tests: real time, plus whatever a test moves it forward by."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def app(settings: Settings, clock: MovableClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock)
    engine = application.state.engine
    async with engine.begin() as connection:
        for table in SALES_TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
    yield application
    await application.state.reads.close()
    await engine.dispose()


class Api:
    """GraphQL over HTTP through the real app, with real tokens and the API's headers."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    async def token(self, client_id: str = "demo-app", secret: str | None = None) -> str:
        if secret is None and client_id in self._tokens:
            return self._tokens[client_id]
        response = await self.client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret or client_id.replace("-app", "-secret"),
                "audience": "sales-api",
            },
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self._tokens[client_id] = token
        return token

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        client_id: str = "demo-app",
        token: str | None = None,
        pos: str | None = "test-pos",
        channel: str | None = APP_CHANNEL,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers: dict[str, str] = {}
        bearer = token if token is not None else await self.token(client_id)
        if bearer:
            all_headers["Authorization"] = f"Bearer {bearer}"
        if pos is not None:
            all_headers["Entur-POS"] = pos
        if channel is not None:
            all_headers["Entur-Distribution-Channel"] = channel
        all_headers.update(headers or {})
        return await self.client.post(
            "/sales/v1/graphql",
            json={"query": query, "variables": variables or {}},
            headers=all_headers,
        )

    async def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The `data` of a successful operation; fails the test on any top-level error."""
        response = await self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_leaking_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("SALES_") and name != "SALES_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    yield
