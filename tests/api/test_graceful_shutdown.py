"""SIGTERM to `sales-api serve` as an operator (or Kubernetes) sends it: the request in
flight is answered in full, new connections are refused, the outbox message being sent is
finished and recorded, and the process exits 0. (run_outbox_worker's own stop is tested
in tests/integration/test_outbox.py; here the real process wires it to the signal.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from starlette.applications import Starlette

from sales_api.domain.ids import new_id
from sales_api.domain.outbox import Channel, OutboxMessage
from sales_api.persistence import tables as t
from sales_api.persistence.database import create_engine
from tests.integration.test_outbox import Inbox, free_port, outbox_row, stage
from tests.served import DEMO_TOKEN_REQUEST

SALES_API = Path(sys.executable).parent / "sales-api"  # the console script a user runs
GRAPHQL = "/sales/v1/graphql"
CREATE_ORDER = """
mutation ShutdownOrder($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id externalReference } errors { code } } }
"""

pytestmark = pytest.mark.slow


class Service:
    """`sales-api serve` on a free port, its output in a file."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.port = free_port()
        self.log = cwd / "service.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def start(self) -> asyncio.subprocess.Process:
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(SALES_API),
                "serve",
                "--port",
                str(self.port),
                env=self.env,
                cwd=self.cwd,
                stdout=output,
                stderr=output,
            )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                assert self.process.returncode is None, self.output()
                try:
                    if (await http.get(f"{self.base}/health/live")).status_code == 200:
                        return self.process
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        pytest.fail(f"the service did not start within 30 s:\n{self.output()}")

    async def exit_status(self) -> int:
        """The status it exits with, within 10 s."""
        assert self.process is not None
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            pytest.fail(f"the service did not exit within 10 s:\n{self.output()}")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def service(
    app: Starlette,  # empties the sales tables, so no older outbox rows are delivered
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Service]:
    env = {
        **os.environ,
        "SALES_DATABASE_URL": database_url,
        "SALES_DATA_DIR": str(tmp_path / "data"),
    }
    served = Service(env, tmp_path)
    try:
        yield served
    finally:
        await served.kill()


async def token_of(service: Service) -> str:
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as http:
        response = await http.post(
            "/oauth/token",
            json=DEMO_TOKEN_REQUEST,
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def refuses_connections(port: int, within: float = 5) -> bool:
    """True once a new connection to `port` is refused (the listener is closed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return True
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
    return False


def parse_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return status, headers, body


async def test_sigterm_answers_the_request_in_flight_refuses_new_ones_and_exits_0(
    service: Service, database_url: str
) -> None:
    await service.start()
    token = await token_of(service)
    reference = f"shutdown-{uuid.uuid4()}"
    body = json.dumps(
        {"query": CREATE_ORDER, "variables": {"input": {"externalReference": reference}}}
    ).encode()
    head = (
        f"POST {GRAPHQL} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{service.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Entur-POS: shutdown-test\r\n"
        "Entur-Distribution-Channel: ENT:DistributionChannel:App\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        # The server answers 100 Continue when the app starts reading the body: from then
        # on the request is in flight (no sleeping and hoping).
        "Expect: 100-continue\r\n"
        "\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(head)
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        half = len(body) // 2
        writer.write(body[:half])
        await writer.drain()

        assert service.process is not None
        service.process.send_signal(signal.SIGTERM)
        assert await refuses_connections(service.port), "still accepting after SIGTERM"
        await asyncio.sleep(1)  # a slow client: the service waits for it, however long
        assert service.process.returncode is None, "it exited with a request in flight"

        writer.write(body[half:])
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)  # to the server's close
    finally:
        writer.close()

    status, headers, answer = parse_response(raw)
    assert status.startswith("HTTP/1.1 200"), (raw, service.output())
    assert int(headers["content-length"]) == len(answer), "the answer is whole"
    assert headers["connection"] == "close"
    created: dict[str, Any] = json.loads(answer)["data"]["createOrder"]
    assert created["errors"] == []
    assert created["order"]["externalReference"] == reference
    assert await service.exit_status() == 0, service.output()
    assert "Traceback" not in service.output()

    # The order was committed, not just answered.
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    select(t.orders.c.id).where(t.orders.c.external_reference == reference)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [row.id for row in stored] == [created["order"]["id"]]


class HeldInbox(Inbox):
    """An SMTP server that keeps each message's DATA unanswered until released, so the
    service is stopped with a message in hand."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.to_thread(self.release.wait, 30)  # off aiosmtpd's event loop
        return await super().handle_DATA(server, session, envelope)


async def test_sigterm_lets_the_outbox_finish_the_message_in_hand(
    service: Service, app: Starlette
) -> None:
    inbox = HeldInbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        message = OutboxMessage(
            id=new_id(),
            channel=Channel.EMAIL,
            recipient="shutdown.test@example.com",
            subject="Your receipt",
            body="Sent while the service stops.\n",
            created_at=datetime.now(UTC),
        )
        await stage(app.state.engine, message)
        service.env["SALES_SMTP_URL"] = (
            f"smtp://127.0.0.1:{smtp_port}?starttls=false&from=sales@example.com&timeout=20"
        )
        process = await service.start()
        assert await asyncio.to_thread(inbox.receiving.wait, 15), service.output()

        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert process.returncode is None, "it exited with the message in hand"
        inbox.release.set()
        assert await service.exit_status() == 0, service.output()
    finally:
        inbox.release.set()
        controller.stop()

    assert inbox.per_outbox_id() == {message.id: 1}
    row = await outbox_row(app.state.engine, message.id)
    assert (row["status"], row["attempts"]) == ("SENT", 1), dict(row)
    assert "Traceback" not in service.output()


async def test_a_request_that_never_finishes_is_cut_off_after_the_shutdown_timeout(
    service: Service,
) -> None:
    service.env["SALES_SHUTDOWN_TIMEOUT_SECONDS"] = "1"
    await service.start()
    token = await token_of(service)
    head = (
        f"POST {GRAPHQL} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{service.port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Entur-POS: shutdown-test\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 1000\r\n"
        "Expect: 100-continue\r\n"
        "\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(head)
        await writer.drain()
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        writer.write(b'{"query": "')  # and never the rest
        await writer.drain()
        assert service.process is not None
        stopped_at = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        status = await service.exit_status()
        waited = time.monotonic() - stopped_at
    finally:
        writer.close()
    assert status == 0, service.output()
    assert 1 <= waited < 8, waited  # it waited for the client, then no longer than told
