"""Ticket distribution groups and tickets; receipts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales_api.domain.money import to_minor_units
from sales_api.domain.receipts import Receipt
from sales_api.domain.tickets import (
    DistributionMethod,
    TicketDistribution,
    TicketDistributionGroup,
    TicketStatus,
)
from sales_api.persistence import tables as t


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


class SqlReceiptRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, receipt: Receipt) -> None:
        await self._connection.execute(insert(t.receipts).values(receipt_to_row(receipt)))
