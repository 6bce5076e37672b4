"""Webhooks: subscribe, unsubscribe, deliver again; and the delivery worker, which leases
due deliveries in one short transaction, asks the receivers with no transaction open,
and records each answer in another (a slow receiver never holds a connection or a sale)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError
from sales_api.domain.events import OrderEventType
from sales_api.domain.ids import new_id
from sales_api.domain.ports import UnitOfWorkFactory, WebhookSender, WebhookStore
from sales_api.domain.services import idempotency
from sales_api.domain.services.idempotency import Result
from sales_api.domain.webhooks import (
    MAX_SUBSCRIPTIONS,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
    check_event_types,
    check_url,
    new_secret,
    next_attempt_at,
)

log = logging.getLogger("sales_api.webhooks")


@dataclass(frozen=True, slots=True)
class UrlRules:
    allow_loopback: bool
    allow_private: bool


@dataclass(frozen=True, slots=True)
class CreateWebhookSubscription:
    url: str
    event_types: tuple[OrderEventType, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription_id: str
    signing_secret: str


async def create_subscription(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    caller: Caller,
    rules: UrlRules,
    command: CreateWebhookSubscription,
) -> Subscribed:
    """A subscription of the caller's organisation, active at once; its secret is
    answered here (and again to a replay of the same idempotency key), never read back."""
    caller.require(Permission.SALES_WRITE)
    url = check_url(
        command.url, allow_loopback=rules.allow_loopback, allow_private=rules.allow_private
    )
    types = check_event_types(command.event_types)
    now = clock.now()
    async with uow_factory(write=True) as uow:

        async def work(_earlier: Result | None) -> Result:
            if await uow.webhooks.count_active(caller.organisation_id) >= MAX_SUBSCRIPTIONS:
                raise SalesError(
                    ErrorCode.INVALID_STATE,
                    f"An organisation has at most {MAX_SUBSCRIPTIONS} webhook subscriptions; "
                    "delete one first",
                )
            subscription = WebhookSubscription(
                id=new_id(),
                organisation_id=caller.organisation_id,
                url=url,
                event_types=types,
                secret=new_secret(),
                active=True,
                created_at=now,
            )
            await uow.webhooks.add(subscription)
            return {"subscriptionId": subscription.id, "secret": subscription.secret}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "createWebhookSubscription", command, now, work
        )
        await uow.commit()
    return Subscribed(str(done.result["subscriptionId"]), str(done.result["secret"]))


async def delete_subscription(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, subscription_id: str
) -> str:
    """Inactive from now on (kept, with its deliveries, for the record); its PENDING
    deliveries are FAILED. Deleting it again changes nothing."""
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        subscription = await uow.webhooks.get_for_update(subscription_id, caller.organisation_id)
        if subscription is None:
            raise NotFound("Webhook subscription", ["input", "webhookSubscriptionId"])
        if subscription.active:
            await uow.webhooks.deactivate(subscription.id, clock.now())
            await uow.commit()
    return subscription.id


async def redeliver(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, delivery_id: str
) -> str:
    """A new delivery of the same event (same webhook-id) to the same subscription, due
    now, whatever became of the first; its id."""
    caller.require(Permission.SALES_WRITE)
    async with uow_factory(write=True) as uow:
        again = await uow.webhooks.redeliver(delivery_id, caller.organisation_id, clock.now())
        if again is None:
            raise NotFound(
                "Webhook delivery of an active subscription", ["input", "webhookDeliveryId"]
            )
        await uow.commit()
    return again


# -- the delivery worker ----------------------------------------------------------------------

Outcomes = Callable[[WebhookDeliveryStatus], None]


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    first_retry: timedelta
    """The pause after the first failed attempt; doubled after each next one."""
    batch: int = 50
    concurrency: int = 20
    lease: timedelta = timedelta(seconds=60)


async def deliver_webhooks(
    store: WebhookStore,
    sender: WebhookSender,
    clock: Clock,
    plan: DeliveryPlan,
    outcomes: Outcomes | None = None,
) -> int:
    """One round: up to `plan.batch` due deliveries sent, `plan.concurrency` at a time;
    how many were claimed."""
    deliveries = await store.claim_due(clock.now(), plan.batch, plan.lease)
    if not deliveries:
        return 0
    gate = asyncio.Semaphore(plan.concurrency)

    async def one(delivery: WebhookDelivery) -> None:
        async with gate:
            outcome = await sender.send(delivery)
        now = clock.now()
        retry_at = (
            None
            if outcome.delivered
            else next_attempt_at(delivery.created_at, delivery.attempts, now, plan.first_retry)
        )
        status = await store.finish(delivery, outcome, now, retry_at)
        if outcomes is not None:
            outcomes(status)
        if status is WebhookDeliveryStatus.FAILED:
            log.warning(
                "webhook delivery FAILED",
                extra={"delivery": delivery.id, "attempts": delivery.attempts},
            )

    await asyncio.gather(*(one(delivery) for delivery in deliveries))
    return len(deliveries)


async def run_webhook_worker(
    store: WebhookStore,
    sender: WebhookSender,
    clock: Clock,
    plan: DeliveryPlan,
    stop: asyncio.Event,
    *,
    every: float = 0.5,
    outcomes: Outcomes | None = None,
) -> None:
    """Rounds until `stop` is set; a failing round (database away) is logged and tried
    again after `every` seconds."""
    while not stop.is_set():
        try:
            claimed = await deliver_webhooks(store, sender, clock, plan, outcomes)
        except Exception:
            log.exception("webhook delivery round failed")
            claimed = 0
        if claimed == plan.batch:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
