"""Webhooks (events.graphql): subscriptions, deliveries, their inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sales_api.domain import events as domain_events
from sales_api.domain import webhooks as domain
from sales_api.queries.selection import Built
from sales_api.schema.filters import IdFilter
from sales_api.schema.reads import one_by_id
from sales_api.schema.types import SalesErrorType

WebhookDeliveryStatus = strawberry.enum(domain.WebhookDeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(name="WebhookSubscription")
class WebhookSubscriptionType:
    id: strawberry.ID
    url: str
    event_types: list[domain_events.OrderEventType]
    active: bool
    created_at: datetime


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType:
    id: strawberry.ID
    webhook_subscription_id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(
        description="The event sent; also the webhook-id header a receiver deduplicates on."
    )
    event_type: domain_events.OrderEventType
    status: domain.WebhookDeliveryStatus
    attempts: int
    last_response_status: int | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@strawberry.input(name="WebhookDeliveryStatusFilter")
class WebhookDeliveryStatusFilter:
    eq: domain.WebhookDeliveryStatus | None = None
    ne: domain.WebhookDeliveryStatus | None = None
    in_: list[domain.WebhookDeliveryStatus] | None = strawberry.field(default=None, name="in")
    nin: list[domain.WebhookDeliveryStatus] | None = None


@strawberry.input(name="WebhookDeliveryFilter")
class WebhookDeliveryFilter:
    webhook_subscription_id: IdFilter | None = None
    event_id: IdFilter | None = None
    status: WebhookDeliveryStatusFilter | None = None


@strawberry.input(name="CreateWebhookSubscriptionInput")
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(
        description="http(s) URL that receives a POST per event (see DOMAIN.md, Events)."
    )
    event_types: list[domain_events.OrderEventType]
    idempotency_key: str | None = None


@strawberry.input(name="WebhookSubscriptionRefInput")
class WebhookSubscriptionRefInput:
    webhook_subscription_id: strawberry.ID


@strawberry.input(name="RedeliverWebhookInput")
class RedeliverWebhookInput:
    webhook_delivery_id: strawberry.ID


@strawberry.type(name="WebhookSubscriptionPayload")
class WebhookSubscriptionPayload:
    subscription_id: strawberry.Private[str | None]
    webhook_subscription: Built | None = strawberry.field(
        graphql_type=WebhookSubscriptionType | None,
        resolver=one_by_id("WebhookSubscription", "subscription_id"),
    )
    signing_secret: str | None = strawberry.field(
        description=(
            "The secret (whsec_...) that signs deliveries; shown once, by "
            "createWebhookSubscription."
        )
    )
    errors: list[SalesErrorType]


@strawberry.type(name="WebhookDeliveryPayload")
class WebhookDeliveryPayload:
    delivery_id: strawberry.Private[str | None]
    webhook_delivery: Built | None = strawberry.field(
        graphql_type=WebhookDeliveryType | None,
        resolver=one_by_id("WebhookDelivery", "delivery_id"),
    )
    errors: list[SalesErrorType]
