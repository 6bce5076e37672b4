"""The outbox on the real database with a real SMTP server on loopback: messages committed
with the work are delivered with their attachments, retried while the server is down,
FAILED after the last attempt, and delivered once each however many workers compete."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.ids import new_id
from sales_api.domain.outbox import (
    MAX_ATTEMPTS,
    Attachment,
    Channel,
    DeliveryFailed,
    MessageSender,
    OutboxMessage,
)
from sales_api.domain.services.outbox import deliver_due, run_outbox_worker
from sales_api.messaging import DirectorySender, RoutingSender, SmtpSender
from sales_api.persistence import tables as t
from sales_api.persistence.database import create_engine
from sales_api.persistence.outbox_repository import SqlOutbox
from tests.served import free_port

PDF = b"%PDF-1.7\n\x00\xff\xfe binary ticket \x89PNG\r\n"
RECEIPT_TEXT = b"Kvittering for reisen: 249,00 kr\n"
ORDER_PREFIX = "OBX"


# -- a real SMTP server ------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every envelope; refuses the recipients in `refuse` (550)."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def mails(self) -> list[EmailMessage]:
        return [
            message_from_bytes(envelope.content, _class=EmailMessage, policy=default_policy)
            for envelope in self.envelopes
        ]

    def per_outbox_id(self) -> Counter[str]:
        """How many times each outbox message arrived (its id is in the Message-ID)."""
        return Counter(mail["Message-ID"].split(".", 1)[1].split("@")[0] for mail in self.mails())


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=sales@example.com&timeout=5"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# -- the database ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2030, 1, 7, 8, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


async def _clean(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(delete(t.outbox))
        await connection.execute(delete(t.receipts))
        await connection.execute(delete(t.orders).where(t.orders.c.id.like(f"{ORDER_PREFIX}%")))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await _clean(engine)
    yield engine
    await _clean(engine)
    await engine.dispose()


def new_message(
    clock: FakeClock,
    *,
    recipient: str = "traveller@example.com",
    channel: Channel = Channel.EMAIL,
    attachments: list[Attachment] | None = None,
    receipt_id: str | None = None,
) -> OutboxMessage:
    message_id = new_id()
    return OutboxMessage(
        id=message_id,
        channel=channel,
        recipient=recipient,
        subject=f"Your journey Oslo S - Bergen, Ærlig Østby ({message_id})",
        body=f"Hei! God tur, Ærlig Østby.\nMessage {message_id}\n",
        created_at=clock.now(),
        attachments=attachments or [],
        receipt_id=receipt_id,
    )


def with_attachments(clock: FakeClock, **kwargs: Any) -> OutboxMessage:
    return new_message(
        clock,
        attachments=[
            Attachment("ticket.pdf", "application/pdf", PDF),
            Attachment("receipt.txt", "text/plain", RECEIPT_TEXT),
        ],
        **kwargs,
    )


async def stage(engine: AsyncEngine, *messages: OutboxMessage) -> None:
    """Add messages as a unit of work does: in its transaction, flushed before commit."""
    async with engine.begin() as connection:
        store = SqlOutbox(connection=connection)
        for message in messages:
            store.add(message)
        await store.flush()


async def outbox_row(engine: AsyncEngine, message_id: str) -> RowMapping:
    async with engine.connect() as connection:
        result = await connection.execute(select(t.outbox).where(t.outbox.c.id == message_id))
        return result.mappings().one()


async def receipt_row(engine: AsyncEngine, receipt_id: str) -> RowMapping:
    async with engine.connect() as connection:
        result = await connection.execute(select(t.receipts).where(t.receipts.c.id == receipt_id))
        return result.mappings().one()


async def insert_receipt(engine: AsyncEngine, clock: FakeClock) -> str:
    """A minimal order and a PENDING receipt for it, written with SQLAlchemy Core."""
    order_id, receipt_id = f"{ORDER_PREFIX}{new_id(9)}", new_id()
    money = {"total_amount": 24900, "total_tax_amount": 2668, "currency": "NOK"}
    async with engine.begin() as connection:
        await connection.execute(
            insert(t.orders).values(
                id=order_id,
                organisation_id=1,
                version=1,
                status="CONFIRMED",
                pos="test-pos",
                distribution_channel_id="ENT:DistributionChannel:App",
                balance=0,
                captured_amount=24900,
                credited_amount=0,
                created_at=clock.now(),
                **money,
            )
        )
        await connection.execute(
            insert(t.receipts).values(
                id=receipt_id,
                reference=f"R-{receipt_id}",
                order_id=order_id,
                order_version=1,
                language="nob",
                email="traveller@example.com",
                status="PENDING",
                lines=[],
                created_at=clock.now(),
                **money,
            )
        )
    return receipt_id


# -- delivery ----------------------------------------------------------------------------


async def test_committed_messages_are_delivered_with_their_body_and_attachments(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    ticket, plain = with_attachments(fake_clock), new_message(fake_clock, recipient="b@example.com")
    await stage(engine, ticket, plain)
    rolled_back = new_message(fake_clock, recipient="never@example.com")
    async with engine.connect() as connection:
        transaction = await connection.begin()
        store = SqlOutbox(connection=connection)
        store.add(rolled_back)
        await store.flush()
        await transaction.rollback()
    outbox = SqlOutbox.for_engine(engine)
    assert await outbox.backlog() == 2

    assert await deliver_due(outbox, SmtpSender(smtp.url), fake_clock) == 2

    mails = {mail["To"]: mail for mail in smtp.inbox.mails()}
    assert set(mails) == {"traveller@example.com", "b@example.com"}
    assert [envelope.rcpt_tos for envelope in smtp.inbox.envelopes] in (
        [["traveller@example.com"], ["b@example.com"]],
        [["b@example.com"], ["traveller@example.com"]],
    )
    mail = mails["traveller@example.com"]
    assert mail["From"] == "sales@example.com"
    assert mail["Subject"] == ticket.subject
    body = mail.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == ticket.body  # SMTP lines end CRLF
    attachments = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in mail.iter_attachments()
    ]
    assert attachments == [
        ("ticket.pdf", "application/pdf", PDF),
        ("receipt.txt", "text/plain", RECEIPT_TEXT),
    ]
    assert list(mails["b@example.com"].iter_attachments()) == []

    row = await outbox_row(engine, ticket.id)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("SENT", 1, fake_clock.now())
    assert row["lease_until"] is None
    assert await outbox.backlog() == 0
    assert await deliver_due(outbox, SmtpSender(smtp.url), fake_clock) == 0
    assert len(smtp.inbox.envelopes) == 2


async def test_a_message_waits_while_the_server_is_down_and_goes_once_it_is_back(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    message = with_attachments(fake_clock)
    await stage(engine, message)
    outbox, sender = SqlOutbox.for_engine(engine), SmtpSender(smtp.url)
    smtp.stop()

    assert await deliver_due(outbox, sender, fake_clock) == 0
    row = await outbox_row(engine, message.id)
    assert (row["status"], row["attempts"], row["lease_until"]) == ("PENDING", 1, None)
    assert row["next_attempt_at"] > fake_clock.now()
    assert "SMTP 127.0.0.1" in row["last_error"]
    assert await deliver_due(outbox, sender, fake_clock) == 0
    assert (await outbox_row(engine, message.id))["attempts"] == 1  # not due, not claimed

    smtp.start()
    assert await deliver_due(outbox, sender, fake_clock) == 0  # back, but not yet due
    assert smtp.inbox.envelopes == []
    fake_clock.moment = row["next_attempt_at"] + timedelta(seconds=1)
    assert await deliver_due(outbox, sender, fake_clock) == 1

    assert smtp.inbox.per_outbox_id() == Counter({message.id: 1})
    assert len(list(smtp.inbox.mails()[0].iter_attachments())) == 2
    row = await outbox_row(engine, message.id)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("SENT", 2, fake_clock.now())


async def test_after_the_last_attempt_the_message_and_its_receipt_are_failed(
    engine: AsyncEngine, fake_clock: FakeClock
) -> None:
    receipt_id = await insert_receipt(engine, fake_clock)
    message = new_message(fake_clock, receipt_id=receipt_id)
    await stage(engine, message)
    outbox = SqlOutbox.for_engine(engine)
    nobody_listens = SmtpSender(f"smtp://127.0.0.1:{free_port()}?from=sales@example.com")

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await deliver_due(outbox, nobody_listens, fake_clock) == 0
        row = await outbox_row(engine, message.id)
        assert row["attempts"] == attempt
        if attempt < MAX_ATTEMPTS:
            assert row["status"] == "PENDING"
            assert (await receipt_row(engine, receipt_id))["status"] == "PENDING"
            fake_clock.moment = row["next_attempt_at"] + timedelta(seconds=1)

    assert (row["status"], row["sent_at"], row["lease_until"]) == ("FAILED", None, None)
    assert row["last_error"]
    receipt = await receipt_row(engine, receipt_id)
    assert (receipt["status"], receipt["sent_at"]) == ("FAILED", None)
    assert await outbox.backlog() == 0
    fake_clock.advance(timedelta(days=1))
    assert await outbox.claim_due(fake_clock.now(), 10, timedelta(seconds=60)) == []


async def test_a_sent_message_marks_its_receipt_sent(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    receipt_id = await insert_receipt(engine, fake_clock)
    other_receipt = await insert_receipt(engine, fake_clock)
    await stage(engine, with_attachments(fake_clock, receipt_id=receipt_id))
    fake_clock.advance(timedelta(seconds=3))

    assert await deliver_due(SqlOutbox.for_engine(engine), SmtpSender(smtp.url), fake_clock) == 1

    receipt = await receipt_row(engine, receipt_id)
    assert (receipt["status"], receipt["sent_at"]) == ("SENT", fake_clock.now())
    assert (await receipt_row(engine, other_receipt))["status"] == "PENDING"


async def test_a_refused_recipient_is_retried_with_the_servers_answer(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    smtp.inbox.refuse.add("gone@example.com")
    refused = new_message(fake_clock, recipient="gone@example.com")
    await stage(engine, refused)

    assert await deliver_due(SqlOutbox.for_engine(engine), SmtpSender(smtp.url), fake_clock) == 0

    row = await outbox_row(engine, refused.id)
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert "550" in row["last_error"]
    assert smtp.inbox.envelopes == []


class ExplodingSender:
    async def send(self, message: OutboxMessage) -> None:
        raise RuntimeError("bug in a sender")


async def test_an_unexpected_sender_error_counts_as_a_failed_attempt(
    engine: AsyncEngine, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    message = new_message(fake_clock)
    await stage(engine, message)

    assert await deliver_due(SqlOutbox.for_engine(engine), ExplodingSender(), fake_clock) == 0

    row = await outbox_row(engine, message.id)
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert row["next_attempt_at"] > fake_clock.now()
    assert "RuntimeError: bug in a sender" in row["last_error"]
    assert "sender failed unexpectedly" in caplog.text


# -- workers competing, workers dying ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 5])
async def test_concurrent_workers_deliver_each_message_exactly_once(
    database_url: str, engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock, workers: int
) -> None:
    messages = [new_message(fake_clock, recipient=f"t{n}@example.com") for n in range(30)]
    await stage(engine, *messages)
    go = asyncio.Event()

    async def worker() -> int:
        # Its own engine, as a separate process would have its own connections.
        own = create_engine(database_url)
        store, sender, delivered = SqlOutbox.for_engine(own), SmtpSender(smtp.url), 0
        try:
            await go.wait()
            while sent := await deliver_due(store, sender, fake_clock, limit=3):
                delivered += sent
        finally:
            await own.dispose()
        return delivered

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await asyncio.sleep(0.05)
    go.set()
    delivered = await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)

    assert sum(delivered) == 30
    assert smtp.inbox.per_outbox_id() == Counter({message.id: 1 for message in messages})
    async with engine.connect() as connection:
        rows = (await connection.execute(select(t.outbox.c.status, t.outbox.c.attempts))).all()
    assert Counter(rows) == Counter({("SENT", 1): 30})  # each claimed exactly once


async def test_a_message_leased_by_a_worker_that_died_is_taken_again(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    message = new_message(fake_clock)
    await stage(engine, message)
    outbox, sender, lease = (
        SqlOutbox.for_engine(engine),
        SmtpSender(smtp.url),
        timedelta(seconds=60),
    )
    claimed = await outbox.claim_due(fake_clock.now(), 10, lease)  # ... and then it died
    assert [(m.id, m.attempts) for m in claimed] == [(message.id, 1)]

    assert await deliver_due(outbox, sender, fake_clock, lease=lease) == 0
    fake_clock.advance(timedelta(seconds=59))
    assert await deliver_due(outbox, sender, fake_clock, lease=lease) == 0
    assert smtp.inbox.envelopes == []

    fake_clock.advance(timedelta(seconds=2))
    assert await deliver_due(outbox, sender, fake_clock, lease=lease) == 1
    assert smtp.inbox.per_outbox_id() == Counter({message.id: 1})
    row = await outbox_row(engine, message.id)
    assert (row["status"], row["attempts"]) == ("SENT", 2)


class GatedSender:
    """Holds each send until released, so a test can stop the worker mid-send."""

    def __init__(self, inner: MessageSender) -> None:
        self.inner = inner
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, message: OutboxMessage) -> None:
        self.sending.set()
        await self.release.wait()
        await self.inner.send(message)


async def test_a_stopped_worker_finishes_the_message_in_hand(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock
) -> None:
    first, second = new_message(fake_clock), new_message(fake_clock)
    fake_clock.advance(timedelta(seconds=1))  # `first` is older, so it is sent first
    second.created_at = fake_clock.now()
    await stage(engine, first, second)
    gated, stop = GatedSender(SmtpSender(smtp.url)), asyncio.Event()
    outbox = SqlOutbox.for_engine(engine)
    worker = asyncio.create_task(run_outbox_worker(outbox, gated, fake_clock, stop, every=0.01))

    await asyncio.wait_for(gated.sending.wait(), timeout=10)
    stop.set()
    await asyncio.sleep(0.05)
    assert not worker.done()  # it waits for the send in hand
    gated.release.set()
    await asyncio.wait_for(worker, timeout=10)

    assert smtp.inbox.per_outbox_id() == Counter({first.id: 1})
    assert (await outbox_row(engine, first.id))["status"] == "SENT"
    assert (await outbox_row(engine, second.id))["status"] == "PENDING"


# -- other senders -----------------------------------------------------------------------


async def test_the_directory_sender_writes_files_a_mail_program_can_open(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    folder = tmp_path / "outbox"
    sender = DirectorySender(folder)
    mail = with_attachments(fake_clock)
    sms = new_message(fake_clock, channel=Channel.SMS, recipient="+4799999999")

    await sender.send(mail)
    await sender.send(sms)
    await sender.send(mail)  # a re-delivery replaces the file

    files = sorted(path.name for path in folder.iterdir())
    assert files == sorted([sender.path_for(mail).name, sender.path_for(sms).name])
    assert any(name.endswith(f"{mail.id}.eml") for name in files)
    assert any(name.endswith(f"{sms.id}.txt") for name in files)
    with sender.path_for(mail).open("rb") as file:
        parsed = BytesParser(_class=EmailMessage, policy=default_policy).parse(file)
    assert (parsed["To"], parsed["Subject"]) == (mail.recipient, mail.subject)
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == mail.body
    assert [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in parsed.iter_attachments()
    ] == [("ticket.pdf", "application/pdf", PDF), ("receipt.txt", "text/plain", RECEIPT_TEXT)]
    text = sender.path_for(sms).read_text("utf-8")
    assert "To: +4799999999" in text
    assert sms.body in text


async def test_the_directory_sender_reports_an_unwritable_folder(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DeliveryFailed):
        await DirectorySender(blocker / "outbox").send(new_message(fake_clock))


async def test_messages_are_routed_by_channel(
    engine: AsyncEngine, smtp: SmtpServer, fake_clock: FakeClock, tmp_path: Path
) -> None:
    mail = new_message(fake_clock)
    sms = new_message(fake_clock, channel=Channel.SMS, recipient="+4799999999")
    await stage(engine, mail, sms)
    outbox = SqlOutbox.for_engine(engine)

    email_only = RoutingSender(email=SmtpSender(smtp.url))
    assert await deliver_due(outbox, email_only, fake_clock) == 1
    row = await outbox_row(engine, sms.id)
    assert row["status"] == "PENDING" and "SMS" in row["last_error"]

    fake_clock.moment = row["next_attempt_at"]
    sms_folder = DirectorySender(tmp_path / "sms")
    both = RoutingSender(email=SmtpSender(smtp.url), sms=sms_folder)
    assert await deliver_due(outbox, both, fake_clock) == 1

    assert smtp.inbox.per_outbox_id() == Counter({mail.id: 1})
    assert list(sms_folder.folder.iterdir()) == [sms_folder.path_for(sms)]
    assert (await outbox_row(engine, sms.id))["status"] == "SENT"
