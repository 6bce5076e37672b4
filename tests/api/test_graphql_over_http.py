"""GraphQL over HTTP (the specification's two media types), through the real app.

Under `Accept: application/graphql-response+json` a request error (the document does not
parse or validate, the variables are refused, a header or limit refuses the operation, the
body is not a GraphQL request) is a 4xx without a `data` entry; once execution began the
answer is 200 with `data`, field errors or not. Under `application/json` (and without an
Accept header) answers stay as they were: 200 with `"data": null` for request errors."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from sales_api.web.graphql_view import response_media_type
from tests.api.test_auth import good_claims, sign
from tests.conftest import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"
NEW = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}


async def body_of(response: Any) -> dict[str, Any]:
    return dict(response.json())


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ orders(page: 1, perPage: 5) { totalItems ", None, None),
        ("{ nosuchfield }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($id: ID!) { order(id: $id) { id } }",
            {"id": ["not", "an", "id"]},
            None,
        ),
        ("query($id: ID!) { order(id: $id) { id } }", {}, None),
    ],
    ids=["parse", "validation", "variable-type", "variable-missing"],
)
async def test_request_errors_are_400_without_data_under_the_new_media_type(
    api: Api, query: str, variables: dict[str, Any] | None, code: str | None
) -> None:
    response = await api.post(query, variables, headers=NEW)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = await body_of(response)
    assert "data" not in body, body
    assert body["errors"], body
    if code is not None:
        assert body["errors"][0]["extensions"]["code"] == code

    # The same request under application/json: 200 and `"data": null`, as before.
    legacy = await api.post(query, variables, headers={"Accept": "application/json"})
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == "application/json"
    assert (await body_of(legacy))["data"] is None


async def test_a_refused_header_and_a_bad_body_are_request_errors_too(api: Api) -> None:
    response = await api.post("{ orders { totalItems } }", pos=None, headers=NEW)
    assert response.status_code == 400
    body = await body_of(response)
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

    token = await api.token()
    for content, content_type in [(b"{not json", "application/json"), (b"{}", "text/plain")]:
        raw = await api.client.post(
            "/sales/v1/graphql",
            content=content,
            headers={**NEW, "Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        assert raw.status_code == 400, raw.text
        assert raw.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in raw.json()

    unauthenticated = await api.post("{ __typename }", token="", headers=NEW)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in unauthenticated.json()


async def test_an_executed_operation_is_200_with_data_even_with_a_field_error(
    api: Api, app: Starlette
) -> None:
    ok = await api.post("{ orders(page: 1, perPage: 1) { totalItems } }", headers=NEW)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert (await body_of(ok))["data"] == {"orders": {"totalItems": 0}}

    # A token without sales:read: the field refuses while executing (a field error).
    token = sign(app, good_claims(app, permissions=["sales:write"]))
    forbidden = await api.post("{ orders { totalItems } }", token=token, headers=NEW)
    assert forbidden.status_code == 200
    body = await body_of(forbidden)
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["orders"]


async def test_without_an_accept_header_answers_are_application_json(api: Api) -> None:
    response = await api.post("{ nosuchfield }")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert (await body_of(response))["data"] is None


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (b"", b"application/json"),
        (b"*/*", b"application/json"),
        (b"application/json", b"application/json"),
        (b"application/graphql-response+json", b"application/graphql-response+json"),
        (
            b"application/graphql-response+json, application/json",
            b"application/graphql-response+json",
        ),
        (
            b"application/json, application/graphql-response+json;q=0.5",
            b"application/json",
        ),
        (b"application/graphql-response+json;q=0", b"application/json"),
        (
            b"Application/GraphQL-Response+JSON; charset=utf-8",
            b"application/graphql-response+json",
        ),
    ],
)
def test_the_media_type_follows_the_accept_header(accept: bytes, chosen: bytes) -> None:
    assert response_media_type(accept) == chosen
