"""Fuzzing: schemathesis generates operations for every root field of the committed SDL and
sends them to the real service under uvicorn, with a real token and the API's headers.

Whatever it sends, the service may refuse it (validation, NOT_FOUND, query limits, a
business error in the payload) but must never answer HTTP 5xx or an error coded
INTERNAL_SERVER_ERROR. A fixed, derandomized number of examples per root field keeps CI
repeatable and quick; SALES_FUZZ_EXAMPLES=200 runs more by hand. Every crash found gets a
regression test in tests/api/test_fuzz_regressions.py.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes
from sqlalchemy import text

import sales_api.schema
from sales_api.app import create_app
from sales_api.settings import Settings
from tests.api.test_payment_flow import a_reserved_order, pay, transact
from tests.api.test_refunds import REFUND
from tests.api.test_sale_flow import BERGEN, OSLO, offers_for, tomorrow
from tests.api.test_tickets_receipts import GENERATE, SEND_RECEIPT, a_paid_order
from tests.conftest import APP_CHANNEL, SALES_TABLES, Api
from tests.served import DEMO_TOKEN_REQUEST, free_port

SDL = Path(sales_api.schema.__file__).parent / "schema.graphql"
EXAMPLES = int(os.environ.get("SALES_FUZZ_EXAMPLES", "20"))
FUZZ_HEADERS = {"Entur-POS": "fuzz", "Entur-Distribution-Channel": APP_CHANNEL}

# Real values by the name of the argument or input field that takes them ("orderId": the
# ids of real orders), filled in by `live_server` before the first example is drawn, so
# that fuzzed operations often find an order, a payment or a ticket instead of NOT_FOUND.
SEEDED: dict[str, list[str]] = {}
# What the run did, printed at the end (pytest -s): requests per root field; answers by
# error code, and per field how many ran (had `data`) rather than being refused up front.
REQUESTS: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()


def _mostly(valid: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """About seven valid values to one wrong one, so that a document with several arguments
    is still often valid as a whole and its resolver runs. (A plain `one_of` would not do:
    Hypothesis favours the first and the last branch.)"""
    return st.integers(0, 7).flatmap(lambda pick: wrong if pick == 3 else valid)


# The contract's scalars, valid and not: bad values must be refused cleanly, never crash.
_amounts = _mostly(
    st.one_of(
        st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e7"), places=2).map(str),
        st.sampled_from(["0.00", "1611.00", "-0.01", "9" * 30 + ".00"]),
    ),
    st.one_of(st.sampled_from(["1.001", "1e3", "NaN", "-Infinity", " 1.00"]), st.text(max_size=12)),
)
_soon = date.today()  # departures run every day; the next fortnight finds some
_dates = _mostly(
    st.one_of(st.dates(_soon - timedelta(days=1), _soon + timedelta(days=14)), st.dates()).map(str),
    st.text(max_size=12),
)
_datetimes = _mostly(
    st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda value: value.isoformat()),
        st.datetimes().map(lambda value: value.isoformat() + "Z"),
        st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]),
    ),
    st.one_of(st.datetimes().map(lambda value: value.isoformat()), st.text(max_size=24)),
)
# Any real id, where the argument's name says nothing (`id`, a filter's `eq`).
_ids = _mostly(
    st.deferred(lambda: st.sampled_from(sorted({v for vs in SEEDED.values() for v in vs}))),
    st.text(max_size=16),
)
# Int: pages, sizes, versions, car and seat numbers are small; the edges come too.
_ints = _mostly(
    st.integers(1, 100),
    st.one_of(st.sampled_from([0, 101, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1)),
)
schemathesis.graphql.scalar("Amount", _amounts.map(nodes.String))
schemathesis.graphql.scalar("Date", _dates.map(nodes.String))
schemathesis.graphql.scalar("DateTime", _datetimes.map(nodes.String))
schemathesis.graphql.scalar("ID", _mostly(_ids.map(nodes.String), _ints.map(nodes.Int)))
schemathesis.graphql.scalar("Int", _ints.map(nodes.Int))

schema = schemathesis.graphql.from_path(SDL)
# One test per root field of Query and Mutation, e.g. "Query.orders", "Mutation.refundOrder".
OPERATIONS = {
    result.ok().label: result.ok()
    for result in schema.get_all_operations()
    if isinstance(result, Ok)
}
ROOT_FIELDS = list(OPERATIONS)


def _clean_settings(database_url: str, data_dir: Path) -> Settings:
    """The test settings of tests/conftest.py, read with no SALES_* variable leaking in."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("SALES_"):
                patch.delenv(name)
        return Settings(database_url=database_url, data_dir=data_dir)


