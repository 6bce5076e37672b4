"""Rows <-> domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sales_api.domain.money import PriceWithTax, from_minor_units, to_minor_units
from sales_api.domain.orders import (
    ContactInfo,
    FareClass,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    OrderSummary,
    ProductSnapshot,
    StopPlaceRef,
    Traveller,
    TravelSpecification,
    UserType,
)


def _contact_from_row(row: Mapping[Any, Any]) -> ContactInfo | None:
    if row["contact_name"] or row["contact_email"] or row["contact_phone"]:
        return ContactInfo(row["contact_name"], row["contact_email"], row["contact_phone"])
    return None


def order_summary_from_row(row: Mapping[Any, Any]) -> OrderSummary:
    return OrderSummary(
        id=row["id"],
        organisation_id=row["organisation_id"],
        version=row["version"],
        status=OrderStatus(row["status"]),
        currency=row["currency"],
        pos=row["pos"],
        distribution_channel_id=row["distribution_channel_id"],
        external_reference=row["external_reference"],
        contact_info=_contact_from_row(row),
        total_amount=from_minor_units(row["total_amount"]),
        total_tax_amount=from_minor_units(row["total_tax_amount"]),
        balance=from_minor_units(row["balance"]),
        created_at=row["created_at"],
        last_confirmed_at=row["last_confirmed_at"],
        expire_at=row["expire_at"],
    )


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
        status=OrderLineStatus(row["status"]),
        product=ProductSnapshot(
            id=row["product_id"],
            name=row["product_name"],
            fare_class=FareClass(row["fare_class"]),
            refundable=row["refundable"],
            changeable=row["changeable"],
        ),
        travel=TravelSpecification(
            service_journey_id=row["service_journey_id"],
            origin=StopPlaceRef(row["from_stop_id"], row["from_stop_name"]),
            destination=StopPlaceRef(row["to_stop_id"], row["to_stop_name"]),
            departure_time=row["departure_time"],
            arrival_time=row["arrival_time"],
        ),
        traveller_ids=tuple(row["traveller_ids"]),
        price=PriceWithTax(
            amount=from_minor_units(row["price_amount"]),
            tax_amount=from_minor_units(row["tax_amount"]),
            tax_rate=Decimal(row["tax_rate_basis_points"]) / 100,
            currency=row["currency"],
        ),
        created_at=row["created_at"],
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
