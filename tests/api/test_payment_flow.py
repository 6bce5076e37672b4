"""The sale end to end: reserve, pay, capture, confirmed."""

from __future__ import annotations

from typing import Any

from tests.api.test_sale_flow import offers_for, reserve
from tests.conftest import Api

CREATE_PAYMENT = """
mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) {
    payment { id orderId orderVersion totalAmount currency active }
    errors { code message path }
  }
}
"""

CREATE_TRANSACTION = """
mutation($input: CreateTransactionInput!) {
  createTransaction(input: $input) {
    transaction { id status amount paymentType paymentTypeGroup operationLog { operation status } }
    errors { code message path }
  }
}
"""

CAPTURE = """
mutation($input: TransactionRefInput!) {
  captureTransaction(input: $input) {
    transaction { id status amount maskedCardNumber pspReference capturedAt
                  operationLog { operation amount status at } }
    payment { id active transactions { id status } }
    order { id status balance lastConfirmedAt expireAt
            paymentRefs { orderVersion paymentId transactionId amount currency completedAt }
            orderLines { status reservation { status expireAt } } }
    errors { code message path }
  }
}
"""


async def a_reserved_order(api: Api, travellers: int = 2) -> dict[str, Any]:
    people = [{"id": f"t{i}", "userType": "ADULT"} for i in range(travellers)]
    offers = await offers_for(api, people)
    flex = next(o for o in offers if o["product"]["name"] == "Flex")
    result = await reserve(api, flex["id"])
    assert result["errors"] == []
    return dict(result["order"])


async def pay(api: Api, order_id: str, amount: str | None = None) -> dict[str, Any]:
    payment_input: dict[str, Any] = {"orderId": order_id}
    if amount is not None:
        payment_input["totalAmount"] = amount
    data = await api.gql(CREATE_PAYMENT, {"input": payment_input})
    assert data["createPayment"]["errors"] == [], data
    return dict(data["createPayment"]["payment"])


async def transact(
    api: Api, payment_id: str, amount: str, token: str = "tok_visa"
) -> dict[str, Any]:
    data = await api.gql(
        CREATE_TRANSACTION,
        {
            "input": {
                "paymentId": payment_id,
                "paymentType": "VISA",
                "amount": amount,
                "paymentToken": token,
            }
        },
    )
    assert data["createTransaction"]["errors"] == [], data
    return dict(data["createTransaction"]["transaction"])


async def capture(api: Api, transaction_id: str, key: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"transactionId": transaction_id}
    if key is not None:
        ref["idempotencyKey"] = key
    data = await api.gql(CAPTURE, {"input": ref})
    return dict(data["captureTransaction"])


async def test_reserve_pay_capture_confirms_the_order(api: Api) -> None:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    assert payment["totalAmount"] == order["balance"] == "1611.00"
    assert (payment["orderVersion"], payment["currency"], payment["active"]) == (1, "NOK", True)

    transaction = await transact(api, payment["id"], "1611.00")
    assert transaction["status"] == "CREATED"
    assert transaction["paymentTypeGroup"] == "PAYMENTCARD"
    assert transaction["operationLog"] == [{"operation": "CREATE", "status": "CREATED"}]

    captured = await capture(api, transaction["id"])
    assert captured["errors"] == []
    tx = captured["transaction"]
    assert tx["status"] == "CAPTURED"
    assert tx["maskedCardNumber"].endswith("4242") and len(tx["maskedCardNumber"].strip("*")) == 4
    assert tx["pspReference"]
    assert [op["operation"] for op in tx["operationLog"]] == ["CREATE", "CAPTURE"]
    confirmed = captured["order"]
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["balance"] == "0.00"
    assert confirmed["lastConfirmedAt"] is not None and confirmed["expireAt"] is None
    assert confirmed["paymentRefs"] == [
        {
            "orderVersion": 1,
            "paymentId": payment["id"],
            "transactionId": tx["id"],
            "amount": "1611.00",
            "currency": "NOK",
            "completedAt": tx["capturedAt"],
        }
    ]
    assert all(line["status"] == "CONFIRMED" for line in confirmed["orderLines"])
    assert all(
        line["reservation"] == {"status": "CONFIRMED", "expireAt": None}
        for line in confirmed["orderLines"]
    )
    read = await api.gql(
        "query($id: ID!) { order(id: $id) { status balance paymentRefs { amount } "
        "payments { id transactions { status } } reservations { status } } }",
        {"id": order["id"]},
    )
    assert read["order"]["status"] == "CONFIRMED"
    assert read["order"]["paymentRefs"] == [{"amount": "1611.00"}]
    assert read["order"]["payments"] == [
        {"id": payment["id"], "transactions": [{"status": "CAPTURED"}]}
    ]
    assert {r["status"] for r in read["order"]["reservations"]} == {"CONFIRMED"}


async def test_a_split_payment_confirms_only_with_the_second_capture(api: Api) -> None:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    first = await transact(api, payment["id"], "1000.00")
    second = await transact(api, payment["id"], "611.00")
    after_first = await capture(api, first["id"])
    assert after_first["order"]["status"] == "DRAFT"
    assert after_first["order"]["balance"] == "611.00"
    after_second = await capture(api, second["id"])
    assert after_second["order"]["status"] == "CONFIRMED"
    assert after_second["order"]["balance"] == "0.00"
    assert len(after_second["order"]["paymentRefs"]) == 2


async def test_declined_and_failing_providers_charge_nothing(api: Api) -> None:
    order = await a_reserved_order(api)
    payment = await pay(api, order["id"])
    for token in ("tok_declined", "tok_error"):
        tx = await transact(api, payment["id"], "1611.00", token=token)
        answer = await capture(api, tx["id"])
        assert answer["errors"][0]["code"] == "PAYMENT_DECLINED"
        assert answer["transaction"]["status"] == "FAILED"
        assert [op["operation"] for op in answer["transaction"]["operationLog"]] == [
            "CREATE",
            "FAIL",
        ]
        assert answer["order"]["status"] == "DRAFT"
        assert answer["order"]["balance"] == "1611.00"
    good = await transact(api, payment["id"], "1611.00")
    assert (await capture(api, good["id"]))["order"]["status"] == "CONFIRMED"
