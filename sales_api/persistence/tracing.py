"""OpenTelemetry spans for SQL statements: the write side's (SQLAlchemy engine events) and
the read side's (told by queries.source), each a child of the span current when it ran
(the request's). Installed only when tracing is on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_STATEMENT_TEXT = 2000
_SPAN = "_sales_statement_span"


def statement_attributes(system: str, sql: str) -> dict[str, Any]:
    return {"db.system.name": system, "db.query.text": sql[:MAX_STATEMENT_TEXT]}


def statement_name(sql: str) -> str:
    """A low-cardinality name: the statement's first word (SELECT, INSERT, BEGIN ...)."""
    word = sql.lstrip().split(None, 1)
    return word[0].upper() if word else "SQL"


def trace_statements(engine: AsyncEngine, tracer: Tracer) -> None:
    """A span per statement the engine sends (the write side, migrations, workers)."""
    system = engine.dialect.name

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(
        _connection: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = tracer.start_span(
            statement_name(statement),
            kind=SpanKind.CLIENT,
            attributes=statement_attributes(system, statement),
        )
        if context is not None:
            setattr(context, _SPAN, span)

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(
        _connection: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()


class StatementSpans:
    """For the read side: spans of statements run on another thread, parented by the span
    that was current when the reading was handed over."""

    def __init__(self, tracer: Tracer, system: str) -> None:
        self.tracer = tracer
        self.system = system

    def reading(self, name: str) -> Any:
        """A span around one batch read (every level of a reading)."""
        return self.tracer.start_as_current_span(name, kind=SpanKind.INTERNAL)

    def parent(self) -> otel_context.Context:
        return otel_context.get_current()

    @contextmanager
    def statement(self, sql: str, parent: otel_context.Context | None = None) -> Iterator[None]:
        started = time.time_ns()
        try:
            yield
        finally:
            span = self.tracer.start_span(
                statement_name(sql),
                context=parent,
                kind=SpanKind.CLIENT,
                attributes=statement_attributes(self.system, sql),
                start_time=started,
            )
            span.end()
