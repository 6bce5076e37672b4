"""The access log through the real app: one JSON line per request with its correlation id,
operation, organisation, status, outcome and duration; and nothing a sale carries that is
secret or personal (tokens, client secrets, card data, contact details) in any line the
`sales_api` loggers write, formatted as the service formats them."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import get_operation_ast, parse

from sales_api.web.correlation import JsonLogFormatter
from tests.api.test_sale_flow import tomorrow
from tests.conftest import Api

GRAPHQL = "/sales/v1/graphql"
# Distinctive values: a log line holding any of them (or a part of them) leaked it.
NAME = "Ada Quillfeather-Logtest"
EMAIL = "ada.lovelace.logtest@example.com"
PHONE = "+4791827364"
RECEIPT_EMAIL = "kvittering.logtest@example.org"
CARD_NUMBER = "4000056655665556"
PAYMENT_TOKEN = f"tok_logtest_{CARD_NUMBER}"  # the simulator masks its last four digits
MASKED_CARD = "************5556"
WRONG_SECRET = "wrong-secret-logtest-5150"

CREATE_ORDER = """
mutation CreateOrderWithContact($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id contactInfo { name email phoneNumber } }
                               errors { code } } }
"""
OFFERS = """
query SearchOffers($search: OfferSearchInput!) {
  offers(search: $search) { id product { name } } }
"""
RESERVE = """
mutation ReserveSeats($input: ReserveOffersInput!) {
  reserveOffers(input: $input) { order { id balance } errors { code } } }
"""
CREATE_PAYMENT = """
mutation StartPayment($input: CreatePaymentInput!) {
  createPayment(input: $input) { payment { id } errors { code } } }
"""
CREATE_TRANSACTION = """
mutation PayByCard($input: CreateTransactionInput!) {
  createTransaction(input: $input) { transaction { id } errors { code } } }
"""
CAPTURE = """
mutation CaptureCard($input: TransactionRefInput!) {
  captureTransaction(input: $input) {
    transaction { status maskedCardNumber } order { status } errors { code } } }
"""
SEND_RECEIPT = """
mutation MailReceipt($input: SendReceiptInput!) {
  sendReceipt(input: $input) { receipt { status email } errors { code } } }
"""
BROKEN = "query BrokenQuery { orders { noSuchField } }"


@dataclass(frozen=True)
class Exchange:
    """What the client saw of one HTTP request."""

    path: str
    status: int
    correlation_id: str


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Everything the `sales_api` loggers write, at every level, as the service's JSON."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("sales_api")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def exchanges(client: httpx.AsyncClient) -> list[Exchange]:
    """Every response the test client receives, in order."""
    seen: list[Exchange] = []

    async def note(response: httpx.Response) -> None:
        seen.append(
            Exchange(
                response.request.url.path,
                response.status_code,
                response.headers["correlationId"],
            )
        )

    client.event_hooks["response"].append(note)
    return seen


def operation_name(document: str) -> str:
    operation = get_operation_ast(parse(document))
    assert operation is not None and operation.name is not None
    return operation.name.value


async def a_whole_sale(api: Api, client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A sale with contact details, a card payment, a receipt by e-mail, a refused secret,
    a refused bearer token and a GraphQL error. Returns the bearer token and, by
    correlation id, the operation name each GraphQL request named."""
    named: dict[str, str] = {}

    async def post(document: str, variables: dict[str, Any], **kwargs: Any) -> httpx.Response:
        chosen = str(uuid.uuid4())
        response = await api.post(document, variables, headers={"correlationId": chosen}, **kwargs)
        assert response.headers["correlationId"] == chosen  # the client's own id is kept
        named[chosen] = operation_name(document)
        return response

    async def operation(document: str, variables: dict[str, Any]) -> Any:
        """The root field's answer; fails the test on any error, top-level or typed."""
        response = await post(document, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        answer = next(iter(body["data"].values()))
        if isinstance(answer, dict) and "errors" in answer:
            assert answer["errors"] == [], body
        return answer

    refused_secret = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "demo-app",
            "client_secret": WRONG_SECRET,
            "audience": "sales-api",
        },
    )
    assert refused_secret.status_code == 401, refused_secret.text
    token = await api.token()

    contact = {"name": NAME, "email": EMAIL, "phoneNumber": PHONE}
    created = await operation(CREATE_ORDER, {"input": {"contactInfo": contact}})
    assert created["order"]["contactInfo"] == contact
    order_id = created["order"]["id"]
    search = {
        "fromStopPlaceId": "NSR:StopPlace:337",
        "toStopPlaceId": "NSR:StopPlace:548",
        "date": tomorrow(),
        "travellers": [{"id": "t1", "userType": "ADULT"}],
    }
    offers = await operation(OFFERS, {"search": search})
    flex = next(o for o in offers if o["product"]["name"] == "Flex")
    reserved = await operation(
        RESERVE, {"input": {"orderId": order_id, "offerConfigurations": [{"offerId": flex["id"]}]}}
    )
    balance = reserved["order"]["balance"]
    payment = await operation(CREATE_PAYMENT, {"input": {"orderId": order_id}})
    transaction = await operation(
        CREATE_TRANSACTION,
        {
            "input": {
                "paymentId": payment["payment"]["id"],
                "paymentType": "VISA",
                "amount": balance,
                "paymentToken": PAYMENT_TOKEN,
            }
        },
    )
    captured = await operation(
        CAPTURE, {"input": {"transactionId": transaction["transaction"]["id"]}}
    )
    assert captured["order"]["status"] == "CONFIRMED"
    assert captured["transaction"]["maskedCardNumber"] == MASKED_CARD
    receipt = await operation(SEND_RECEIPT, {"input": {"orderId": order_id, "email": EMAIL}})
    assert receipt["receipt"]["email"] == EMAIL
    again = await operation(SEND_RECEIPT, {"input": {"orderId": order_id, "email": RECEIPT_EMAIL}})
    assert again["receipt"]["email"] == RECEIPT_EMAIL

    broken = await post(BROKEN, {})
    assert broken.status_code == 200 and broken.json()["errors"], broken.text

    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    refused = await post(BROKEN, {}, token=forged)
    assert refused.status_code == 401, refused.text
    return token, named


