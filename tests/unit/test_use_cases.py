"""The use cases of sales_api/domain/services on the fake unit of work (tests/unit/fakes.py):
orders, seats, payments, idempotency keys, refunds and channels, without a database.

The clock stands still on Friday 27 November 2026 at 10:00 in Oslo; the train sold leaves
Oslo S for Bergen the next morning (DEMO:ServiceJourney:F4-west-0825), so every offer is
still good and every departure still to come."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from sales_api.domain.caller import Caller
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.ids import new_id
from sales_api.domain.offers import price_offer
from sales_api.domain.orders import (
    DRAFT_HOLD,
    ContactInfo,
    Order,
    OrderLineStatus,
    OrderStatus,
    ReservationStatus,
    Traveller,
    UserType,
)
from sales_api.domain.payments import CreditStatus, Payment, PaymentType, TransactionStatus
from sales_api.domain.refunds import RefundStatus
from sales_api.domain.seating import SeatKey, SeatRequest
from sales_api.domain.services.after_sale import RefundOrder, refund_order
from sales_api.domain.services.orders import (
    CreateOrder,
    UpdateOrder,
    create_order,
    update_order,
)
from sales_api.domain.services.payments import (
    CreatePayment,
    CreateTransaction,
    MoneyOutcome,
    TransactionRef,
    capture_transaction,
    create_payment,
    create_transaction,
)
from sales_api.domain.services.reservations import (
    OfferConfiguration,
    Reserved,
    ReserveOffers,
    reserve_offers,
)
from sales_api.provider.simulator import SimulatedPaymentProvider
from tests.unit.fakes import (
    FakeDatabase,
    FakeReferenceData,
    FixedClock,
    channels_of,
    demo_document,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 28)
JOURNEY = f"DEMO:ServiceJourney:F4-west-0825:{DAY.isoformat()}"  # leaves Oslo S 08:25
OSLO, DRAMMEN, HONEFOSS, GOL, BERGEN = (
    "NSR:StopPlace:337",
    "NSR:StopPlace:444",
    "NSR:StopPlace:530",
    "NSR:StopPlace:113",
    "NSR:StopPlace:548",
)
FLEX = "DEMO:FareProduct:Flex"
KARI = Traveller("kari", UserType.ADULT, "Kari")
OLA = Traveller("ola", UserType.ADULT, "Ola")

APP = "ENT:DistributionChannel:App"
WEB = "ENT:DistributionChannel:Web"
EVERYTHING = frozenset({"sales:read", "sales:write", "payments:write", "refunds:write"})


def caller(organisation_id: int = 1, channel: str = APP) -> Caller:
    return Caller(organisation_id, "unit-tests", EVERYTHING, "test-pos", channel, "corr-1")


SELLER = caller()


# ------------------------------------------------------------------ fixtures and steps


@pytest.fixture(scope="module")
def reference() -> FakeReferenceData:
    return FakeReferenceData(demo_document())


@pytest.fixture
def db() -> FakeDatabase:
    """Channels as the demo catalogue seeds them: App for organisations 1 and 2, Web for 1."""
    return FakeDatabase(channels_of(demo_document()))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def provider(clock: FixedClock) -> SimulatedPaymentProvider:
    return SimulatedPaymentProvider(now=clock.now)


async def offer_id(
    reference: FakeReferenceData,
    clock: FixedClock,
    travellers: tuple[Traveller, ...] = (KARI, OLA),
    origin: str = OSLO,
    destination: str = BERGEN,
) -> str:
    """A Flex offer on tomorrow's train, priced and signed as offers() would answer it."""
    catalogue = await reference.catalogue()
    journey = catalogue.journey(JOURNEY)
    product = catalogue.product(FLEX)
    assert journey is not None and product is not None
    segment = journey.segment(origin, destination)
    assert segment is not None
    offer = price_offer(catalogue, product, segment, travellers, "NOK", clock.now())
    return (await reference.offer_codec()).encode(offer)


