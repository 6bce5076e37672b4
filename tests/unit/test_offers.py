"""Offers and the order life cycle without a database.

Offers: priced per traveller, behind a signed id that round-trips, expires after 15 minutes
and is refused when a single character changes or another secret signed it.
Life cycle: confirm at balance 0.00 only; a change to a CONFIRMED order is a new DRAFT
version; reset returns to the confirmed version or cancels; cancel refuses a paid order."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources

import pytest

from sales_api.domain.catalogue import Catalogue, FareProduct, Segment, catalogue_from_document
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.money import PriceWithTax
from sales_api.domain.offers import OFFER_LIFETIME, Offer, OfferCodec, price_offer
from sales_api.domain.orders import (
    DRAFT_HOLD,
    FareClass,
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

SECRET = b"s" * 32
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 28)
JOURNEY = f"DEMO:ServiceJourney:F4-west-0825:{DAY.isoformat()}"
OSLO, HONEFOSS, BERGEN = "NSR:StopPlace:337", "NSR:StopPlace:530", "NSR:StopPlace:548"
PATH = ["input", "offerConfigurations", "0", "offerId"]


@pytest.fixture(scope="module")
def demo() -> Catalogue:
    text = resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    return catalogue_from_document(json.loads(text))


def _segment(catalogue: Catalogue, origin: str = OSLO, destination: str = BERGEN) -> Segment:
    journey = catalogue.journey(JOURNEY)
    assert journey is not None
    found = journey.segment(origin, destination)
    assert found is not None
    return found


def _product(catalogue: Catalogue, product_id: str = "DEMO:FareProduct:Flex") -> FareProduct:
    product = catalogue.product(product_id)
    assert product is not None
    return product


TRAVELLERS = (
    Traveller("a1", UserType.ADULT, "Kari"),
    Traveller("c1", UserType.CHILD),
    Traveller("i1", UserType.INFANT),
)


@pytest.fixture
def offer(demo: Catalogue) -> Offer:
    return price_offer(demo, _product(demo), _segment(demo), TRAVELLERS, "NOK", NOW)


def _code(error: pytest.ExceptionInfo[SalesError]) -> ErrorCode:
    return error.value.code


# ------------------------------------------------------------------ pricing an offer


def test_an_offer_prices_each_traveller_and_expires_in_15_minutes(offer: Offer) -> None:
    assert [t.price for t in offer.travellers] == [
        Decimal("805.50"),
        Decimal("402.75"),
        Decimal("0.00"),
    ]
    assert offer.price == Decimal("1208.25")
    assert offer.expire_at == NOW + OFFER_LIFETIME == NOW + timedelta(minutes=15)


# ------------------------------------------------------------------ the offer id


def test_an_offer_id_round_trips(demo: Catalogue, offer: Offer) -> None:
    codec = OfferCodec(SECRET)
    offer_id = codec.encode(offer)
    back = codec.decode(offer_id, demo, NOW, PATH)
    assert back.product == offer.product
    assert back.segment.journey.id == JOURNEY
    assert (back.segment.from_index, back.segment.to_index) == (0, 6)
    assert back.travellers == offer.travellers
    assert back.price == Decimal("1208.25")
    assert back.currency == "NOK"
    assert back.expire_at == offer.expire_at
    # Still good a moment before it expires.
    codec.decode(offer_id, demo, offer.expire_at - timedelta(seconds=1), PATH)


def test_an_offer_id_is_opaque_url_safe_text(offer: Offer) -> None:
    offer_id = OfferCodec(SECRET).encode(offer)
    allowed = set(string.ascii_letters + string.digits + "-_.")
    assert set(offer_id) <= allowed
    assert "805" not in offer_id and "Flex" not in offer_id


def test_one_character_changed_anywhere_is_no_offer(demo: Catalogue, offer: Offer) -> None:
    codec = OfferCodec(SECRET)
    offer_id = codec.encode(offer)
    alphabet = string.ascii_letters + string.digits + "-_.=+/ "
    accepted: list[tuple[int, str]] = []
    for index, original in enumerate(offer_id):
        for replacement in alphabet:
            if replacement == original:
                continue
            tampered = offer_id[:index] + replacement + offer_id[index + 1 :]
            try:
                codec.decode(tampered, demo, NOW, PATH)
            except SalesError as error:
                assert error.code is ErrorCode.OFFER_NOT_FOUND, (index, replacement)
                assert error.path == PATH
            else:
                accepted.append((index, replacement))
    assert accepted == [], f"{len(offer_id)} characters; tampered ids accepted: {accepted[:10]}"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda oid: oid + "A",
        lambda oid: oid + "=",
        lambda oid: oid[:-1],
        lambda oid: oid.replace(".", ""),
        lambda oid: oid.split(".")[0],
        lambda oid: "." + oid.split(".")[1],
        lambda oid: oid + "." + oid.split(".")[1],
        lambda oid: oid.upper(),
        lambda oid: "",
        lambda oid: ".",
        lambda oid: "not an offer",
        lambda oid: "é.ø",
        lambda oid: "A" * 5000,
    ],
)
def test_mangled_offer_ids_are_no_offer(demo: Catalogue, offer: Offer, mangle: object) -> None:
    codec = OfferCodec(SECRET)
    bad = mangle(codec.encode(offer))  # type: ignore[operator]
    with pytest.raises(SalesError) as raised:
        codec.decode(bad, demo, NOW, PATH)
    assert _code(raised) is ErrorCode.OFFER_NOT_FOUND


def test_an_expired_offer_is_refused(demo: Catalogue, offer: Offer) -> None:
    codec = OfferCodec(SECRET)
    offer_id = codec.encode(offer)
    for later in (offer.expire_at, offer.expire_at + timedelta(days=3)):
        with pytest.raises(SalesError) as raised:
            codec.decode(offer_id, demo, later, PATH)
        assert _code(raised) is ErrorCode.OFFER_EXPIRED
        assert raised.value.path == PATH


def test_an_offer_signed_with_another_secret_is_no_offer(demo: Catalogue, offer: Offer) -> None:
    forged = OfferCodec(b"t" * 32).encode(offer)
    with pytest.raises(SalesError) as raised:
        OfferCodec(SECRET).decode(forged, demo, NOW, PATH)
    assert _code(raised) is ErrorCode.OFFER_NOT_FOUND


def test_a_cheaper_price_cannot_be_forged(demo: Catalogue, offer: Offer) -> None:
    """Rewriting the signed body (here: every traveller an infant) breaks the signature."""
    codec = OfferCodec(SECRET)
    body, _, signature = codec.encode(offer).partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["tr"] = [[tid, "INFANT", name, 0] for tid, _, name, _ in payload["tr"]]
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(SalesError) as raised:
        codec.decode(f"{forged_body}.{signature}", demo, NOW, PATH)
    assert _code(raised) is ErrorCode.OFFER_NOT_FOUND


def test_an_offer_for_a_product_no_longer_sold_is_no_offer(demo: Catalogue, offer: Offer) -> None:
    codec = OfferCodec(SECRET)
    offer_id = codec.encode(offer)
    text = resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    document = json.loads(text)
    document["fareProducts"] = [
        p for p in document["fareProducts"] if p["id"] != "DEMO:FareProduct:Flex"
    ]
    with pytest.raises(SalesError) as raised:
        codec.decode(offer_id, catalogue_from_document(document), NOW, PATH)
    assert _code(raised) is ErrorCode.OFFER_NOT_FOUND


def test_the_signing_secret_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        OfferCodec(b"short")


# ------------------------------------------------------------------ the order life cycle


def _line(
    line_id: str,
    price: str,
    traveller: str,
    *,
    seat: str | None = None,
    status: OrderLineStatus = OrderLineStatus.DRAFT,
) -> OrderLine:
    oslo, bergen = StopPlaceRef(OSLO, "Oslo S"), StopPlaceRef(BERGEN, "Bergen")
    line = OrderLine(
        id=line_id,
        order_id="O1",
        status=status,
        product=ProductSnapshot("P", "Flex", FareClass.STANDARD_CLASS, True, True),
        travel=TravelSpecification(
            JOURNEY, oslo, bergen, NOW + timedelta(days=1), NOW + timedelta(days=1, hours=7)
        ),
        traveller_ids=(traveller,),
        price=PriceWithTax.including_vat(Decimal(price), "NOK"),
        created_at=NOW,
    )
    if seat is not None:
        line.reservation = Reservation(
            id=f"R-{line_id}",
            order_id="O1",
            order_line_id=line_id,
            status=ReservationStatus.DRAFT,
            service_journey_id=JOURNEY,
            origin=oslo,
            destination=bergen,
            from_index=0,
            to_index=6,
            created_at=NOW,
            seats=[SeatAssignment(2, seat, traveller)],
        )
    return line


def _new_order() -> Order:
    return Order(
        id="O1",
        organisation_id=1,
        currency="NOK",
        pos="pos",
        distribution_channel_id="ch",
        created_at=NOW,
    )


def _draft(price: str = "0.00") -> Order:
    order = _new_order()
    order.add_lines([_line("L1", price, "i1", seat="1")], [Traveller("i1", UserType.INFANT)], NOW)
    return order


def _confirmed() -> Order:
    order = _draft("0.00")
    order.confirm(NOW + timedelta(minutes=1))
    return order


def test_add_lines_to_a_new_order_holds_its_seats_for_20_minutes() -> None:
    order = _draft("100.00")
    assert (order.version, order.status) == (1, OrderStatus.DRAFT)
    assert order.expire_at == NOW + DRAFT_HOLD == NOW + timedelta(minutes=20)
    assert order.reservations[0].expire_at == order.expire_at
    assert [t.id for t in order.travellers] == ["i1"]
    assert order.balance == Decimal("100.00")


def test_a_traveller_on_several_lines_is_one_traveller_of_one_user_type() -> None:
    order = _new_order()
    adult = Traveller("a1", UserType.ADULT, "Kari")
    order.add_lines([_line("L1", "10.00", "a1"), _line("L2", "20.00", "a1")], [adult, adult], NOW)
    assert order.travellers == [adult]
    order.add_lines([_line("L3", "5.00", "a1")], [Traveller("a1", UserType.ADULT)], NOW)
    assert order.travellers == [adult]
    with pytest.raises(SalesError) as raised:
        order.add_lines([_line("L4", "0.00", "a1")], [Traveller("a1", UserType.INFANT)], NOW)
    assert _code(raised) is ErrorCode.VALIDATION_FAILED
    assert [line.id for line in order.lines] == ["L1", "L2", "L3"]
    assert order.travellers == [adult]


def test_confirm_refuses_a_balance_other_than_zero() -> None:
    order = _draft("100.00")
    with pytest.raises(SalesError) as raised:
        order.confirm(NOW)
    assert _code(raised) is ErrorCode.INVALID_STATE
    assert order.status is OrderStatus.DRAFT
    assert order.lines[0].status is OrderLineStatus.DRAFT
    # Paid in full, it confirms.
    order.captured_amount = Decimal("100.00")
    order.confirm(NOW)
    assert order.status is OrderStatus.CONFIRMED


def test_confirm_at_zero_confirms_lines_and_reservations() -> None:
    order = _draft("0.00")
    at = NOW + timedelta(minutes=1)
    order.confirm(at)
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert order.last_confirmed_at == at
    assert order.expire_at is None
    assert order.lines[0].status is OrderLineStatus.CONFIRMED
    reservation = order.reservations[0]
    assert reservation.status is ReservationStatus.CONFIRMED
    assert reservation.expire_at is None


def test_confirm_after_expiry_is_refused() -> None:
    order = _draft("0.00")
    assert order.expire_at is not None
    with pytest.raises(SalesError) as raised:
        order.confirm(order.expire_at)
    assert _code(raised) is ErrorCode.ORDER_EXPIRED
    assert order.status is OrderStatus.DRAFT


def test_confirm_leaves_cancelled_lines_cancelled() -> None:
    order = _new_order()
    order.add_lines(
        [
            _line("L1", "0.00", "i1", seat="1"),
            _line("L2", "50.00", "a1", seat="2", status=OrderLineStatus.CANCELLED),
        ],
        [Traveller("i1", UserType.INFANT), Traveller("a1", UserType.ADULT)],
        NOW,
    )
    assert order.lines[1].reservation is not None
    order.lines[1].reservation.status = ReservationStatus.CANCELLED
    order.confirm(NOW)
    assert [line.status for line in order.lines] == [
        OrderLineStatus.CONFIRMED,
        OrderLineStatus.CANCELLED,
    ]
    assert [r.status for r in order.reservations] == [
        ReservationStatus.CONFIRMED,
        ReservationStatus.CANCELLED,
    ]


def test_adding_to_a_confirmed_order_starts_version_2_as_a_draft() -> None:
    order = _confirmed()
    later = NOW + timedelta(hours=1)
    order.add_lines(
        [_line("L2", "0.00", "i2", seat="2")], [Traveller("i2", UserType.INFANT)], later
    )
    assert (order.version, order.status) == (2, OrderStatus.DRAFT)
    assert order.expire_at == later + DRAFT_HOLD
    first, second = order.reservations
    # The confirmed seat stays confirmed and is not put on a clock; the new one is held.
    assert (first.status, first.expire_at) == (ReservationStatus.CONFIRMED, None)
    assert (second.status, second.expire_at) == (ReservationStatus.DRAFT, later + DRAFT_HOLD)
    assert order.last_confirmed_at == NOW + timedelta(minutes=1)
    # A second change to the same draft does not bump the version again.
    order.add_lines([_line("L3", "0.00", "i2")], [], later)
    assert order.version == 2


def test_confirming_version_2_makes_it_the_confirmed_state() -> None:
    order = _confirmed()
    order.add_lines([_line("L2", "0.00", "i2", seat="2")], [Traveller("i2", UserType.INFANT)], NOW)
    order.confirm(NOW + timedelta(minutes=2))
    assert (order.version, order.status) == (2, OrderStatus.CONFIRMED)
    order.add_lines([_line("L3", "0.00", "i3")], [Traveller("i3", UserType.INFANT)], NOW)
    assert order.version == 3
    order.reset()
    assert (order.version, order.status) == (2, OrderStatus.CONFIRMED)
    assert [line.status for line in order.lines] == [
        OrderLineStatus.CONFIRMED,
        OrderLineStatus.CONFIRMED,
        OrderLineStatus.CANCELLED,
    ]


def test_reset_returns_to_the_confirmed_version() -> None:
    order = _confirmed()
    order.add_lines([_line("L2", "200.00", "a2", seat="2")], [Traveller("a2", UserType.ADULT)], NOW)
    assert order.balance == Decimal("200.00")
    order.reset()
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert order.expire_at is None
    assert [line.status for line in order.lines] == [
        OrderLineStatus.CONFIRMED,
        OrderLineStatus.CANCELLED,
    ]
    first, second = order.reservations
    assert first.status is ReservationStatus.CONFIRMED
    assert second.status is ReservationStatus.CANCELLED and not second.holds_seats
    assert second.expire_at is None
    assert [t.id for t in order.travellers] == ["i1"]
    assert order.balance == Decimal("0.00")
    assert order.total_amount == Decimal("0.00")


def test_reset_by_expiry_marks_the_new_reservations_expired() -> None:
    order = _confirmed()
    order.add_lines([_line("L2", "200.00", "a2", seat="2")], [], NOW)
    order.reset(expired=True)
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert [r.status for r in order.reservations] == [
        ReservationStatus.CONFIRMED,
        ReservationStatus.EXPIRED,
    ]


def test_reset_restores_the_travellers_of_the_confirmed_version() -> None:
    order = _confirmed()
    order.update_details(
        NOW,
        travellers=[Traveller("i1", UserType.INFANT), Traveller("x", UserType.ADULT, "New")],
    )
    assert (order.version, order.status) == (2, OrderStatus.DRAFT)
    order.reset()
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert order.travellers == [Traveller("i1", UserType.INFANT)]


def test_reset_of_a_confirmed_order_is_refused_and_changes_nothing() -> None:
    order = _confirmed()
    with pytest.raises(SalesError) as refused:
        order.reset()
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert (order.version, order.status) == (1, OrderStatus.CONFIRMED)
    assert order.lines[0].status is OrderLineStatus.CONFIRMED


def test_reset_of_a_never_confirmed_order_cancels_it() -> None:
    order = _draft("100.00")
    order.reset()
    assert order.status is OrderStatus.CANCELLED
    assert order.version == 1
    assert order.lines[0].status is OrderLineStatus.CANCELLED
    assert order.reservations[0].status is ReservationStatus.CANCELLED
    assert order.expire_at is None
    assert order.balance == Decimal("0.00")


def test_expiry_of_a_never_confirmed_order_cancels_it_with_expired_seats() -> None:
    order = _draft("100.00")
    order.reset(expired=True)
    assert order.status is OrderStatus.CANCELLED
    assert order.reservations[0].status is ReservationStatus.EXPIRED


def test_cancel_releases_every_seat_of_a_draft() -> None:
    order = _draft("100.00")
    order.cancel()
    assert order.status is OrderStatus.CANCELLED
    assert order.lines[0].status is OrderLineStatus.CANCELLED
    assert order.reservations[0].status is ReservationStatus.CANCELLED
    with pytest.raises(SalesError) as raised:
        order.cancel()
    assert _code(raised) is ErrorCode.INVALID_STATE
    with pytest.raises(SalesError) as raised:
        order.add_lines([_line("L2", "1.00", "i1")], [], NOW)
    assert _code(raised) is ErrorCode.INVALID_STATE


def test_cancel_refuses_a_paid_order() -> None:
    order = _draft("100.00")
    order.captured_amount = Decimal("40.00")
    with pytest.raises(SalesError) as raised:
        order.cancel()
    assert _code(raised) is ErrorCode.INVALID_STATE
    assert order.status is OrderStatus.DRAFT
    assert order.lines[0].status is OrderLineStatus.DRAFT


def test_cancel_refuses_a_confirmed_order() -> None:
    order = _confirmed()
    with pytest.raises(SalesError) as raised:
        order.cancel()
    assert _code(raised) is ErrorCode.INVALID_STATE
    assert order.status is OrderStatus.CONFIRMED
