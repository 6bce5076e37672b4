"""Object types of the contract. Leaves are plain attributes, filled once when built."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import strawberry

from sales_api.domain import orders as domain
from sales_api.domain.errors import ErrorCode
from sales_api.domain.paging import SortDirection
from sales_api.queries.selection import Built
from sales_api.schema.after_sale_types import RefundType
from sales_api.schema.event_types import OrderEventObject
from sales_api.schema.payment_types import PaymentRefType, PaymentType_, TransactionType
from sales_api.schema.reads import many_by_ids, one_by_id
from sales_api.schema.scalars import Amount
from sales_api.schema.ticket_types import (
    ReceiptType,
    TicketDistributionGroupType,
    TicketDistributionType,
)

T = TypeVar("T")

# The domain's enums are the schema's enums (strawberry.enum registers the class itself).
SalesErrorCode = strawberry.enum(ErrorCode, name="SalesErrorCode")
OrderStatus = strawberry.enum(domain.OrderStatus, name="OrderStatus")
OrderLineStatus = strawberry.enum(domain.OrderLineStatus, name="OrderLineStatus")
UserType = strawberry.enum(domain.UserType, name="UserType")
FareClass = strawberry.enum(domain.FareClass, name="FareClass")
SortDirectionEnum = strawberry.enum(SortDirection, name="SortDirection")
ReservationStatus = strawberry.enum(domain.ReservationStatus, name="ReservationStatus")
FeeTypeEnum = strawberry.enum(domain.FeeType, name="FeeType")


@strawberry.type(name="SalesError")
class SalesErrorType:
    code: ErrorCode = strawberry.field(
        description=(
            "Stable code to branch on; every code's meaning, and which codes each mutation can"
            " answer, are in the error reference (docs/errors.md) and at the end of each"
            " mutation's description."
        )
    )
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
    disrupted: bool = strawberry.field(
        description="True once the service journey has been disrupted (disruptServiceJourney)."
    )


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


@strawberry.type(name="Fee")
class FeeType:
    id: strawberry.ID
    order_id: strawberry.ID
    order_version: int = strawberry.field(description="The order version the fee was added in.")
    type: domain.FeeType
    amount: Amount = strawberry.field(description="Negative for COMPENSATION.")
    tax_amount: Amount
    currency: str
    description: str
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
    events: list[OrderEventObject] = strawberry.field(
        description="Every event of this order, oldest first."
    )
    fees: list[FeeType] = strawberry.field(
        description=(
            "Fees and compensations of the current version; they count in totalAmount and "
            "totalTaxAmount."
        )
    )
    created_at: datetime
    last_confirmed_at: datetime | None
    expire_at: datetime | None = strawberry.field(
        description="When unconfirmed changes are discarded and held seats released."
    )


@strawberry.type(description="A page of a list: its items and where it stands in the whole.")
class Connection(Generic[T]):
    """Built whole by the read side; every paged list of the API has this shape."""

    items: list[T]
    page: int
    per_page: int
    total_items: int
    total_pages: int


@strawberry.type(name="OrderPayload")
class OrderPayload:
    order_id: strawberry.Private[str | None]
    order: Built | None = strawberry.field(
        graphql_type=OrderType | None, resolver=one_by_id("Order", "order_id")
    )
    errors: list[SalesErrorType]


@strawberry.type(name="ReserveOffersPayload")
class ReserveOffersPayload:
    order_id: strawberry.Private[str | None]
    order_line_ids: strawberry.Private[tuple[str, ...]]
    order: Built | None = strawberry.field(
        graphql_type=OrderType | None, resolver=one_by_id("Order", "order_id")
    )
    order_lines: Built = strawberry.field(
        graphql_type=list[OrderLineType], resolver=many_by_ids("OrderLine", "order_line_ids")
    )
    reservations: Built = strawberry.field(
        graphql_type=list[ReservationType],
        resolver=many_by_ids("Reservation", "order_line_ids", by="order_line_id"),
    )
    errors: list[SalesErrorType]


@strawberry.type(name="ReservationPayload")
class ReservationPayload:
    reservation_id: strawberry.Private[str | None]
    reservation: Built | None = strawberry.field(
        graphql_type=ReservationType | None, resolver=one_by_id("Reservation", "reservation_id")
    )
    errors: list[SalesErrorType]


@strawberry.type(name="PaymentPayload")
class PaymentPayload:
    payment_id: strawberry.Private[str | None]
    payment: Built | None = strawberry.field(
        graphql_type=PaymentType_ | None, resolver=one_by_id("Payment", "payment_id")
    )
    errors: list[SalesErrorType]


@strawberry.type(name="TransactionPayload")
class TransactionPayload:
    transaction_id: strawberry.Private[str | None]
    payment_id: strawberry.Private[str | None]
    order_id: strawberry.Private[str | None]
    transaction: Built | None = strawberry.field(
        graphql_type=TransactionType | None, resolver=one_by_id("Transaction", "transaction_id")
    )
    payment: Built | None = strawberry.field(
        graphql_type=PaymentType_ | None, resolver=one_by_id("Payment", "payment_id")
    )
    order: Built | None = strawberry.field(
        graphql_type=OrderType | None, resolver=one_by_id("Order", "order_id")
    )
    errors: list[SalesErrorType]


@strawberry.type(name="TicketDistributionsPayload")
class TicketDistributionsPayload:
    group_ids: strawberry.Private[tuple[str, ...]]
    ticket_distribution_groups: Built = strawberry.field(
        graphql_type=list[TicketDistributionGroupType],
        resolver=many_by_ids("TicketDistributionGroup", "group_ids"),
    )
    errors: list[SalesErrorType]


@strawberry.type(name="ReceiptPayload")
class ReceiptPayload:
    receipt_id: strawberry.Private[str | None]
    receipt: Built | None = strawberry.field(
        graphql_type=ReceiptType | None, resolver=one_by_id("Receipt", "receipt_id")
    )
    errors: list[SalesErrorType]


@strawberry.type(name="RefundPayload")
class RefundPayload:
    refund_id: strawberry.Private[str | None]
    order_id: strawberry.Private[str | None]
    refund: Built | None = strawberry.field(
        graphql_type=RefundType | None, resolver=one_by_id("Refund", "refund_id")
    )
    order: Built | None = strawberry.field(
        graphql_type=OrderType | None, resolver=one_by_id("Order", "order_id")
    )
    errors: list[SalesErrorType]
