"""Reserving offers into order lines with seats, and changing seats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sales_api.domain.after_sale import line_seat_change_blocker
from sales_api.domain.caller import Caller, Permission
from sales_api.domain.catalogue import Catalogue
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.events import OrderEventType as Event
from sales_api.domain.events import order_event
from sales_api.domain.ids import new_id
from sales_api.domain.money import PriceWithTax
from sales_api.domain.offers import Offer
from sales_api.domain.orders import (
    DEFAULT_HOLD,
    HoldRules,
    Order,
    OrderLine,
    OrderLineStatus,
    ProductSnapshot,
    Reservation,
    ReservationStatus,
    SeatAssignment,
    StopPlaceRef,
    Traveller,
    TravelSpecification,
)
from sales_api.domain.ports import ReferenceData, UnitOfWork, UnitOfWorkFactory
from sales_api.domain.seating import SeatKey, SeatRequest, allocate, check_requested, overlaps
from sales_api.domain.services import idempotency
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.orders import ensure_channel_allowed, ensure_no_money_moving

MAX_CONFIGURATIONS = 10


@dataclass(frozen=True, slots=True)
class OfferConfiguration:
    offer_id: str
    selected_traveller_ids: tuple[str, ...] | None = None
    seats: tuple[SeatRequest, ...] | None = None


@dataclass(frozen=True, slots=True)
class ReserveOffers:
    configurations: tuple[OfferConfiguration, ...]
    order_id: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Reserved:
    """What reserveOffers made, by id (the payload is read after the commit)."""

    order_id: str
    line_ids: tuple[str, ...]
    seats_held: int = 0
    replayed: bool = False
    """True when an idempotency key answered an earlier result: nothing was reserved now."""


@dataclass(frozen=True, slots=True)
class OfferPlan:
    offer: Offer
    travellers: tuple[Traveller, ...]
    seats: tuple[SeatRequest, ...] | None
    path: tuple[str, ...]


def plan_configuration(
    catalogue: Catalogue, offer: Offer, conf: OfferConfiguration, path: list[str]
) -> OfferPlan:
    """The travellers and seats an offer configuration asks for, checked against the offer."""
    by_id = {t.traveller.id: t.traveller for t in offer.travellers}
    selected = conf.selected_traveller_ids or tuple(by_id)
    if len(set(selected)) != len(selected) or any(tid not in by_id for tid in selected):
        raise ValidationFailed(
            "selectedTravellerIds must be distinct travellers of the offer",
            [*path, "selectedTravellerIds"],
        )
    if conf.seats is not None:
        if len(conf.seats) != len(selected):
            raise ValidationFailed(
                f"Give one seat per selected traveller ({len(selected)})", [*path, "seats"]
            )
        named = [s.traveller_id for s in conf.seats if s.traveller_id is not None]
        if any(tid not in selected for tid in named) or len(set(named)) != len(named):
            raise ValidationFailed(
                "A seat's travellerId must be a distinct selected traveller", [*path, "seats"]
            )
    return OfferPlan(offer, tuple(by_id[tid] for tid in selected), conf.seats, tuple(path))


async def reserve_offers(
    uow_factory: UnitOfWorkFactory,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    command: ReserveOffers,
    hold: HoldRules = DEFAULT_HOLD,
) -> Reserved:
    """Offers become DRAFT order lines, one per traveller, each with its seat reserved in
    the same transaction. Seats are checked and held under the journey's lock."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    if not 1 <= len(command.configurations) <= MAX_CONFIGURATIONS:
        raise ValidationFailed(
            f"Give 1 to {MAX_CONFIGURATIONS} offer configurations", ["input", "offerConfigurations"]
        )
    catalogue = await reference.catalogue()
    codec = await reference.offer_codec()

    def decode_plans() -> list[OfferPlan]:
        plans: list[OfferPlan] = []
        for index, conf in enumerate(command.configurations):
            path = ["input", "offerConfigurations", str(index)]
            offer = codec.decode(conf.offer_id, catalogue, now, [*path, "offerId"])
            if offer.segment.departure_time <= now:
                raise SalesError(ErrorCode.OFFER_EXPIRED, "The train has left", [*path, "offerId"])
            plans.append(plan_configuration(catalogue, offer, conf, path))
        return plans

    key = command.idempotency_key
    # Without a key, bad offers are refused before any transaction. With one, a retry of a
    # request that succeeded answers its result even after its offers expired.
    plans = decode_plans() if key is None else []
    seats_held = 0
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)

        async def work(_earlier: Result | None) -> Result:
            nonlocal plans, seats_held
            if key is not None:
                plans = decode_plans()
            for journey_id in sorted({p.offer.segment.journey.id for p in plans}):
                await uow.seats.lock_journey(journey_id)
                await uow.seats.release_expired(journey_id, now)
            await ensure_not_disrupted(uow, plans)
            order = await _order_to_extend(uow, caller, command, now)
            currency = plans[0].offer.currency
            if any(p.offer.currency != order.currency for p in plans):
                raise SalesError(
                    ErrorCode.CURRENCY_MISMATCH,
                    f"The order is in {order.currency}; the offer is in {currency}",
                    ["input", "offerConfigurations"],
                )
            lines = await lines_for(uow, order, plans, now)
            order.add_lines(lines, [t for p in plans for t in p.travellers], now, hold)
            if command.order_id is None:
                uow.orders.add(order)
                uow.events.add(order_event(order, Event.ORDER_CREATED, caller, now))
            else:
                await uow.orders.save(order)
            line_ids = [line.id for line in lines]
            uow.events.add(order_event(order, Event.OFFERS_RESERVED, caller, now, *line_ids))
            seats_held = sum(len(line.reservation.seats) for line in lines if line.reservation)
            return {"orderId": order.id, "lineIds": [line.id for line in lines]}

        done = await idempotency.once(uow, caller, key, "reserveOffers", command, now, work)
        await uow.commit()
    return Reserved(
        str(done.result["orderId"]),
        tuple(str(i) for i in done.result["lineIds"]),
        0 if done.replayed else seats_held,
        done.replayed,
    )


