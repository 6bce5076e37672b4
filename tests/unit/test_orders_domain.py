from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.money import PriceWithTax
from sales_api.domain.orders import (
    DRAFT_HOLD,
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
    validate_travellers,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _line(price: str, status: OrderLineStatus = OrderLineStatus.DRAFT, travellers=("t1",)):  # type: ignore[no-untyped-def]
    return OrderLine(
        id=f"L{price}{status.value}",
        order_id="O1",
        status=status,
        product=ProductSnapshot("P1", "Flex", FareClass.STANDARD_CLASS, True, True),
        travel=TravelSpecification(
            "SJ1",
            StopPlaceRef("A", "Oslo S"),
            StopPlaceRef("B", "Bergen"),
            NOW + timedelta(days=1),
            NOW + timedelta(days=1, hours=7),
        ),
        traveller_ids=tuple(travellers),
        price=PriceWithTax.including_vat(Decimal(price), "NOK"),
        created_at=NOW,
    )


def _order(**kwargs) -> Order:  # type: ignore[no-untyped-def]
    return Order(
        id="O1",
        organisation_id=1,
        currency="NOK",
        pos="pos",
        distribution_channel_id="ch",
        created_at=NOW,
        **kwargs,
    )


def test_an_order_without_lines_costs_nothing() -> None:
    order = _order()
    assert (order.total_amount, order.total_tax_amount, order.balance) == (0, 0, 0)


def test_totals_sum_active_lines_and_their_per_line_vat() -> None:
    order = _order(
        lines=[
            _line("723.00"),
            _line("723.00", OrderLineStatus.CONFIRMED),
            _line("500.00", OrderLineStatus.CANCELLED),
            _line("100.00", OrderLineStatus.REFUNDED),
        ]
    )
    assert order.total_amount == Decimal("1446.00")
    # VAT per line (77.46 twice), not of the sum (154.93): the order's tax is the sum of lines.
    assert order.total_tax_amount == Decimal("154.92")


def test_balance_is_total_minus_captured_plus_credited() -> None:
    order = _order(
        lines=[_line("1000.00")],
        captured_amount=Decimal("1000.00"),
        credited_amount=Decimal("250.00"),
    )
    assert order.balance == Decimal("250.00")


def test_expected_version_mismatch_is_a_version_conflict() -> None:
    order = _order(version=3)
    order.check_version(3)
    order.check_version(None)
    with pytest.raises(SalesError) as caught:
        order.check_version(2)
    assert caught.value.code is ErrorCode.VERSION_CONFLICT


def test_new_travellers_on_a_confirmed_order_start_a_new_draft_version() -> None:
    order = _order(status=OrderStatus.CONFIRMED, travellers=[Traveller("t1", UserType.ADULT)])
    order.update_details(
        NOW, travellers=[Traveller("t1", UserType.ADULT), Traveller("t2", UserType.CHILD)]
    )
    assert (order.version, order.status) == (2, OrderStatus.DRAFT)
    assert order.expire_at == NOW + DRAFT_HOLD


def test_contact_info_on_a_confirmed_order_keeps_the_version() -> None:
    order = _order(status=OrderStatus.CONFIRMED)
    order.update_details(NOW, contact_info=ContactInfo(email="kari@example.no"))
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert order.contact_info == ContactInfo(email="kari@example.no")


def test_same_travellers_again_change_nothing() -> None:
    order = _order(status=OrderStatus.CONFIRMED, travellers=[Traveller("t1", UserType.ADULT)])
    order.update_details(NOW, travellers=[Traveller("t1", UserType.ADULT)])
    assert order.version == 1


def test_a_cancelled_order_cannot_be_changed() -> None:
    order = _order(status=OrderStatus.CANCELLED)
    with pytest.raises(SalesError) as caught:
        order.update_details(NOW, external_reference="x")
    assert caught.value.code is ErrorCode.INVALID_STATE


def test_a_traveller_on_an_active_line_cannot_be_removed() -> None:
    order = _order(travellers=[Traveller("t1", UserType.ADULT)], lines=[_line("10.00")])
    with pytest.raises(SalesError) as caught:
        order.update_details(NOW, travellers=[Traveller("t2", UserType.ADULT)])
    assert caught.value.code is ErrorCode.VALIDATION_FAILED


def test_a_traveller_only_on_a_cancelled_line_may_go() -> None:
    order = _order(
        travellers=[Traveller("t1", UserType.ADULT)],
        lines=[_line("10.00", OrderLineStatus.CANCELLED)],
    )
    order.update_details(NOW, travellers=[])
    assert order.travellers == []


@pytest.mark.parametrize(
    "travellers",
    [
        [Traveller("t1", UserType.ADULT), Traveller("t1", UserType.CHILD)],
        [Traveller("", UserType.ADULT)],
        [Traveller("has space", UserType.ADULT)],
        [Traveller(str(i), UserType.ADULT) for i in range(51)],
    ],
)
def test_bad_travellers_are_refused_with_a_path(travellers: list[Traveller]) -> None:
    with pytest.raises(SalesError) as caught:
        validate_travellers(travellers)
    assert caught.value.code is ErrorCode.VALIDATION_FAILED
    assert caught.value.path is not None and caught.value.path[:2] == ["input", "travellers"]


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        (ContactInfo(email="not-an-email"), "email"),
        (ContactInfo(phone_number="call me"), "phoneNumber"),
        (ContactInfo(name="x" * 201), "name"),
        (ContactInfo(name="bell\x07"), "name"),
    ],
)
def test_bad_contact_info_is_refused(contact: ContactInfo, field: str) -> None:
    with pytest.raises(SalesError) as caught:
        contact.validated(["input", "contactInfo"])
    assert caught.value.path == ["input", "contactInfo", field]


def test_contact_info_is_trimmed() -> None:
    assert ContactInfo(" Kari ", " kari@example.no ", "+47 912 34 567").validated([]) == (
        ContactInfo("Kari", "kari@example.no", "+47 912 34 567")
    )
