"""Ticket distribution groups and tickets; receipts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.money import from_minor_units, to_minor_units
from sales_api.domain.paging import ListQuery, Page, PageRequest
from sales_api.domain.receipts import Receipt, ReceiptLine, ReceiptStatus
from sales_api.domain.tickets import (
    DistributionMethod,
    Language,
    TicketDistribution,
    TicketDistributionGroup,
    TicketStatus,
)
from sales_api.persistence import tables as t
from sales_api.persistence.filters import FilterableColumn, fetch_page, timestamp, where_clause

TICKET_FILTER_COLUMNS = {
    "id": FilterableColumn(t.tickets.c.id),
    "order_id": FilterableColumn(t.tickets.c.order_id),
    "order_line_id": FilterableColumn(t.tickets.c.order_line_id),
    "status": FilterableColumn(t.tickets.c.status, lambda value: str(value)),
    "created_at": timestamp(t.tickets.c.created_at),
}
RECEIPT_FILTER_COLUMNS = {
    "id": FilterableColumn(t.receipts.c.id),
    "order_id": FilterableColumn(t.receipts.c.order_id),
    "created_at": timestamp(t.receipts.c.created_at),
}


def ticket_from_row(row: Mapping[Any, Any]) -> TicketDistribution:
    method = row["distribution_method"]
    return TicketDistribution(
        id=row["id"],
        group_id=row["group_id"],
        order_id=row["order_id"],
        order_line_id=row["order_line_id"],
        traveller_id=row["traveller_id"],
        ticket_token=row["ticket_token"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        created_at=row["created_at"],
        status=TicketStatus(row["status"]),
        distribution_method=DistributionMethod(method) if method else None,
        distributed_at=row["distributed_at"],
    )


def ticket_to_row(ticket: TicketDistribution) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "group_id": ticket.group_id,
        "order_id": ticket.order_id,
        "order_line_id": ticket.order_line_id,
        "traveller_id": ticket.traveller_id,
        "ticket_token": ticket.ticket_token,
        "valid_from": ticket.valid_from,
        "valid_to": ticket.valid_to,
        "created_at": ticket.created_at,
        "status": ticket.status.value,
        "distribution_method": ticket.distribution_method.value
        if ticket.distribution_method
        else None,
        "distributed_at": ticket.distributed_at,
    }


def receipt_from_row(row: Mapping[Any, Any]) -> Receipt:
    return Receipt(
        id=row["id"],
        reference=row["reference"],
        order_id=row["order_id"],
        order_version=row["order_version"],
        language=Language(row["language"]),
        currency=row["currency"],
        created_at=row["created_at"],
        lines=[
            ReceiptLine(
                line["description"],
                from_minor_units(line["amount"]),
                from_minor_units(line["tax"]),
                from_minor_units(line["rate"]),
            )
            for line in row["lines"]
        ],
        email=row["email"],
        phone_number=row["phone_number"],
        status=ReceiptStatus(row["status"]),
        sent_at=row["sent_at"],
    )


def receipt_to_row(receipt: Receipt) -> dict[str, Any]:
    return {
        "id": receipt.id,
        "reference": receipt.reference,
        "order_id": receipt.order_id,
        "order_version": receipt.order_version,
        "language": receipt.language.value,
        "email": receipt.email,
        "phone_number": receipt.phone_number,
        "status": receipt.status.value,
        "lines": [
            {
                "description": line.description,
                "amount": to_minor_units(line.amount),
                "tax": to_minor_units(line.tax_amount),
                "rate": to_minor_units(line.tax_rate),
            }
            for line in receipt.lines
        ],
        "total_amount": to_minor_units(receipt.total_amount),
        "total_tax_amount": to_minor_units(receipt.total_tax_amount),
        "currency": receipt.currency,
        "created_at": receipt.created_at,
        "sent_at": receipt.sent_at,
    }


class SqlTicketRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def groups_for_order(self, order_id: str) -> list[TicketDistributionGroup]:
        rows = await self._connection.execute(
            select(t.ticket_groups).where(t.ticket_groups.c.order_id == order_id)
        )
        groups = [
            TicketDistributionGroup(r["id"], r["order_id"], r["order_line_id"], r["order_version"])
            for r in rows.mappings()
        ]
        by_id = {g.id: g for g in groups}
        if groups:
            tickets = await self._connection.execute(
                select(t.tickets)
                .where(t.tickets.c.order_id == order_id)
                .order_by(t.tickets.c.created_at, t.tickets.c.id)
            )
            for row in tickets.mappings():
                by_id[row["group_id"]].tickets.append(ticket_from_row(row))
        return groups

    async def add_group(self, group: TicketDistributionGroup) -> None:
        await self._connection.execute(
            insert(t.ticket_groups).values(
                id=group.id,
                order_id=group.order_id,
                order_line_id=group.order_line_id,
                order_version=group.order_version,
            )
        )
        if group.tickets:
            await self._connection.execute(
                insert(t.tickets), [ticket_to_row(ticket) for ticket in group.tickets]
            )

    async def save_ticket(self, ticket: TicketDistribution) -> None:
        await self._connection.execute(
            update(t.tickets).where(t.tickets.c.id == ticket.id).values(ticket_to_row(ticket))
        )

    async def find_ticket(self, ticket_id: str, organisation_id: int) -> TicketDistribution | None:
        row = (
            (
                await self._connection.execute(
                    select(t.tickets)
                    .join(t.orders, t.orders.c.id == t.tickets.c.order_id)
                    .where(
                        t.tickets.c.id == ticket_id,
                        t.orders.c.organisation_id == organisation_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        return ticket_from_row(row) if row else None

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[TicketDistribution]:
        joined = t.tickets.join(t.orders, t.orders.c.id == t.tickets.c.order_id)
        condition = (t.orders.c.organisation_id == organisation_id) & where_clause(
            query.filters, TICKET_FILTER_COLUMNS
        )
        return await fetch_page(
            self._connection, t.tickets, joined, condition, page, ticket_from_row
        )


class SqlReceiptRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, receipt: Receipt) -> None:
        await self._connection.execute(insert(t.receipts).values(receipt_to_row(receipt)))

    async def get(self, receipt_id: str) -> Receipt | None:
        row = (
            (
                await self._connection.execute(
                    select(t.receipts).where(t.receipts.c.id == receipt_id)
                )
            )
            .mappings()
            .first()
        )
        return receipt_from_row(row) if row else None

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[Receipt]:
        joined = t.receipts.join(t.orders, t.orders.c.id == t.receipts.c.order_id)
        condition = (t.orders.c.organisation_id == organisation_id) & where_clause(
            query.filters, RECEIPT_FILTER_COLUMNS
        )
        return await fetch_page(
            self._connection, t.receipts, joined, condition, page, receipt_from_row
        )
