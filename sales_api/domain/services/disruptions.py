"""Disruptions: a dated service journey no longer run, and its travellers rebooked."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.catalogue import Catalogue, Segment
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.order_changes import check_rebooking, chosen_lines, rebook
from sales_api.domain.orders import (
    OrderLine,
    OrderLineStatus,
    Reservation,
    ReservationStatus,
    SeatAssignment,
    TravelSpecification,
)
from sales_api.domain.ports import ReferenceData, UnitOfWork, UnitOfWorkFactory
from sales_api.domain.seating import SeatKey, allocate, overlaps
from sales_api.domain.services import idempotency
from sales_api.domain.services.credits import disable_tickets
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.order_changes import (
    Changed,
    locked_order,
)
from sales_api.domain.services.orders import ensure_channel_allowed

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class DisruptServiceJourney:
    service_journey_id: str
    reason: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Disrupted:
    service_journey_id: str
    affected_order_ids: tuple[str, ...]


async def disrupt_service_journey(
    uow_factory: UnitOfWorkFactory,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    command: DisruptServiceJourney,
) -> Disrupted:
    """The journey is disrupted for everyone: no longer offered or reserved, its lines may
    be refunded at no fee, exchanged without fee or rebooked. Every order with a CONFIRMED
    line on it gets a SERVICE_JOURNEY_DISRUPTED event; the caller is answered its own."""
    if Permission.SALES_DISRUPTIONS.value not in caller.permissions:
        raise SalesError(
            ErrorCode.PERMISSION_DENIED,
            f"The access token lacks the permission {Permission.SALES_DISRUPTIONS.value!r}",
        )
    reason = command.reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed(
            f"Give a reason of 1 to {MAX_REASON} characters", ["input", "reason"]
        )
    catalogue = await reference.catalogue()
    journey_id = command.service_journey_id
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        if catalogue.journey(journey_id) is None:
            raise NotFound("Service journey", ["input", "serviceJourneyId"])

        async def work(_earlier: Result | None) -> Result:
            # Under the journey's lock: a reservation on it either committed before (and
            # its lines are marked now) or sees the disruption and is refused.
            await uow.seats.lock_journey(journey_id)
            first = await uow.disruptions.disrupt(
                journey_id, reason, caller.organisation_id, caller.client_id, now
            )
            if first:
                for order_id in await uow.orders.with_confirmed_line_on(journey_id, None):
                    order = await uow.orders.get_for_update(order_id, None)
                    assert order is not None
                    uow.events.add(
                        order_event(
                            order,
                            Event.SERVICE_JOURNEY_DISRUPTED,
                            caller if order.organisation_id == caller.organisation_id else None,
                            now,
                            journey_id,
                        )
                    )
            mine = await uow.orders.with_confirmed_line_on(journey_id, caller.organisation_id)
            return {"serviceJourneyId": journey_id, "affectedOrderIds": mine}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "disruptServiceJourney", command, now, work
        )
        await uow.commit()
    affected = done.result["affectedOrderIds"]
    assert isinstance(affected, list)
    return Disrupted(str(done.result["serviceJourneyId"]), tuple(str(i) for i in affected))


@dataclass(frozen=True, slots=True)
class RebookLines:
    order_id: str
    order_line_ids: tuple[str, ...]
    to_service_journey_id: str
    idempotency_key: str
    expected_version: int | None = None


async def rebook_disrupted_order_lines(
    uow_factory: UnitOfWorkFactory,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    command: RebookLines,
) -> Changed:
    """Lines of a disrupted journey moved, with no payment, to another dated journey
    between the same stops, same product and fare class, seats allocated under that
    journey's lock: a new CONFIRMED version, the old lines' seats released and tickets
    disabled."""
    caller.require(Permission.SALES_WRITE)
    catalogue = await reference.catalogue()
    target_id = command.to_service_journey_id
    target_path = ["input", "toServiceJourneyId"]
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)

        async def work(_earlier: Result | None) -> Result:
            if catalogue.journey(target_id) is None:
                raise NotFound("Service journey", target_path)
            await uow.seats.lock_journey(target_id)
            await uow.seats.release_expired(target_id, now)
            if await uow.disruptions.disrupted_among([target_id]):
                raise SalesError(
                    ErrorCode.SERVICE_JOURNEY_DISRUPTED,
                    f"Service journey {target_id} is disrupted too; choose another",
                    target_path,
                )
            order = await locked_order(uow, caller, command.order_id, command.expected_version)
            old = chosen_lines(order, command.order_line_ids, ["input", "orderLineIds"])
            check_rebooking(order, old)
            new = await _rebooked_lines(uow, catalogue, old, target_id, now)
            rebook(order, old, new, now)
            await uow.orders.save(order)
            disabled = await disable_tickets(uow, order.id, [line.id for line in old])
            subjects = [*(x.id for x in old), *(x.id for x in new)]
            uow.events.add(order_event(order, Event.ORDER_LINES_REBOOKED, caller, now, *subjects))
            if disabled:
                uow.events.add(order_event(order, Event.TICKETS_DISABLED, caller, now, *disabled))
            return {"orderId": order.id}

        done = await idempotency.once(
            uow, caller, command.idempotency_key, "rebookDisruptedOrderLines", command, now, work
        )
        await uow.commit()
    return Changed(str(done.result["orderId"]), done.replayed)


async def _rebooked_lines(
    uow: UnitOfWork, catalogue: Catalogue, old: list[OrderLine], target_id: str, now: datetime
) -> list[OrderLine]:
    journey = catalogue.journey(target_id)
    assert journey is not None
    by_span: dict[tuple[str, str, str], list[OrderLine]] = defaultdict(list)
    for line in old:
        key = (line.travel.origin.id, line.travel.destination.id, line.product.fare_class.value)
        by_span[key].append(line)
    new: list[OrderLine] = []
    chosen: list[tuple[tuple[int, int], SeatKey]] = []
    for (origin, destination, _), lines in by_span.items():
        segment = journey.segment(origin, destination)
        if segment is None:
            raise ValidationFailed(
                f"Service journey {target_id} does not run from {origin} to {destination}",
                ["input", "toServiceJourneyId"],
            )
        if segment.departure_time <= now:
            raise ValidationFailed(
                f"Service journey {target_id} has left", ["input", "toServiceJourneyId"]
            )
        span = (segment.from_index, segment.to_index)
        taken = await uow.seats.taken(target_id, *span, now)
        taken |= {k for s, k in chosen if overlaps(s, span)}
        keys = allocate(segment, lines[0].product.fare_class, len(lines), taken)
        chosen.extend((span, k) for k in keys)
        new.extend(_moved(line, segment, k, now) for line, k in zip(lines, keys, strict=True))
    return new


def _moved(line: OrderLine, segment: Segment, seat: SeatKey, now: datetime) -> OrderLine:
    """A CONFIRMED copy of the line on the segment, at its price (the difference waived)."""
    line_id = new_id()
    travel = TravelSpecification(
        segment.journey.id,
        line.travel.origin,
        line.travel.destination,
        segment.departure_time,
        segment.arrival_time,
    )
    moved = OrderLine(
        id=line_id,
        order_id=line.order_id,
        status=OrderLineStatus.CONFIRMED,
        product=line.product,
        travel=travel,
        traveller_ids=line.traveller_ids,
        price=line.price,
        created_at=now,
    )
    moved.reservation = Reservation(
        id=new_id(),
        order_id=line.order_id,
        order_line_id=line_id,
        status=ReservationStatus.CONFIRMED,
        service_journey_id=segment.journey.id,
        origin=line.travel.origin,
        destination=line.travel.destination,
        from_index=segment.from_index,
        to_index=segment.to_index,
        created_at=now,
        seats=[SeatAssignment(seat[0], seat[1], line.traveller_ids[0] if line.traveller_ids
                              else None)],
    )  # fmt: skip
    return moved
