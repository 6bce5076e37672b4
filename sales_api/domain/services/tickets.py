"""Tickets: generate for CONFIRMED lines, distribute by APP, PDF or EMAIL, verify."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.order_parts import ContactInfo
from sales_api.domain.orders import Order, OrderLine, OrderLineStatus, OrderStatus
from sales_api.domain.outbox import Attachment, Channel, OutboxMessage
from sales_api.domain.ports import SalesReads, UnitOfWork, UnitOfWorkFactory
from sales_api.domain.services.orders import ensure_channel_allowed
from sales_api.domain.tickets import (
    VALID_AFTER_ARRIVAL,
    VALID_BEFORE_DEPARTURE,
    DistributionMethod,
    Language,
    TicketDistribution,
    TicketDistributionGroup,
    TicketDocument,
    TicketRenderer,
    TicketSigner,
    TicketStatus,
)


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    reason: str | None
    ticket: TicketDistribution | None


async def _confirmed_order(uow: UnitOfWork, caller: Caller, order_id: str) -> Order:
    order = await uow.orders.get_for_update(order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", ["input", "orderId"])
    if order.status is not OrderStatus.CONFIRMED:
        raise SalesError(
            ErrorCode.INVALID_STATE,
            f"Order {order.id} is {order.status.value}; tickets exist for CONFIRMED orders",
            ["input", "orderId"],
        )
    return order


def _claims(order: Order, line: OrderLine, ticket_id: str, traveller_id: str) -> dict[str, object]:
    travel = line.travel
    seats = []
    if line.reservation is not None:
        seats = [f"{s.car_number}:{s.seat_number}" for s in line.reservation.seats
                 if s.traveller_id in (None, traveller_id)]  # fmt: skip
    traveller = next((t for t in order.travellers if t.id == traveller_id), None)
    return {
        "jti": ticket_id,
        "ord": order.id,
        "lin": line.id,
        "trv": traveller_id,
        "utp": traveller.user_type.value if traveller else None,
        "prd": line.product.id,
        "cls": line.product.fare_class.value,
        "sj": travel.service_journey_id,
        "frm": travel.origin.id,
        "to": travel.destination.id,
        "dep": int(travel.departure_time.timestamp()),
        "arr": int(travel.arrival_time.timestamp()),
        "seat": seats,
        "nbf": int((travel.departure_time - VALID_BEFORE_DEPARTURE).timestamp()),
        "exp": int((travel.arrival_time + VALID_AFTER_ARRIVAL).timestamp()),
    }


async def generate_tickets(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    signer: TicketSigner,
    caller: Caller,
    order_id: str,
) -> list[TicketDistributionGroup]:
    """A group per CONFIRMED line and a ticket per traveller on it; again, nothing new."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    await signer.prepare()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _confirmed_order(uow, caller, order_id)
        groups = await uow.tickets.groups_for_order(order.id)
        by_line = {g.order_line_id: g for g in groups}
        made: list[str] = []
        for line in order.lines:
            if line.status is not OrderLineStatus.CONFIRMED or line.id in by_line:
                continue
            group = TicketDistributionGroup(new_id(), order.id, line.id, order.version)
            for traveller_id in line.traveller_ids:
                ticket_id = new_id()
                claims = _claims(order, line, ticket_id, traveller_id)
                group.tickets.append(
                    TicketDistribution(
                        id=ticket_id,
                        group_id=group.id,
                        order_id=order.id,
                        order_line_id=line.id,
                        traveller_id=traveller_id,
                        ticket_token=await signer.sign(claims),
                        valid_from=line.travel.departure_time - VALID_BEFORE_DEPARTURE,
                        valid_to=line.travel.arrival_time + VALID_AFTER_ARRIVAL,
                        created_at=now,
                    )
                )
            await uow.tickets.add_group(group)
            by_line[line.id] = group
            made.extend(t.id for t in group.tickets)
        if made:
            uow.events.add(order_event(order, Event.TICKETS_GENERATED, caller, now, *made))
        await uow.commit()
    active = {line.id for line in order.lines if line.status is OrderLineStatus.CONFIRMED}
    return [g for g in by_line.values() if g.order_line_id in active]


@dataclass(frozen=True, slots=True)
class DistributeTickets:
    order_id: str
    method: DistributionMethod
    email: str | None = None
    language: Language = Language.NOB


