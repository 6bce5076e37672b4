"""Orders WITH order lines, built in the domain and stored through the real unit of work.

The API cannot create order lines yet (reserveOffers comes later), but totals filters,
VAT and nested lists need them. Nothing here writes SQL by hand: the order aggregate is
built with `sales_api.domain.orders` and stored with `uow.orders.add(order)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from starlette.applications import Starlette

from sales_api.domain.ids import new_id
from sales_api.domain.money import PriceWithTax
from sales_api.domain.orders import (
    ContactInfo,
    FareClass,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    ProductSnapshot,
    StopPlaceRef,
    Traveller,
    TravelSpecification,
    UserType,
)
from sales_api.persistence.unit_of_work import SqlUnitOfWorkFactory

APP_CHANNEL = "ENT:DistributionChannel:App"
OSLO = StopPlaceRef("NSR:StopPlace:337", "Oslo S")
BERGEN = StopPlaceRef("NSR:StopPlace:548", "Bergen stasjon")
PRODUCT = ProductSnapshot(
    id="ENT:FareProduct:Standard",
    name="Standard",
    fare_class=FareClass.STANDARD_CLASS,
    refundable=True,
    changeable=True,
)
_LINE_STATUS = {
    OrderStatus.DRAFT: OrderLineStatus.DRAFT,
    OrderStatus.CONFIRMED: OrderLineStatus.CONFIRMED,
    OrderStatus.CANCELLED: OrderLineStatus.CANCELLED,
}


def build_order(
    *,
    organisation_id: int = 1,
    line_prices: Sequence[str | Decimal] = (),
    service_journey_id: str | Sequence[str] = "NSB:ServiceJourney:601",
    created_at: datetime | None = None,
    currency: str = "NOK",
    pos: str = "test-pos",
    channel: str = APP_CHANNEL,
    external_reference: str | None = None,
    status: OrderStatus = OrderStatus.DRAFT,
    captured_amount: str | Decimal | None = None,
    travellers: Sequence[Traveller] | None = None,
    contact_info: ContactInfo | None = None,
    version: int = 1,
) -> Order:
    """An order aggregate with one line per price, each line for one traveller.

    `service_journey_id` is one journey for every line, or one journey per line.
    Lines follow the order's status (CANCELLED orders have CANCELLED lines, which count
    for nothing). A CONFIRMED order is paid in full unless `captured_amount` says otherwise.
    """
    created = created_at or datetime.now(UTC)
    order_id = new_id()
    journeys = (
        [service_journey_id] * len(line_prices)
        if isinstance(service_journey_id, str)
        else list(service_journey_id)
    )
    assert len(journeys) == len(line_prices), "one service journey per line price"
    if travellers is None:
        travellers = [
            Traveller(f"t{index + 1}", UserType.ADULT, f"Traveller {index + 1}")
            for index in range(max(1, len(line_prices)))
        ]
    lines: list[OrderLine] = []
    for index, (price, journey) in enumerate(zip(line_prices, journeys, strict=True)):
        departure = created + timedelta(days=1, hours=index)
        lines.append(
            OrderLine(
                id=new_id(),
                order_id=order_id,
                status=_LINE_STATUS[status],
                product=PRODUCT,
                travel=TravelSpecification(
                    service_journey_id=journey,
                    origin=OSLO,
                    destination=BERGEN,
                    departure_time=departure,
                    arrival_time=departure + timedelta(hours=7),
                ),
                traveller_ids=(travellers[index % len(travellers)].id,),
                price=PriceWithTax.including_vat(Decimal(price), currency),
                created_at=created,
            )
        )
    order = Order(
        id=order_id,
        organisation_id=organisation_id,
        currency=currency,
        pos=pos,
        distribution_channel_id=channel,
        created_at=created,
        version=version,
        status=status,
        external_reference=external_reference,
        contact_info=contact_info,
        travellers=list(travellers),
        lines=lines,
    )
    if captured_amount is not None:
        order.captured_amount = Decimal(captured_amount)
    elif status is OrderStatus.CONFIRMED:
        order.captured_amount = order.total_amount
    if status is OrderStatus.CONFIRMED:
        order.last_confirmed_at = created
    elif status is OrderStatus.DRAFT:
        order.expire_at = created + timedelta(minutes=20)
    return order


async def store_orders(app: Starlette, orders: Sequence[Order]) -> list[Order]:
    """Store the orders in one write transaction through the real unit of work."""
    factory = SqlUnitOfWorkFactory(app.state.engine)
    async with factory(write=True) as uow:
        for order in orders:
            uow.orders.add(order)
        await uow.commit()
    return list(orders)


async def create_order(
    app: Starlette,
    *,
    organisation_id: int = 1,
    line_prices: Sequence[str | Decimal] = (),
    service_journey_id: str | Sequence[str] = "NSB:ServiceJourney:601",
    created_at: datetime | None = None,
    currency: str = "NOK",
    pos: str = "test-pos",
    channel: str = APP_CHANNEL,
    external_reference: str | None = None,
    status: OrderStatus = OrderStatus.DRAFT,
    captured_amount: str | Decimal | None = None,
    travellers: Sequence[Traveller] | None = None,
    contact_info: ContactInfo | None = None,
) -> Order:
    """Build one order with its lines (see `build_order`) and store it."""
    order = build_order(
        organisation_id=organisation_id,
        line_prices=line_prices,
        service_journey_id=service_journey_id,
        created_at=created_at,
        currency=currency,
        pos=pos,
        channel=channel,
        external_reference=external_reference,
        status=status,
        captured_amount=captured_amount,
        travellers=travellers,
        contact_info=contact_info,
    )
    await store_orders(app, [order])
    return order
