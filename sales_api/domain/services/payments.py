"""Taking money: payments, transactions, captures. Every money step locks the order first,
so the balance is read and reduced by one writer at a time and can never go below zero."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.money import normalise_currency
from sales_api.domain.orders import Order, OrderStatus
from sales_api.domain.payments import (
    Payment,
    PaymentDeclined,
    PaymentProvider,
    PaymentProviderNoAnswer,
    PaymentProviderUnavailable,
    PaymentType,
    Transaction,
    TransactionStatus,
    mask_card_number,
)
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory
from sales_api.domain.refunds import RefundPurpose
from sales_api.domain.services import idempotency
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.lifecycle import apply_change
from sales_api.domain.services.orders import ensure_channel_allowed

MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class CreatePayment:
    order_id: str
    order_version: int | None = None
    total_amount: Decimal | None = None
    currency: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class UpdatePayment:
    payment_id: str
    active: bool | None = None
    total_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CreateTransaction:
    payment_id: str
    payment_type: PaymentType
    amount: Decimal
    payment_token: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionRef:
    transaction_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class MoneyOutcome:
    """What a money step left behind, by id (the payload is read after the commit);
    `error` is set when it was refused after the provider answered (declined): the failed
    transaction is kept, the payload carries the error."""

    order_id: str
    payment_id: str
    transaction_id: str | None
    error: SalesError | None = None
    replayed: bool = False
    """True when an idempotency key answered an earlier result: no money moved now."""
    captured: tuple[Decimal, str] | None = None
    """The amount and currency captured now."""


async def _locked_order(uow: UnitOfWork, caller: Caller, order_id: str) -> Order:
    order = await uow.orders.get_for_update(order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", ["input", "orderId"])
    return order


async def _payment_in(
    uow: UnitOfWork, order: Order, payment_id: str
) -> tuple[Payment, list[Payment]]:
    """The payment, and every payment of the order."""
    payments = await uow.payments.for_order(order.id)
    payment = next((p for p in payments if p.id == payment_id), None)
    if payment is None:
        raise NotFound("Payment", ["input", "paymentId"])
    return payment, payments


def _check_open_for_payment(order: Order, payment: Payment) -> None:
    payment.ensure_active()
    if payment.order_version != order.version:
        raise SalesError(
            ErrorCode.PAYMENT_INACTIVE,
            f"Payment {payment.id} is for version {payment.order_version}; "
            f"the order is at version {order.version}",
            ["input", "paymentId"],
        )


async def create_payment(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: CreatePayment
) -> str:
    """Opens a payment for the order's balance (or part of it); its id."""
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)

        async def work(_earlier: Result | None) -> Result:
            order = await _locked_order(uow, caller, command.order_id)
            order.ensure_changeable()
            order.ensure_not_expired(now)
            if command.order_version is not None and command.order_version != order.version:
                raise SalesError(
                    ErrorCode.VERSION_CONFLICT,
                    f"Payments are opened for the order's current version {order.version}",
                    ["input", "orderVersion"],
                )
            if (
                command.currency is not None
                and normalise_currency(command.currency) != order.currency
            ):
                raise SalesError(
                    ErrorCode.CURRENCY_MISMATCH,
                    f"The order is in {order.currency}",
                    ["input", "currency"],
                )
            balance = order.balance
            if balance <= 0:
                raise SalesError(ErrorCode.INVALID_STATE, "The order has nothing left to pay")
            amount = command.total_amount if command.total_amount is not None else balance
            if amount <= 0:
                raise ValidationFailed("totalAmount is above 0.00", ["input", "totalAmount"])
            if amount > balance:
                raise SalesError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"totalAmount {amount:.2f} exceeds the balance {balance:.2f}",
                    ["input", "totalAmount"],
                )
            payment = Payment(
                id=new_id(),
                order_id=order.id,
                order_version=order.version,
                organisation_id=caller.organisation_id,
                total_amount=amount,
                currency=order.currency,
                created_at=now,
            )
            await uow.payments.save(payment)
            uow.events.add(order_event(order, Event.PAYMENT_CREATED, caller, now, payment.id))
            return {"paymentId": payment.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "createPayment", command, now, work
        )
        await uow.commit()
    return str(done.result["paymentId"])


