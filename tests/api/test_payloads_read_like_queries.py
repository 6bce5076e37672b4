"""Every object in a mutation's payload is the object a query reads right after: the same
selection answered the same way (a client's normalised cache keyed by id must not get a
different order from a payload than from `order(id)`). Run on a paid, ticketed, receipted
order, for every mutation that answers an Order, a Payment, a Transaction, a Reservation,
ticket groups, a Receipt or a Refund, and for replays of idempotency keys."""

from __future__ import annotations

from typing import Any

from tests.api.test_sale_flow import offers_for
from tests.conftest import Api

TRAVELLER = "id userType name"
RESERVATION = """id orderId orderLineId status serviceJourneyId from { id name } to { id name }
  seats { carNumber seatNumber travellerId } expireAt createdAt __typename"""
TICKET = """id orderId orderLineId travellerId status distributionMethod ticketToken validFrom
  validTo createdAt distributedAt"""
CREDIT = "id orderId orderVersion paymentId transactionId amount currency status createdAt"
TRANSACTION = """id paymentId paymentType paymentTypeGroup amount currency status
  maskedCardNumber pspReference operationLog { operation amount status at } createdAt
  capturedAt"""
PAYMENT = f"""id orderId orderVersion organisationId totalAmount currency active
  transactions {{ {TRANSACTION} }} credits {{ {CREDIT} }} createdAt"""
GROUP = f"id orderId orderLineId orderVersion ticketDistributions {{ {TICKET} }}"
RECEIPT = """id reference orderId orderVersion language email phoneNumber status
  lines { description amount taxAmount taxRate } totalAmount totalTaxAmount currency createdAt
  sentAt"""
LINE = f"""id orderId status product {{ id name fareClass refundable changeable }}
  travelSpecification {{ serviceJourneyId from {{ id name }} to {{ id name }} departureTime
    arrivalTime disrupted }}
  travellers {{ {TRAVELLER} }} price {{ amount taxAmount taxRate currency }}
  reservation {{ {RESERVATION} }} ticketDistributions {{ {TICKET} }} createdAt"""
ORDER = f"""id version status totalAmount totalTaxAmount balance currency organisationId pos
  distributionChannelId externalReference contactInfo {{ name email phoneNumber }}
  travellers {{ {TRAVELLER} }} orderLines {{ {LINE} }} reservations {{ {RESERVATION} }}
  paymentRefs {{ orderVersion paymentId transactionId amount currency completedAt }}
  payments {{ {PAYMENT} }} ticketDistributionGroups {{ {GROUP} }} receipts {{ {RECEIPT} }}
  fees {{ id orderId orderVersion type amount taxAmount currency description createdAt }}
  createdAt lastConfirmedAt expireAt __typename"""
REFUND = f"""id orderId orderVersion amount fee currency credits {{ {CREDIT} }}
  affectedOrderLineIds disabledTicketDistributionIds createdAt"""
ERRORS = "errors { code message path }"


