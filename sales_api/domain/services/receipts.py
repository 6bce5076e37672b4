"""Receipts: built for an order version that had a payment or a credit, sent through the
outbox in the same transaction, so an accepted receipt is sent even if the process dies."""

from __future__ import annotations

from dataclasses import dataclass

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.order_parts import ContactInfo
from sales_api.domain.outbox import Channel, OutboxMessage
from sales_api.domain.ports import UnitOfWorkFactory
from sales_api.domain.receipts import Receipt, receipt_lines, receipt_text, version_has_money
from sales_api.domain.services import idempotency
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.orders import ensure_channel_allowed
from sales_api.domain.tickets import Language


@dataclass(frozen=True, slots=True)
class SendReceipt:
    order_id: str
    order_version: int | None = None
    email: str | None = None
    phone_number: str | None = None
    language: Language = Language.NOB
    idempotency_key: str | None = None


async def send_receipt(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: SendReceipt
) -> str:
    """Builds the receipt of the order's current version and queues it; its id."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    contact = ContactInfo(email=command.email, phone_number=command.phone_number).validated(
        ["input"]
    )
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await uow.orders.get_for_update(command.order_id, caller.organisation_id)
        if order is None:
            raise NotFound("Order", ["input", "orderId"])

        async def work(_earlier: Result | None) -> Result:
            assert order is not None
            version = command.order_version if command.order_version is not None else order.version
            if version != order.version:
                # Lines are kept as they are now, so a receipt shows the order's current version.
                raise SalesError(
                    ErrorCode.RECEIPT_NOT_AVAILABLE,
                    f"Receipts are made for the order's current version {order.version}",
                    ["input", "orderVersion"],
                )
            payments = await uow.payments.for_order(order.id)
            credits = await uow.payments.credits_for_order(order.id)
            if not version_has_money(version, payments, credits):
                raise SalesError(
                    ErrorCode.RECEIPT_NOT_AVAILABLE,
                    f"Version {version} of order {order.id} had no payment or credit",
                    ["input", "orderVersion"],
                )
            email = contact.email
            phone = contact.phone_number
            if email is None and phone is None and order.contact_info is not None:
                email, phone = order.contact_info.email, order.contact_info.phone_number
            if email is None and phone is None:
                raise ValidationFailed("Give an email or a phoneNumber", ["input", "email"])
            receipt_id = new_id()
            receipt = Receipt(
                id=receipt_id,
                reference=f"R-{receipt_id}",
                order_id=order.id,
                order_version=version,
                language=command.language,
                currency=order.currency,
                created_at=now,
                lines=receipt_lines(order, command.language),
                email=email,
                phone_number=None if email else phone,
            )
            subject, body = receipt_text(receipt, payments, credits)
            await uow.receipts.add(receipt)
            uow.outbox.add(
                OutboxMessage(
                    id=new_id(),
                    channel=Channel.EMAIL if email else Channel.SMS,
                    recipient=email or phone or "",
                    subject=subject,
                    body=body,
                    created_at=now,
                    receipt_id=receipt.id,
                )
            )
            uow.events.add(order_event(order, Event.RECEIPT_QUEUED, caller, now, receipt.id))
            return {"receiptId": receipt.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "sendReceipt", command, now, work
        )
        await uow.commit()
    return str(done.result["receiptId"])
