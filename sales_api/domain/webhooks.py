"""Webhooks: an organisation's URLs that receive its order events, and the deliveries of
each event to each URL (Standard Webhooks: webhook-id is the event id, signed with the
subscription's whsec_ secret). Delivered at least once from an outbox written in the
event's own transaction, retried with doubling pauses, FAILED after a day."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sales_api.domain.errors import ValidationFailed
from sales_api.domain.events import OrderEvent, OrderEventType

MAX_URL = 2000
MAX_SUBSCRIPTIONS = 20
"""Per organisation: each event is written once per matching subscription."""
GIVE_UP_AFTER = timedelta(hours=24)
SECRET_PREFIX = "whsec_"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(slots=True)
class WebhookSubscription:
    id: str
    organisation_id: int
    url: str
    event_types: tuple[OrderEventType, ...]
    secret: str
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One event to one subscription, as the delivery worker leased it."""

    id: str
    subscription_id: str
    url: str
    secret: str
    event: OrderEvent
    attempts: int
    """Counting the one leased now."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one attempt came to: `status` is the receiver's HTTP status, or None when
    there was no answer (refused, timed out, address not allowed); `error` says why it is
    not delivered."""

    status: int | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def new_secret() -> str:
    """A signing secret: whsec_ and 32 random bytes in base64 (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def check_url(url: str, *, allow_loopback: bool, allow_private: bool) -> str:
    """The URL as given when webhooks may be sent to it; VALIDATION_FAILED otherwise.
    Names are resolved again at each delivery (a name may point anywhere later)."""
    path = ["input", "url"]
    if len(url) > MAX_URL:
        raise ValidationFailed(f"url is at most {MAX_URL} characters", path)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError as error:
        raise ValidationFailed(f"url is not a valid URL: {error}", path) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("url must be an absolute http:// or https:// URL", path)
    if parts.username or parts.password:
        raise ValidationFailed("url must not carry credentials", path)
    if parts.fragment:
        raise ValidationFailed("url must not have a #fragment", path)
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in url):
        raise ValidationFailed("url must be printable ASCII without spaces", path)
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        if not allow_loopback:
            raise ValidationFailed(address_refusal(host), path)
        return url
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return url  # a name: checked when it is resolved, at each delivery
    if not address_allowed(address, allow_loopback=allow_loopback, allow_private=allow_private):
        raise ValidationFailed(address_refusal(host), path)
    return url


def address_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    allow_loopback: bool,
    allow_private: bool,
) -> bool:
    """Whether a webhook may be sent to this address: public ones always; loopback and
    private (RFC 1918, unique local, link-local, shared) only when allowed; never the
    unspecified, multicast or reserved ones."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:  # before `reserved`: ::1 lies in IPv6's reserved ::/8
        return allow_loopback
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return False
    if address.is_private or address.is_link_local or not address.is_global:
        return allow_private
    return True


def address_refusal(host: str) -> str:
    return (
        f"Webhooks are not sent to {host}: loopback, private and link-local addresses are "
        "refused here (see SALES_WEBHOOK_ALLOW_PRIVATE)"
    )


def check_event_types(types: Sequence[OrderEventType]) -> tuple[OrderEventType, ...]:
    if not types:
        raise ValidationFailed("Name at least one event type", ["input", "eventTypes"])
    return tuple(dict.fromkeys(types))


def next_attempt_at(
    created_at: datetime, attempts: int, now: datetime, first_pause: timedelta
) -> datetime | None:
    """When to try again after `attempts` failed ones: the first pause, then doubling;
    None when that would be more than a day after the event (the delivery FAILED)."""
    doublings: int = min(max(attempts - 1, 0), 30)
    when: datetime = now + first_pause * (1 << doublings)
    if when > created_at + GIVE_UP_AFTER:
        return None
    return when


def event_data(event: OrderEvent) -> dict[str, Any]:
    """The OrderEvent as GraphQL shows it (its field names), for a webhook's `data`."""
    return {
        "id": event.id,
        "orderId": event.order_id,
        "orderVersion": event.order_version,
        "type": event.type.value,
        "occurredAt": iso_utc(event.occurred_at),
        "clientId": event.client_id,
        "pos": event.pos,
        "distributionChannelId": event.distribution_channel_id,
        "correlationId": event.correlation_id,
        "subjectIds": list(event.subject_ids),
    }


def webhook_body(event: OrderEvent) -> dict[str, Any]:
    """The JSON a receiver gets: {"type", "timestamp", "data"} (Standard Webhooks)."""
    return {
        "type": event.type.value,
        "timestamp": iso_utc(event.occurred_at),
        "data": event_data(event),
    }


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second with a Z, as the API shows every timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
