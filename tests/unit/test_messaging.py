"""SmtpSender's URL: every setting it reads, and the mistakes it refuses."""

from __future__ import annotations

import pytest

from sales_api.messaging import SmtpSender


def test_a_starttls_url_with_credentials() -> None:
    sender = SmtpSender("smtp://mail%40example.com:p%40ss%2Fw@smtp.example.com:587?starttls=true")

    assert (sender.hostname, sender.port) == ("smtp.example.com", 587)
    assert (sender.username, sender.password) == ("mail@example.com", "p@ss/w")
    assert (sender.use_tls, sender.start_tls) == (False, True)
    assert sender.from_address == "mail@example.com"
    assert "p@ss" not in repr(sender)


def test_smtps_is_implicit_tls_on_465() -> None:
    sender = SmtpSender("smtps://u:p@smtp.example.com?from=sales@example.com&timeout=7.5")

    assert (sender.port, sender.use_tls, sender.start_tls) == (465, True, False)
    assert (sender.from_address, sender.timeout) == ("sales@example.com", 7.5)


def test_plain_smtp_upgrades_only_when_offered() -> None:
    sender = SmtpSender("smtp://localhost?from=sales@example.com")

    assert (sender.port, sender.use_tls, sender.start_tls) == (25, False, None)
    assert sender.username is None and sender.password is None


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://smtp.example.com?from=a@b.c", "smtp://"),
        ("smtp://?from=a@b.c", "no host"),
        ("smtp://smtp.example.com", "sender address"),
        ("smtp://smtp.example.com?from=a@b.c&starttls=maybe", "starttls"),
        ("smtps://smtp.example.com?from=a@b.c&starttls=true", "TLS from the start"),
    ],
)
def test_a_bad_url_is_refused_clearly(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        SmtpSender(url)
