"""A receipt asked for over HTTP reaches a real SMTP server: with its lines, total and VAT,
after the server was down for a while, and after the service was killed right after
answering sendReceipt (the outbox row committed with the receipt is sent on restart)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.domain.services.outbox import deliver_due
from sales_api.messaging.senders import SmtpSender
from sales_api.persistence import tables as t
from sales_api.settings import Settings
from tests.api.test_tickets_receipts import SEND_RECEIPT, a_paid_order
from tests.conftest import Api, MovableClock
from tests.integration.test_outbox import SmtpServer, free_port

RECIPIENT = "kari@example.no"
SENDER = "sales@example.com"
RECEIPTS = """
query($id: ID!) {
  order(id: $id) { receipts { id status } }
  receipts(filter: {orderId: {eq: $id}}) { totalItems items { id reference status sentAt } }
}
"""


def smtp_url(port: int) -> str:
    return f"smtp://127.0.0.1:{port}?starttls=false&from={SENDER}&timeout=5"


@pytest.fixture
async def smtp_app(
    app: Starlette, settings: Settings, clock: MovableClock
) -> AsyncIterator[tuple[Api, Starlette, SmtpServer]]:
    """The app (tables emptied by `app`) whose sender is SMTP to a loopback server that
    is not started yet."""
    server = SmtpServer()
    application = create_app(
        settings, clock=clock, message_sender=SmtpSender(smtp_url(server.port))
    )
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http), application, server
    finally:
        server.stop()
        await application.state.engine.dispose()


async def send_receipt(api: Api, order_id: str) -> dict[str, Any]:
    data = await api.gql(
        SEND_RECEIPT, {"input": {"orderId": order_id, "email": RECIPIENT, "language": "ENG"}}
    )
    assert data["sendReceipt"]["errors"] == [], data
    receipt: dict[str, Any] = data["sendReceipt"]["receipt"]
    assert receipt["status"] == "PENDING"
    return receipt


async def receipt_statuses(api: Api, order_id: str) -> list[str]:
    data = await api.gql(RECEIPTS, {"id": order_id})
    on_order = [r["status"] for r in data["order"]["receipts"]]
    listed = [r["status"] for r in data["receipts"]["items"]]
    assert on_order == listed, data
    return listed


def the_one_mail(server: SmtpServer, receipt: dict[str, Any]) -> EmailMessage:
    """The single mail for this receipt; fails on none, on two, or on a wrong recipient."""
    mails = [m for m in server.inbox.mails() if receipt["reference"] in str(m["Subject"])]
    assert len(mails) == 1, [m["Subject"] for m in server.inbox.mails()]
    envelopes = [e for e in server.inbox.envelopes if receipt["reference"].encode() in e.content]
    assert [(e.mail_from, e.rcpt_tos) for e in envelopes] == [(SENDER, [RECIPIENT])]
    mail = mails[0]
    assert (mail["To"], mail["From"]) == (RECIPIENT, SENDER)
    assert mail["Subject"] == f"Receipt {receipt['reference']}"
    return mail


def assert_body_shows(mail: EmailMessage, receipt: dict[str, Any]) -> None:
    part = mail.get_body(("plain",))
    assert part is not None
    body = part.get_content().replace("\r\n", "\n")
    rows = body.splitlines()
    currency = receipt["currency"]
    assert receipt["lines"], receipt
    for line in receipt["lines"]:
        assert f"{line['description']}: {line['amount']} {currency}" in rows, body
        rate = f"{Decimal(line['taxRate']):.0f}"
        assert f"  of which VAT {rate} %: {line['taxAmount']}" in rows, body
    total = sum((Decimal(line["amount"]) for line in receipt["lines"]), Decimal("0"))
    vat = sum((Decimal(line["taxAmount"]) for line in receipt["lines"]), Decimal("0"))
    assert (f"{total:.2f}", f"{vat:.2f}") == (receipt["totalAmount"], receipt["totalTaxAmount"])
    assert (receipt["totalAmount"], receipt["totalTaxAmount"]) == ("1611.00", "172.60")
    assert f"Total: {total:.2f} {currency}" in rows, body
    assert any(r.startswith("of which VAT") and r.endswith(f": {vat:.2f} {currency}") for r in rows)
    assert f"Order {receipt['orderId']} version {receipt['orderVersion']}" in rows, body


async def test_a_receipt_goes_by_smtp_with_its_lines_total_and_vat(
    smtp_app: tuple[Api, Starlette, SmtpServer], clock: MovableClock
) -> None:
    api, app, server = smtp_app
    server.start()
    order = await a_paid_order(api)
    receipt = await send_receipt(api, order["id"])
    assert server.inbox.envelopes == [], "nothing is sent before the outbox is delivered"

    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 1

    assert_body_shows(the_one_mail(server, receipt), receipt)
    assert await receipt_statuses(api, order["id"]) == ["SENT"]
    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 0
    assert len(server.inbox.envelopes) == 1


async def test_a_receipt_waits_while_the_smtp_server_is_down(
    smtp_app: tuple[Api, Starlette, SmtpServer], clock: MovableClock
) -> None:
    api, app, server = smtp_app  # the server is not listening yet
    order = await a_paid_order(api)
    receipt = await send_receipt(api, order["id"])

    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 0
    assert await receipt_statuses(api, order["id"]) == ["PENDING"]
    async with app.state.engine.connect() as connection:
        row = (
            (
                await connection.execute(
                    select(t.outbox).where(t.outbox.c.receipt_id == receipt["id"])
                )
            )
            .mappings()
            .one()
        )
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert "SMTP 127.0.0.1" in row["last_error"]
    retry_at = row["next_attempt_at"]
    assert retry_at > clock.now()

    server.start()
    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 0  # not yet due
    assert server.inbox.envelopes == []
    assert await receipt_statuses(api, order["id"]) == ["PENDING"]

    clock.advance(retry_at - clock.now() + timedelta(seconds=1))
    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 1
    assert_body_shows(the_one_mail(server, receipt), receipt)
    assert await receipt_statuses(api, order["id"]) == ["SENT"]


# -- a real process, killed ---------------------------------------------------------------


def output_of(log: Path) -> str:
    return log.read_text(errors="replace")


async def start_service(
    env: dict[str, str], cwd: Path, log: Path, port: int
) -> asyncio.subprocess.Process:
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sales_api",
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=1) as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, output_of(log)
            try:
                if (await http.get(f"{base}/.well-known/jwks.json")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    await stop(process)
    pytest.fail(f"the service did not start within 30 s:\n{output_of(log)}")


async def stop(process: asyncio.subprocess.Process | None) -> None:
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        process.kill()
        await asyncio.wait_for(process.wait(), timeout=10)


@pytest.mark.slow
async def test_a_receipt_accepted_before_a_sigkill_is_sent_after_the_restart(
    app: Starlette,  # empties the tables; its own outbox worker does not run
    database_url: str,
    tmp_path: Path,
) -> None:
    server = SmtpServer()  # its port has no listener until server.start()
    port = free_port()
    log = tmp_path / "service.log"
    env = {
        **os.environ,
        "SALES_DATABASE_URL": database_url,
        "SALES_DATA_DIR": str(tmp_path / "data"),
        "SALES_SMTP_URL": f"smtp://127.0.0.1:{server.port}?starttls=false&from={SENDER}",
    }
    process: asyncio.subprocess.Process | None = None
    try:
        process = await start_service(env, tmp_path, log, port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            api = Api(http)
            order = await a_paid_order(api)
            receipt = await send_receipt(api, order["id"])
            process.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(process.wait(), timeout=10) == -signal.SIGKILL

            server.start()
            process = await start_service(env, tmp_path, log, port)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if await receipt_statuses(api, order["id"]) == ["SENT"]:
                    break
                await asyncio.sleep(0.25)
            else:
                pytest.fail(
                    f"the receipt was not sent within 20 s of the restart; "
                    f"{len(server.inbox.envelopes)} mails arrived\n{output_of(log)}"
                )
            await asyncio.sleep(1.5)  # a second delivery round would show up now
            mail = the_one_mail(server, receipt)
            assert_body_shows(mail, receipt)
            assert len(server.inbox.envelopes) == 1
            data = await api.gql(RECEIPTS, {"id": order["id"]})
            assert data["receipts"]["items"][0]["sentAt"] is not None
    finally:
        try:
            await stop(process)
        finally:
            server.stop()