async def distribute_tickets(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    renderer: TicketRenderer,
    caller: Caller,
    command: DistributeTickets,
) -> list[TicketDistributionGroup]:
    """APP and PDF mark the tickets DISTRIBUTED; EMAIL also queues their PDFs in the outbox,
    in the same transaction."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    email = None
    if command.method is DistributionMethod.EMAIL:
        if not command.email:
            raise ValidationFailed("An e-mail address is needed for EMAIL", ["input", "email"])
        checked = ContactInfo(email=command.email).validated(["input"])
        email = checked.email
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _confirmed_order(uow, caller, command.order_id)
        groups = await uow.tickets.groups_for_order(order.id)
        live = [t for g in groups for t in g.tickets if t.status is not TicketStatus.DISABLED]
        if not live:
            raise SalesError(
                ErrorCode.INVALID_STATE, "No tickets to distribute; call generateTickets first"
            )
        for ticket in live:
            ticket.status = TicketStatus.DISTRIBUTED
            ticket.distribution_method = command.method
            ticket.distributed_at = now
            await uow.tickets.save_ticket(ticket)
        if email is not None:
            attachments = [
                Attachment(
                    f"ticket-{t.id}.pdf",
                    "application/pdf",
                    renderer.render_pdf(ticket_document(order, t)),
                )
                for t in live
            ]
            subject = "Billetter" if command.language is not Language.ENG else "Tickets"
            uow.outbox.add(
                OutboxMessage(
                    id=new_id(),
                    channel=Channel.EMAIL,
                    recipient=email,
                    subject=f"{subject} {order.id}",
                    body=f"{subject}: {len(live)}\n",
                    created_at=now,
                    attachments=attachments,
                )
            )
        distributed = [t.id for t in live]
        uow.events.add(order_event(order, Event.TICKETS_DISTRIBUTED, caller, now, *distributed))
        await uow.commit()
    return groups


def ticket_document(order: Order, ticket: TicketDistribution) -> TicketDocument:
    line = next(line for line in order.lines if line.id == ticket.order_line_id)
    traveller = next((t for t in order.travellers if t.id == ticket.traveller_id), None)
    seats: tuple[str, ...] = ()
    if line.reservation is not None:
        seats = tuple(
            f"Car {s.car_number}, seat {s.seat_number}"
            for s in line.reservation.seats
            if s.traveller_id in (None, ticket.traveller_id)
        )
    return TicketDocument(
        ticket_id=ticket.id,
        order_id=order.id,
        product_name=line.product.name,
        fare_class=line.product.fare_class.value,
        line_name=line.travel.service_journey_id,
        origin=line.travel.origin.name,
        destination=line.travel.destination.name,
        departure_time=line.travel.departure_time,
        arrival_time=line.travel.arrival_time,
        traveller_type=traveller.user_type.value.capitalize() if traveller else "",
        traveller_name=traveller.name if traveller else None,
        seats=seats,
        price=f"{line.price.amount:.2f} {line.price.currency}",
        valid_from=ticket.valid_from,
        valid_to=ticket.valid_to,
        token=ticket.ticket_token,
    )


async def ticket_pdf(
    reads: SalesReads, renderer: TicketRenderer, caller: Caller, ticket_id: str
) -> bytes | None:
    """The PDF of one of the caller's tickets, or None (another organisation's is absent)."""
    caller.require(Permission.SALES_READ)
    ticket = await reads.ticket(ticket_id)
    if ticket is None:
        return None
    order = await reads.order(ticket.order_id)
    assert order is not None
    return renderer.render_pdf(ticket_document(order, ticket))


async def verify_ticket(
    reads: SalesReads, clock: Clock, signer: TicketSigner, caller: Caller, token: str
) -> Verification:
    caller.require(Permission.SALES_READ)
    claims = await signer.verify(token) if len(token) <= 4096 else None
    if claims is None:
        return Verification(False, "BAD_SIGNATURE", None)
    ticket = await reads.ticket(str(claims.get("jti")))
    if ticket is None:
        return Verification(False, "UNKNOWN", None)
    now: datetime = clock.now()
    if ticket.status is TicketStatus.DISABLED:
        return Verification(False, "DISABLED", ticket)
    if now < ticket.valid_from:
        return Verification(False, "NOT_YET_VALID", ticket)
    if now > ticket.valid_to:
        return Verification(False, "EXPIRED", ticket)
    return Verification(True, None, ticket)
