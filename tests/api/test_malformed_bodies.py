"""Bodies that are no GraphQL request: each answered 400 in JSON with BAD_REQUEST and the
correlation id, and the keep-alive connection stays sound for the next request (behind a
pooling proxy, that next request is someone else's)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.served import demo_token, sales_service

GRAPHQL = "/sales/v1/graphql"
VALID = b'{"query": "{ stopPlaces { id } }"}'

MALFORMED = {
    "null": (b"null", "JSON object"),
    "a string": (b'"x"', "JSON object"),
    "a number": (b"1", "JSON object"),
    "a number beyond a double": (b"1e999", "out of range"),
    "NaN": (b'{"query": NaN}', "NaN is not JSON"),
    "invalid UTF-8": (b'{"query": "\xff\xfe"}', "not UTF-8"),
    "variables 1,000 arrays deep": (
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 1000 + b"]" * 1000 + b"}}",
        "nested deeper than 100",
    ),
    "101 objects deep": (b'{"a": ' * 101 + b"1" + b"}" * 101, "nested deeper than 100"),
    "two query keys": (
        b'{"query": "{ stopPlaces { id } }", "query": "mutation { createOrder(input: {}) '
        b'{ order { id } } }"}',
        "appears twice",
    ),
    "a duplicate key in the variables": (
        b'{"query": "{ __typename }", "variables": {"a": 1, "a": 2}}',
        "appears twice",
    ),
    "truncated": (b'{"query": "{ stop', "Unable to parse"),
    "empty": (b"", "Unable to parse"),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:
    with sales_service(tmp_path_factory.mktemp("served") / "data", database_url) as (base, _):
        yield base


@pytest.fixture(scope="module")
def headers(service: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {demo_token(service)}",
        "Content-Type": "application/json",
        "Entur-POS": "test-pos",
        "Entur-Distribution-Channel": "ENT:DistributionChannel:App",
    }


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_body_is_400_json_and_the_connection_stays_sound(
    service: str, headers: dict[str, str], name: str
) -> None:
    body, message = MALFORMED[name]
    address = urlsplit(service)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("POST", GRAPHQL, body=body, headers=headers)
        refused = connection.getresponse()
        answer = json.loads(refused.read())
        assert refused.status == 400, answer
        assert refused.getheader("content-type") == "application/json"
        assert refused.getheader("connection") != "close"
        [error] = answer["errors"]
        assert error["extensions"] == {
            "code": "BAD_REQUEST",
            "correlationId": refused.getheader("correlationId"),
        }
        assert message in error["message"]
        # The same connection takes the next request as if nothing happened.
        for _ in range(3):
            connection.request("POST", GRAPHQL, body=VALID, headers=headers)
            valid = connection.getresponse()
            assert valid.status == 200
            assert json.loads(valid.read())["data"]["stopPlaces"]
    finally:
        connection.close()


def test_nothing_runs_for_two_query_keys(service: str, headers: dict[str, str]) -> None:
    """Two `query` keys once ran the last; now neither runs."""
    address = urlsplit(service)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    count = b'{"query": "{ orders { totalItems } }"}'
    try:
        connection.request("POST", GRAPHQL, body=count, headers=headers)
        before = json.loads(connection.getresponse().read())["data"]["orders"]["totalItems"]
        connection.request("POST", GRAPHQL, body=MALFORMED["two query keys"][0], headers=headers)
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 400
        connection.request("POST", GRAPHQL, body=count, headers=headers)
        after = json.loads(connection.getresponse().read())["data"]["orders"]["totalItems"]
    finally:
        connection.close()
    assert after == before  # the createOrder in the second query key did not run
