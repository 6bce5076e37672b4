"""Taking money: payments, transactions, captures. Every money step locks the order first,
so the balance is read and reduced by one writer at a time and can never go below zero."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.ids import new_id
from sales_api.domain.money import normalise_currency
from sales_api.domain.orders import Order
from sales_api.domain.payments import (
    Payment,
    PaymentDeclined,
    PaymentProvider,
    PaymentProviderUnavailable,
    PaymentType,
    Transaction,
    TransactionStatus,
    mask_card_number,
)
from sales_api.domain.ports import UnitOfWork, UnitOfWorkFactory
from sales_api.domain.services import idempotency
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


@dataclass(slots=True)
class MoneyOutcome:
    """What a money step left behind; `error` is set when it was refused after the provider
    answered (declined): the failed transaction is kept, the payload carries the error."""

    order: Order
    payment: Payment
    transaction: Transaction | None = None
    error: SalesError | None = None
    payments: list[Payment] = field(default_factory=list)
    """Every payment of the order, this one included."""
    replayed: bool = False
    """True when an idempotency key answered an earlier result: no money moved now."""


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
) -> Payment:
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        if command.idempotency_key is not None:
            first = await idempotency.claim(
                uow,
                caller.organisation_id,
                command.idempotency_key,
                "createPayment",
                command,
                now,
            )
            if first is not None:
                order = await _locked_order(uow, caller, command.order_id)
                return (await _payment_in(uow, order, str(first["paymentId"])))[0]
        order = await _locked_order(uow, caller, command.order_id)
        order.ensure_changeable()
        order.ensure_not_expired(now)
        if command.order_version is not None and command.order_version != order.version:
            raise SalesError(
                ErrorCode.VERSION_CONFLICT,
                f"Payments are opened for the order's current version {order.version}",
                ["input", "orderVersion"],
            )
        if command.currency is not None and normalise_currency(command.currency) != order.currency:
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
        if command.idempotency_key is not None:
            await uow.idempotency.complete(
                caller.organisation_id, command.idempotency_key, {"paymentId": payment.id}
            )
        await uow.commit()
    return payment


async def update_payment(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: UpdatePayment
) -> Payment:
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
        await uow.commit()
    return payment


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
        payment, payments = await _payment_in(uow, order, command.payment_id)
        if command.idempotency_key is not None:
            first = await idempotency.claim(
                uow,
                caller.organisation_id,
                command.idempotency_key,
                "createTransaction",
                command,
                now,
            )
            if first is not None:
                return _outcome_of(order, payment, payments, str(first["transactionId"]))
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
        if command.idempotency_key is not None:
            await uow.idempotency.complete(
                caller.organisation_id,
                command.idempotency_key,
                {"transactionId": transaction.id},
            )
        await uow.commit()
    return MoneyOutcome(order, payment, transaction, payments=payments)


async def capture_transaction(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    provider: PaymentProvider,
    caller: Caller,
    command: TransactionRef,
) -> MoneyOutcome:
    """Capture through the provider. Approved: the balance drops, and at 0.00 the order,
    its lines and reservations are CONFIRMED in the same transaction. Declined or failed:
    the transaction is FAILED and nothing is charged."""
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order, payment, payments, transaction = await _locked_transaction(uow, caller, command)
        if command.idempotency_key is not None:
            first = await idempotency.claim(
                uow,
                caller.organisation_id,
                command.idempotency_key,
                "captureTransaction",
                command,
                now,
            )
            if first is not None:
                outcome = _outcome_of(order, payment, payments, transaction.id)
                if first.get("error"):
                    refusal = first["error"]
                    outcome.error = SalesError(ErrorCode(refusal["code"]), refusal["message"])
                return outcome
        transaction.ensure_status(TransactionStatus.CREATED)
        order.ensure_not_expired(now)
        _check_open_for_payment(order, payment)
        if transaction.amount > order.balance:
            raise SalesError(
                ErrorCode.AMOUNT_MISMATCH,
                f"The transaction's {transaction.amount:.2f} exceeds the balance "
                f"{order.balance:.2f}",
                ["input", "transactionId"],
            )
        # Re-assert the order's seat holds before any money moves: if a hold expired and
        # another sale took the seat, this refuses (SEAT_UNAVAILABLE) and nothing is charged.
        await uow.seats.sync(order)
        error: SalesError | None = None
        try:
            approved = await provider.capture(
                transaction.id,
                transaction.payment_type,
                transaction.payment_token,
                transaction.amount,
                transaction.currency,
            )
        except (PaymentDeclined, PaymentProviderUnavailable) as refusal:
            transaction.status = TransactionStatus.FAILED
            transaction.log("FAIL", transaction.amount, now)
            message = str(refusal) + "; nothing was charged"
            error = SalesError(ErrorCode.PAYMENT_DECLINED, message, ["input", "transactionId"])
        else:
            transaction.status = TransactionStatus.CAPTURED
            transaction.psp_reference = approved.psp_reference
            transaction.masked_card_number = mask_card_number(approved.masked_card_number)
            transaction.captured_at = now
            transaction.log("CAPTURE", transaction.amount, now)
            order.captured_amount += transaction.amount
            if order.balance == 0:
                order.confirm(now)
            await uow.orders.save(order)
        transaction.payment_token = None  # the provider's token is spent either way
        await uow.payments.save(payment)
        if command.idempotency_key is not None:
            await uow.idempotency.complete(
                caller.organisation_id,
                command.idempotency_key,
                {
                    "transactionId": transaction.id,
                    "error": {"code": error.code.value, "message": error.message}
                    if error
                    else None,
                },
            )
        await uow.commit()
    return MoneyOutcome(order, payment, transaction, error, payments)


async def cancel_transaction(
    uow_factory: UnitOfWorkFactory, clock: Clock, caller: Caller, command: TransactionRef
) -> MoneyOutcome:
    caller.require(Permission.PAYMENTS_WRITE)
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order, payment, payments, transaction = await _locked_transaction(uow, caller, command)
        if command.idempotency_key is not None:
            first = await idempotency.claim(
                uow,
                caller.organisation_id,
                command.idempotency_key,
                "cancelTransaction",
                command,
                now,
            )
            if first is not None:
                return _outcome_of(order, payment, payments, transaction.id)
        transaction.ensure_status(TransactionStatus.CREATED)
        transaction.status = TransactionStatus.CANCELLED
        transaction.payment_token = None
        transaction.log("CANCEL", transaction.amount, now)
        await uow.payments.save(payment)
        if command.idempotency_key is not None:
            await uow.idempotency.complete(
                caller.organisation_id, command.idempotency_key, {"transactionId": transaction.id}
            )
        await uow.commit()
    return MoneyOutcome(order, payment, transaction, payments=payments)


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


def _outcome_of(
    order: Order, payment: Payment, payments: list[Payment], transaction_id: str
) -> MoneyOutcome:
    """The answer to a replayed idempotency key."""
    transaction = next((t for t in payment.transactions if t.id == transaction_id), None)
    return MoneyOutcome(order, payment, transaction, payments=payments, replayed=True)
