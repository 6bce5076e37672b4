"""Object types of the contract. Leaves are plain attributes, filled once when built."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime
from functools import lru_cache

import strawberry

from sales_api.domain import orders as domain
from sales_api.domain.errors import ErrorCode
from sales_api.domain.money import PriceWithTax
from sales_api.domain.paging import SortDirection
from sales_api.domain.payments import Credit, Payment, payment_refs
from sales_api.domain.receipts import Receipt
from sales_api.domain.tickets import TicketDistribution, TicketDistributionGroup
from sales_api.schema.after_sale_types import RefundType
from sales_api.schema.payment_types import (
    PaymentRefType,
    PaymentType_,
    TransactionType,
    payment_ref_type,
    payment_type,
)
from sales_api.schema.scalars import Amount
from sales_api.schema.ticket_types import (
    ReceiptType,
    TicketDistributionGroupType,
    TicketDistributionType,
    group_type,
    receipt_type,
    ticket_type,
)

# The domain's enums are the schema's enums (strawberry.enum registers the class itself).
SalesErrorCode = strawberry.enum(ErrorCode, name="SalesErrorCode")
OrderStatus = strawberry.enum(domain.OrderStatus, name="OrderStatus")
OrderLineStatus = strawberry.enum(domain.OrderLineStatus, name="OrderLineStatus")
UserType = strawberry.enum(domain.UserType, name="UserType")
FareClass = strawberry.enum(domain.FareClass, name="FareClass")
SortDirectionEnum = strawberry.enum(SortDirection, name="SortDirection")
ReservationStatus = strawberry.enum(domain.ReservationStatus, name="ReservationStatus")


@strawberry.type(name="SalesError")
class SalesErrorType:
    code: ErrorCode
    message: str
    path: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Path of the input field at fault, "
            'e.g. ["input", "offerConfigurations", "0", "offerId"].'
        ),
    )


@strawberry.type(name="PriceWithTax")
class PriceWithTaxType:
    amount: Amount
    tax_amount: Amount
    tax_rate: str = strawberry.field(description='VAT rate in percent, e.g. "12.00".')
    currency: str


@strawberry.type(name="ContactInfo")
class ContactInfoType:
    name: str | None
    email: str | None
    phone_number: str | None


@strawberry.type(name="Traveller")
class TravellerType:
    id: strawberry.ID
    user_type: domain.UserType
    name: str | None


@strawberry.type(name="StopPlace")
class StopPlaceType:
    id: strawberry.ID
    name: str


@strawberry.type(name="FareProduct")
class FareProductType:
    id: strawberry.ID
    name: str
    fare_class: domain.FareClass
    refundable: bool
    changeable: bool


@strawberry.type(name="TravelSpecification")
class TravelSpecificationType:
    service_journey_id: strawberry.ID
    from_: StopPlaceType = strawberry.field(name="from")
    to: StopPlaceType
    departure_time: datetime
    arrival_time: datetime


@strawberry.type(name="SeatAssignment")
class SeatAssignmentType:
    car_number: int
    seat_number: str
    traveller_id: strawberry.ID | None


@strawberry.type(name="Reservation")
class ReservationType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_line_id: strawberry.ID
    status: domain.ReservationStatus
    service_journey_id: strawberry.ID
    from_: StopPlaceType = strawberry.field(name="from")
    to: StopPlaceType
    seats: list[SeatAssignmentType]
    expire_at: datetime | None
    created_at: datetime


@strawberry.type(name="OrderLine")
class OrderLineType:
    id: strawberry.ID
    order_id: strawberry.ID
    status: domain.OrderLineStatus
    product: FareProductType
    travel_specification: TravelSpecificationType
    travellers: list[TravellerType]
    price: PriceWithTaxType
    reservation: ReservationType | None
    ticket_distributions: list[TicketDistributionType]
    created_at: datetime


@strawberry.type(name="Order")
class OrderType:
    id: strawberry.ID
    version: int
    status: domain.OrderStatus
    total_amount: Amount
    total_tax_amount: Amount
    balance: Amount
    currency: str
    organisation_id: int
    pos: str
    distribution_channel_id: str
    external_reference: str | None
    contact_info: ContactInfoType | None
    travellers: list[TravellerType]
    order_lines: list[OrderLineType]
    reservations: list[ReservationType]
    payment_refs: list[PaymentRefType]
    payments: list[PaymentType_]
    ticket_distribution_groups: list[TicketDistributionGroupType]
    receipts: list[ReceiptType]
    created_at: datetime
    last_confirmed_at: datetime | None
    expire_at: datetime | None = strawberry.field(
        description="When unconfirmed changes are discarded and held seats released."
    )


@strawberry.type(name="OrderConnection")
class OrderConnection:
    items: list[OrderType]
    page: int
    per_page: int
    total_items: int
    total_pages: int


@strawberry.type(name="ReservationConnection")
class ReservationConnection:
    items: list[ReservationType]
    page: int
    per_page: int
    total_items: int
    total_pages: int


@strawberry.type(name="OrderPayload")
class OrderPayload:
    order: OrderType | None
    errors: list[SalesErrorType]


# ------------------------------------------------------------------ mapping from the domain


def price_type(price: PriceWithTax) -> PriceWithTaxType:
    return PriceWithTaxType(
        amount=price.amount,
        tax_amount=price.tax_amount,
        tax_rate=f"{price.tax_rate:.2f}",
        currency=price.currency,
    )


def traveller_type(traveller: domain.Traveller) -> TravellerType:
    return TravellerType(
        id=strawberry.ID(traveller.id), user_type=traveller.user_type, name=traveller.name
    )


@lru_cache(maxsize=4096)
def stop_place_type(stop: domain.StopPlaceRef) -> StopPlaceType:
    """Shared, never changed: a page names the same few stops hundreds of times."""
    return StopPlaceType(id=strawberry.ID(stop.id), name=stop.name)


def reservation_type(reservation: domain.Reservation) -> ReservationType:
    return ReservationType(
        id=strawberry.ID(reservation.id),
        order_id=strawberry.ID(reservation.order_id),
        order_line_id=strawberry.ID(reservation.order_line_id),
        status=reservation.status,
        service_journey_id=strawberry.ID(reservation.service_journey_id),
        from_=stop_place_type(reservation.origin),
        to=stop_place_type(reservation.destination),
        seats=[
            SeatAssignmentType(
                car_number=s.car_number,
                seat_number=s.seat_number,
                traveller_id=strawberry.ID(s.traveller_id) if s.traveller_id else None,
            )
            for s in reservation.seats
        ],
        expire_at=reservation.expire_at,
        created_at=reservation.created_at,
    )


def order_line_type(
    line: domain.OrderLine,
    travellers_by_id: dict[str, domain.Traveller],
    reservation: domain.Reservation | None = None,
    tickets: list[TicketDistribution] | None = None,
) -> OrderLineType:
    travel = line.travel
    return OrderLineType(
        id=strawberry.ID(line.id),
        order_id=strawberry.ID(line.order_id),
        status=line.status,
        product=FareProductType(
            id=strawberry.ID(line.product.id),
            name=line.product.name,
            fare_class=line.product.fare_class,
            refundable=line.product.refundable,
            changeable=line.product.changeable,
        ),
        travel_specification=TravelSpecificationType(
            service_journey_id=strawberry.ID(travel.service_journey_id),
            from_=stop_place_type(travel.origin),
            to=stop_place_type(travel.destination),
            departure_time=travel.departure_time,
            arrival_time=travel.arrival_time,
        ),
        travellers=[
            traveller_type(travellers_by_id[tid])
            for tid in line.traveller_ids
            if tid in travellers_by_id
        ],
        price=price_type(line.price),
        reservation=reservation_type(reservation) if reservation else None,
        ticket_distributions=[ticket_type(t) for t in tickets or []],
        created_at=line.created_at,
    )


def order_type(
    order: domain.OrderSummary,
    travellers: list[domain.Traveller],
    lines: list[domain.OrderLine],
    reservations: list[domain.Reservation],
    payments: list[Payment] | None = None,
    groups: list[TicketDistributionGroup] | None = None,
    receipts: list[Receipt] | None = None,
    credits_by_payment: dict[str, list[Credit]] | None = None,
    asked: Container[str] | None = None,
) -> OrderType:
    """The schema view of an order; nested lists come from the aggregate or the loaders.
    With `asked` (the field names the query selects), lists it does not ask for stay empty."""

    def wanted(name: str) -> bool:
        return asked is None or name in asked

    by_id = {t.id: t for t in travellers}
    by_line = {r.order_line_id: r for r in reservations}
    tickets_by_line: dict[str, list[TicketDistribution]] = {}
    for group in groups or []:
        tickets_by_line.setdefault(group.order_line_id, []).extend(group.tickets)
    contact = order.contact_info
    return OrderType(
        id=strawberry.ID(order.id),
        version=order.version,
        status=order.status,
        total_amount=order.total_amount,
        total_tax_amount=order.total_tax_amount,
        balance=order.balance,
        currency=order.currency,
        organisation_id=order.organisation_id,
        pos=order.pos,
        distribution_channel_id=order.distribution_channel_id,
        external_reference=order.external_reference,
        contact_info=ContactInfoType(
            name=contact.name, email=contact.email, phone_number=contact.phone_number
        )
        if contact
        else None,
        travellers=[traveller_type(t) for t in travellers] if wanted("travellers") else [],
        order_lines=[
            order_line_type(line, by_id, by_line.get(line.id), tickets_by_line.get(line.id))
            for line in lines
        ],
        reservations=[reservation_type(r) for r in reservations] if wanted("reservations") else [],
        payment_refs=[payment_ref_type(ref) for ref in payment_refs(payments or [])]
        if wanted("paymentRefs")
        else [],
        payments=[payment_type(p, (credits_by_payment or {}).get(p.id, [])) for p in payments or []]
        if wanted("payments")
        else [],
        ticket_distribution_groups=[group_type(g) for g in groups or []],
        receipts=[receipt_type(r) for r in receipts or []],
        created_at=order.created_at,
        last_confirmed_at=order.last_confirmed_at,
        expire_at=order.expire_at,
    )


def order_aggregate_type(order: domain.Order, payments: list[Payment] | None = None) -> OrderType:
    return order_type(order.summary(), order.travellers, order.lines, order.reservations, payments)


@strawberry.type(name="ReserveOffersPayload")
class ReserveOffersPayload:
    order: OrderType | None
    order_lines: list[OrderLineType]
    reservations: list[ReservationType]
    errors: list[SalesErrorType]


@strawberry.type(name="ReservationPayload")
class ReservationPayload:
    reservation: ReservationType | None
    errors: list[SalesErrorType]


@strawberry.type(name="PaymentPayload")
class PaymentPayload:
    payment: PaymentType_ | None
    errors: list[SalesErrorType]


@strawberry.type(name="TransactionPayload")
class TransactionPayload:
    transaction: TransactionType | None
    payment: PaymentType_ | None
    order: OrderType | None
    errors: list[SalesErrorType]


@strawberry.type(name="TicketDistributionsPayload")
class TicketDistributionsPayload:
    ticket_distribution_groups: list[TicketDistributionGroupType]
    errors: list[SalesErrorType]


@strawberry.type(name="ReceiptPayload")
class ReceiptPayload:
    receipt: ReceiptType | None
    errors: list[SalesErrorType]


@strawberry.type(name="RefundPayload")
class RefundPayload:
    refund: RefundType | None
    order: OrderType | None
    errors: list[SalesErrorType]