def access_lines(log: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in log.splitlines()]
    return [entry for entry in entries if entry["logger"] == "sales_api.access"]


async def test_one_json_access_line_per_request_with_its_correlation_and_outcome(
    api: Api,
    client: httpx.AsyncClient,
    service_log: io.StringIO,
    exchanges: list[Exchange],
) -> None:
    _token, named = await a_whole_sale(api, client)

    lines = access_lines(service_log.getvalue())
    assert len(exchanges) == 12
    assert [line["correlationId"] for line in lines] == [e.correlation_id for e in exchanges]
    for line, exchange in zip(lines, exchanges, strict=True):
        assert line["path"] == exchange.path
        assert line["method"] == "POST"
        assert line["status"] == exchange.status
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        if exchange.path != GRAPHQL:  # the token endpoint: no operation, no organisation yet
            assert (line["operation_name"], line["organisation_id"]) == (None, None)
            expected = "unauthorized" if exchange.status == 401 else "ok"
            assert line["outcome"] == expected, line
            continue
        name = named[exchange.correlation_id]
        if exchange.status == 401:  # refused before the document is read
            assert (line["operation_name"], line["organisation_id"]) == (None, None), line
            assert line["outcome"] == "unauthorized"
        else:
            assert (line["operation_name"], line["organisation_id"]) == (name, 1), line
            assert line["outcome"] == ("error" if name == "BrokenQuery" else "ok"), line

    outcomes = [(line["operation_name"], line["outcome"]) for line in lines]
    assert ("BrokenQuery", "error") in outcomes
    assert (None, "unauthorized") in outcomes


async def test_an_operation_name_sent_beside_the_document_is_logged(
    api: Api, client: httpx.AsyncClient, service_log: io.StringIO
) -> None:
    token = await api.token()
    response = await client.post(
        GRAPHQL,
        json={
            "query": "query First { stopPlaces { id } } query Second { orders { totalItems } }",
            "operationName": "Second",
        },
        headers={"Authorization": f"Bearer {token}", "Entur-POS": "test-pos"},
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    last = access_lines(service_log.getvalue())[-1]
    assert last["correlationId"] == response.headers["correlationId"]
    assert (last["operation_name"], last["organisation_id"], last["outcome"]) == ("Second", 1, "ok")


async def test_no_line_holds_a_token_a_secret_card_data_or_contact_details(
    api: Api, client: httpx.AsyncClient, service_log: io.StringIO
) -> None:
    token, _named = await a_whole_sale(api, client)
    log = service_log.getvalue()
    assert access_lines(log), "the log was captured"

    _header, payload, signature = token.split(".")
    never = {
        "the bearer token": token,
        "the token's claims": payload,
        "the token's signature": signature,
        "the forged token's signature": signature[::-1],
        "the client secret": "demo-secret",
        "a refused client secret": WRONG_SECRET,
        "the payment token": PAYMENT_TOKEN,
        "the card number": CARD_NUMBER,
        "the masked card number": MASKED_CARD,
        "the contact's name": NAME,
        "the contact's e-mail": EMAIL,
        "the contact's phone number": PHONE,
        "the receipt's e-mail": RECEIPT_EMAIL,
    }
    # All ASCII with nothing JSON escapes: a leaked value shows verbatim.
    leaked = {what: value for what, value in never.items() if value in log}
    assert leaked == {}, log