class Compared:
    """Mutations run, each payload checked against a read right after."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.count = 0

    async def mutate(self, name: str, input: dict[str, Any], fields: str) -> dict[str, Any]:
        data = await self.api.gql(
            f"mutation($input: {_input_type(name)}!) {{ {name}(input: $input) {{ {fields} }} }}",
            {"input": input},
        )
        payload: dict[str, Any] = data[name]
        assert payload["errors"] == [], payload
        return payload

    async def order(self, payload_order: dict[str, Any]) -> None:
        read = await self.api.gql(
            f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}", {"id": payload_order["id"]}
        )
        assert payload_order == read["order"]
        self.count += 1

    async def payment(self, payload_payment: dict[str, Any]) -> None:
        read = await self.api.gql(
            f"query($id: ID!) {{ payment(id: $id) {{ {PAYMENT} }} }}",
            {"id": payload_payment["id"]},
        )
        assert payload_payment == read["payment"]
        self.count += 1

    async def transaction(self, payload: dict[str, Any]) -> None:
        """A transaction is read as part of its payment; the payment and order too."""
        read = await self.api.gql(
            f"query($id: ID!) {{ payment(id: $id) {{ transactions {{ {TRANSACTION} }} }} }}",
            {"id": payload["payment"]["id"]},
        )
        [same] = [
            t for t in read["payment"]["transactions"] if t["id"] == payload["transaction"]["id"]
        ]
        assert payload["transaction"] == same
        await self.payment(payload["payment"])
        await self.order(payload["order"])

    async def reservations(self, payload_reservations: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in payload_reservations]
        read = await self.api.gql(
            f"query($ids: [ID!]) {{ reservations(perPage: 100, filter: {{id: {{in: $ids}}}}) "
            f"{{ items {{ {RESERVATION} }} }} }}",
            {"ids": ids},
        )
        by_id = {r["id"]: r for r in read["reservations"]["items"]}
        assert payload_reservations == [by_id[i] for i in ids]
        self.count += 1

    async def groups(self, order_id: str, payload_groups: list[dict[str, Any]]) -> None:
        read = await self.api.gql(
            f"query($id: ID!) {{ order(id: $id) {{ ticketDistributionGroups {{ {GROUP} }} }} }}",
            {"id": order_id},
        )
        by_id = {g["id"]: g for g in read["order"]["ticketDistributionGroups"]}
        assert payload_groups and payload_groups == [by_id[g["id"]] for g in payload_groups]
        self.count += 1

    async def receipt(self, payload_receipt: dict[str, Any]) -> None:
        read = await self.api.gql(
            "query($id: ID!) { receipts(filter: {id: {eq: $id}}) "
            f"{{ items {{ {RECEIPT} }} }} }}",
            {"id": payload_receipt["id"]},
        )
        assert [payload_receipt] == read["receipts"]["items"]
        self.count += 1


def _input_type(mutation: str) -> str:
    special = {
        "cancelOrder": "OrderRefInput",
        "resetOrder": "OrderRefInput",
        "confirmOrder": "OrderRefInput",
        "captureTransaction": "TransactionRefInput",
        "cancelTransaction": "TransactionRefInput",
    }
    return special.get(mutation, mutation[0].upper() + mutation[1:] + "Input")


async def _reserve(compared: Compared, offer_id: str, **more: Any) -> dict[str, Any]:
    payload = await compared.mutate(
        "reserveOffers",
        {"offerConfigurations": [{"offerId": offer_id}], **more},
        f"order {{ {ORDER} }} orderLines {{ {LINE} }} reservations {{ {RESERVATION} }} {ERRORS}",
    )
    await compared.order(payload["order"])
    read = await compared.api.gql(
        f"query($id: ID!) {{ order(id: $id) {{ orderLines {{ {LINE} }} }} }}",
        {"id": payload["order"]["id"]},
    )
    by_id = {line["id"]: line for line in read["order"]["orderLines"]}
    assert payload["orderLines"] and payload["orderLines"] == [
        by_id[line["id"]] for line in payload["orderLines"]
    ]
    await compared.reservations(payload["reservations"])
    return payload


async def _pay_in_full(compared: Compared, order: dict[str, Any], key: str) -> dict[str, Any]:
    created = await compared.mutate(
        "createPayment",
        {"orderId": order["id"], "idempotencyKey": f"{key}-payment"},
        f"payment {{ {PAYMENT} }} {ERRORS}",
    )
    await compared.payment(created["payment"])
    transaction = await compared.mutate(
        "createTransaction",
        {
            "paymentId": created["payment"]["id"],
            "paymentType": "VISA",
            "amount": created["payment"]["totalAmount"],
            "paymentToken": "tok_visa",
            "idempotencyKey": f"{key}-transaction",
        },
        f"transaction {{ {TRANSACTION} }} payment {{ {PAYMENT} }} order {{ {ORDER} }} {ERRORS}",
    )
    await compared.transaction(transaction)
    captured_fields = (
        f"transaction {{ {TRANSACTION} }} payment {{ {PAYMENT} }} order {{ {ORDER} }} {ERRORS}"
    )
    capture = {"transactionId": transaction["transaction"]["id"], "idempotencyKey": key}
    captured = await compared.mutate("captureTransaction", capture, captured_fields)
    await compared.transaction(captured)
    assert captured["order"]["status"] == "CONFIRMED"
    # The same key again: the same answer, read again.
    replayed = await compared.mutate("captureTransaction", capture, captured_fields)
    assert replayed == captured
    return captured


async def test_every_payload_is_what_a_read_right_after_shows(api: Api) -> None:
    compared = Compared(api)
    people = [{"id": "a1", "userType": "ADULT"}, {"id": "a2", "userType": "ADULT"}]
    offers = await offers_for(api, people)
    flex = next(o for o in offers if o["product"]["name"] == "Flex")

    # createOrder, then reserveOffers into it, contact details by updateOrder.
    created = await compared.mutate(
        "createOrder",
        {"externalReference": "shop-1", "travellers": people},
        f"order {{ {ORDER} }} {ERRORS}",
    )
    await compared.order(created["order"])
    order_id = created["order"]["id"]
    reserved = await _reserve(compared, flex["id"], orderId=order_id)
    assert len(reserved["reservations"]) == 2
    contact = {"name": "Kari Nordmann", "email": "kari@example.com"}
    updated = await compared.mutate(
        "updateOrder",
        {"orderId": order_id, "contactInfo": contact},
        f"order {{ {ORDER} }} {ERRORS}",
    )
    await compared.order(updated["order"])

    # changeSeats: the reservation as a read shows it.
    reservation = reserved["reservations"][0]
    seat_map = await api.gql(
        "query($j: ID!, $f: ID!, $t: ID!) { seatMap(serviceJourneyId: $j, fromStopPlaceId: $f, "
        "toStopPlaceId: $t) { cars { number fareClass seats { seatNumber available } } } }",
        {
            "j": reservation["serviceJourneyId"],
            "f": reservation["from"]["id"],
            "t": reservation["to"]["id"],
        },
    )
    seat_class = flex["product"]["fareClass"]
    free = next(
        (car["number"], seat["seatNumber"])
        for car in seat_map["seatMap"]["cars"]
        if car["fareClass"] == seat_class
        for seat in car["seats"]
        if seat["available"]
    )
    moved = await compared.mutate(
        "changeSeats",
        {
            "reservationId": reservation["id"],
            "seats": [{"carNumber": free[0], "seatNumber": free[1]}],
        },
        f"reservation {{ {RESERVATION} }} {ERRORS}",
    )
    await compared.reservations([moved["reservation"]])

    # Paid in full (createPayment, createTransaction, captureTransaction and its replay).
    captured = await _pay_in_full(compared, updated["order"], "paid-1")
    assert captured["order"]["payments"] and captured["order"]["paymentRefs"]

    # generateTickets, distributeTickets.
    for name, input in (
        ("generateTickets", {"orderId": order_id}),
        ("distributeTickets", {"orderId": order_id, "distributionMethod": "APP"}),
    ):
        payload = await compared.mutate(
            name, input, f"ticketDistributionGroups {{ {GROUP} }} {ERRORS}"
        )
        await compared.groups(order_id, payload["ticketDistributionGroups"])

    # sendReceipt, and its replay.
    receipt_input = {"orderId": order_id, "idempotencyKey": "receipt-1"}
    sent = await compared.mutate("sendReceipt", receipt_input, f"receipt {{ {RECEIPT} }} {ERRORS}")
    await compared.receipt(sent["receipt"])
    again = await compared.mutate("sendReceipt", receipt_input, f"receipt {{ {RECEIPT} }} {ERRORS}")
    await compared.receipt(again["receipt"])
    assert again["receipt"] == sent["receipt"]

    # The paid, ticketed, receipted order: updateOrder answers it whole (this once answered
    # `payments: []` and `paymentRefs: []`, and no tickets or receipts).
    whole = await compared.mutate(
        "updateOrder",
        {"orderId": order_id, "externalReference": "x1"},
        f"order {{ {ORDER} }} {ERRORS}",
    )
    paid = whole["order"]
    assert paid["payments"] and paid["paymentRefs"] and paid["receipts"]
    assert paid["ticketDistributionGroups"] and all(
        line["ticketDistributions"] for line in paid["orderLines"]
    )
    await compared.order(paid)

    # A new traveller makes a DRAFT version with nothing to pay: confirmOrder; then another
    # and resetOrder back to the confirmed version.
    more = [*people, {"id": "c1", "userType": "CHILD"}]
    drafted = await compared.mutate(
        "updateOrder", {"orderId": order_id, "travellers": more}, f"order {{ {ORDER} }} {ERRORS}"
    )
    await compared.order(drafted["order"])
    confirmed = await compared.mutate(
        "confirmOrder", {"orderId": order_id}, f"order {{ {ORDER} }} {ERRORS}"
    )
    assert confirmed["order"]["status"] == "CONFIRMED"
    await compared.order(confirmed["order"])
    await compared.mutate(
        "updateOrder",
        {"orderId": order_id, "travellers": [*more, {"id": "c2", "userType": "CHILD"}]},
        f"order {{ {ORDER} }} {ERRORS}",
    )
    reset = await compared.mutate(
        "resetOrder", {"orderId": order_id}, f"order {{ {ORDER} }} {ERRORS}"
    )
    assert reset["order"]["status"] == "CONFIRMED"
    await compared.order(reset["order"])

    # A payment deactivated (updatePayment), a transaction cancelled: on another order.
    second = await _reserve(compared, flex["id"])
    second_id = second["order"]["id"]
    opened = await compared.mutate(
        "createPayment", {"orderId": second_id}, f"payment {{ {PAYMENT} }} {ERRORS}"
    )
    pending = await compared.mutate(
        "createTransaction",
        {
            "paymentId": opened["payment"]["id"],
            "paymentType": "MASTERCARD",
            "amount": "1.00",
            "paymentToken": "tok_visa",
        },
        f"transaction {{ {TRANSACTION} }} payment {{ {PAYMENT} }} order {{ {ORDER} }} {ERRORS}",
    )
    cancelled = await compared.mutate(
        "cancelTransaction",
        {"transactionId": pending["transaction"]["id"]},
        f"transaction {{ {TRANSACTION} }} payment {{ {PAYMENT} }} order {{ {ORDER} }} {ERRORS}",
    )
    assert cancelled["transaction"]["status"] == "CANCELLED"
    await compared.transaction(cancelled)
    inactive = await compared.mutate(
        "updatePayment",
        {"paymentId": opened["payment"]["id"], "active": False},
        f"payment {{ {PAYMENT} }} {ERRORS}",
    )
    assert inactive["payment"]["active"] is False
    await compared.payment(inactive["payment"])
    gone = await compared.mutate(
        "cancelOrder", {"orderId": second_id}, f"order {{ {ORDER} }} {ERRORS}"
    )
    assert gone["order"]["status"] == "CANCELLED"
    await compared.order(gone["order"])

    # refundOrder of one line of the paid order, and its replay.
    line = paid["orderLines"][0]["id"]
    refund_input = {"orderId": order_id, "orderLineIds": [line], "idempotencyKey": "refund-1"}
    fields = f"refund {{ {REFUND} }} order {{ {ORDER} }} {ERRORS}"
    refunded = await compared.mutate("refundOrder", refund_input, fields)
    await compared.order(refunded["order"])
    refund = refunded["refund"]
    credits = await api.gql(
        "query($ids: [ID!]) { credits(filter: {id: {in: $ids}}) "
        f"{{ items {{ {CREDIT} }} }} }}",
        {"ids": [c["id"] for c in refund["credits"]]},
    )
    assert refund["credits"] and sorted(refund["credits"], key=lambda c: c["id"]) == sorted(
        credits["credits"]["items"], key=lambda c: c["id"]
    )
    assert refund["orderVersion"] == refunded["order"]["version"]
    assert refund["affectedOrderLineIds"] == [line]
    disabled = {
        t["id"]
        for group in refunded["order"]["ticketDistributionGroups"]
        for t in group["ticketDistributions"]
        if t["status"] == "DISABLED"
    }
    assert set(refund["disabledTicketDistributionIds"]) == disabled and disabled
    replayed = await compared.mutate("refundOrder", refund_input, fields)
    assert replayed == refunded

    # The after-sale: a compensation (and its replay), a fee, a longer hold, an exchange.
    comp_input = {"orderId": order_id, "amount": "10.00", "reason": "Late", "idempotencyKey": "c-1"}
    compensated = await compared.mutate("compensateOrder", comp_input, fields)
    await compared.order(compensated["order"])
    assert compensated["refund"]["affectedOrderLineIds"] == []
    assert await compared.mutate("compensateOrder", comp_input, fields) == compensated
    order_fields = f"order {{ {ORDER} }} {ERRORS}"
    fee_input = {"orderId": order_id, "type": "BOOKING", "amount": "5.00", "description": "Desk"}
    with_fee = await compared.mutate("addFee", fee_input, order_fields)
    await compared.order(with_fee["order"])
    assert [f["type"] for f in with_fee["order"]["fees"]] == ["COMPENSATION", "BOOKING"]
    extended = await compared.mutate("extendOrderExpiry", {"orderId": order_id}, order_fields)
    await compared.order(extended["order"])
    kept = next(x for x in extended["order"]["orderLines"] if x["status"] == "CONFIRMED")
    traveller = kept["travellers"][0]
    other = next(
        o
        for o in await offers_for(api, [{"id": traveller["id"], "userType": traveller["userType"]}])
        if o["product"]["name"] == "Flex"
        and o["travelSpecification"]["serviceJourneyId"]
        != kept["travelSpecification"]["serviceJourneyId"]
    )
    exchanged = await compared.mutate(
        "exchangeOrderLines",
        {"orderId": order_id, "orderLineIds": [kept["id"]], "offerId": other["id"]},
        order_fields,
    )
    await compared.order(exchanged["order"])
    assert compared.count >= 29


async def test_each_mutation_of_a_request_reads_what_it_committed(api: Api) -> None:
    """Two mutations in one request: the second's payload sees the second's commit, not the
    snapshot the first's payload was read in."""
    order = (await api.gql("mutation { createOrder(input: {}) { order { id } } }"))["createOrder"]
    both = await api.gql(
        """mutation($id: ID!) {
          a: updateOrder(input: {orderId: $id, externalReference: "first"})
            { order { externalReference payments { id } } errors { code } }
          b: updateOrder(input: {orderId: $id, externalReference: "second"})
            { order { externalReference payments { id } } errors { code } }
        }""",
        {"id": order["order"]["id"]},
    )
    assert both["a"]["order"]["externalReference"] == "first"
    assert both["b"]["order"]["externalReference"] == "second"
