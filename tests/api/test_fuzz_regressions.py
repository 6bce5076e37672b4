"""Crashes the GraphQL fuzz (tests/fuzz) found, each replayed with its exact input through
the real app: a clear client error now, never a 500 or INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.test_sale_flow import BERGEN, OSLO
from tests.conftest import APP_CHANNEL, Api

# PostgreSQL cannot hold a NUL (U+0000) in text: each of these failed the SQL statement and
# was answered INTERNAL_SERVER_ERROR (SQLite let them through). Found with
# SALES_TEST_DATABASE_URL=postgresql+asyncpg://... SALES_FUZZ_EXAMPLES=200.
NUL_IN_AN_ID = [
    pytest.param(
        '{ refundOptions(orderId: "\\u0000", orderLineIds: null) { totalRefundableAmount } }',
        id="Query.refundOptions",
    ),
    pytest.param(
        'mutation { updatePayment(input: { paymentId: "\\u0000", active: null }) '
        "{ payment { transactions { capturedAt } } } }",
        id="Mutation.updatePayment",
    ),
]


def assert_refused_as_validation_failed(response: Any) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED", body
    assert "NUL" in error["message"]


@pytest.mark.parametrize("query", NUL_IN_AN_ID)
async def test_a_nul_character_in_an_id_literal_is_refused(api: Api, query: str) -> None:
    assert_refused_as_validation_failed(await api.post(query))


async def test_a_nul_character_in_a_variable_is_refused(api: Api) -> None:
    response = await api.post("query($id: ID!) { order(id: $id) { id } }", {"id": "ORDER\u0000"})
    assert_refused_as_validation_failed(response)


async def test_a_nul_character_in_text_to_store_is_refused_and_nothing_is_written(
    api: Api,
) -> None:
    create = (
        "mutation($ref: String) { createOrder(input: {externalReference: $ref}) "
        "{ order { id } errors { code } } }"
    )
    assert_refused_as_validation_failed(await api.post(create, {"ref": "a\u0000b"}))
    orders = await api.gql("{ orders { totalItems } }")
    assert orders["orders"]["totalItems"] == 0
    # The same text without the NUL is an ordinary order.
    created = await api.gql(create, {"ref": "ab"})
    assert created["createOrder"]["errors"] == []


async def test_a_lone_surrogate_in_a_variable_is_refused(api: Api) -> None:
    # Same cause, both databases: JSON's "\ud800" escape decodes to a character that has no
    # UTF-8 form, so the driver failed to send the statement. (The fuzz sends no variables,
    # and GraphQL's own string escapes refuse lone surrogates; found by following the cause.)
    headers = {
        "Authorization": f"Bearer {await api.token()}",
        "Content-Type": "application/json",
        "Entur-POS": "test-pos",
        "Entur-Distribution-Channel": APP_CHANNEL,
    }
    create = (
        "mutation($ref: String) { createOrder(input: {externalReference: $ref}) "
        "{ order { id } errors { code } } }"
    )
    order = "query($id: ID!) { order(id: $id) { id } }"
    for query, variables in ((create, {"ref": "a\udfffb"}), (order, {"id": "\ud800"})):
        # json.dumps escapes the surrogate as the client would send it; httpx could not.
        body = json.dumps({"query": query, "variables": variables})
        response = await api.client.post("/sales/v1/graphql", content=body, headers=headers)
        assert_refused_as_validation_failed(response)


async def test_a_nul_character_in_a_ticket_pdf_path_is_not_found(api: Api) -> None:
    # Same cause as above, on the one REST route that takes an id (found by looking for
    # every place a request's text reaches SQL, not by the GraphQL fuzz itself).
    response = await api.client.get(
        "/sales/v1/tickets/%00.pdf", headers={"Authorization": f"Bearer {await api.token()}"}
    )
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# The first and last days of Python's calendar: `on - 1 day` for the evening-before run
# overflowed on 0001-01-01 (departures, and offers through it), and the times of a late run
# on 9999-12-31 fall in the year 10000 (seatMap). Found with SALES_FUZZ_EXAMPLES=200.
async def test_departures_on_the_first_day_of_the_calendar_are_none(api: Api) -> None:
    data = await api.gql(
        '{ departures(fromStopPlaceId: "NSR:StopPlace:113", toStopPlaceId: "NSR:StopPlace:113", '
        'date: "0001-01-01") { arrivalTime } }'
    )
    assert data == {"departures": []}


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_offers_on_the_edges_of_the_calendar_are_none(api: Api, day: str) -> None:
    data = await api.gql(
        "query($d: Date!, $f: ID!, $t: ID!) { offers(search: {fromStopPlaceId: $f, "
        'toStopPlaceId: $t, date: $d, travellers: [{id: "a", userType: ADULT}]}) { id } }',
        {"d": day, "f": OSLO, "t": BERGEN},
    )
    assert data == {"offers": []}


async def test_the_seat_map_of_a_late_run_on_the_last_day_of_the_calendar_is_refused(
    api: Api,
) -> None:
    response = await api.post(
        "query($j: ID!, $f: ID!, $t: ID!) { seatMap(serviceJourneyId: $j, "
        "fromStopPlaceId: $f, toStopPlaceId: $t) { cars { number } } }",
        {"j": "DEMO:ServiceJourney:F4-west-2257:9999-12-31", "f": OSLO, "t": BERGEN},
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED", body