async def update_payment(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: UpdatePayment
) -> str:
    """Deactivate or reactivate a payment, or change its amount while nothing is captured.
    Reactivating needs the payment to match the order's current version and balance."""
    caller.require(Permission.PAYMENTS_WRITE)
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order_id = await uow.payments.order_of_payment(command.payment_id, caller.organisation_id)
        if order_id is None:
            raise NotFound("Payment", ["input", "paymentId"])
        order = await _locked_order(uow, caller, order_id)
        payment, _ = await _payment_in(uow, order, command.payment_id)
        if command.total_amount is not None:
            payment.change_amount(command.total_amount)
        if command.active is not None:
            payment.active = command.active
        if payment.active and (command.active or command.total_amount is not None):
            _check_open_for_payment(order, payment)
            if payment.unpaid_amount > order.balance:
                raise SalesError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"The payment asks {payment.unpaid_amount:.2f} more; "
                    f"the balance is {order.balance:.2f}",
                    ["input", "totalAmount"],
                )
        await uow.payments.save(payment)
        uow.events.add(order_event(order, Event.PAYMENT_UPDATED, caller, clock.now(), payment.id))
        await uow.commit()
    return payment.id


async def create_transaction(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: CreateTransaction
) -> MoneyOutcome:
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    if command.payment_token is not None and len(command.payment_token) > MAX_TOKEN:
        raise ValidationFailed("paymentToken is too long", ["input", "paymentToken"])
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order_id = await uow.payments.order_of_payment(command.payment_id, caller.organisation_id)
        if order_id is None:
            raise NotFound("Payment", ["input", "paymentId"])
        order = await _locked_order(uow, caller, order_id)
        payment, _payments = await _payment_in(uow, order, command.payment_id)

        async def work(_earlier: Result | None) -> Result:
            _check_open_for_payment(order, payment)
            order.ensure_changeable()
            order.ensure_not_expired(now)
            if command.amount <= 0:
                raise ValidationFailed("amount is above 0.00", ["input", "amount"])
            limit = min(payment.unpaid_amount, order.balance)
            if command.amount > limit:
                raise SalesError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"amount {command.amount:.2f} exceeds what is unpaid ({limit:.2f})",
                    ["input", "amount"],
                )
            transaction = Transaction(
                id=new_id(),
                payment_id=payment.id,
                payment_type=command.payment_type,
                amount=command.amount,
                currency=payment.currency,
                created_at=now,
                payment_token=command.payment_token,
            )
            transaction.log("CREATE", command.amount, now)
            payment.transactions.append(transaction)
            await uow.payments.save(payment)
            uow.events.add(
                order_event(order, Event.TRANSACTION_CREATED, caller, now, transaction.id)
            )
            return {"transactionId": transaction.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "createTransaction", command, now, work
        )
        await uow.commit()
    return _outcome(order.id, payment.id, done)


@dataclass(frozen=True, slots=True)
class Charged:
    """The provider took the money."""

    psp_reference: str
    masked_card_number: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    """The provider answered no (declined, or failed at once): nothing was taken."""

    reason: str


