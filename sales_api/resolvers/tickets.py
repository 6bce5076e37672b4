"""Resolvers of tickets and receipts."""

from __future__ import annotations

from sales_api.domain.paging import PageRequest
from sales_api.domain.services import receipts as receipt_service
from sales_api.domain.services import tickets as service
from sales_api.domain.tickets import Language, TicketDistributionGroup
from sales_api.resolvers.payloads import answer
from sales_api.schema.context import Info
from sales_api.schema.filters import list_query
from sales_api.schema.ticket_types import (
    DistributeTicketsInput,
    GenerateTicketsInput,
    ReceiptConnection,
    ReceiptFilter,
    SendReceiptInput,
    TicketDistributionConnection,
    TicketDistributionFilter,
    TicketVerificationType,
    group_type,
    receipt_type,
    ticket_type,
)
from sales_api.schema.types import ReceiptPayload, SalesErrorType, TicketDistributionsPayload


def _groups_payload(groups: list[TicketDistributionGroup]) -> TicketDistributionsPayload:
    return TicketDistributionsPayload(
        ticket_distribution_groups=[group_type(g) for g in groups], errors=[]
    )


def _no_groups(errors: list[SalesErrorType]) -> TicketDistributionsPayload:
    return TicketDistributionsPayload(ticket_distribution_groups=[], errors=errors)


async def generate_tickets(info: Info, input: GenerateTicketsInput) -> TicketDistributionsPayload:
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

    return await answer(work, _no_groups)


async def distribute_tickets(
    info: Info, input: DistributeTicketsInput
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

    return await answer(work, _no_groups)


async def verify_ticket(info: Info, ticket_token: str) -> TicketVerificationType:
    context = info.context
    result = await service.verify_ticket(
        context.uow_factory, context.clock, context.ticket_signer, context.caller, ticket_token
    )
    return TicketVerificationType(
        valid=result.valid,
        reason=result.reason,
        ticket_distribution=ticket_type(result.ticket) if result.ticket else None,
    )


async def ticket_distributions(
    info: Info, page: int = 1, per_page: int = 20, filter: TicketDistributionFilter | None = None
) -> TicketDistributionConnection:
    context = info.context
    result = await service.list_tickets(
        context.uow_factory, context.caller, list_query(filter), PageRequest(page, per_page)
    )
    return TicketDistributionConnection(
        items=[ticket_type(t) for t in result.items],
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )


async def send_receipt(info: Info, input: SendReceiptInput) -> ReceiptPayload:
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
        receipt = await receipt_service.send_receipt(
            context.uow_factory, context.clock, context.caller, command
        )
        return ReceiptPayload(receipt=receipt_type(receipt), errors=[])

    return await answer(work, lambda errors: ReceiptPayload(receipt=None, errors=errors))


async def receipts(
    info: Info, page: int = 1, per_page: int = 20, filter: ReceiptFilter | None = None
) -> ReceiptConnection:
    context = info.context
    result = await receipt_service.list_receipts(
        context.uow_factory, context.caller, list_query(filter), PageRequest(page, per_page)
    )
    return ReceiptConnection(
        items=[receipt_type(r) for r in result.items],
        page=result.request.page,
        per_page=result.request.per_page,
        total_items=result.total_items,
        total_pages=result.total_pages,
    )
