"""Rows <-> domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sales_api.domain.money import PriceWithTax, from_minor_units, to_minor_units
from sales_api.domain.orders import (
    ConfirmedState,
    ContactInfo,
    FareClass,
    Fee,
    FeeType,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    ProductSnapshot,
    Reservation,
    ReservationStatus,
    SeatAssignment,
    StopPlaceRef,
    Traveller,
    TravelSpecification,
    UserType,
)


def _contact_from_row(row: Mapping[Any, Any]) -> ContactInfo | None:
    if row["contact_name"] or row["contact_email"] or row["contact_phone"]:
        return ContactInfo(row["contact_name"], row["contact_email"], row["contact_phone"])
    return None


def order_from_row(row: Mapping[Any, Any]) -> Order:
    """The aggregate's own fields; travellers and lines are loaded separately."""
    contact = _contact_from_row(row)
    return Order(
        id=row["id"],
        organisation_id=row["organisation_id"],
        currency=row["currency"],
        pos=row["pos"],
        distribution_channel_id=row["distribution_channel_id"],
        created_at=row["created_at"],
        version=row["version"],
        status=OrderStatus(row["status"]),
        external_reference=row["external_reference"],
        contact_info=contact,
        captured_amount=from_minor_units(row["captured_amount"]),
        credited_amount=from_minor_units(row["credited_amount"]),
        last_confirmed_at=row["last_confirmed_at"],
        expire_at=row["expire_at"],
        confirmed_state=confirmed_state_from_json(row["confirmed_state"]),
        draft_started_at=row["draft_started_at"],
    )


def order_to_row(order: Order) -> dict[str, Any]:
    contact = order.contact_info or ContactInfo()
    return {
        "id": order.id,
        "organisation_id": order.organisation_id,
        "version": order.version,
        "status": order.status.value,
        "currency": order.currency,
        "pos": order.pos,
        "distribution_channel_id": order.distribution_channel_id,
        "external_reference": order.external_reference,
        "contact_name": contact.name,
        "contact_email": contact.email,
        "contact_phone": contact.phone_number,
        # Derived totals are stored too, so that filters and sorting run in SQL.
        "total_amount": to_minor_units(order.total_amount),
        "total_tax_amount": to_minor_units(order.total_tax_amount),
        "balance": to_minor_units(order.balance),
        "captured_amount": to_minor_units(order.captured_amount),
        "credited_amount": to_minor_units(order.credited_amount),
        "created_at": order.created_at,
        "last_confirmed_at": order.last_confirmed_at,
        "expire_at": order.expire_at,
        "confirmed_state": confirmed_state_to_json(order.confirmed_state),
        "draft_started_at": order.draft_started_at,
    }


def traveller_from_row(row: Mapping[Any, Any]) -> Traveller:
    return Traveller(row["traveller_id"], UserType(row["user_type"]), row["name"])


def traveller_rows(order_id: str, travellers: Sequence[Traveller]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "traveller_id": t.id,
            "position": position,
            "user_type": t.user_type.value,
            "name": t.name,
        }
        for position, t in enumerate(travellers)
    ]


def line_from_row(row: Mapping[Any, Any]) -> OrderLine:
    return OrderLine(
        id=row["id"],
        order_id=row["order_id"],
        status=_LINE_STATUS[row["status"]],
        product=product_snapshot(
            row["product_id"],
            row["product_name"],
            row["fare_class"],
            row["refundable"],
            row["changeable"],
            row["change_fee"],
        ),
        travel=TravelSpecification(
            service_journey_id=row["service_journey_id"],
            origin=stop_place_ref(row["from_stop_id"], row["from_stop_name"]),
            destination=stop_place_ref(row["to_stop_id"], row["to_stop_name"]),
            departure_time=row["departure_time"],
            arrival_time=row["arrival_time"],
            disrupted=bool(row["disrupted"]),
        ),
        traveller_ids=tuple(row["traveller_ids"]),
        price=price_with_tax(
            row["price_amount"], row["tax_amount"], row["tax_rate_basis_points"], row["currency"]
        ),
        created_at=row["created_at"],
    )


# Rows of a page repeat the same few stops, products and prices hundreds of times. These
# value objects are immutable (frozen), so one instance per distinct value is shared.
_LINE_STATUS = {status.value: status for status in OrderLineStatus}
_RESERVATION_STATUS = {status.value: status for status in ReservationStatus}


@lru_cache(maxsize=4096)
def stop_place_ref(stop_id: str, name: str) -> StopPlaceRef:
    return StopPlaceRef(stop_id, name)


@lru_cache(maxsize=4096)
def product_snapshot(
    product_id: str,
    name: str,
    fare_class: str,
    refundable: bool,
    changeable: bool,
    change_fee: int = 0,
) -> ProductSnapshot:
    return ProductSnapshot(
        id=product_id,
        name=name,
        fare_class=FareClass(fare_class),
        refundable=bool(refundable),
        changeable=bool(changeable),
        change_fee=from_minor_units(change_fee),
    )


