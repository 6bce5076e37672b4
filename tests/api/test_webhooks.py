"""Webhooks over HTTP through the real app, delivered to a real receiver on loopback:
Standard Webhooks signatures that the reference package verifies, retries with doubling
pauses, FAILED after a day, redelivery, and the SSRF guard."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette

from sales_api.domain.services.webhooks import deliver_webhooks
from sales_api.messaging.webhooks import HttpWebhookSender
from sales_api.settings import Settings
from tests.api.test_operations import scrape, value
from tests.api.test_sale_flow import RESERVE, offers_for
from tests.conftest import Api, MovableClock
from tests.receiver import HANG, receiving

CREATE = """
mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) {
  webhookSubscription { id url eventTypes active createdAt } signingSecret
  errors { code message path } } }
"""
DELETE = """
mutation($id: ID!) { deleteWebhookSubscription(input: {webhookSubscriptionId: $id}) {
  webhookSubscription { id active } signingSecret errors { code message path } } }
"""
REDELIVER = """
mutation($id: ID!) { redeliverWebhook(input: {webhookDeliveryId: $id}) {
  webhookDelivery { id eventId status attempts } errors { code message path } } }
"""
DELIVERIES = """
query($f: WebhookDeliveryFilter) { webhookDeliveries(perPage: 100, filter: $f) { totalItems
  items { id webhookSubscriptionId eventId eventType status attempts lastResponseStatus
          lastAttemptAt nextAttemptAt deliveredAt } } }