async def capture_transaction(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    provider: PaymentProvider,
    caller: Caller,
    command: TransactionRef,
) -> MoneyOutcome:
    """Capture through the provider, never inside a database transaction: the attempt is
    committed first (PENDING, its reference the transaction's id), then the provider is
    asked within its time limit, then its answer is committed. Approved: the balance drops,
    and at 0.00 the order, its lines and reservations are CONFIRMED. Declined or failed at
    once: FAILED, nothing charged. No answer: PAYMENT_PROVIDER_UNAVAILABLE, the transaction
    stays PENDING, and the reconciler settles it by asking the provider."""
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    sent: tuple[Transaction, str | None] | None = None
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order, payment, payments, transaction = await _locked_transaction(uow, caller, command)

        async def work(_earlier: Result | None) -> Result:
            nonlocal sent
            transaction.ensure_status(TransactionStatus.CREATED)
            order.ensure_not_expired(now)
            _check_open_for_payment(order, payment)
            in_flight = sum((p.in_flight_amount for p in payments), Decimal("0.00"))
            if transaction.amount > order.balance - in_flight:
                raise SalesError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"The transaction's {transaction.amount:.2f} exceeds the balance "
                    f"{order.balance:.2f}"
                    + (f" less {in_flight:.2f} being captured" if in_flight else ""),
                    ["input", "transactionId"],
                )
            # Re-assert the order's seat holds before any money moves: if a hold expired
            # and another sale took the seat, this refuses (SEAT_UNAVAILABLE) and nothing
            # is charged.
            await uow.seats.sync(order)
            sent = (transaction, transaction.payment_token)
            transaction.status = TransactionStatus.PENDING
            transaction.sent_at = now
            transaction.payment_token = None  # the provider's token is spent either way
            await uow.payments.save(payment)
            return {"transactionId": transaction.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "captureTransaction", command, now, work
        )
        await uow.commit()
    if sent is None:  # a replay: the transaction as it stands (once the provider answered)
        if transaction.status is TransactionStatus.PENDING:
            transaction.status = await _settled_status(uow_factory, transaction.id)
        return _replayed_capture(order.id, payment.id, transaction, done.result)
    attempted, token = sent
    try:
        approved = await provider.capture(
            attempted.id, attempted.payment_type, token, attempted.amount, attempted.currency
        )
        answer: Charged | Refused = Charged(approved.psp_reference, approved.masked_card_number)
    except (PaymentDeclined, PaymentProviderUnavailable) as refusal:
        answer = Refused(str(refusal))
    except PaymentProviderNoAnswer as lost:
        return MoneyOutcome(order.id, payment.id, attempted.id, _no_answer(str(lost)))
    async with uow_factory(write=True) as uow:
        await settle_capture(uow, attempted.id, answer, clock.now(), caller)
        error = _declined(answer) if isinstance(answer, Refused) else None
        if command.idempotency_key is not None:
            recorded = {"code": error.code.value, "message": error.message} if error else None
            await uow.idempotency.complete(
                caller.organisation_id,
                command.idempotency_key,
                {"transactionId": attempted.id, "error": recorded},
            )
        await uow.commit()
    captured = (attempted.amount, attempted.currency) if isinstance(answer, Charged) else None
    return MoneyOutcome(order.id, payment.id, attempted.id, error, captured=captured)


async def settle_capture(
    uow: UnitOfWork,
    transaction_id: str,
    answer: Charged | Refused,
    now: datetime,
    caller: Caller | None = None,
) -> bool:
    """Commit what the provider did with a PENDING capture (in the caller's unit of work):
    CAPTURED, the balance reduced and the order confirmed at 0.00 (when its hold has not
    run out); or FAILED. False when the transaction was settled already."""
    found = await uow.payments.payment_of_transaction(transaction_id, None)
    if found is None:
        return False
    order_id, payment_id = found
    order = await uow.orders.get_for_update(order_id, None)
    assert order is not None
    payment, _ = await _payment_in(uow, order, payment_id)
    transaction = next(t for t in payment.transactions if t.id == transaction_id)
    if transaction.status is not TransactionStatus.PENDING:
        return False
    if isinstance(answer, Refused):
        transaction.status = TransactionStatus.FAILED
        transaction.log("FAIL", transaction.amount, now)
        uow.events.add(order_event(order, Event.TRANSACTION_FAILED, caller, now, transaction.id))
    else:
        transaction.status = TransactionStatus.CAPTURED
        transaction.psp_reference = answer.psp_reference
        transaction.masked_card_number = mask_card_number(answer.masked_card_number)
        transaction.captured_at = now
        transaction.log("CAPTURE", transaction.amount, now)
        order.captured_amount += transaction.amount
        # Money taken for a hold that ran out meanwhile stays on the DRAFT, whose expiry
        # gives it back; the seats may be another's by now.
        uow.events.add(order_event(order, Event.TRANSACTION_CAPTURED, caller, now, transaction.id))
        if order.status is OrderStatus.DRAFT and order.owed == 0 and not order.is_expired(now):
            # Confirmed as confirmOrder does (an exchange's replaced lines released).
            await apply_change(uow, order, RefundPurpose.CONFIRM, caller, now)
        await uow.orders.save(order)
    await uow.payments.save(payment)
    return True


