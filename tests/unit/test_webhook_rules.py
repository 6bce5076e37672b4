"""Webhook and live-notice rules, without a database."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from sales_api.domain.errors import ValidationFailed
from sales_api.domain.events import OrderEventType
from sales_api.domain.live import EventHub, EventNotice, FellBehind
from sales_api.domain.webhooks import address_allowed, check_url, new_secret, next_attempt_at

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_pauses_double_from_the_first_until_a_day_has_passed() -> None:
    first = timedelta(seconds=10)
    now, pauses = T0, []
    for attempts in range(1, 30):
        when = next_attempt_at(T0, attempts, now, first)
        if when is None:
            break
        pauses.append((when - now).total_seconds())
        now = when
    assert pauses[:5] == [10, 20, 40, 80, 160]
    assert now <= T0 + timedelta(hours=24) < now + timedelta(seconds=pauses[-1] * 2)


@pytest.mark.parametrize(
    ("address", "loopback", "private", "allowed"),
    [
        ("93.184.216.34", False, False, True),
        ("2606:4700::1111", False, False, True),
        ("127.0.0.1", False, False, False),
        ("127.0.0.1", True, False, True),
        ("::1", True, False, True),
        ("::ffff:127.0.0.1", False, False, False),
        ("10.0.0.1", True, False, False),
        ("10.0.0.1", False, True, True),
        ("192.168.1.1", False, False, False),
        ("172.16.0.1", False, False, False),
        ("169.254.169.254", False, False, False),
        ("100.64.0.1", False, False, False),
        ("fd00::1", False, False, False),
        ("fe80::1", False, False, False),
        ("0.0.0.0", True, True, False),
        ("224.0.0.1", True, True, False),
        ("240.0.0.1", True, True, False),
    ],
)
def test_which_addresses_webhooks_go_to(
    address: str, loopback: bool, private: bool, allowed: bool
) -> None:
    parsed = ipaddress.ip_address(address)
    assert address_allowed(parsed, allow_loopback=loopback, allow_private=private) is allowed


def test_urls_are_checked_before_anything_is_stored() -> None:
    rules = {"allow_loopback": False, "allow_private": False}
    assert check_url("https://hooks.example.com/sales?x=1", **rules)
    for bad in (
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/#frag",
        "javascript:alert(1)",
        "https://" + "a" * 2000 + ".example",
        "http://localhost:8080/",
        "http://foo.localhost/",
    ):
        with pytest.raises(ValidationFailed):
            check_url(bad, **rules)
    assert check_url("http://localhost:8080/", allow_loopback=True, allow_private=False)


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    import base64

    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def _notice(order: str, organisation: int = 1) -> EventNotice:
    return EventNotice(f"e-{order}", organisation, order, OrderEventType.ORDER_UPDATED)


async def test_a_listener_gets_the_wanted_notices_of_a_commit_together() -> None:
    hub = EventHub()
    listener = hub.listen(lambda n: n.order_id == "A")
    hub.publish([_notice("A"), _notice("B"), _notice("A")])
    hub.publish([_notice("B")])
    hub.publish([_notice("A")])
    assert [len(batch) for batch in (await listener.next(), await listener.next())] == [2, 1]
    listener.close()
    assert hub.listening == 0


async def test_a_listener_too_far_behind_is_cut_off_not_grown() -> None:
    hub = EventHub(limit=3)
    listener = hub.listen(lambda n: True)
    for index in range(10):
        hub.publish([_notice(str(index))])
    for _ in range(3):
        await listener.next()
    with pytest.raises(FellBehind):
        await listener.next()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(listener.next(), 0.05)  # nothing more is queued
