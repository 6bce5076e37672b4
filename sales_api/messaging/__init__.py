"""Delivery of outbox messages: SMTP for e-mail, a folder of files for a first run, and a
router by channel. Imports only the standard library, aiosmtplib and sales_api.domain."""

from sales_api.messaging.senders import (
    DirectorySender,
    RoutingSender,
    SmsSender,
    SmtpSender,
    email_message,
)

__all__ = ["DirectorySender", "RoutingSender", "SmsSender", "SmtpSender", "email_message"]