async def _empty_sales_tables(engine: Any) -> None:
    async with engine.begin() as connection:
        for table in SALES_TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
    # The pooled connections belong to this event loop; the server runs on its own.
    await engine.dispose()


async def _seed_sales(base_url: str) -> dict[str, list[str]]:
    """A few real sales through the API: paid with tickets and a receipt, refunded, a draft,
    one awaiting capture, an empty order. Returns their values by the names that take them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        api = Api(http)
        stops = [stop["id"] for stop in (await api.gql("{ stopPlaces { id } }"))["stopPlaces"]]
        departures = await api.gql(
            "query($f: ID!, $t: ID!, $d: Date!) { departures(fromStopPlaceId: $f, "
            "toStopPlaceId: $t, date: $d) { serviceJourneyId } }",
            {"f": OSLO, "t": BERGEN, "d": tomorrow()},
        )
        offers = await offers_for(api, [{"id": "t0", "userType": "ADULT"}])
        paid = await a_paid_order(api)
        tickets = await api.gql(GENERATE, {"id": paid["id"]})
        await api.gql(SEND_RECEIPT, {"input": {"orderId": paid["id"], "email": "f@example.no"}})
        refunded = await a_paid_order(api)
        await api.gql(REFUND, {"input": {"orderId": refunded["id"], "idempotencyKey": "fuzz"}})
        draft = await a_reserved_order(api)
        awaiting_capture = await a_reserved_order(api)
        payment = await pay(api, awaiting_capture["id"])
        transaction = await transact(api, payment["id"], awaiting_capture["balance"])
        empty = await api.gql(
            'mutation { createOrder(input: {externalReference: "fuzz"}) { order { id } } }'
        )

    orders = (paid, refunded, draft, awaiting_capture)
    lines = [line for order in orders for line in order["orderLines"]]
    groups = tickets["generateTickets"]["ticketDistributionGroups"]
    order_line_ids = [line["id"] for line in lines]
    traveller_ids = ["t0", "t1"]
    return {
        "orderId": [order["id"] for order in orders] + [empty["createOrder"]["order"]["id"]],
        "orderLineId": order_line_ids,
        "orderLineIds": order_line_ids,
        "reservationId": [line["reservation"]["id"] for line in lines if line["reservation"]],
        "paymentId": [payment["id"]],
        "transactionId": [transaction["id"]],
        "offerId": [offer["id"] for offer in offers[:3]],
        "serviceJourneyId": [d["serviceJourneyId"] for d in departures["departures"]],
        "fromStopPlaceId": stops,
        "toStopPlaceId": stops,
        "travellerId": traveller_ids,
        "selectedTravellerIds": traveller_ids,
        "ticketToken": [t["ticketToken"] for g in groups for t in g["ticketDistributions"]],
        "paymentToken": ["tok_visa", "tok_declined", "tok_error"],
    }


def with_real_values(body: str, data: st.DataObject) -> str:
    """The document with, now and then, real values in place of the generated ones, chosen
    by the name of the argument or input field (`orderId: "..."` gets a real order's id)."""
    swap = st.integers(0, 3).map(lambda pick: pick != 1)

    def real(name: str) -> graphql.StringValueNode:
        return graphql.StringValueNode(value=data.draw(st.sampled_from(SEEDED[name])))

    class RealValues(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_args: Any) -> Any:
            value = self.swapped(node.name.value, node.value)
            return None if value is None else graphql.ArgumentNode(name=node.name, value=value)

        def enter_object_field(self, node: graphql.ObjectFieldNode, *_args: Any) -> Any:
            value = self.swapped(node.name.value, node.value)
            return None if value is None else graphql.ObjectFieldNode(name=node.name, value=value)

        def swapped(self, name: str, value: graphql.ValueNode) -> graphql.ValueNode | None:
            if not SEEDED.get(name) or not data.draw(swap):
                return None
            if isinstance(value, graphql.ListValueNode):
                return graphql.ListValueNode(values=tuple(real(name) for _ in value.values))
            if isinstance(value, graphql.StringValueNode | graphql.IntValueNode):
                return real(name)
            return None

    return graphql.print_ast(graphql.visit(graphql.parse(body), RealValues()))


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app under uvicorn on a free port for this module, with some sales in it.
    Its own data folder, so the receipts it sends land in an outbox no other test reads."""
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    application = create_app(_clean_settings(database_url, data_dir))
    asyncio.run(_empty_sales_tables(application.state.engine))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        SEEDED.update(asyncio.run(_seed_sales(base_url)))
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        total = sum(REQUESTS.values())
        print(f"\nfuzz: {len(REQUESTS)} root fields, {total} requests, max {EXAMPLES} per field")
        print(f"fuzz answers: {dict(OUTCOMES.most_common())}")


@pytest.fixture(scope="module")
def fuzz_session(live_server: str) -> Iterator[requests.Session]:
    """HTTP keep-alive session carrying a real bearer token and the required headers."""
    with requests.Session() as session:
        response = session.post(
            f"{live_server}/oauth/token",
            json=DEMO_TOKEN_REQUEST,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        session.headers.update(FUZZ_HEADERS)
        yield session


def outcomes(status_code: int, body: Any) -> set[str]:
    """The kinds of answer a response carries: `data` without errors, or its error codes."""
    if not isinstance(body, dict):
        return {f"HTTP {status_code}"}
    errors = body.get("errors") or []
    if not errors:
        return {"data"}
    return {str((error.get("extensions") or {}).get("code")) for error in errors}


def server_faults(status_code: int, body: Any) -> list[str]:
    """What in a response is the server's fault: a 5xx, or an error coded
    INTERNAL_SERVER_ERROR. Refusals of the client's input are not faults."""
    faults = []
    if status_code >= 500:
        faults.append(f"HTTP {status_code}")
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == "INTERNAL_SERVER_ERROR":
            where = ".".join(str(part) for part in error.get("path") or [])
            faults.append(
                f"INTERNAL_SERVER_ERROR at {where or '(top level)'}, "
                f"correlationId {extensions.get('correlationId')}"
            )
    return faults


@pytest.mark.parametrize("label", ROOT_FIELDS)
def test_graphql_fuzz(label: str, live_server: str, fuzz_session: requests.Session) -> None:
    operation = OPERATIONS[label]
    url = f"{live_server}/sales/v1/graphql"
    # Valid documents reach the resolvers; now and then an invalid one (a wrong type, a
    # missing argument) probes validation and scalar parsing.
    cases = _mostly(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases, data=st.data())
    def send(case: schemathesis.Case[Any], data: st.DataObject) -> None:
        body = str(case.body)
        if case.meta is not None and case.meta.generation.mode.is_positive:
            body = with_real_values(body, data)
        response = fuzz_session.post(url, json={"query": body}, timeout=30)
        REQUESTS[label] += 1
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        OUTCOMES.update(outcomes(response.status_code, answer))
        OUTCOMES[f"status {response.status_code}"] += 1
        if isinstance(answer, dict) and answer.get("data") is not None:
            OUTCOMES[f"executed {label}"] += 1
        # The token and the headers always go along: without them nothing would be fuzzed.
        assert response.status_code not in (401, 403), response.text
        assert "BAD_REQUEST" not in outcomes(response.status_code, answer), answer
        faults = server_faults(response.status_code, answer)
        assert not faults, f"{label}: {'; '.join(faults)}\nquery:\n{body}\nresponse: {answer}"

    send()


def test_every_root_field_of_the_sdl_is_fuzzed() -> None:
    sdl = graphql.build_schema(SDL.read_text(encoding="utf-8"))
    roots = [sdl.query_type, sdl.mutation_type]
    assert set(ROOT_FIELDS) == {f"{t.name}.{name}" for t in roots if t for name in t.fields}


def test_a_masked_internal_error_and_a_5xx_count_as_faults_and_refusals_do_not() -> None:
    internal = {
        "data": None,
        "errors": [
            {
                "message": "Unexpected error",
                "path": ["order"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "correlationId": "c1"},
            }
        ],
    }
    refused = {
        "data": {"order": None},
        "errors": [
            {"message": "no", "path": ["order"], "extensions": {"code": "NOT_FOUND"}},
            {"message": "bad", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}},
        ],
    }
    assert server_faults(200, internal) == ["INTERNAL_SERVER_ERROR at order, correlationId c1"]
    assert server_faults(502, "Bad Gateway") == ["HTTP 502"]
    assert server_faults(200, refused) == []
    assert server_faults(401, {"errors": [{"message": "x"}]}) == []
