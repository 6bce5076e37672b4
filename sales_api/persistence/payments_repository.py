"""Payments with their transactions; credits. Money as øre, times as aware UTC."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.money import from_minor_units, to_minor_units
from sales_api.domain.payments import (
    Credit,
    CreditStatus,
    Payment,
    PaymentType,
    Transaction,
    TransactionOperation,
    TransactionStatus,
)
from sales_api.persistence import tables as t


def payment_from_row(row: Mapping[Any, Any]) -> Payment:
    return Payment(
        id=row["id"],
        order_id=row["order_id"],
        order_version=row["order_version"],
        organisation_id=row["organisation_id"],
        total_amount=from_minor_units(row["total_amount"]),
        currency=row["currency"],
        created_at=row["created_at"],
        active=row["active"],
    )


def payment_to_row(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "order_version": payment.order_version,
        "organisation_id": payment.organisation_id,
        "total_amount": to_minor_units(payment.total_amount),
        "currency": payment.currency,
        "active": payment.active,
        "created_at": payment.created_at,
    }


def transaction_from_row(row: Mapping[Any, Any]) -> Transaction:
    return Transaction(
        id=row["id"],
        payment_id=row["payment_id"],
        payment_type=PaymentType(row["payment_type"]),
        amount=from_minor_units(row["amount"]),
        currency=row["currency"],
        created_at=row["created_at"],
        status=TransactionStatus(row["status"]),
        payment_token=row["payment_token"],
        masked_card_number=row["masked_card_number"],
        psp_reference=row["psp_reference"],
        captured_at=row["captured_at"],
        credited_amount=from_minor_units(row["credited_amount"]),
        sent_at=row["sent_at"],
        operation_log=[
            TransactionOperation(
                entry["operation"],
                Decimal(entry["amount"]),
                TransactionStatus(entry["status"]),
                datetime.fromisoformat(entry["at"]),
            )
            for entry in row["operation_log"]
        ],
    )


def transaction_to_row(transaction: Transaction) -> dict[str, Any]:
    return {
        "id": transaction.id,
        "payment_id": transaction.payment_id,
        "payment_type": transaction.payment_type.value,
        "amount": to_minor_units(transaction.amount),
        "credited_amount": to_minor_units(transaction.credited_amount),
        "currency": transaction.currency,
        "status": transaction.status.value,
        "payment_token": transaction.payment_token,
        "masked_card_number": transaction.masked_card_number,
        "psp_reference": transaction.psp_reference,
        "operation_log": [
            {
                "operation": op.operation,
                "amount": f"{op.amount:.2f}",
                "status": op.status.value,
                "at": op.at.isoformat(),
            }
            for op in transaction.operation_log
        ],
        "created_at": transaction.created_at,
        "captured_at": transaction.captured_at,
        "sent_at": transaction.sent_at,
    }


def credit_from_row(row: Mapping[Any, Any]) -> Credit:
    return Credit(
        id=row["id"],
        order_id=row["order_id"],
        order_version=row["order_version"],
        payment_id=row["payment_id"],
        transaction_id=row["transaction_id"],
        amount=from_minor_units(row["amount"]),
        currency=row["currency"],
        status=CreditStatus(row["status"]),
        created_at=row["created_at"],
        refund_id=row["refund_id"],
    )


def credit_to_row(credit: Credit) -> dict[str, Any]:
    return {
        "id": credit.id,
        "order_id": credit.order_id,
        "order_version": credit.order_version,
        "payment_id": credit.payment_id,
        "transaction_id": credit.transaction_id,
        "amount": to_minor_units(credit.amount),
        "currency": credit.currency,
        "status": credit.status.value,
        "created_at": credit.created_at,
        "refund_id": credit.refund_id,
    }


class SqlPaymentRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._known_transactions: set[str] = set()
        self._known_payments: set[str] = set()

    async def order_of_payment(self, payment_id: str, organisation_id: int) -> str | None:
        found = await self._connection.execute(
            select(t.payments.c.order_id).where(
                t.payments.c.id == payment_id, t.payments.c.organisation_id == organisation_id
            )
        )
        return found.scalar_one_or_none()

    async def payment_of_transaction(
        self, transaction_id: str, organisation_id: int | None
    ) -> tuple[str, str] | None:
        """(order id, payment id) of the caller's transaction; `organisation_id=None` is for
        the service's own work (settling captures)."""
        statement = (
            select(t.payments.c.order_id, t.payments.c.id)
            .join(t.transactions, t.transactions.c.payment_id == t.payments.c.id)
            .where(t.transactions.c.id == transaction_id)
        )
        if organisation_id is not None:
            statement = statement.where(t.payments.c.organisation_id == organisation_id)
        row = (await self._connection.execute(statement)).first()
        return (str(row[0]), str(row[1])) if row else None

    async def transaction_status(self, transaction_id: str) -> TransactionStatus | None:
        found = await self._connection.execute(
            select(t.transactions.c.status).where(t.transactions.c.id == transaction_id)
        )
        status = found.scalar_one_or_none()
        return None if status is None else TransactionStatus(status)

    async def unsettled_captures(
        self, sent_before: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        """(id, sent at) of transactions PENDING since before `sent_before`: the provider's
        answer never came."""
        rows = await self._connection.execute(
            select(t.transactions.c.id, t.transactions.c.sent_at)
            .where(
                t.transactions.c.status == TransactionStatus.PENDING.value,
                t.transactions.c.sent_at <= sent_before,
            )
            .order_by(t.transactions.c.sent_at)
            .limit(limit)
        )
        return [(str(row[0]), row[1]) for row in rows]

    async def for_order(self, order_id: str) -> list[Payment]:
        """Every payment of the order with its transactions (the order is locked by now)."""
        rows = await self._connection.execute(
            select(t.payments)
            .where(t.payments.c.order_id == order_id)
            .order_by(t.payments.c.created_at, t.payments.c.id)
        )
        payments = await self._with_transactions([payment_from_row(r) for r in rows.mappings()])
        self._known_payments.update(p.id for p in payments)
        self._known_transactions.update(tx.id for p in payments for tx in p.transactions)
        return payments

    async def _with_transactions(self, payments: list[Payment]) -> list[Payment]:
        """The payments with their transactions: one statement for any number of them."""
        by_id = {p.id: p for p in payments}
        if by_id:
            transactions = await self._connection.execute(
                select(t.transactions)
                .where(t.transactions.c.payment_id.in_(list(by_id)))
                .order_by(t.transactions.c.created_at, t.transactions.c.id)
            )
            for row in transactions.mappings():
                by_id[row["payment_id"]].transactions.append(transaction_from_row(row))
        return payments

    async def unsettled_credits(
        self, created_before: datetime, limit: int
    ) -> list[tuple[str, str, datetime]]:
        """(id, refund id, created at) of credits sent before `created_before` whose answer
        never came (still CREATED)."""
        rows = await self._connection.execute(
            select(t.credits.c.id, t.credits.c.refund_id, t.credits.c.created_at)
            .where(
                t.credits.c.status == CreditStatus.CREATED.value,
                t.credits.c.created_at <= created_before,
                t.credits.c.refund_id.is_not(None),
            )
            .order_by(t.credits.c.created_at)
            .limit(limit)
        )
        return [(str(row[0]), str(row[1]), row[2]) for row in rows]

    async def credits_for_order(self, order_id: str) -> list[Credit]:
        rows = await self._connection.execute(
            select(t.credits)
            .where(t.credits.c.order_id == order_id)
            .order_by(t.credits.c.created_at, t.credits.c.id)
        )
        return [credit_from_row(r) for r in rows.mappings()]

    async def save_credit(self, credit: Credit, *, new: bool) -> None:
        if new:
            await self._connection.execute(insert(t.credits).values(credit_to_row(credit)))
        else:
            await self._connection.execute(
                update(t.credits).where(t.credits.c.id == credit.id).values(credit_to_row(credit))
            )

    async def save(self, payment: Payment) -> None:
        """Insert or update the payment and its transactions."""
        row = payment_to_row(payment)
        if payment.id in self._known_payments:
            await self._connection.execute(
                update(t.payments).where(t.payments.c.id == payment.id).values(row)
            )
        else:
            await self._connection.execute(insert(t.payments).values(row))
            self._known_payments.add(payment.id)
        for transaction in payment.transactions:
            tx_row = transaction_to_row(transaction)
            if transaction.id in self._known_transactions:
                await self._connection.execute(
                    update(t.transactions)
                    .where(t.transactions.c.id == transaction.id)
                    .values(tx_row)
                )
            else:
                await self._connection.execute(insert(t.transactions).values(tx_row))
                self._known_transactions.add(transaction.id)
