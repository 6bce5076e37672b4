"""After payment: tickets with signed tokens, PDFs, verification, receipts by e-mail."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import zxingcpp
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from sales_api.domain.services.outbox import deliver_due
from tests.api.test_payment_flow import a_reserved_order, capture, pay, transact
from tests.conftest import Api, MovableClock

GENERATE = """
mutation($id: ID!) { generateTickets(input: {orderId: $id}) {
  ticketDistributionGroups { id orderId orderLineId orderVersion
    ticketDistributions { id travellerId status ticketToken validFrom validTo } }
  errors { code message } } }
"""
VERIFY = """
query($t: String!) {
  verifyTicket(ticketToken: $t) { valid reason ticketDistribution { id status } } }
"""
DISTRIBUTE = """
mutation($input: DistributeTicketsInput!) { distributeTickets(input: $input) {
  ticketDistributionGroups { ticketDistributions { id status distributionMethod distributedAt } }
  errors { code message path } } }
"""
SEND_RECEIPT = """
mutation($input: SendReceiptInput!) { sendReceipt(input: $input) {
  receipt { id reference orderId orderVersion status email language totalAmount totalTaxAmount
            currency lines { description amount taxAmount taxRate } }
  errors { code message path } } }
"""


def saved_messages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


async def a_paid_order(api: Api) -> dict[str, Any]:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    tx = await transact(api, payment["id"], order["balance"])
    captured = await capture(api, tx["id"])
    assert captured["order"]["status"] == "CONFIRMED"
    return order


def tickets_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    groups = data["generateTickets"]["ticketDistributionGroups"]
    return [t for g in groups for t in g["ticketDistributions"]]


async def test_tickets_for_a_paid_order_verify_online_and_offline(
    api: Api, clock: MovableClock
) -> None:
    order = await a_paid_order(api)
    first = await api.gql(GENERATE, {"id": order["id"]})
    assert first["generateTickets"]["errors"] == []
    tickets = tickets_of(first)
    assert len(tickets) == 2
    assert {t["travellerId"] for t in tickets} == {"t0", "t1"}
    again = await api.gql(GENERATE, {"id": order["id"]})
    assert tickets_of(again) == tickets, "generating again changes nothing"

    # Valid only from an hour before departure: move the clock into the journey.
    verdict = await api.gql(VERIFY, {"t": tickets[0]["ticketToken"]})
    assert verdict["verifyTicket"]["reason"] == "NOT_YET_VALID"
    valid_from = datetime.fromisoformat(tickets[0]["validFrom"])
    clock.advance(valid_from - clock.now() + timedelta(minutes=5))
    for ticket in tickets:
        verdict = await api.gql(VERIFY, {"t": ticket["ticketToken"]})
        assert verdict["verifyTicket"] == {
            "valid": True,
            "reason": None,
            "ticketDistribution": {"id": ticket["id"], "status": "GENERATED"},
        }

    token = tickets[0]["ticketToken"]
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert (await api.gql(VERIFY, {"t": flipped}))["verifyTicket"]["reason"] == "BAD_SIGNATURE"
    for broken in ("", "abc", token + "x", token.replace(".", "", 1)):
        verdict = await api.gql(VERIFY, {"t": broken})
        assert verdict["verifyTicket"]["valid"] is False

    # An inspector with only the published keys and a stock JOSE library.
    keys = (await api.client.get("/.well-known/ticket-keys.json")).json()
    assert all("d" not in key for key in keys["keys"])
    decoded = jwt.decode(token, KeySet.import_key_set(keys), algorithms=["ES256"])
    assert decoded.claims["jti"] == tickets[0]["id"]
    assert decoded.claims["ord"] == order["id"]
    assert decoded.claims["seat"], "the seat is in the token"


async def test_tickets_need_a_confirmed_order(api: Api) -> None:
    order = await a_reserved_order(api)
    data = await api.gql(GENERATE, {"id": order["id"]})
    assert data["generateTickets"]["errors"][0]["code"] == "INVALID_STATE"


async def test_pdf_distribution_gives_a_pdf_whose_qr_code_is_the_token(api: Api) -> None:
    order = await a_paid_order(api)
    tickets = tickets_of(await api.gql(GENERATE, {"id": order["id"]}))
    data = await api.gql(
        DISTRIBUTE, {"input": {"orderId": order["id"], "distributionMethod": "PDF"}}
    )
    distributed = [
        t
        for g in data["distributeTickets"]["ticketDistributionGroups"]
        for t in g["ticketDistributions"]
    ]
    assert {t["status"] for t in distributed} == {"DISTRIBUTED"}
    assert {t["distributionMethod"] for t in distributed} == {"PDF"}

    url = f"/sales/v1/tickets/{tickets[0]['id']}.pdf"
    assert (await api.client.get(url)).status_code == 401
    token = await api.token()
    response = await api.client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    assert len(document) == 1
    image = document[0].render(scale=3).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [tickets[0]["ticketToken"]]
    text = document[0].get_textpage().get_text_range()
    assert "Oslo S" in text and "Bergen" in text and "Adult" in text
    document.close()

    other = await api.token("other-app")
    hidden = await api.client.get(url, headers={"Authorization": f"Bearer {other}"})
    assert hidden.status_code == 404


async def test_email_distribution_queues_the_pdfs_in_the_outbox(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    order = await a_paid_order(api)
    await api.gql(GENERATE, {"id": order["id"]})
    missing = await api.gql(
        DISTRIBUTE, {"input": {"orderId": order["id"], "distributionMethod": "EMAIL"}}
    )
    assert missing["distributeTickets"]["errors"][0]["code"] == "VALIDATION_FAILED"
    data = await api.gql(
        DISTRIBUTE,
        {"input": {"orderId": order["id"], "distributionMethod": "EMAIL", "email": "k@ex.no"}},
    )
    assert data["distributeTickets"]["errors"] == []
    assert await deliver_due(app.state.outbox, app.state.sender, clock) == 1
    folder: Path = app.state.settings.outbox_dir
    sent = [email.message_from_bytes(p.read_bytes()) for p in saved_messages(folder)]
    mine = [m for m in sent if m["To"] == "k@ex.no"]
    assert len(mine) == 1
    attachments = [part for part in mine[0].walk() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 2


async def test_a_receipt_lists_the_lines_with_vat(
    api: Api, app: Starlette, clock: MovableClock
) -> None:
    order = await a_paid_order(api)
    data = await api.gql(
        SEND_RECEIPT,
        {"input": {"orderId": order["id"], "email": "kari@example.no", "language": "ENG"}},
    )
    assert data["sendReceipt"]["errors"] == []
    receipt = data["sendReceipt"]["receipt"]
    assert receipt["status"] == "PENDING"
    assert receipt["totalAmount"] == "1611.00"
    assert receipt["totalTaxAmount"] == "172.60"
    assert [line["amount"] for line in receipt["lines"]] == ["805.50", "805.50"]
    assert {line["taxRate"] for line in receipt["lines"]} == {"12.00"}
    assert await deliver_due(app.state.outbox, app.state.sender, clock) >= 1
    listed = await api.gql(
        "query($id: ID!) { order(id: $id) { receipts { id status } } "
        "receipts(filter: {orderId: {eq: $id}}) { totalItems items { status } } }",
        {"id": order["id"]},
    )
    assert listed["order"]["receipts"] == [{"id": receipt["id"], "status": "SENT"}]
    assert listed["receipts"]["totalItems"] == 1
    folder: Path = app.state.settings.outbox_dir
    bodies = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in saved_messages(folder)
    ]
    message = next(m for m in bodies if m["To"] == "kari@example.no")
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "805.50" in body and "1611.00" in body and "172.60" in body


async def test_no_receipt_for_a_version_without_money(api: Api) -> None:
    order = await a_reserved_order(api)
    data = await api.gql(
        SEND_RECEIPT, {"input": {"orderId": order["id"], "email": "kari@example.no"}}
    )
    assert data["sendReceipt"]["errors"][0]["code"] == "RECEIPT_NOT_AVAILABLE"


async def test_send_receipt_is_idempotent(api: Api) -> None:
    order = await a_paid_order(api)
    request = {"orderId": order["id"], "email": "kari@example.no", "idempotencyKey": "r-1"}
    first = await api.gql(SEND_RECEIPT, {"input": request})
    second = await api.gql(SEND_RECEIPT, {"input": request})
    assert first["sendReceipt"]["receipt"]["id"] == second["sendReceipt"]["receipt"]["id"]
    other = await api.gql(SEND_RECEIPT, {"input": {**request, "email": "ola@example.no"}})
    assert other["sendReceipt"]["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
