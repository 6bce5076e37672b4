"""Fair use through the real app: each client id spends a budget of query cost that
refills over time; once it is spent the answer is HTTP 429 with Retry-After and the budget
in extensions.cost, nothing runs, and other clients are served as before."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette

from tests.api.test_query_limits import app_with
from tests.conftest import Api

QUERY = "{ orders(page: 1, perPage: 5) { totalItems items { id status } } }"
COST = 13  # orders, totalItems and items 1 each, and 5 x (id and status): 13


async def test_a_spent_budget_answers_429_until_it_has_refilled(app: Starlette) -> None:
    settings = app.state.settings
    async with app_with(
        settings, client_cost_budget=3 * COST, client_cost_refill_per_second=COST
    ) as api:
        first = await api.post(QUERY)
        assert first.status_code == 200
        cost = first.json()["extensions"]["cost"]
        assert cost["requested"] == COST
        assert cost["budget"] == {
            "remaining": 2 * COST,
            "capacity": 3 * COST,
            "refillPerSecond": COST,
        }
        await api.post(QUERY)
        await api.post(QUERY)
        api.statements.clear()

        refused = await api.post(QUERY)

        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "THROTTLED"
        assert "retry after 1 s" in error["message"]
        assert body["extensions"]["cost"]["budget"]["remaining"] < COST
        assert api.statements == [], "nothing ran"

        # Another client (organisation 2's) has a budget of its own.
        other = await api.post(QUERY, client_id="other-app")
        assert other.status_code == 200 and "errors" not in other.json()

        # Under the GraphQL-over-HTTP media type it stays a 429, without data.
        strict = await api.post(QUERY, headers={"Accept": "application/graphql-response+json"})
        assert strict.status_code == 429 and "data" not in strict.json()

        await asyncio.sleep(1.1)
        again = await api.post(QUERY)
        assert again.status_code == 200 and "errors" not in again.json()


async def test_mutations_spend_the_budget_too(app: Starlette) -> None:
    async with app_with(
        app.state.settings, client_cost_budget=10, client_cost_refill_per_second=1
    ) as api:
        create = (
            "mutation { createOrder(input: {}) { order { id version status } errors { code } } }"
        )
        made = await api.post(create)
        assert made.status_code == 200 and made.json()["data"]["createOrder"]["errors"] == []
        spent = made.json()["extensions"]["cost"]["budget"]["remaining"]
        assert spent < 10
        while spent >= 6:
            answer = await api.post(create)
            spent = answer.json()["extensions"]["cost"]["budget"]["remaining"]
        refused = await api.post(create)
        assert refused.status_code == 429
        orders = await api.post("{ orders { totalItems } }", client_id="other-app")
        assert orders.status_code == 200


async def test_without_a_budget_answers_carry_none(api: Api) -> None:
    body = (await api.post(QUERY)).json()
    assert "budget" not in body["extensions"]["cost"]
