"""Webhooks (events.graphql): subscriptions, deliveries, their inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from sales_api.domain import events as domain_events
from sales_api.domain import webhooks as domain
from sales_api.queries.selection import Built
from sales_api.schema.descriptions import idempotency_key_field
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
    eq: domain.WebhookDeliveryStatus | None = strawberry.field(
        default=None, description="This status."
    )
    ne: domain.WebhookDeliveryStatus | None = strawberry.field(
        default=None, description="Any status but this."
    )
    in_: list[domain.WebhookDeliveryStatus] | None = strawberry.field(
        default=None, name="in", description="One of these statuses."
    )
    nin: list[domain.WebhookDeliveryStatus] | None = strawberry.field(
        default=None, description="None of these statuses."
    )


@strawberry.input(name="WebhookDeliveryFilter")
class WebhookDeliveryFilter:
    webhook_subscription_id: IdFilter | None = strawberry.field(
        default=None, description="The subscription it is for."
    )
    event_id: IdFilter | None = strawberry.field(
        default=None, description="The event it sends (the webhook-id header)."
    )
    status: WebhookDeliveryStatusFilter | None = strawberry.field(
        default=None, description="PENDING, DELIVERED or FAILED."
    )


@strawberry.input(name="CreateWebhookSubscriptionInput")
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(
        description="http(s) URL that receives a POST per event (see DOMAIN.md, Events)."
    )
    event_types: list[domain_events.OrderEventType] = strawberry.field(
        description="At least one event type to receive."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="WebhookSubscriptionRefInput")
class WebhookSubscriptionRefInput:
    webhook_subscription_id: strawberry.ID = strawberry.field(description="The subscription's id.")


@strawberry.input(name="RedeliverWebhookInput")
class RedeliverWebhookInput:
    webhook_delivery_id: strawberry.ID = strawberry.field(
        description="A delivery of an active subscription."
    )


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