@lru_cache(maxsize=16384)
def price_with_tax(amount: int, tax: int, rate_basis_points: int, currency: str) -> PriceWithTax:
    return PriceWithTax(
        amount=from_minor_units(amount),
        tax_amount=from_minor_units(tax),
        tax_rate=Decimal(rate_basis_points) / 100,
        currency=currency,
    )


def line_to_row(line: OrderLine, position: int) -> dict[str, Any]:
    return {
        "id": line.id,
        "order_id": line.order_id,
        "position": position,
        "status": line.status.value,
        "product_id": line.product.id,
        "product_name": line.product.name,
        "fare_class": line.product.fare_class.value,
        "refundable": line.product.refundable,
        "changeable": line.product.changeable,
        "change_fee": to_minor_units(line.product.change_fee),
        "disrupted": line.travel.disrupted,
        "service_journey_id": line.travel.service_journey_id,
        "from_stop_id": line.travel.origin.id,
        "from_stop_name": line.travel.origin.name,
        "to_stop_id": line.travel.destination.id,
        "to_stop_name": line.travel.destination.name,
        "departure_time": line.travel.departure_time,
        "arrival_time": line.travel.arrival_time,
        "traveller_ids": list(line.traveller_ids),
        "price_amount": to_minor_units(line.price.amount),
        "tax_amount": to_minor_units(line.price.tax_amount),
        "tax_rate_basis_points": int(line.price.tax_rate * 100),
        "currency": line.price.currency,
        "created_at": line.created_at,
    }


def reservation_from_row(row: Mapping[Any, Any]) -> Reservation:
    return Reservation(
        id=row["id"],
        order_id=row["order_id"],
        order_line_id=row["order_line_id"],
        status=_RESERVATION_STATUS[row["status"]],
        service_journey_id=row["service_journey_id"],
        origin=stop_place_ref(row["from_stop_id"], row["from_stop_name"]),
        destination=stop_place_ref(row["to_stop_id"], row["to_stop_name"]),
        from_index=row["from_index"],
        to_index=row["to_index"],
        created_at=row["created_at"],
        seats=[
            SeatAssignment(int(s["car"]), str(s["seat"]), s.get("traveller")) for s in row["seats"]
        ],
        expire_at=row["expire_at"],
    )


def reservation_to_row(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "order_id": reservation.order_id,
        "order_line_id": reservation.order_line_id,
        "status": reservation.status.value,
        "service_journey_id": reservation.service_journey_id,
        "from_stop_id": reservation.origin.id,
        "from_stop_name": reservation.origin.name,
        "to_stop_id": reservation.destination.id,
        "to_stop_name": reservation.destination.name,
        "from_index": reservation.from_index,
        "to_index": reservation.to_index,
        "seats": [
            {"car": s.car_number, "seat": s.seat_number, "traveller": s.traveller_id}
            for s in reservation.seats
        ],
        "expire_at": reservation.expire_at,
        "created_at": reservation.created_at,
    }


def confirmed_state_to_json(state: ConfirmedState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "version": state.version,
        "travellers": [[t.id, t.user_type.value, t.name] for t in state.travellers],
        "lines": {k: v.value for k, v in state.line_statuses.items()},
        "reservations": {k: v.value for k, v in state.reservation_statuses.items()},
        "fees": sorted(state.fee_ids),
    }


def confirmed_state_from_json(data: dict[str, Any] | None) -> ConfirmedState | None:
    if not data:
        return None
    return ConfirmedState(
        version=int(data["version"]),
        travellers=tuple(Traveller(i, UserType(u), n) for i, u, n in data["travellers"]),
        line_statuses={k: OrderLineStatus(v) for k, v in data["lines"].items()},
        reservation_statuses={k: ReservationStatus(v) for k, v in data["reservations"].items()},
        fee_ids=frozenset(data.get("fees", ())),
    )


def fee_from_row(row: Mapping[Any, Any]) -> Fee:
    return Fee(
        id=row["id"],
        order_id=row["order_id"],
        order_version=row["order_version"],
        type=FeeType(row["type"]),
        price=price_with_tax(
            row["amount"], row["tax_amount"], row["tax_rate_basis_points"], row["currency"]
        ),
        description=row["description"],
        created_at=row["created_at"],
        active=bool(row["active"]),
    )


def fee_to_row(fee: Fee, position: int) -> dict[str, Any]:
    return {
        "id": fee.id,
        "order_id": fee.order_id,
        "position": position,
        "order_version": fee.order_version,
        "type": fee.type.value,
        "amount": to_minor_units(fee.price.amount),
        "tax_amount": to_minor_units(fee.price.tax_amount),
        "tax_rate_basis_points": int(fee.price.tax_rate * 100),
        "currency": fee.price.currency,
        "description": fee.description,
        "created_at": fee.created_at,
        "active": fee.active,
    }