async def reserve(
    db: FakeDatabase,
    reference: FakeReferenceData,
    clock: FixedClock,
    travellers: tuple[Traveller, ...] = (KARI, OLA),
    origin: str = OSLO,
    destination: str = BERGEN,
    *,
    seats: tuple[SeatRequest, ...] | None = None,
    order_id: str | None = None,
    key: str | None = None,
    who: Caller = SELLER,
) -> Reserved:
    offer = await offer_id(reference, clock, travellers, origin, destination)
    command = ReserveOffers(
        (OfferConfiguration(offer, seats=seats),), order_id=order_id, idempotency_key=key
    )
    return await reserve_offers(db, reference, clock, who, command)


async def pay(
    db: FakeDatabase,
    clock: FixedClock,
    provider: SimulatedPaymentProvider,
    order_id: str,
    token: str = "tok_visa",
) -> MoneyOutcome:
    """The order's balance paid by card: a payment, a transaction, its capture."""
    balance = (await stored_order(db, order_id)).balance
    payment_id = await create_payment(db, clock, SELLER, CreatePayment(order_id))
    created = await create_transaction(
        db, clock, SELLER, CreateTransaction(payment_id, PaymentType.VISA, balance, token)
    )
    assert created.transaction_id is not None
    return await capture_transaction(
        db, clock, provider, SELLER, TransactionRef(created.transaction_id)
    )


async def stored_order(db: FakeDatabase, order_id: str) -> Order:
    """The order as a later unit of work finds it (system work: any organisation's)."""
    async with db() as uow:
        order = await uow.orders.get_for_update(order_id, None)
    assert order is not None
    return order


async def stored_payments(db: FakeDatabase, order_id: str) -> list[Payment]:
    async with db() as uow:
        return await uow.payments.for_order(order_id)


async def held(
    db: FakeDatabase, origin_index: int = 0, to_index: int = 6, at: datetime = NOW
) -> set[SeatKey]:
    """Seats held on tomorrow's train between two of its calls, as a later sale sees them."""
    async with db() as uow:
        return await uow.seats.taken(JOURNEY, origin_index, to_index, at)


def seats_of(order: Order) -> list[SeatKey]:
    return [(s.car_number, s.seat_number) for r in order.reservations for s in r.seats]


def code(refused: pytest.ExceptionInfo[SalesError]) -> ErrorCode:
    return refused.value.code


# ------------------------------------------------------------------ orders


async def test_an_order_is_created_and_updated_and_a_stale_version_changes_nothing(
    db: FakeDatabase, clock: FixedClock
) -> None:
    created = await create_order(
        db, clock, SELLER, CreateOrder("NOK", ContactInfo(email="kari@example.com"), [KARI])
    )
    first = await stored_order(db, created.id)
    assert (first.status, first.version, first.travellers) == (OrderStatus.DRAFT, 1, [KARI])
    assert first.distribution_channel_id == APP

    await update_order(
        db,
        clock,
        SELLER,
        UpdateOrder(created.id, 1, ContactInfo(email="ola@example.com"), [KARI, OLA], "REF-7"),
    )
    updated = await stored_order(db, created.id)
    assert updated.contact_info == ContactInfo(email="ola@example.com")
    assert updated.travellers == [KARI, OLA]
    assert updated.external_reference == "REF-7"

    with pytest.raises(SalesError) as refused:
        await update_order(
            db,
            clock,
            SELLER,
            UpdateOrder(created.id, 2, ContactInfo(email="per@example.com"), [KARI], "REF-8"),
        )
    assert code(refused) is ErrorCode.VERSION_CONFLICT
    assert await stored_order(db, created.id) == updated


async def test_another_organisations_order_is_not_found_and_stays_as_it_was(
    db: FakeDatabase, clock: FixedClock
) -> None:
    created = await create_order(db, clock, SELLER, CreateOrder(travellers=[KARI]))
    before = db.snapshot()
    with pytest.raises(SalesError) as refused:
        await update_order(
            db, clock, caller(organisation_id=2), UpdateOrder(created.id, travellers=[OLA])
        )
    assert code(refused) is ErrorCode.NOT_FOUND
    assert db.snapshot() == before


