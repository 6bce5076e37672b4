"""Query limits through the real app: each refuses before anything runs (no SQL statement
is sent, nothing is written), with a clear error; the limits are in docs/limits.md."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.settings import Settings
from tests.api.test_orders import recorded_statements
from tests.api.test_request_edge import _order_count
from tests.conftest import APP_CHANNEL, Api

GRAPHQL = "/sales/v1/graphql"
# The benchmark's page of orders (bench/run.py): it must pass with room to spare.
PAGE_QUERY = """query($page: Int!) { orders(page: $page, perPage: 50) { items { id status
 totalAmount balance createdAt orderLines { id status price { amount taxAmount }
 travelSpecification { departureTime from { name } } reservation { seats { carNumber
 seatNumber } } } paymentRefs { amount } } totalItems } }"""
# Per order 5 + orderLines (1 + 10 x 31) + paymentRefs (1 + 10 x 1) = 327.
PAGE_COST = 1 + 1 + 1 + 50 * 327
# Lists in lists: per order 1 + orderLines (1 + 10 x 35) + payments (1 + 10 x (1 +
# transactions (1 + 10 x 12) + credits 11)) = 1,683; a page of 100 of them is too much.
GREEDY_PER_ORDER = 1683
GREEDY_QUERY = """query($n: Int!) { orders(perPage: $n) { items { id
 orderLines { id travellers { id } ticketDistributions { id } reservation { seats { seatNumber } } }
 payments { id transactions { id operationLog { at } } credits { id } } } } }"""
CREATE = "createOrder(input: {}) { order { id } errors { code } }"


def mutations(count: int) -> str:
    return "mutation { " + " ".join(f"m{i}: {CREATE}" for i in range(count)) + " }"


def assert_refused(response: httpx.Response, code: str = "QUERY_TOO_COMPLEX") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    assert error["extensions"]["correlationId"]
    return body


class RecordingApi(Api):
    """An Api whose `statements` are the SQL statements its app sent since it was made."""

    statements: list[tuple[str, Any]]


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[RecordingApi]:
    """The app with other settings, e.g. smaller limits."""
    app = create_app(settings.model_copy(update=changes))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            api = RecordingApi(client)
            await api.token()
            with recorded_statements(app) as statements:
                api.statements = statements
                yield api
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def statements(app: Starlette, api: Api) -> Iterator[list[tuple[str, Any]]]:
    with recorded_statements(app) as recorded:
        yield recorded


async def _headers(api: Api) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {await api.token()}",
        "Entur-POS": "test-pos",
        "Entur-Distribution-Channel": APP_CHANNEL,
        "Content-Type": "application/json",
    }


# ------------------------------------------------------------------ cost


async def test_the_cost_of_a_query_is_reported_with_its_answer(api: Api) -> None:
    response = await api.post("{ orders { totalItems } }")
    assert response.json()["extensions"] == {"cost": {"requested": 2, "maximum": 50_000}}


async def test_the_benchmark_page_passes_and_reports_its_cost(api: Api) -> None:
    body = (await api.post(PAGE_QUERY, {"page": 1})).json()
    assert "errors" not in body, body
    assert body["extensions"]["cost"] == {"requested": PAGE_COST, "maximum": 50_000}


async def test_the_same_page_at_the_largest_page_size_passes(api: Api) -> None:
    query = PAGE_QUERY.replace("perPage: 50", "perPage: $n").replace("Int!)", "Int!, $n: Int!)")
    body = (await api.post(query, {"page": 1, "n": 100})).json()
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requested"] == 3 + 100 * 327


async def test_a_page_size_in_a_variable_is_counted(api: Api, statements: list[Any]) -> None:
    small = (await api.post(GREEDY_QUERY, {"n": 5})).json()
    assert "errors" not in small, small
    statements.clear()
    body = assert_refused(await api.post(GREEDY_QUERY, {"n": 100}))
    assert body["extensions"]["cost"] == {
        "requested": 2 + 100 * GREEDY_PER_ORDER,
        "maximum": 50_000,
    }
    assert "may cost" in body["errors"][0]["message"]
    assert statements == []


async def test_the_default_page_size_is_counted(api: Api) -> None:
    greedy = GREEDY_QUERY.replace("query($n: Int!) ", "").replace("(perPage: $n)", "")
    body = (await api.post(greedy)).json()  # perPage is 20 by default
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requested"] == 2 + 20 * GREEDY_PER_ORDER
    aliased = "{ a: " + greedy[2:-2] + " b: " + greedy[2:-2] + " }"
    assert_refused(await api.post(aliased))


async def test_a_costly_mutation_writes_nothing(app: Starlette) -> None:
    costly = (
        "mutation { createOrder(input: {}) { order { orderLines { travellers { id } "
        "ticketDistributions { id } reservation { seats { seatNumber } } } "
        "payments { transactions { operationLog { at } } } } } }"
    )
    async with app_with(app.state.settings, max_query_cost=500) as small:
        assert_refused(await small.post(costly))
        assert small.statements == []
    assert await _order_count(app) == 0


async def test_introspection_costs_nothing(api: Api) -> None:
    body = (await api.post("{ __schema { types { name fields { name args { name } } } } }")).json()
    assert "errors" not in body
    assert body["extensions"]["cost"]["requested"] == 0


# ------------------------------------------------------------------ mutations


async def test_five_mutations_in_one_request_run(api: Api, app: Starlette) -> None:
    data = await api.gql(mutations(5))
    assert all(data[f"m{i}"]["errors"] == [] for i in range(5))
    assert await _order_count(app) == 5


async def test_six_mutations_in_one_request_are_refused_before_any_runs(
    api: Api, app: Starlette, statements: list[Any]
) -> None:
    body = assert_refused(await api.post(mutations(6)))
    assert "6 mutations" in body["errors"][0]["message"]
    assert statements == []
    assert await _order_count(app) == 0


async def test_mutations_in_fragments_are_counted(api: Api, app: Starlette) -> None:
    query = (
        "mutation { ...Two ... on Mutation { c: " + CREATE + " } } "
        "fragment Two on Mutation { a: " + CREATE + " b: " + CREATE + " }"
    )
    async with app_with(app.state.settings, max_mutations=2) as strict:
        body = assert_refused(await strict.post(query))
        assert "3 mutations" in body["errors"][0]["message"]
    assert await _order_count(app) == 0


# ------------------------------------------------------------------ depth, aliases, tokens


async def test_a_too_deep_query_is_refused_before_anything_runs(settings: Settings) -> None:
    async with app_with(settings, max_query_depth=3) as shallow:
        body = assert_refused(
            await shallow.post(
                "{ orders { items { orderLines { travelSpecification { to { name } } } } } }"
            )
        )
        assert "depth" in body["errors"][0]["message"]
        assert shallow.statements == []


async def test_too_many_aliases_are_refused_before_anything_runs(
    api: Api, statements: list[Any]
) -> None:
    aliases = " ".join(f"a{i}: orders {{ totalItems }}" for i in range(31))
    body = assert_refused(await api.post(f"{{ {aliases} }}"))
    assert "31 aliases" in body["errors"][0]["message"]
    assert statements == []


async def test_aliases_in_a_fragment_count_each_time_it_is_spread(api: Api) -> None:
    # 4 aliases, spread through fragments 2 x 2 x 2 times = 32 aliases.
    query = (
        "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...C ...C } "
        "fragment C on Query { ...D ...D } "
        "fragment D on Query { a: orders { totalItems } b: orders { totalItems } "
        "c: orders { totalItems } d: orders { totalItems } }"
    )
    body = assert_refused(await api.post(query))
    assert "32 aliases" in body["errors"][0]["message"]


async def test_a_fragment_bomb_is_refused_at_once(api: Api) -> None:
    # Each fragment spreads the next twice: 2^60 aliases, were every spread walked.
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60))
    query = "{ ...F0 } " + fragments + " fragment F60 on Query { x: orders { totalItems } }"
    body = assert_refused(await api.post(query))
    assert f"{2**60} aliases" in body["errors"][0]["message"]


async def test_a_fragment_bomb_without_aliases_is_refused_for_its_cost(
    api: Api, statements: list[Any]
) -> None:
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(100)
    )
    query = "{ ...F0 } " + fragments + " fragment F100 on Query { orders { totalItems } }"
    body = assert_refused(await api.post(query))
    assert f"may cost {2 * 2**100};" in body["errors"][0]["message"]
    assert body["extensions"]["cost"] == {"requested": 2**53 - 1, "maximum": 50_000}
    assert statements == []


async def test_a_document_over_the_token_limit_is_refused_before_anything_runs(
    api: Api, statements: list[Any]
) -> None:
    fields = " ".join("totalItems" for _ in range(3000))
    body = assert_refused(await api.post(f"{{ orders {{ {fields} }} }}"))
    assert "3000 tokens" in body["errors"][0]["message"]
    assert statements == []


async def test_a_syntax_error_is_shaped_like_other_errors(api: Api) -> None:
    assert_refused(await api.post("{ orders { "), code="GRAPHQL_VALIDATION_FAILED")


# ------------------------------------------------------------------ batches and bodies


async def test_a_batch_of_operations_is_refused(api: Api, app: Starlette) -> None:
    batch = [{"query": mutations(1)}, {"query": "{ orders { totalItems } }"}]
    response = await api.client.post(GRAPHQL, json=batch, headers=await _headers(api))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "one operation per request" in error["message"]
    assert await _order_count(app) == 0


def _padded(size: int) -> bytes:
    """A valid request of exactly `size` bytes (an unused variable pads it)."""
    body = {"query": "{ orders { totalItems } }", "variables": {"pad": ""}}
    bare = len(json.dumps(body).encode())
    body["variables"] = {"pad": "x" * (size - bare)}
    encoded = json.dumps(body).encode()
    assert len(encoded) == size
    return encoded


async def test_a_body_of_the_largest_size_is_answered(api: Api) -> None:
    response = await api.client.post(
        GRAPHQL, content=_padded(64 * 1024), headers=await _headers(api)
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["orders"]["totalItems"] == 0


def assert_too_large(response: httpx.Response, limit: int = 64 * 1024) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["extensions"]["correlationId"]
    assert str(limit) in error["message"]


async def test_a_body_over_the_limit_is_413(api: Api, statements: list[Any]) -> None:
    response = await api.client.post(
        GRAPHQL, content=_padded(64 * 1024 + 1), headers=await _headers(api)
    )
    assert_too_large(response)
    assert statements == []


async def test_a_body_over_the_limit_is_413_without_a_token_too(api: Api) -> None:
    response = await api.client.post(
        GRAPHQL, content=_padded(100_000), headers={"Content-Type": "application/json"}
    )
    assert_too_large(response)


async def test_a_chunked_body_over_the_limit_is_413(api: Api, app: Starlette) -> None:
    received: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        body = _padded(200_000).replace(b"{ orders { totalItems } }", mutations(1).encode())
        for start in range(0, len(body), 10_000):
            received.append(start)
            yield body[start : start + 10_000]

    response = await api.client.post(GRAPHQL, content=chunks(), headers=await _headers(api))
    assert "content-length" not in response.request.headers
    assert_too_large(response)
    assert len(received) < 10  # refused as soon as it passed the limit, not at the end
    assert await _order_count(app) == 0


async def test_a_body_longer_than_its_content_length_is_413(api: Api, app: Starlette) -> None:
    body = _padded(100_000).replace(b"{ orders { totalItems } }", mutations(1).encode())
    headers = {**await _headers(api), "Content-Length": "100"}
    response = await api.client.post(GRAPHQL, content=body, headers=headers)
    assert_too_large(response)
    assert await _order_count(app) == 0


async def test_the_body_limit_is_a_setting(settings: Settings) -> None:
    async with app_with(settings, max_body_bytes=2048) as small:
        response = await small.client.post(
            GRAPHQL, content=_padded(2049), headers=await _headers(small)
        )
        assert_too_large(response, 2048)
        response = await small.client.post(
            GRAPHQL, content=_padded(2048), headers=await _headers(small)
        )
        assert response.status_code == 200