async def ensure_not_disrupted(uow: UnitOfWork, plans: Sequence[OfferPlan]) -> None:
    """Checked under the journeys' locks: a disruption committed first is seen."""
    disrupted = await uow.disruptions.disrupted_among(p.offer.segment.journey.id for p in plans)
    for plan in plans:
        if plan.offer.segment.journey.id in disrupted:
            raise SalesError(
                ErrorCode.SERVICE_JOURNEY_DISRUPTED,
                f"Service journey {plan.offer.segment.journey.id} is disrupted; it is no "
                "longer sold",
                [*plan.path, "offerId"],
            )


async def _order_to_extend(
    uow: UnitOfWork, caller: Caller, command: ReserveOffers, now: datetime
) -> Order:
    if command.order_id is None:
        return Order(
            id=new_id(),
            organisation_id=caller.organisation_id,
            currency="NOK",
            pos=caller.pos or "",
            distribution_channel_id=caller.distribution_channel_id or "",
            created_at=now,
        )
    order = await uow.orders.get_for_update(command.order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", ["input", "orderId"])
    order.check_version(command.expected_version)
    order.ensure_changeable()
    order.ensure_not_expired(now)
    await ensure_no_money_moving(uow, order.id)
    return order


async def lines_for(
    uow: UnitOfWork, order: Order, plans: Sequence[OfferPlan], now: datetime
) -> list[OrderLine]:
    """DRAFT lines for the plans, one per traveller, each with its seat held (the journeys
    locked by the caller)."""
    lines: list[OrderLine] = []
    # Seats chosen earlier in this same request count as taken for overlapping segments.
    chosen: list[tuple[str, tuple[int, int], SeatKey]] = []
    for plan in plans:
        segment = plan.offer.segment
        product = plan.offer.product
        span = (segment.from_index, segment.to_index)
        keys: list[SeatKey | None] = [None] * len(plan.travellers)
        if product.seat_reservation_required or plan.seats is not None:
            taken = await uow.seats.taken(segment.journey.id, *span, now)
            taken |= {k for j, s, k in chosen if j == segment.journey.id and overlaps(s, span)}
            if plan.seats is not None:
                ordered = _seats_in_traveller_order(plan)
                keys = list(
                    check_requested(
                        segment, product.fare_class, ordered, taken, [*plan.path, "seats"]
                    )
                )
            else:
                keys = list(allocate(segment, product.fare_class, len(plan.travellers), taken))
            chosen.extend((segment.journey.id, span, k) for k in keys if k is not None)
        prices = {t.traveller.id: t.price for t in plan.offer.travellers}
        for traveller, key in zip(plan.travellers, keys, strict=True):
            line_id = new_id()
            line = OrderLine(
                id=line_id,
                order_id=order.id,
                status=OrderLineStatus.DRAFT,
                product=ProductSnapshot(
                    product.id,
                    product.name,
                    product.fare_class,
                    product.refundable,
                    product.changeable,
                    product.change_fee,
                ),
                travel=TravelSpecification(
                    segment.journey.id,
                    StopPlaceRef(segment.origin.stop_place.id, segment.origin.stop_place.name),
                    StopPlaceRef(
                        segment.destination.stop_place.id, segment.destination.stop_place.name
                    ),
                    segment.departure_time,
                    segment.arrival_time,
                ),
                traveller_ids=(traveller.id,),
                price=PriceWithTax.including_vat(prices[traveller.id], plan.offer.currency),
                created_at=now,
            )
            if key is not None:
                line.reservation = Reservation(
                    id=new_id(),
                    order_id=order.id,
                    order_line_id=line_id,
                    status=ReservationStatus.DRAFT,
                    service_journey_id=segment.journey.id,
                    origin=line.travel.origin,
                    destination=line.travel.destination,
                    from_index=segment.from_index,
                    to_index=segment.to_index,
                    created_at=now,
                    seats=[SeatAssignment(key[0], key[1], traveller.id)],
                )
            lines.append(line)
    return lines


def _seats_in_traveller_order(plan: OfferPlan) -> list[SeatRequest]:
    """Seats named for a traveller go to that traveller; the others in the order given."""
    assert plan.seats is not None
    named = {s.traveller_id: s for s in plan.seats if s.traveller_id is not None}
    unnamed = iter([s for s in plan.seats if s.traveller_id is None])
    return [named.get(t.id) or next(unnamed) for t in plan.travellers]


@dataclass(frozen=True, slots=True)
class ChangeSeats:
    reservation_id: str
    seats: tuple[SeatRequest, ...]


async def change_seats(
    uow_factory: UnitOfWorkFactory,
    reference: ReferenceData,
    clock: Clock,
    caller: Caller,
    command: ChangeSeats,
) -> Reservation:
    """Move a reservation to other free seats; the old seats free only once the new are held."""
    caller.require(Permission.SALES_WRITE)
    now = clock.now()
    catalogue = await reference.catalogue()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        found = await uow.orders.find_reservation_order(
            command.reservation_id, caller.organisation_id
        )
        if found is None:
            raise NotFound("Reservation", ["input", "reservationId"])
        order_id, journey_id = found
        # The journey before the order, as reserveOffers does, so two writers never wait
        # on each other's locks in opposite orders.
        await uow.seats.lock_journey(journey_id)
        await uow.seats.release_expired(journey_id, now)
        order = await uow.orders.get_for_update(order_id, caller.organisation_id)
        assert order is not None
        reservation = next(r for r in order.reservations if r.id == command.reservation_id)
        order.ensure_changeable()
        order.ensure_not_expired(now)
        owner = next(line for line in order.lines if line.id == reservation.order_line_id)
        blocker = line_seat_change_blocker(order, owner, now)
        if blocker and reservation.holds_seats:
            raise SalesError(ErrorCode.INVALID_STATE, blocker, ["input", "reservationId"])
        if not reservation.holds_seats:
            raise SalesError(
                ErrorCode.INVALID_STATE, f"Reservation {reservation.id} is {reservation.status}"
            )
        if len(command.seats) != len(reservation.seats):
            raise ValidationFailed(
                f"Give {len(reservation.seats)} seat(s), one per seat held", ["input", "seats"]
            )
        journey = catalogue.journey(reservation.service_journey_id)
        segment = (
            journey.segment(reservation.origin.id, reservation.destination.id) if journey else None
        )
        if segment is None:
            raise SalesError(ErrorCode.INVALID_STATE, "The journey is no longer in the catalogue")
        line = next(line for line in order.lines if line.id == reservation.order_line_id)
        taken = await uow.seats.taken(
            reservation.service_journey_id,
            reservation.from_index,
            reservation.to_index,
            now,
            excluding=[reservation.id],
        )
        keys = check_requested(
            segment, line.product.fare_class, command.seats, taken, ["input", "seats"]
        )
        travellers = [s.traveller_id for s in reservation.seats]
        reservation.seats = [
            SeatAssignment(car, seat, request.traveller_id or travellers[i])
            for i, ((car, seat), request) in enumerate(zip(keys, command.seats, strict=True))
        ]
        await uow.orders.save(order)
        uow.events.add(order_event(order, Event.SEATS_CHANGED, caller, now, reservation.id))
        await uow.commit()
    return reservation
