"""Resolvers of webhook subscriptions and deliveries."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import webhooks as service
from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.types import SalesErrorType
from sales_api.schema.webhook_types import (
    CreateWebhookSubscriptionInput,
    RedeliverWebhookInput,
    WebhookDeliveryFilter,
    WebhookDeliveryPayload,
    WebhookSubscriptionPayload,
    WebhookSubscriptionRefInput,
)


def _no_subscription(errors: list[SalesErrorType]) -> WebhookSubscriptionPayload:
    return WebhookSubscriptionPayload(subscription_id=None, signing_secret=None, errors=errors)


async def create_webhook_subscription(
    info: Info,
    input: Annotated[
        CreateWebhookSubscriptionInput,
        strawberry.argument(description="The URL and the event types it receives."),
    ],
) -> WebhookSubscriptionPayload:
    context = info.context

    async def work() -> WebhookSubscriptionPayload:
        made = await service.create_subscription(
            context.uow_factory,
            context.clock,
            context.caller,
            context.webhook_rules,
            service.CreateWebhookSubscription(
                url=input.url,
                event_types=tuple(input.event_types),
                idempotency_key=input.idempotency_key,
            ),
        )
        return WebhookSubscriptionPayload(
            subscription_id=made.subscription_id, signing_secret=made.signing_secret, errors=[]
        )

    return await answer(info, work, _no_subscription)


async def delete_webhook_subscription(
    info: Info,
    input: Annotated[
        WebhookSubscriptionRefInput, strawberry.argument(description="The subscription.")
    ],
) -> WebhookSubscriptionPayload:
    context = info.context

    async def work() -> WebhookSubscriptionPayload:
        deleted = await service.delete_subscription(
            context.uow_factory, context.clock, context.caller, str(input.webhook_subscription_id)
        )
        return WebhookSubscriptionPayload(subscription_id=deleted, signing_secret=None, errors=[])

    return await answer(info, work, _no_subscription)


async def redeliver_webhook(
    info: Info,
    input: Annotated[
        RedeliverWebhookInput, strawberry.argument(description="The delivery to make again.")
    ],
) -> WebhookDeliveryPayload:
    context = info.context

    async def work() -> WebhookDeliveryPayload:
        again = await service.redeliver(
            context.uow_factory, context.clock, context.caller, str(input.webhook_delivery_id)
        )
        return WebhookDeliveryPayload(delivery_id=again, errors=[])

    return await answer(
        info, work, lambda errors: WebhookDeliveryPayload(delivery_id=None, errors=errors)
    )


async def webhook_subscriptions(info: Info, page: Page = 1, per_page: PerPage = 20) -> Built:
    """The caller's organisation's subscriptions, deleted ones included (inactive)."""
    return await page_of(info, "WebhookSubscription", None, page, per_page)


async def webhook_deliveries(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[WebhookDeliveryFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    """The caller's organisation's deliveries, newest first."""
    return await page_of(info, "WebhookDelivery", filter, page, per_page)
