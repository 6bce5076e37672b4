"""OpenTelemetry through the real app: a span per request (continuing the caller's trace,
with the correlation id), per batch read and per SQL statement, all in one tree; and OTLP
export to a collector when SALES_TRACING_OTLP_ENDPOINT is set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette

from sales_api.app import create_app
from tests.api.test_refunds import a_paid_order
from tests.conftest import Api
from tests.receiver import receiving

ORDER = """query($id: ID!) { order(id: $id) { id status orderLines { id reservation { seats {
  carNumber seatNumber } } } payments { id transactions { id status } } } }"""
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Traced:
    def __init__(self, api: Api, exporter: InMemorySpanExporter) -> None:
        self.api = api
        self.exporter = exporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
async def traced(app: Starlette) -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    application = create_app(app.state.settings, tracer_provider=provider)
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Traced(Api(http), exporter)
    finally:
        await application.state.reads.close()
        await application.state.engine.dispose()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _request_span(spans: list[ReadableSpan], correlation_id: str) -> ReadableSpan:
    (span,) = [
        s
        for s in spans
        if s.kind is SpanKind.SERVER
        and (s.attributes or {}).get("sales.correlation_id") == correlation_id
    ]
    return span


async def test_a_query_is_one_trace_request_reads_and_statements(traced: Traced) -> None:
    order = await a_paid_order(traced.api)
    traced.exporter.clear()

    response = await traced.api.post(
        ORDER,
        {"id": order["id"]},
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    )

    assert response.status_code == 200 and "errors" not in response.json()
    spans = traced.spans()
    request = _request_span(spans, response.headers["correlationId"])
    attributes: dict[str, Any] = dict(request.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["url.path"] == "/sales/v1/graphql"
    assert attributes["http.response.status_code"] == 200
    assert attributes["sales.organisation_id"] == 1
    assert request.context is not None
    assert format(request.context.trace_id, "032x") == TRACE_ID, "the caller's trace goes on"
    assert request.parent is not None and request.parent.span_id == 0x00F067AA0BA902B7

    (read,) = [s for s in _children(spans, request) if s.name == "sales.read"]
    statements = _children(spans, read)
    assert statements, "the read's statements are its children"
    assert {s.name for s in statements} <= {"SELECT", "BEGIN", "COMMIT"}
    selects = [s for s in statements if s.name == "SELECT"]
    assert len(selects) >= 3, "the order, its lines and its payments: one statement a level"
    for statement in selects:
        assert statement.kind is SpanKind.CLIENT
        statement_attributes = dict(statement.attributes or {})
        assert statement_attributes["db.system.name"] in ("sqlite", "postgresql")
        assert str(statement_attributes["db.query.text"]).lstrip().upper().startswith("SELECT")
        assert statement.start_time is not None and request.start_time is not None
        assert statement.end_time is not None and request.end_time is not None
        assert request.start_time <= statement.start_time <= statement.end_time <= request.end_time


async def test_a_mutation_traces_its_write_statements_and_its_operation(traced: Traced) -> None:
    response = await traced.api.post(
        'mutation Make { createOrder(input: {externalReference: "traced"}) '
        "{ order { id } errors { code } } }"
    )
    assert response.json()["data"]["createOrder"]["errors"] == []
    spans = traced.spans()
    request = _request_span(spans, response.headers["correlationId"])
    assert (request.attributes or {})["graphql.operation.name"] == "Make"
    assert request.name == "POST /sales/v1/graphql Make"
    assert request.context is not None
    in_trace = [
        s for s in spans if s.context is not None and s.context.trace_id == request.context.trace_id
    ]
    writes = [s for s in in_trace if s.name == "INSERT"]
    assert any("orders" in str((s.attributes or {})["db.query.text"]) for s in writes), [
        s.name for s in in_trace
    ]


async def test_without_tracing_no_hooks_are_installed(app: Starlette, api: Api) -> None:
    assert app.state.reads.spans is None
    assert (await api.post("{ __typename }")).status_code == 200


async def test_spans_are_exported_by_otlp_when_an_endpoint_is_set(app: Starlette) -> None:
    async with receiving() as collector:
        settings = app.state.settings.model_copy(
            update={"tracing_otlp_endpoint": f"http://127.0.0.1:{collector.port}/v1/traces"}
        )
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                assert (await Api(http).post("{ __typename }")).status_code == 200
        # Leaving the lifespan shut the provider down: its batch was sent.
        await asyncio.wait_for(collector.wait_for(1), 10)
    (export,) = collector.received[:1]
    assert export.headers["content-type"] == "application/x-protobuf"
    assert b"sales-api" in export.body, "the service's name is on the resource"
