"""OpenTelemetry: a span per HTTP request, as a pure ASGI middleware.

The span continues the caller's trace when the request carries a W3C `traceparent`
header, carries the request's correlation id, organisation and GraphQL operation name,
and is the parent of the read side's and the write side's spans (per batch read and per
SQL statement) made while it runs. The middleware is installed only when tracing is on."""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EXPORT_TIMEOUT_SECONDS = 5
"""How long an export to the collector may take (on the exporter's own thread)."""


class TracingMiddleware:
    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        parent = propagate.extract(carrier)
        method, path = scope.get("method", ""), scope.get("path", "")
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span = self.tracer.start_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_noting_status)
        except BaseException as error:
            span.record_exception(error)
            raise
        finally:
            otel_context.detach(token)
            state = scope.get("state", {})
            span.set_attribute("http.response.status_code", status)
            if state.get("correlation_id"):
                span.set_attribute("sales.correlation_id", state["correlation_id"])
            if state.get("organisation_id") is not None:
                span.set_attribute("sales.organisation_id", state["organisation_id"])
            operation = state.get("operation_name")
            if operation:
                span.set_attribute("graphql.operation.name", operation)
                span.update_name(f"{method} {path} {operation}")
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


def otlp_tracer_provider(endpoint: str) -> SdkTracerProvider:
    """Spans exported in batches by OTLP over HTTP (protobuf) to `endpoint` (a collector's
    `/v1/traces`), as service `sales-api`."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({"service.name": "sales-api"}))
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT_SECONDS)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