"""


async def subscribe(api: Api, url: str, *types: str, **kwargs: Any) -> dict[str, Any]:
    data = await api.gql(CREATE, {"input": {"url": url, "eventTypes": list(types)}}, **kwargs)
    answer: dict[str, Any] = data["createWebhookSubscription"]
    return answer


async def deliveries(api: Api, **filter: Any) -> list[dict[str, Any]]:
    data = await api.gql(DELIVERIES, {"f": filter or None})
    return list(data["webhookDeliveries"]["items"])


async def a_reservation(api: Api, key: str = "r1", client_id: str = "demo-app") -> str:
    people = [{"id": "a1", "userType": "ADULT"}]
    offer = next(o for o in await offers_for(api, people) if o["product"]["name"] == "Flex")
    variables = {
        "input": {"offerConfigurations": [{"offerId": offer["id"]}], "idempotencyKey": key}
    }
    data = await api.gql(RESERVE, variables, client_id=client_id)
    assert data["reserveOffers"]["errors"] == [], data
    return str(data["reserveOffers"]["order"]["id"])


async def deliver(app: Starlette, clock: MovableClock) -> int:
    state = app.state
    return await deliver_webhooks(
        state.webhook_store,
        state.webhook_sender,
        clock,
        state.webhook_plan,
        outcomes=state.metrics.webhook_attempt,
    )


async def test_a_failed_first_attempt_is_retried_and_both_verify(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    async with receiving(500) as receiver:
        made = await subscribe(api, receiver.url, "ORDER_CREATED", "OFFERS_RESERVED")
        assert made["errors"] == []
        secret = made["signingSecret"]
        assert secret.startswith("whsec_")
        subscription = made["webhookSubscription"]
        assert subscription["eventTypes"] == ["ORDER_CREATED", "OFFERS_RESERVED"]
        assert subscription["active"] is True

        order_id = await a_reservation(api)
        events = (
            await api.gql(
                "query($id: ID!) { order(id: $id) { events { id type } } }", {"id": order_id}
            )
        )["order"]["events"]
        by_id = {e["id"]: e["type"] for e in events}
        # Sent side by side: the first to arrive is answered 500, the other goes through.
        assert await deliver(app, clock) == 2
        [pending] = await deliveries(api, status={"eq": "PENDING"})
        retried = pending["eventId"]
        assert retried in by_id
        assert (pending["attempts"], pending["lastResponseStatus"]) == (1, 500)
        assert pending["nextAttemptAt"] is not None
        assert await deliver(app, clock) == 0, "not due before the pause"
        clock.advance(timedelta(seconds=11))
        assert await deliver(app, clock) == 1

    mine = [r for r in receiver.received if r.headers["webhook-id"] == retried]
    assert len(mine) == 2, "the event arrived twice, with one webhook-id"
    verifier = Webhook(secret)
    for request in mine:
        verified = verifier.verify(request.body, request.headers)
        assert verified["type"] == by_id[retried]
        assert verified["data"]["id"] == retried
        assert verified["data"]["orderId"] == order_id
        assert verified["data"]["clientId"] == "demo-app"
        assert request.headers["content-type"] == "application/json"
    assert json.loads(mine[0].body) == json.loads(mine[1].body)
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(mine[0].body, mine[0].headers)

    samples = await scrape(api.client)
    assert value(samples, "sales_order_events_total", type="ORDER_CREATED") == 1
    assert value(samples, "sales_order_events_total", type="OFFERS_RESERVED") == 1
    assert value(samples, "sales_webhook_attempts_total", status="PENDING") == 1
    assert value(samples, "sales_webhook_attempts_total", status="DELIVERED") == 2

    [done] = await deliveries(api, eventId={"eq": retried})
    assert (done["status"], done["attempts"], done["lastResponseStatus"]) == ("DELIVERED", 2, 200)
    assert done["deliveredAt"] is not None and done["nextAttemptAt"] is None
    assert {d["status"] for d in await deliveries(api)} == {"DELIVERED"}


async def test_pauses_double_and_a_delivery_fails_after_a_day_then_can_be_sent_again(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    async with receiving(*[503] * 20) as receiver:
        await subscribe(api, receiver.url, "ORDER_CREATED")
        await a_reservation(api)
        started = clock.now()
        statuses = []
        while not statuses or statuses[-1] == "PENDING":
            assert await deliver(app, clock) == 1
            [failed] = await deliveries(api)
            statuses.append(failed["status"])
            clock.advance(timedelta(hours=12))
        # Tried at 0 h, 12 h and 24 h; a fourth try would come after the day is over.
        assert statuses == ["PENDING", "PENDING", "FAILED"]
        assert (failed["attempts"], failed["nextAttemptAt"]) == (3, None)
        assert clock.now() - started >= timedelta(hours=36)
        assert await deliver(app, clock) == 0, "FAILED is final"

        again = (await api.gql(REDELIVER, {"id": failed["id"]}))["redeliverWebhook"]
        assert again["errors"] == []
        assert again["webhookDelivery"]["eventId"] == failed["eventId"]
        assert again["webhookDelivery"]["status"] == "PENDING"
        receiver.script.clear()  # it answers now
        assert await deliver(app, clock) == 1
        sent_ids = {r.headers["webhook-id"] for r in receiver.received}
        assert sent_ids == {failed["eventId"]}
    statuses = sorted(d["status"] for d in await deliveries(api))
    assert statuses == ["DELIVERED", "FAILED"]


async def test_retry_pauses_start_at_the_setting_and_double(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    async with receiving(*[500] * 4) as receiver:
        await subscribe(api, receiver.url, "ORDER_CREATED")
        await a_reservation(api)
        waited = []
        for _ in range(4):
            assert await deliver(app, clock) == 1
            [delivery] = await deliveries(api)
            gap = _seconds(delivery["nextAttemptAt"]) - _seconds(delivery["lastAttemptAt"])
            waited.append(round(gap))
            clock.advance(timedelta(seconds=gap + 1))
    assert waited == [10, 20, 40, 80]


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def test_a_receiver_that_never_answers_times_out_and_holds_nothing(
    api: Api, app: Starlette, clock: MovableClock, settings: Settings
) -> None:
    sender = HttpWebhookSender(timeout=0.5, allow_loopback=True, allow_private=False)
    async with receiving(HANG) as receiver:
        await subscribe(api, receiver.url, "ORDER_CREATED")
        await a_reservation(api)
        state = app.state
        assert await deliver_webhooks(state.webhook_store, sender, clock, state.webhook_plan) == 1
        # A sale goes on meanwhile; nothing waited on the receiver.
        await a_reservation(api, key="r2")
    [first, second] = sorted(await deliveries(api), key=lambda d: d["attempts"])
    assert (second["status"], second["attempts"], second["lastResponseStatus"]) == (
        "PENDING",
        1,
        None,
    )
    assert first["attempts"] == 0
    await sender.close()


async def test_only_chosen_types_and_only_active_subscriptions_get_deliveries(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    async with receiving() as receiver:
        kept = (await subscribe(api, receiver.url, "OFFERS_RESERVED"))["webhookSubscription"]
        dropped = (await subscribe(api, receiver.url, "ORDER_CREATED"))["webhookSubscription"]
        deleted = (await api.gql(DELETE, {"id": dropped["id"]}))["deleteWebhookSubscription"]
        assert deleted["webhookSubscription"] == {"id": dropped["id"], "active": False}
        assert deleted["signingSecret"] is None
        await a_reservation(api)
        assert await deliver(app, clock) == 1
    listed = await deliveries(api)
    assert [(d["webhookSubscriptionId"], d["eventType"]) for d in listed] == [
        (kept["id"], "OFFERS_RESERVED")
    ]
    subscriptions = await api.gql("{ webhookSubscriptions { totalItems items { id active } } }")
    assert {(s["id"], s["active"]) for s in subscriptions["webhookSubscriptions"]["items"]} == {
        (kept["id"], True),
        (dropped["id"], False),
    }


async def test_another_organisation_neither_sees_nor_changes_them(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    async with receiving() as receiver:
        made = await subscribe(api, receiver.url, "ORDER_CREATED")
        await a_reservation(api)
        assert await deliver(app, clock) == 1
    [delivery] = await deliveries(api)
    other = {"client_id": "other-app"}
    seen = await api.gql(
        "{ webhookSubscriptions { totalItems } webhookDeliveries { totalItems } }", **other
    )
    assert seen == {
        "webhookSubscriptions": {"totalItems": 0},
        "webhookDeliveries": {"totalItems": 0},
    }
    for document, variables, name in (
        (DELETE, {"id": made["webhookSubscription"]["id"]}, "deleteWebhookSubscription"),
        (REDELIVER, {"id": delivery["id"]}, "redeliverWebhook"),
    ):
        answer = (await api.gql(document, variables, **other))[name]
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    assert len(await deliveries(api)) == 1
    # Organisation 2's own sale reaches none of organisation 1's subscriptions.
    await a_reservation(api, key="theirs", client_id="other-app")
    assert await deliver(app, clock) == 0


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http"),
        ("https://user:pw@example.com/", "credentials"),
        ("http://127.0.0.1:9/hook", "refused"),
        ("http://localhost/hook", "refused"),
        ("http://10.1.2.3/hook", "refused"),
        ("http://169.254.169.254/latest/meta-data", "refused"),
        ("http://[::1]/hook", "refused"),
        ("http://[::ffff:127.0.0.1]/hook", "refused"),
        ("http://0.0.0.0/hook", "refused"),
        ("not a url", "http"),
    ],
)
async def test_production_refuses_internal_addresses(
    api: Api, app: Starlette, url: str, why: str
) -> None:
    answer = await subscribe_in_production(api, app, url)
    assert [e["code"] for e in answer["errors"]] == ["VALIDATION_FAILED"]
    assert why in answer["errors"][0]["message"]
    assert answer["webhookSubscription"] is None and answer["signingSecret"] is None


async def subscribe_in_production(api: Api, app: Starlette, url: str) -> dict[str, Any]:
    from sales_api.domain.services.webhooks import UrlRules

    factory = app.state.runner.context_factory

    def production_rules(caller: Any, **kwargs: Any) -> Any:
        context = factory(caller, **kwargs)
        context.webhook_rules = UrlRules(allow_loopback=False, allow_private=False)
        return context

    app.state.runner.context_factory = production_rules
    try:
        return await subscribe(api, url, "ORDER_CREATED")
    finally:
        app.state.runner.context_factory = factory


async def test_the_guard_checks_where_a_name_resolves_when_it_connects(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    """A name that resolves to loopback is refused at connection time in production (the
    check at subscription time sees only a name)."""
    async with receiving() as receiver:
        await subscribe(api, receiver.url.replace("127.0.0.1", "localhost"), "ORDER_CREATED")
        await a_reservation(api)
        guarded = HttpWebhookSender(timeout=2, allow_loopback=False, allow_private=False)
        state = app.state
        assert await deliver_webhooks(state.webhook_store, guarded, clock, state.webhook_plan) == 1
        await guarded.close()
        assert receiver.received == []
    [delivery] = await deliveries(api)
    assert (delivery["status"], delivery["lastResponseStatus"]) == ("PENDING", None)
