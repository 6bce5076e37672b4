"""Resolvers of tickets and receipts."""

from __future__ import annotations

from typing import Annotated

import strawberry

from sales_api.domain.services import receipts as receipt_service
from sales_api.domain.services import tickets as service
from sales_api.domain.tickets import Language, TicketDistributionGroup
from sales_api.queries.selection import Built
from sales_api.resolvers.pages import FILTER, Page, PerPage, page_of
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.ticket_types import (
    DistributeTicketsInput,
    GenerateTicketsInput,
    ReceiptFilter,
    SendReceiptInput,
    TicketDistributionFilter,
    TicketVerificationType,
)
from sales_api.schema.types import ReceiptPayload, SalesErrorType, TicketDistributionsPayload


def _groups_payload(groups: list[TicketDistributionGroup]) -> TicketDistributionsPayload:
    return TicketDistributionsPayload(group_ids=tuple(g.id for g in groups), errors=[])


def _no_groups(errors: list[SalesErrorType]) -> TicketDistributionsPayload:
    return TicketDistributionsPayload(group_ids=(), errors=errors)


async def generate_tickets(
    info: Info,
    input: Annotated[GenerateTicketsInput, strawberry.argument(description="The CONFIRMED order.")],
) -> TicketDistributionsPayload:
    context = info.context

    async def work() -> TicketDistributionsPayload:
        groups = await service.generate_tickets(
            context.uow_factory,
            context.clock,
            context.ticket_signer,
            context.caller,
            str(input.order_id),
        )
        return _groups_payload(groups)

    return await answer(info, work, _no_groups)


async def distribute_tickets(
    info: Info,
    input: Annotated[
        DistributeTicketsInput, strawberry.argument(description="The order and the channel.")
    ],
) -> TicketDistributionsPayload:
    context = info.context

    async def work() -> TicketDistributionsPayload:
        command = service.DistributeTickets(
            order_id=str(input.order_id),
            method=input.distribution_method,
            email=input.email,
            language=input.language or Language.NOB,
        )
        groups = await service.distribute_tickets(
            context.uow_factory, context.clock, context.ticket_renderer, context.caller, command
        )
        return _groups_payload(groups)

    return await answer(info, work, _no_groups)


async def verify_ticket(
    info: Info,
    ticket_token: Annotated[
        str,
        strawberry.argument(
            description="The ticket's compact JWS (ticketToken, or the QR code's text);"
            " at most 4096 characters."
        ),
    ],
) -> TicketVerificationType:
    context = info.context
    result = await service.verify_ticket(
        context.reader, context.clock, context.ticket_signer, context.caller, ticket_token
    )
    return TicketVerificationType(
        valid=result.valid,
        reason=result.reason,
        ticket_id=result.ticket.id if result.ticket else None,
    )


async def ticket_distributions(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[
        TicketDistributionFilter | None, strawberry.argument(description=FILTER)
    ] = None,
) -> Built:
    return await page_of(info, "TicketDistribution", filter, page, per_page)


async def send_receipt(
    info: Info,
    input: Annotated[
        SendReceiptInput,
        strawberry.argument(description="The order and where to send its receipt."),
    ],
) -> ReceiptPayload:
    context = info.context

    async def work() -> ReceiptPayload:
        command = receipt_service.SendReceipt(
            order_id=str(input.order_id),
            order_version=input.order_version,
            email=input.email,
            phone_number=input.phone_number,
            language=input.language or Language.NOB,
            idempotency_key=input.idempotency_key,
        )
        receipt_id = await receipt_service.send_receipt(
            context.uow_factory, context.clock, context.caller, command
        )
        return ReceiptPayload(receipt_id=receipt_id, errors=[])

    return await answer(info, work, lambda errors: ReceiptPayload(receipt_id=None, errors=errors))


async def receipts(
    info: Info,
    page: Page = 1,
    per_page: PerPage = 20,
    filter: Annotated[ReceiptFilter | None, strawberry.argument(description=FILTER)] = None,
) -> Built:
    return await page_of(info, "Receipt", filter, page, per_page)