async def test_organisation_2_may_not_sell_through_the_web_channel(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    web_for_2 = caller(organisation_id=2, channel=WEB)
    with pytest.raises(SalesError) as refused:
        await create_order(db, clock, web_for_2, CreateOrder(travellers=[KARI]))
    assert code(refused) is ErrorCode.DISTRIBUTION_CHANNEL_NOT_ALLOWED
    with pytest.raises(SalesError) as refused:
        await reserve(db, reference, clock, who=web_for_2)
    assert code(refused) is ErrorCode.DISTRIBUTION_CHANNEL_NOT_ALLOWED
    assert db.snapshot().orders == {} and await held(db) == set()

    # The channel is the rule, not the organisation nor the operation: these may.
    await create_order(db, clock, caller(organisation_id=2, channel=APP), CreateOrder())
    await create_order(db, clock, caller(organisation_id=1, channel=WEB), CreateOrder())
    assert len(db.snapshot().orders) == 2


# ------------------------------------------------------------------ seats


async def test_two_travellers_hold_two_seats_and_a_held_seat_is_refused_where_legs_overlap(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    # Oslo S -> Hønefoss is legs 0-1; Drammen -> Gol shares leg 1; Hønefoss -> Bergen none.
    reserved = await reserve(db, reference, clock, (KARI, OLA), OSLO, HONEFOSS)
    assert (reserved.seats_held, len(reserved.line_ids)) == (2, 2)
    order = await stored_order(db, reserved.order_id)
    seats = seats_of(order)
    assert len(set(seats)) == 2
    assert await held(db, 0, 2) == set(seats)
    assert await held(db, 2, 6) == set()

    other = await create_order(db, clock, SELLER, CreateOrder())
    before = db.snapshot()
    car, seat = seats[0]
    with pytest.raises(SalesError) as refused:
        await reserve(
            db,
            reference,
            clock,
            (Traveller("per", UserType.ADULT),),
            DRAMMEN,
            GOL,
            seats=(SeatRequest(car, seat),),
            order_id=other.id,
        )
    assert code(refused) is ErrorCode.SEAT_UNAVAILABLE
    assert db.snapshot() == before  # neither order nor any hold changed

    # Seats are sold per leg: the same seat from Hønefoss on is free.
    onward = await reserve(
        db,
        reference,
        clock,
        (Traveller("per", UserType.ADULT),),
        HONEFOSS,
        BERGEN,
        seats=(SeatRequest(car, seat),),
        order_id=other.id,
    )
    assert onward.seats_held == 1
    assert seats_of(await stored_order(db, other.id)) == [(car, seat)]
    assert await stored_order(db, reserved.order_id) == order


# ------------------------------------------------------------------ payments


async def test_paying_the_balance_confirms_the_order_and_its_seats(
    db: FakeDatabase,
    reference: FakeReferenceData,
    clock: FixedClock,
    provider: SimulatedPaymentProvider,
) -> None:
    reserved = await reserve(db, reference, clock)
    price = (await stored_order(db, reserved.order_id)).balance
    assert price > 0

    outcome = await pay(db, clock, provider, reserved.order_id)

    assert outcome.error is None
    assert outcome.captured == (price, "NOK")
    order = await stored_order(db, reserved.order_id)
    assert (order.status, order.balance) == (OrderStatus.CONFIRMED, Decimal("0.00"))
    assert {line.status for line in order.lines} == {OrderLineStatus.CONFIRMED}
    assert {r.status for r in order.reservations} == {ReservationStatus.CONFIRMED}
    # Confirmed seats are held for good, not only for the 20 minutes of a DRAFT.
    assert await held(db, at=NOW + DRAFT_HOLD + timedelta(hours=1)) == set(seats_of(order))
    [payment] = await stored_payments(db, reserved.order_id)
    [transaction] = payment.transactions
    assert transaction.status is TransactionStatus.CAPTURED
    assert transaction.masked_card_number == "************4242"
    [charge] = await provider.ledger.all()
    assert (charge.reference, charge.operation, charge.amount) == (transaction.id, "CHARGE", price)


async def test_a_declined_card_fails_the_transaction_and_takes_nothing(
    db: FakeDatabase,
    reference: FakeReferenceData,
    clock: FixedClock,
    provider: SimulatedPaymentProvider,
) -> None:
    reserved = await reserve(db, reference, clock)
    price = (await stored_order(db, reserved.order_id)).balance

    outcome = await pay(db, clock, provider, reserved.order_id, token="tok_declined")

    assert outcome.error is not None and outcome.error.code is ErrorCode.PAYMENT_DECLINED
    assert outcome.captured is None
    order = await stored_order(db, reserved.order_id)
    assert (order.status, order.captured_amount, order.balance) == (
        OrderStatus.DRAFT,
        Decimal("0.00"),
        price,
    )
    [payment] = await stored_payments(db, reserved.order_id)
    assert [t.status for t in payment.transactions] == [TransactionStatus.FAILED]
    assert payment.captured_amount == 0
    assert await provider.ledger.all() == []


# ------------------------------------------------------------------ idempotency keys


async def test_the_same_key_and_input_replays_the_first_result_and_does_nothing_again(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    first = await reserve(db, reference, clock, key="reserve-1")
    again = await reserve(db, reference, clock, key="reserve-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.order_id, again.line_ids) == (first.order_id, first.line_ids)
    assert (first.seats_held, again.seats_held) == (2, 0)
    assert list(db.snapshot().orders) == [first.order_id]
    assert len(await held(db)) == 2

    price = (await stored_order(db, first.order_id)).balance
    pay_once = CreatePayment(first.order_id, idempotency_key="pay-1")
    payment_id = await create_payment(db, clock, SELLER, pay_once)
    assert await create_payment(db, clock, SELLER, pay_once) == payment_id
    take_once = CreateTransaction(payment_id, PaymentType.VISA, price, "tok_visa", "tx-1")
    created = await create_transaction(db, clock, SELLER, take_once)
    replayed = await create_transaction(db, clock, SELLER, take_once)
    assert (created.replayed, replayed.replayed) == (False, True)
    assert replayed.transaction_id == created.transaction_id
    [payment] = await stored_payments(db, first.order_id)
    assert [t.id for t in payment.transactions] == [created.transaction_id]

    # Keys are the organisation's own: organisation 2's "reserve-1" is a sale of its own.
    theirs = await reserve(db, reference, clock, key="reserve-1", who=caller(organisation_id=2))
    assert not theirs.replayed and theirs.order_id != first.order_id


async def test_the_same_key_with_other_input_is_refused(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    await reserve(db, reference, clock, key="reserve-1")
    before = db.snapshot()
    with pytest.raises(SalesError) as refused:
        await reserve(db, reference, clock, (KARI,), key="reserve-1")
    assert code(refused) is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert db.snapshot() == before


# ------------------------------------------------------------------ transactions


async def test_a_refused_request_leaves_nothing_behind_not_even_its_key(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    first = await reserve(db, reference, clock)
    car, seat = seats_of(await stored_order(db, first.order_id))[0]
    before = db.snapshot()
    with pytest.raises(SalesError) as refused:
        await reserve(db, reference, clock, (KARI,), seats=(SeatRequest(car, seat),), key="k-1")
    assert code(refused) is ErrorCode.SEAT_UNAVAILABLE
    assert db.snapshot() == before
    # Had the key's claim been kept, other input would be IDEMPOTENCY_KEY_REUSED.
    taken = await held(db)
    free = next(s for s in ("1", "2", "3", "4") if (2, s) not in taken)
    retried = await reserve(db, reference, clock, (KARI,), seats=(SeatRequest(2, free),), key="k-1")
    assert not retried.replayed and retried.seats_held == 1


async def test_a_unit_of_work_that_fails_after_its_changes_leaves_nothing_behind(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    reserved = await reserve(db, reference, clock)
    before = db.snapshot()

    with pytest.raises(RuntimeError, match="the process died"):
        async with db(write=True) as uow:
            order = await uow.orders.get_for_update(reserved.order_id, 1)
            assert order is not None
            order.update_details(clock.now(), contact_info=ContactInfo(email="x@example.com"))
            for number, reservation in enumerate(order.reservations, start=40):
                reservation.seats = [replace(s, seat_number=str(number)) for s in reservation.seats]
            await uow.orders.save(order)
            uow.orders.add(Order(new_id(), 1, "NOK", "pos", APP, clock.now()))
            assert await uow.idempotency.claim(1, "k-1", "op", "hash", clock.now()) is None
            raise RuntimeError("the process died")

    assert db.snapshot() == before

    # Leaving the block without commit() discards the changes just the same.
    async with db(write=True) as uow:
        uow.orders.add(Order(new_id(), 1, "NOK", "pos", APP, clock.now()))
        await uow.idempotency.claim(1, "k-1", "op", "hash", clock.now())
    assert db.snapshot() == before


# ------------------------------------------------------------------ refunds


async def test_refunding_one_line_of_a_paid_flex_order_credits_it(
    db: FakeDatabase,
    reference: FakeReferenceData,
    clock: FixedClock,
    provider: SimulatedPaymentProvider,
) -> None:
    reserved = await reserve(db, reference, clock)
    assert (await pay(db, clock, provider, reserved.order_id)).error is None
    paid = await stored_order(db, reserved.order_id)
    refunded, kept = paid.lines
    price = refunded.price.amount

    outcome = await refund_order(
        db,
        clock,
        provider,
        SELLER,
        RefundOrder(reserved.order_id, "refund-1", 1, (refunded.id,), "Kari stays home"),
    )

    assert outcome.error is None and outcome.refund_id is not None
    order = await stored_order(db, reserved.order_id)
    statuses = {line.id: line.status for line in order.lines}
    assert statuses == {refunded.id: OrderLineStatus.REFUNDED, kept.id: OrderLineStatus.CONFIRMED}
    assert (order.status, order.version) == (OrderStatus.CONFIRMED, 2)
    assert (order.credited_amount, order.balance) == (price, Decimal("0.00"))
    assert order.total_amount == kept.price.amount
    # Kari's seat is free again, Ola keeps his.
    assert await held(db) == {seats_of(paid)[1]}
    async with db() as uow:
        [credit] = await uow.payments.credits_for_order(order.id)
        refund = await uow.refunds.get(outcome.refund_id)
    assert (credit.status, credit.amount, credit.refund_id) == (
        CreditStatus.CREDITED,
        price,
        outcome.refund_id,
    )
    assert refund is not None and refund.status is RefundStatus.COMPLETED
    [payment] = await stored_payments(db, order.id)
    assert payment.transactions[0].credited_amount == price
    given_back = [e for e in await provider.ledger.all() if e.operation == "CREDIT"]
    assert [(e.reference, e.amount) for e in given_back] == [(credit.id, price)]


# ------------------------------------------------------------------ the fake itself


async def test_the_fake_refuses_a_seat_held_on_a_shared_leg_like_the_unique_key(
    db: FakeDatabase, reference: FakeReferenceData, clock: FixedClock
) -> None:
    """What settles a race in the database (uq_seat_holds_seat_leg) holds in the fake:
    another reservation of a held seat is refused at sync, all or nothing."""
    reserved = await reserve(db, reference, clock)
    async with db(write=True) as uow:
        order = await uow.orders.get_for_update(reserved.order_id, 1)
        assert order is not None
        await uow.seats.sync(order)  # its own holds again: fine
        rival = copy.deepcopy(order)
        rival.id = new_id()
        for reservation in rival.reservations:
            reservation.id = new_id()
            reservation.from_index = reservation.to_index - 1  # only the last leg shared
        with pytest.raises(SalesError) as refused:
            await uow.seats.sync(rival)
        assert code(refused) is ErrorCode.SEAT_UNAVAILABLE
        assert await uow.seats.taken(JOURNEY, 0, 6, clock.now()) == set(seats_of(order))


async def test_the_fake_refuses_to_commit_over_a_unit_of_work_that_committed_meanwhile(
    db: FakeDatabase, clock: FixedClock
) -> None:
    """The fake has no locks: interleaved units of work would lose one's changes, so the
    later commit is refused loudly (races belong to the tests on a real database)."""
    async with db(write=True) as first, db(write=True) as second:
        first.orders.add(Order(new_id(), 1, "NOK", "pos", APP, clock.now()))
        await first.commit()
        second.orders.add(Order(new_id(), 1, "NOK", "pos", APP, clock.now()))
        with pytest.raises(RuntimeError, match="committed while this one was open"):
            await second.commit()
    assert len(db.snapshot().orders) == 1
