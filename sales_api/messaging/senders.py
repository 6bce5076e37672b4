"""MessageSenders for the outbox worker. Each either delivers a message or raises
DeliveryFailed, so the outbox can retry it later."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from sales_api.domain.outbox import Channel, DeliveryFailed, MessageSender, OutboxMessage

DEFAULT_FROM = "sales@localhost"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SmsSender(MessageSender, Protocol):
    """The slot for an SMS gateway: any MessageSender that delivers Channel.SMS messages
    (DirectorySender does, into a folder). Plug one into RoutingSender(sms=...)."""


def email_message(message: OutboxMessage, from_address: str) -> EmailMessage:
    """The MIME e-mail for an outbox message: a text body and its attachments. The
    Message-ID is derived from the outbox id, so a re-delivery is recognisably the same."""
    if message.channel is not Channel.EMAIL:
        raise DeliveryFailed(f"message {message.id} is {message.channel}, not an e-mail")
    domain = from_address.rpartition("@")[2] or "localhost"
    try:
        mail = EmailMessage()
        mail["From"] = from_address
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.created_at.astimezone(UTC))
        mail["Message-ID"] = f"<outbox.{message.id}@{domain}>"
        mail.set_content(message.body)
        for attachment in message.attachments:
            maintype, subtype = _content_type(attachment.content_type)
            mail.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
            )
    except ValueError as error:
        # A header with a line break, say: no retry will fix it, but the outbox decides.
        raise DeliveryFailed(f"message {message.id} is not a valid e-mail: {error}") from error
    return mail


def _content_type(value: str) -> tuple[str, str]:
    maintype, _, subtype = value.split(";", 1)[0].strip().lower().partition("/")
    if not maintype or not subtype or "/" in subtype:
        return "application", "octet-stream"
    return maintype, subtype


class SmtpSender:
    """E-mail through an SMTP server, configured by one URL:

    smtp://user:pass@host:587?starttls=true&from=sales@example.com   (STARTTLS)
    smtps://user:pass@host:465?from=sales@example.com                (implicit TLS)

    Without `starttls`, an smtp:// connection upgrades when the server offers it.
    `timeout` (seconds) may be given in the URL too. Connection errors, timeouts and
    4xx/5xx replies all become DeliveryFailed."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("an SMTP URL starts with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("the SMTP URL names no host")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        self.use_tls = parts.scheme == "smtps"
        self.hostname = parts.hostname
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.start_tls = _flag(query.get("starttls"), "starttls")
        if self.use_tls and self.start_tls:
            raise ValueError("smtps:// is TLS from the start; starttls=true is for smtp://")
        if self.use_tls:
            self.start_tls = False
        self.timeout = float(query["timeout"]) if "timeout" in query else timeout
        from_address = query.get("from") or (
            self.username if self.username and "@" in self.username else None
        )
        if not from_address:
            raise ValueError("the SMTP URL needs a sender address: ?from=sales@example.com")
        self.from_address = from_address

    def __repr__(self) -> str:  # never the password
        scheme = "smtps" if self.use_tls else "smtp"
        return f"SmtpSender({scheme}://{self.hostname}:{self.port}, from={self.from_address})"

    async def send(self, message: OutboxMessage) -> None:
        mail = email_message(message, self.from_address)
        try:
            await aiosmtplib.send(
                mail,
                sender=self.from_address,
                recipients=[message.recipient],
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(
                f"SMTP {self.hostname}:{self.port} answered {error.code}: {error.message}"
            ) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryFailed(
                f"SMTP {self.hostname}:{self.port}: {type(error).__name__}: {error}"
            ) from error


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


class DirectorySender:
    """Writes each message into a folder instead of sending it: e-mails as .eml files any
    mail program opens, SMS as .txt. The default for a new installation, so its owner can
    see what customers would receive. Files appear whole (temp file + rename)."""

    def __init__(self, folder: str | os.PathLike[str], *, from_address: str = DEFAULT_FROM):
        self.folder = Path(folder)
        self.from_address = from_address

    def __repr__(self) -> str:
        return f"DirectorySender({str(self.folder)!r})"

    def path_for(self, message: OutboxMessage) -> Path:
        """Where the message is written: time-ordered, named by the outbox id."""
        suffix = ".eml" if message.channel is Channel.EMAIL else ".txt"
        moment = message.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", message.id)
        return self.folder / f"{moment}-{safe_id}{suffix}"

    async def send(self, message: OutboxMessage) -> None:
        if message.channel is Channel.EMAIL:
            content = email_message(message, self.from_address).as_bytes()
        else:
            content = _sms_text(message).encode("utf-8")
        try:
            await asyncio.to_thread(_write_atomically, self.path_for(message), content)
        except OSError as error:
            raise DeliveryFailed(f"cannot write into {self.folder}: {error}") from error


def _sms_text(message: OutboxMessage) -> str:
    return (
        f"To: {message.recipient}\n"
        f"Date: {message.created_at.astimezone(UTC).isoformat()}\n"
        f"Message-Id: {message.id}\n"
        "\n"
        f"{message.body}\n"
    )


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class RoutingSender:
    """Hands each message to the sender for its channel; a channel with no sender is a
    DeliveryFailed (retried, then FAILED), never a silent drop."""

    def __init__(self, *, email: MessageSender, sms: MessageSender | None = None) -> None:
        self.senders: dict[Channel, MessageSender] = {Channel.EMAIL: email}
        if sms is not None:
            self.senders[Channel.SMS] = sms

    def __repr__(self) -> str:
        return f"RoutingSender({self.senders!r})"

    async def send(self, message: OutboxMessage) -> None:
        sender = self.senders.get(message.channel)
        if sender is None:
            raise DeliveryFailed(f"no sender is configured for {message.channel} messages")
        await sender.send(message)
