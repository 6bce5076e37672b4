"""Batch functions behind the per-request dataloaders: one statement per batch of keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales_api.domain.orders import OrderLine, Reservation, Traveller
from sales_api.domain.payments import Credit, Payment
from sales_api.domain.receipts import Receipt
from sales_api.domain.tickets import TicketDistributionGroup
from sales_api.persistence import tables as t
from sales_api.persistence.database import single_statement_reads
from sales_api.persistence.mapping import line_from_row, reservation_from_row, traveller_from_row
from sales_api.persistence.payments_repository import (
    credit_from_row,
    payment_from_row,
    transaction_from_row,
)
from sales_api.persistence.tickets_repository import receipt_from_row, ticket_from_row

T = TypeVar("T")


async def rows_by_order_ids(
    engine: AsyncEngine,
    table: Table,
    order_ids: Sequence[str],
    build: Callable[[Mapping[Any, Any]], T],
    *order: Column[Any],
) -> list[list[T]]:
    """One SELECT ... WHERE order_id IN (...), grouped back in the order of `order_ids`.
    Each batch has its own short connection: sibling fields resolve concurrently."""
    grouped: dict[str, list[T]] = defaultdict(list)
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(table).where(table.c.order_id.in_(list(order_ids))).order_by(*order)
        )
        for row in rows.mappings():
            grouped[row["order_id"]].append(build(row))
    return [grouped.get(order_id, []) for order_id in order_ids]


class OrderBatchReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = single_statement_reads(engine)

    async def travellers_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Traveller]]:
        table = t.order_travellers
        return await rows_by_order_ids(
            self._engine, table, order_ids, traveller_from_row, table.c.position
        )

    async def order_lines_by_order_ids(self, order_ids: Sequence[str]) -> list[list[OrderLine]]:
        table = t.order_lines
        return await rows_by_order_ids(
            self._engine, table, order_ids, line_from_row, table.c.position
        )

    async def reservations_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Reservation]]:
        table = t.reservations
        return await rows_by_order_ids(
            self._engine, table, order_ids, reservation_from_row, table.c.created_at, table.c.id
        )

    async def payments_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Payment]]:
        """Payments with their transactions: one statement (payments left-joined to their
        transactions) for any number of orders."""
        payments, transactions = t.payments, t.transactions
        prefix = "tx_"
        grouped: dict[str, list[Payment]] = defaultdict(list)
        by_id: dict[str, Payment] = {}
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(payments, *(c.label(prefix + c.name) for c in transactions.c))
                .select_from(
                    payments.outerjoin(transactions, transactions.c.payment_id == payments.c.id)
                )
                .where(payments.c.order_id.in_(list(order_ids)))
                .order_by(
                    payments.c.created_at,
                    payments.c.id,
                    transactions.c.created_at,
                    transactions.c.id,
                )
            )
            for row in rows.mappings():
                payment = by_id.get(row["id"])
                if payment is None:
                    payment = by_id[row["id"]] = payment_from_row(row)
                    grouped[row["order_id"]].append(payment)
                if row[prefix + "id"] is not None:
                    payment.transactions.append(
                        transaction_from_row({c.name: row[prefix + c.name] for c in transactions.c})
                    )
        return [grouped.get(order_id, []) for order_id in order_ids]

    async def credits_by_payment_ids(self, payment_ids: Sequence[str]) -> list[list[Credit]]:
        grouped: dict[str, list[Credit]] = defaultdict(list)
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(t.credits)
                .where(t.credits.c.payment_id.in_(list(payment_ids)))
                .order_by(t.credits.c.created_at, t.credits.c.id)
            )
            for row in rows.mappings():
                grouped[row["payment_id"]].append(credit_from_row(row))
        return [grouped.get(payment_id, []) for payment_id in payment_ids]

    async def ticket_groups_by_order_ids(
        self, order_ids: Sequence[str]
    ) -> list[list[TicketDistributionGroup]]:
        """Groups with their tickets: two statements for any number of orders."""
        table = t.ticket_groups
        grouped = await rows_by_order_ids(
            self._engine,
            table,
            order_ids,
            lambda r: TicketDistributionGroup(
                r["id"], r["order_id"], r["order_line_id"], r["order_version"]
            ),
            table.c.order_version,
            table.c.id,
        )
        by_id = {g.id: g for groups in grouped for g in groups}
        if by_id:
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    select(t.tickets)
                    .where(t.tickets.c.group_id.in_(list(by_id)))
                    .order_by(t.tickets.c.created_at, t.tickets.c.id)
                )
                for row in rows.mappings():
                    by_id[row["group_id"]].tickets.append(ticket_from_row(row))
        return grouped

    async def receipts_by_order_ids(self, order_ids: Sequence[str]) -> list[list[Receipt]]:
        table = t.receipts
        return await rows_by_order_ids(
            self._engine, table, order_ids, receipt_from_row, table.c.created_at, table.c.id
        )