SETTLED_POLL_SECONDS = 0.05
SETTLED_WAIT_SECONDS = 3.0


async def _settled_status(uow_factory: UnitOfWorkFactory, transaction_id: str) -> TransactionStatus:
    """The status of a capture another request is making (the same key sent again, a
    double click): its outcome once the provider answered, or PENDING after a few seconds
    (the answer may never come; the reconciler settles it)."""
    deadline = asyncio.get_running_loop().time() + SETTLED_WAIT_SECONDS
    while True:
        async with uow_factory() as uow:
            status = await uow.payments.transaction_status(transaction_id)
        if status is None:
            return TransactionStatus.PENDING
        if status is not TransactionStatus.PENDING:
            return status
        if asyncio.get_running_loop().time() >= deadline:
            return TransactionStatus.PENDING
        await asyncio.sleep(SETTLED_POLL_SECONDS)


def _no_answer(why: str) -> SalesError:
    return SalesError(
        ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
        f"{why}; the transaction stays PENDING until the provider says what it did "
        "(asked again shortly, nothing is charged twice)",
        ["input", "transactionId"],
    )


def _declined(answer: Refused) -> SalesError:
    return SalesError(
        ErrorCode.PAYMENT_DECLINED,
        answer.reason + "; nothing was charged",
        ["input", "transactionId"],
    )


def _replayed_capture(
    order_id: str, payment_id: str, transaction: Transaction, first: Result
) -> MoneyOutcome:
    """The answer to a capture's key used again: what became of the transaction."""
    error: SalesError | None = None
    refusal = first.get("error")
    if transaction.status is TransactionStatus.PENDING:
        error = _no_answer("The payment provider has not answered yet")
    elif refusal:
        error = SalesError(ErrorCode(refusal["code"]), refusal["message"])
    elif transaction.status is TransactionStatus.FAILED:
        error = SalesError(ErrorCode.PAYMENT_DECLINED, "The capture failed; nothing was charged")
    return MoneyOutcome(order_id, payment_id, transaction.id, error, replayed=True)


async def cancel_transaction(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: TransactionRef
) -> MoneyOutcome:
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order, payment, _payments, transaction = await _locked_transaction(uow, caller, command)

        async def work(_earlier: Result | None) -> Result:
            transaction.ensure_status(TransactionStatus.CREATED)
            transaction.status = TransactionStatus.CANCELLED
            transaction.payment_token = None
            transaction.log("CANCEL", transaction.amount, now)
            await uow.payments.save(payment)
            uow.events.add(
                order_event(order, Event.TRANSACTION_CANCELLED, caller, now, transaction.id)
            )
            return {"transactionId": transaction.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "cancelTransaction", command, now, work
        )
        await uow.commit()
    return _outcome(order.id, payment.id, done)


async def _locked_transaction(
    uow: UnitOfWork, caller: Caller, command: TransactionRef
) -> tuple[Order, Payment, list[Payment], Transaction]:
    found = await uow.payments.payment_of_transaction(
        command.transaction_id, caller.organisation_id
    )
    if found is None:
        raise NotFound("Transaction", ["input", "transactionId"])
    order_id, payment_id = found
    order = await _locked_order(uow, caller, order_id)
    payment, payments = await _payment_in(uow, order, payment_id)
    transaction = next(t for t in payment.transactions if t.id == command.transaction_id)
    return order, payment, payments, transaction


def _outcome(order_id: str, payment_id: str, done: idempotency.Done) -> MoneyOutcome:
    refusal = done.result.get("error")
    error = SalesError(ErrorCode(refusal["code"]), refusal["message"]) if refusal else None
    if error is not None and not done.replayed:
        error = SalesError(error.code, error.message, ["input", "transactionId"])
    return MoneyOutcome(
        order_id, payment_id, done.result.get("transactionId"), error, done.replayed
    )
