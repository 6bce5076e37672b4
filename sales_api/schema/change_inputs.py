"""Inputs and payloads of the after-sale changes (after-sale.graphql): exchange, partial
cancellation, longer holds, fees, compensation and disruptions."""

from __future__ import annotations

from typing import Any

import strawberry

from sales_api.domain.orders import FeeType
from sales_api.schema.descriptions import IDEMPOTENCY_KEY, idempotency_key_field
from sales_api.schema.sale_types import SeatRequestInput
from sales_api.schema.scalars import Amount
from sales_api.schema.types import SalesErrorType

ORDER = "The order's id."
EXPECTED_VERSION = "Refuse with VERSION_CONFLICT unless the order is at this version."
REQUIRED_KEY = "Required. " + IDEMPOTENCY_KEY


def _expected_version() -> Any:
    return strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.input(name="ExchangeOrderLinesInput")
class ExchangeOrderLinesInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()
    order_line_ids: list[strawberry.ID] = strawberry.field(
        description=(
            "Lines to replace; together they must cover exactly the travellers of the offer."
        )
    )
    offer_id: strawberry.ID = strawberry.field(
        description="An offer (from offers) for the new journey, for the same travellers."
    )
    seats: list[SeatRequestInput] | None = strawberry.field(
        default=None, description="Specific seats on the new journey; allocated when absent."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="CancelOrderLinesInput")
class CancelOrderLinesInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()
    order_line_ids: list[strawberry.ID] = strawberry.field(
        description="Unpaid lines of the current DRAFT version; their seats are freed at once."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="ExtendOrderExpiryInput")
class ExtendOrderExpiryInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()


@strawberry.input(name="AddFeeInput")
class AddFeeInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()
    type: FeeType = strawberry.field(
        description="BOOKING or MANUAL; the other types come from the rules."
    )
    amount: Amount = strawberry.field(
        description="Above 0.00, VAT (12 %) included, in the order's currency."
    )
    description: str = strawberry.field(
        description="What the fee is for, 1 to 200 characters; shown on the receipt."
    )
    idempotency_key: str | None = idempotency_key_field()


@strawberry.input(name="CompensateOrderInput")
class CompensateOrderInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()
    amount: Amount = strawberry.field(
        description="Given back to the captured payments; at most what was paid and not yet "
        "credited."
    )
    reason: str = strawberry.field(
        description="Why, 1 to 200 characters; the COMPENSATION fee's description."
    )
    idempotency_key: str = strawberry.field(description=REQUIRED_KEY)


@strawberry.input(name="DisruptServiceJourneyInput")
class DisruptServiceJourneyInput:
    service_journey_id: strawberry.ID = strawberry.field(
        description="The dated service journey, as offers and order lines name it."
    )
    reason: str = strawberry.field(description="Why, 1 to 500 characters.")
    idempotency_key: str = strawberry.field(description=REQUIRED_KEY)


@strawberry.input(name="RebookDisruptedOrderLinesInput")
class RebookDisruptedOrderLinesInput:
    order_id: strawberry.ID = strawberry.field(description=ORDER)
    expected_version: int | None = _expected_version()
    order_line_ids: list[strawberry.ID] = strawberry.field(
        description="Lines on a disrupted service journey."
    )
    to_service_journey_id: strawberry.ID = strawberry.field(
        description=(
            "Another dated service journey between the same stops, same product and fare class."
        )
    )
    idempotency_key: str = strawberry.field(description=REQUIRED_KEY)


@strawberry.type(name="DisruptionPayload")
class DisruptionPayload:
    service_journey_id: strawberry.ID | None
    affected_order_ids: list[strawberry.ID] = strawberry.field(
        description="The caller's orders with a confirmed line on the journey."
    )
    errors: list[SalesErrorType]


__all__ = [
    "AddFeeInput",
    "CancelOrderLinesInput",
    "CompensateOrderInput",
    "DisruptServiceJourneyInput",
    "DisruptionPayload",
    "ExchangeOrderLinesInput",
    "ExtendOrderExpiryInput",
    "RebookDisruptedOrderLinesInput",
]
