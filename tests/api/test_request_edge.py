"""Headers, correlation ids, error shapes and query limits at the request edge."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from sales_api.app import create_app
from sales_api.persistence import tables as t
from sales_api.queries.reader import Reader
from sales_api.settings import Settings
from tests.conftest import WEB_CHANNEL, Api

CREATE = "mutation { createOrder(input: {}) { order { id } errors { code message } } }"


async def _order_count(app: Starlette) -> int:
    async with app.state.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(t.orders))).scalar())


async def test_a_mutation_without_distribution_channel_is_a_bad_request(
    api: Api, app: Starlette
) -> None:
    response = await api.post(CREATE, channel=None)
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Entur-Distribution-Channel" in body["errors"][0]["message"]
    assert await _order_count(app) == 0


async def test_a_mutation_without_pos_is_a_bad_request(api: Api, app: Starlette) -> None:
    body = (await api.post(CREATE, pos=None)).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await _order_count(app) == 0


async def test_a_query_without_pos_is_a_bad_request(api: Api) -> None:
    body = (await api.post("{ orders { totalItems } }", pos=None)).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Entur-POS" in body["errors"][0]["message"]


async def test_a_query_needs_no_distribution_channel(api: Api) -> None:
    data = await api.gql("{ orders { totalItems } }", channel=None)
    assert data["orders"]["totalItems"] == 0


async def test_introspection_needs_no_pos(api: Api) -> None:
    data = await api.gql("{ __schema { queryType { name } } }", pos=None, channel=None)
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_a_pos_with_control_characters_is_a_bad_request(api: Api) -> None:
    body = (await api.post("{ orders { totalItems } }", pos="\x01bad")).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_channel_closed_to_the_organisation_is_refused_and_writes_nothing(
    api: Api, app: Starlette
) -> None:
    # The Web channel is open to organisation 1 only.
    data = await api.gql(CREATE, client_id="other-app", channel=WEB_CHANNEL)
    assert data["createOrder"]["order"] is None
    assert data["createOrder"]["errors"][0]["code"] == "DISTRIBUTION_CHANNEL_NOT_ALLOWED"
    data = await api.gql(CREATE, channel="ENT:DistributionChannel:Nowhere")
    assert data["createOrder"]["errors"][0]["code"] == "DISTRIBUTION_CHANNEL_NOT_ALLOWED"
    assert await _order_count(app) == 0
    data = await api.gql(CREATE, client_id="demo-app", channel=WEB_CHANNEL)
    assert data["createOrder"]["errors"] == []


async def test_orders_record_pos_and_channel(api: Api) -> None:
    data = await api.gql(
        "mutation { createOrder(input: {}) { order { pos distributionChannelId } } }",
        pos="Entur-APP",
        channel=WEB_CHANNEL,
    )
    assert data["createOrder"]["order"] == {
        "pos": "Entur-APP",
        "distributionChannelId": WEB_CHANNEL,
    }


async def test_a_uuid_correlation_id_is_echoed(api: Api) -> None:
    mine = str(uuid.uuid4())
    response = await api.post("{ orders { totalItems } }", headers={"correlationId": mine})
    assert response.headers["correlationId"] == mine


async def test_a_correlation_id_that_is_not_a_uuid_is_replaced(api: Api) -> None:
    response = await api.post(
        "{ orders { totalItems } }", headers={"correlationId": "<script>alert(1)</script>"}
    )
    assert str(uuid.UUID(response.headers["correlationId"])) == response.headers["correlationId"]


async def test_errors_carry_the_correlation_id(api: Api) -> None:
    mine = str(uuid.uuid4())
    response = await api.post("{ orders { nope } }", headers={"correlationId": mine})
    error = response.json()["errors"][0]
    assert error["extensions"]["correlationId"] == mine
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_an_unexpected_exception_is_masked_and_logged(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(Reader, "page", broken)
    mine = str(uuid.uuid4())
    with caplog.at_level(logging.ERROR, logger="sales_api.graphql"):
        response = await api.post("{ orders { totalItems } }", headers={"correlationId": mine})
    body = response.json()
    assert response.status_code == 200
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "correlationId": mine}
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text


async def test_a_bad_amount_literal_is_a_clear_error(api: Api) -> None:
    for literal in ('"12.5"', "12.5", '"1e3"'):
        body = (
            await api.post(
                f"{{ orders(filter: {{totalAmount: {{gte: {literal}}}}}) {{ totalItems }} }}"
            )
        ).json()
        assert body["data"] is None
        assert "Amount" in body["errors"][0]["message"], body


async def test_a_bad_datetime_is_a_clear_error(api: Api) -> None:
    body = (
        await api.post(
            "query($t: DateTime!) { orders(filter: {createdAt: {gte: $t}}) { totalItems } }",
            {"t": "2026-11-27T10:00:00"},
        )
    ).json()
    assert "time zone" in body["errors"][0]["message"]


async def test_a_too_deep_query_is_refused(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_query_depth": 3}))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            api = Api(client)
            body = (
                await api.post(
                    "{ orders { items { orderLines { travelSpecification { to { name } } } } } }"
                )
            ).json()
            assert body["data"] is None
            assert "depth" in body["errors"][0]["message"]
            shallow = await api.gql("{ orders { items { id } } }")
            assert shallow["orders"]["items"] == []
    finally:
        await app.state.engine.dispose()


async def test_too_many_aliases_are_refused(api: Api) -> None:
    aliases = " ".join(f"a{i}: orders {{ totalItems }}" for i in range(40))
    body = (await api.post(f"{{ {aliases} }}")).json()
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_graphql_by_get_is_not_executed(api: Api) -> None:
    token = await api.token()
    response = await api.client.get(
        "/sales/v1/graphql",
        params={"query": "{ orders { totalItems } }"},
        headers={"Authorization": f"Bearer {token}", "Entur-POS": "x"},
    )
    assert response.status_code == 405
    assert "totalItems" not in response.text


async def test_graphiql_is_served_to_a_browser(api: Api) -> None:
    response = await api.client.get("/sales/v1/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "query A { stopPlaces { id } }", "operationName": "Nope"}', "Nope"),
        (b'{"query": 5}', "must be a string"),
        (b'{"variables": {}}', "No GraphQL query"),
        (b"not json", "Unable to parse"),
    ],
    ids=["unknown-operation-name", "query-not-a-string", "no-query", "not-json"],
)
async def test_a_request_graphql_cannot_take_is_answered_in_json(
    api: Api, client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await client.post(
        "/sales/v1/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {await api.token()}",
            "Entur-POS": "test-pos",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert message in error["message"]
    assert error["extensions"] == {
        "code": "BAD_REQUEST",
        "correlationId": response.headers["correlationId"],
    }


async def test_several_operations_need_an_operation_name(api: Api) -> None:
    document = (
        "query A { stopPlaces { id } } mutation B { createOrder(input: {}) { order { id } } }"
    )
    response = await api.post(document)
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "operationName" in error["message"]
    assert response.json()["data"] is None
    named = await api.client.post(
        "/sales/v1/graphql",
        json={"query": document, "operationName": "A"},
        headers={"Authorization": f"Bearer {await api.token()}", "Entur-POS": "test-pos"},
    )
    assert named.json()["data"]["stopPlaces"]
