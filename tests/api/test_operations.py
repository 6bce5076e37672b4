"""The operator's view: health probes, CORS for browser clients, and Prometheus metrics."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.persistence.readiness import database_problem
from sales_api.settings import Settings
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.conftest import Api, MovableClock

SHOP = "https://shop.example"
GRAPHQL = "/sales/v1/graphql"


@pytest.fixture
async def cors_client(settings: Settings, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        Settings(
            database_url=settings.database_url, data_dir=settings.data_dir, cors_origins=[SHOP]
        ),
        clock=clock,
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.engine.dispose()


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by (name, labels); the text must parse cleanly."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# -- health ----------------------------------------------------------------------------------


async def test_live_and_ready_answer_ok_on_a_migrated_database(
    client: httpx.AsyncClient,
) -> None:
    live = await client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_ready_is_503_on_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    empty = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", data_dir=tmp_path)
    application = create_app(empty)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            ready = await http.get("/health/ready")
            live = await http.get("/health/live")
    finally:
        await application.state.engine.dispose()
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "reason": "the database is not migrated (no alembic_version table)",
    }
    assert live.status_code == 200, "a database problem never fails liveness"


async def test_a_database_behind_the_code_is_named_with_both_revisions(app: Starlette) -> None:
    problem = await database_problem(app.state.engine, "a_newer_revision")
    assert problem is not None
    assert "this code needs a_newer_revision" in problem


async def test_probes_need_no_token_and_refuse_other_methods(client: httpx.AsyncClient) -> None:
    assert (await client.post("/health/ready")).status_code == 405
    assert (
        await client.get("/health/ready", headers={"Authorization": "Bearer junk"})
    ).status_code == 200


# -- CORS ------------------------------------------------------------------------------------


async def test_a_preflight_from_an_allowed_origin_is_answered_before_auth(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.options(
        GRAPHQL,
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, entur-pos, correlationid",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "entur-pos", "entur-distribution-channel", "correlationid"} <= allowed
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "OPTIONS"}


async def test_a_preflight_from_another_origin_gets_no_allow_origin(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.options(
        GRAPHQL,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_post_from_the_allowed_origin_exposes_the_correlation_id(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await Api(cors_client).post("{ orders { totalItems } }", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["access-control-expose-headers"] == "correlationId"
    assert response.headers["correlationid"]


async def test_without_configured_origins_there_are_no_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        GRAPHQL, headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers
    posted = await Api(client).post("{ orders { totalItems } }", headers={"Origin": SHOP})
    assert "access-control-allow-origin" not in posted.headers


def test_cors_origins_come_from_a_json_list_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALES_CORS_ORIGINS", '["https://a.example", "http://localhost:3000"]')
    assert Settings().cors_origins == ["https://a.example", "http://localhost:3000"]
    monkeypatch.setenv("SALES_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.delenv("SALES_CORS_ORIGINS")
    assert Settings().cors_origins == []


def test_an_origin_with_a_path_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # A trailing slash never matches a browser's Origin: CORS would fail silently.
    monkeypatch.setenv("SALES_CORS_ORIGINS", "https://shop.example/")
    with pytest.raises(ValidationError, match="no path or slash"):
        Settings()


# -- metrics ---------------------------------------------------------------------------------


async def test_a_sale_moves_the_request_seat_and_payment_counters(
    api: Api, client: httpx.AsyncClient, app: Starlette
) -> None:
    before = await scrape(client)
    order = await a_reserved_order(api, travellers=2)
    seats = sum(len(line["reservation"]["seats"]) for line in order["orderLines"])
    assert seats == 2
    payment = await pay(api, order["id"])
    transaction = await transact(api, payment["id"], payment["totalAmount"])
    captured = await capture(api, transaction["id"], key="capture-once")
    assert captured["errors"] == []
    # A retry with the same key answers the first result and captures nothing more.
    await capture(api, transaction["id"], key="capture-once")
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Anonymous operations: offers, reserve, pay, transact, capture twice.
    assert moved("sales_requests_total", operation="anonymous", outcome="ok") == 6
    assert moved("sales_request_seconds_count", operation="anonymous") == 6
    assert moved("sales_seat_holds_total") == seats
    assert moved("sales_payments_captured_total") == 1
    assert moved("sales_payments_captured_amount_total", currency="NOK") == 161_100
    backlog = value(after, "sales_outbox_backlog")
    assert not math.isnan(backlog)
    assert backlog == await app.state.outbox.backlog()


async def test_requests_are_counted_by_operation_name_and_outcome(
    api: Api, client: httpx.AsyncClient
) -> None:
    token = await api.token()
    named = await client.post(
        GRAPHQL,
        json={"query": "query Orders { orders { totalItems } }", "operationName": "Orders"},
        headers={"Authorization": f"Bearer {token}", "Entur-POS": "test-pos"},
    )
    assert named.status_code == 200
    refused = await api.post("{ orders { totalItems } }", token="")
    assert refused.status_code == 401
    no_pos = await api.post("{ orders { totalItems } }", pos=None)
    assert no_pos.json()["errors"]
    await client.get("/sales/v1/tickets/T1.pdf")
    await client.get("/no/such/path/123")

    samples = await scrape(client)
    assert value(samples, "sales_requests_total", operation="Orders", outcome="ok") == 1
    assert (
        value(
            samples, "sales_requests_total", operation="/sales/v1/graphql", outcome="unauthorized"
        )
        == 1
    )
    assert value(samples, "sales_requests_total", operation="anonymous", outcome="error") == 1
    # Route templates, never raw paths with ids in them.
    assert (
        value(
            samples,
            "sales_requests_total",
            operation="/sales/v1/tickets/{ticket_id}.pdf",
            outcome="unauthorized",
        )
        == 1
    )
    assert value(samples, "sales_requests_total", operation="unmatched", outcome="error") == 1
    assert not any("123" in dict(labels).get("operation", "") for _, labels in samples)


async def test_each_app_counts_in_its_own_registry(
    settings: Settings, clock: MovableClock, client: httpx.AsyncClient
) -> None:
    await client.get("/health/live")
    other = create_app(settings, clock=clock)
    try:
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            samples = await scrape(http)
    finally:
        await other.state.engine.dispose()
    assert value(samples, "sales_requests_total", operation="/health/live", outcome="ok") == 0
