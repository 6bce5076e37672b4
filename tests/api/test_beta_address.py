"""/sales/v1beta/graphql through the real app: all of v1 (the same token, headers, limits
and answers), for clients trying what is still changing; nothing beta leaks into v1."""

from __future__ import annotations

from typing import Any

from sales_api.schema.versions import beta_fields
from tests.conftest import Api

BETA = "/sales/v1beta/graphql"


async def post_beta(api: Api, query: str, variables: dict[str, Any] | None = None) -> Any:
    token = await api.token()
    return await api.client.post(
        BETA,
        json={"query": query, "variables": variables or {}},
        headers={
            "Authorization": f"Bearer {token}",
            "Entur-POS": "beta-pos",
            "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
        },
    )


async def test_v1beta_answers_v1_operations_as_v1_does(api: Api) -> None:
    made = await post_beta(
        api,
        'mutation { createOrder(input: {externalReference: "beta"}) '
        "{ order { id externalReference } errors { code } } }",
    )
    assert made.status_code == 200, made.text
    order = made.json()["data"]["createOrder"]["order"]
    query = "query($id: ID!) { order(id: $id) { id externalReference status } }"
    via_v1 = await api.gql(query, {"id": order["id"]})
    via_beta = await post_beta(api, query, {"id": order["id"]})
    assert via_beta.json()["data"] == via_v1
    assert via_beta.json()["extensions"]["cost"]["requested"] > 0


async def test_v1beta_keeps_the_same_door(api: Api) -> None:
    unauthenticated = await api.client.post(BETA, json={"query": "{ __typename }"})
    assert unauthenticated.status_code == 401
    get = await api.client.get(BETA, params={"query": "{ __typename }"})
    assert get.status_code == 405


async def test_the_beta_schema_is_v1_and_its_beta_fields(api: Api) -> None:
    introspect = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"
    v1 = (await api.post(introspect)).json()["data"]["__schema"]
    beta = (await post_beta(api, introspect)).json()["data"]["__schema"]
    for root in ("queryType", "mutationType"):
        v1_names = {f["name"] for f in v1[root]["fields"]}
        beta_names = {f["name"] for f in beta[root]["fields"]}
        assert v1_names <= beta_names, "v1beta is all of v1"
        declared = {name.split(".")[1] for name in beta_fields(api_schema())}
        assert beta_names - v1_names <= declared, "only beta fields are extra"
        assert not (v1_names & declared), "nothing beta in v1"


def api_schema() -> Any:
    from sales_api.schema.build import build_schema

    return build_schema()._schema
