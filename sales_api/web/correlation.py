"""Correlation ids and one JSON log line per request, as a pure ASGI middleware."""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales_api.web.metrics import request_outcome

correlation_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default=""
)
HEADER = b"correlationid"
access_log = logging.getLogger("sales_api.access")


def correlation_id_from(raw: bytes | None) -> str:
    """The client's id when it is a UUID; a new one otherwise (never echo arbitrary text)."""
    if raw:
        try:
            return str(uuid.UUID(raw.decode("ascii")))
        except (ValueError, UnicodeDecodeError):
            pass
    return str(uuid.uuid4())


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((value for name, value in scope["headers"] if name == HEADER), None)
        correlation_id = correlation_id_from(raw)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        token = correlation_id_var.set(correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"correlationId", correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            state = scope.get("state", {})
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "outcome": request_outcome(status, scope),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "organisation_id": state.get("organisation_id"),
                    "operation_name": state.get("operation_name"),
                },
            )
            correlation_id_var.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request's correlation id. Every request writes
    one, so it is kept cheap: orjson, and the timestamp formatted once a second."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._time = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._time = second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
        entry: dict[str, Any] = {
            "time": self._time,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlationId": correlation_id_var.get() or None,
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (an integer past 64 bits, say)
            return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("sales_api")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The JSON lines never show where a call was made from, nor thread or process names:
    # not collecting them saves a stack walk per line (the logging HOWTO's "Optimization").
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
