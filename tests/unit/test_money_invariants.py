"""The money rules of DOMAIN.md ("Money", "After the sale", "Versions") and of the after-sale
contract (exchanges, cancelled lines, fees, compensation, disruptions) as a Hypothesis state
machine over the pure domain: no database, no HTTP.

The helpers below apply the same domain steps, in the same order and with the same checks, as
the services do (`services/reservations.py`, `services/payments.py`, `services/after_sale.py`,
`services/lifecycle.py`, `services/credits.py`, `services/order_changes.py`,
`services/disruptions.py`): money taken beyond what a version costs is credited back (newest
capture first) before a reset, cancel, expiry or confirmation changes the order. The machine
drives them in random order and checks after every step:

- credits never exceed captures, per transaction, and each transaction's credited amount is
  the sum of its credits; the order never counts more credited than captured;
- the balance is never negative, is max(total - captured + credited, 0.00), and is 0.00 on a
  CONFIRMED or CANCELLED order, which keeps exactly what it costs (no surplus either); a
  surplus (a DRAFT costing less than was kept) never exceeds what can be credited back;
- the order's total and tax are the sums over its active lines and active fees, each VAT
  being 12/112 of the price, half up to the øre, away from zero for a negative (COMPENSATION)
  fee as `Decimal.quantize(ROUND_HALF_UP)` does (computed here with integers, not `vat_of`);
- every amount has exactly two decimals;
- a refused step changes nothing, and retrying a capture, a refund, a compensation, a
  confirmation or a rebooking takes no more money.

`MONEY_INVARIANTS_EXAMPLES` (default 200) sets how many examples the machine runs.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sales_api.domain import order_changes
from sales_api.domain.after_sale import ensure_refund_still_possible, refund_options
from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.money import PriceWithTax, vat_of
from sales_api.domain.orders import (
    FareClass,
    Fee,
    FeeType,
    HoldRules,
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
from sales_api.domain.payments import (
    Credit,
    CreditStatus,
    Payment,
    PaymentType,
    Transaction,
    TransactionStatus,
)
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus, allocate_credits

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ZERO = Decimal("0.00")
TRAVELLER = Traveller("t1", UserType.ADULT)
TAKEN = (TransactionStatus.CAPTURED, TransactionStatus.CREDITED)
MAX_ORE = 500_000  # 5000.00
HOLD = HoldRules()  # 20 minutes from each change, at most an hour after the draft began
JOURNEYS = 3  # new lines run on SJ1 .. SJ3 (a disrupted one is no longer sold)

# The fare products sold, as the catalogue's rules make them (Flex: a CHANGE fee of 50.00;
# Premium Flex: exchange free; Lowfare: neither refund nor exchange) and one with an odd fee.
PRODUCTS = {
    "Flex": ProductSnapshot(
        "P:Flex", "Flex", FareClass.STANDARD_CLASS, True, True, Decimal("50.00")
    ),
    "Premium": ProductSnapshot(
        "P:Premium", "Premium Flex", FareClass.PREMIUM_CLASS, True, True, Decimal("0.00")
    ),
    "Lowfare": ProductSnapshot("P:Lowfare", "Lowfare", FareClass.STANDARD_CLASS, False, False),
    "Odd": ProductSnapshot("P:Odd", "Odd", FareClass.STANDARD_CLASS, False, True, Decimal("0.14")),
}


def ore(minor: int) -> Decimal:
    """Minor units to an amount with two decimals, independently of the code under test."""
    return Decimal(minor).scaleb(-2)


def minor(amount: Decimal) -> int:
    return int(amount * 100)


def vat_oracle(amount: Decimal) -> Decimal:
    """12/112 of the amount, half up (away from zero) to the øre, in integers:
    floor((24 |n| + 112) / 224) with the amount's sign."""
    n = minor(amount)
    magnitude = (24 * abs(n) + 112) // 224
    return ore(magnitude if n >= 0 else -magnitude)


def note(what: str) -> None:
    """Count a path taken (see `--hypothesis-show-statistics`), when run by Hypothesis."""
    if currently_in_test_context():
        event(what)


def two_decimals(amount: Decimal) -> bool:
    return amount.as_tuple().exponent == -2


def prices_of(lines: list[OrderLine], fees: list[Fee]) -> list[PriceWithTax]:
    return [line.price for line in lines] + [fee.price for fee in fees]


# ------------------------------------------------------------------ the services' domain steps


class ProviderFailed(Exception):
    """The simulated provider did not answer a credit (as `tok_refund_error` does)."""


@dataclass
class Ledger:
    """What the database would hold beside the order: payments, credits, refunds by key."""

    order: Order
    payments: list[Payment]
    credits: list[Credit]
    refunds: dict[str, Refund]


_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def ensure_no_money_moving(book: Ledger) -> None:
    """`services.orders.ensure_no_money_moving` (in `locked_order` and `_order_to_extend`):
    no new version starts while money of the order is being given back."""
    if any(r.status is RefundStatus.PENDING for r in book.refunds.values()):
        raise SalesError(ErrorCode.INVALID_STATE, "Money of the order is being given back")


def reserve(book: Ledger, lines: list[OrderLine], now: datetime) -> None:
    """`reserveOffers` on an existing order (`_order_to_extend`, then `add_lines`)."""
    order = book.order
    order.ensure_changeable()
    order.ensure_not_expired(now)
    ensure_no_money_moving(book)
    order.add_lines(lines, [TRAVELLER], now, HOLD)


def open_payment(book: Ledger, amount: Decimal | None, now: datetime) -> Payment:
    """`createPayment`: for the current version, at most the balance (its default)."""
    order = book.order
    order.ensure_changeable()
    order.ensure_not_expired(now)
    balance = order.balance
    if balance <= 0:
        raise SalesError(ErrorCode.INVALID_STATE, "The order has nothing left to pay")
    amount = balance if amount is None else amount
    if amount <= 0:
        raise ValidationFailed("totalAmount is above 0.00")
    if amount > balance:
        raise SalesError(ErrorCode.AMOUNT_MISMATCH, "totalAmount exceeds the balance")
    payment = Payment(next_id("P"), order.id, order.version, 1, amount, order.currency, now)
    book.payments.append(payment)
    return payment


def check_open_for_payment(order: Order, payment: Payment) -> None:
    payment.ensure_active()
    if payment.order_version != order.version:
        raise SalesError(ErrorCode.PAYMENT_INACTIVE, "The payment is for another version")


def create_transaction(
    order: Order, payment: Payment, amount: Decimal, now: datetime
) -> Transaction:
    """`createTransaction`: at most what the payment leaves unpaid and the balance."""
    check_open_for_payment(order, payment)
    order.ensure_changeable()
    order.ensure_not_expired(now)
    if amount <= 0:
        raise ValidationFailed("amount is above 0.00")
    if amount > min(payment.unpaid_amount, order.balance):
        raise SalesError(ErrorCode.AMOUNT_MISMATCH, "amount exceeds what is unpaid")
    transaction = Transaction(
        next_id("T"), payment.id, PaymentType.VISA, amount, payment.currency, now
    )
    transaction.log("CREATE", amount, now)
    payment.transactions.append(transaction)
    return transaction


def capture(
    order: Order, payment: Payment, transaction: Transaction, now: datetime, approved: bool
) -> None:
    """`captureTransaction`: the balance check, then the provider; `settle_capture` confirms
    a DRAFT that then owes exactly 0.00 (as `confirmOrder` does)."""
    transaction.ensure_status(TransactionStatus.CREATED)
    order.ensure_not_expired(now)
    check_open_for_payment(order, payment)
    if transaction.amount > order.balance:
        raise SalesError(ErrorCode.AMOUNT_MISMATCH, "The transaction exceeds the balance")
    if not approved:
        transaction.status = TransactionStatus.FAILED
        transaction.log("FAIL", transaction.amount, now)
        return
    transaction.status = TransactionStatus.CAPTURED
    transaction.captured_at = now
    transaction.log("CAPTURE", transaction.amount, now)
    order.captured_amount += transaction.amount
    if order.status is OrderStatus.DRAFT and order.owed == 0 and not order.is_expired(now):
        order.confirm(now)


def cancel_transaction(transaction: Transaction, now: datetime) -> None:
    transaction.ensure_status(TransactionStatus.CREATED)
    transaction.status = TransactionStatus.CANCELLED
    transaction.log("CANCEL", transaction.amount, now)


def plan_refund(order: Order, line_ids: list[str] | None, now: datetime) -> Refund:
    """`_plan_refund`: every chosen line must be refundable now (None: every one that is);
    never more than is left of what was paid."""
    chosen = (
        list(order.lines)
        if line_ids is None
        else [line for line in order.lines if line.id in line_ids]
    )
    options = refund_options(order, chosen, now)
    if line_ids is None:
        options = [o for o in options if o.refundable]
        if not options:
            raise SalesError(ErrorCode.NOT_REFUNDABLE, "No line of the order can be refunded now")
    for option in options:
        if option.line.status is OrderLineStatus.REFUNDED:
            raise SalesError(ErrorCode.INVALID_STATE, "already refunded")
        if not option.refundable:
            raise SalesError(ErrorCode.NOT_REFUNDABLE, option.reason or "Not refundable")
    return Refund(
        id=next_id("R"),
        order_id=order.id,
        status=RefundStatus.PENDING,
        order_version=order.version + 1,
        amount=min(
            sum((o.refundable_amount for o in options), ZERO),
            order.captured_amount - order.credited_amount,
        ),
        fee=sum((o.fee for o in options), ZERO),
        currency=order.currency,
        line_ids=[o.line.id for o in options],
        created_at=now,
    )


def credit(
    book: Ledger, refund: Refund, amount: Decimal, now: datetime, fail_at: int | None
) -> None:
    """`_credit`: the plan of `allocate_credits`, one provider call per part; the provider
    failing at part `fail_at` keeps a FAILED credit and stops."""
    if amount <= 0:
        return
    transactions = {t.id: t for p in book.payments for t in p.transactions}
    for index, (payment_id, transaction_id, part) in enumerate(
        allocate_credits(book.payments, amount)
    ):
        transaction = transactions[transaction_id]
        status = CreditStatus.FAILED if index == fail_at else CreditStatus.CREDITED
        book.credits.append(
            Credit(
                next_id("C"),
                book.order.id,
                refund.order_version,
                payment_id,
                transaction_id,
                part,
                refund.currency,
                status,
                now,
                refund.id,
            )
        )
        if status is CreditStatus.FAILED:
            raise ProviderFailed(transaction_id)
        transaction.credited_amount += part
        transaction.log("CREDIT", part, now)
        if transaction.credited_amount == transaction.amount:
            transaction.status = TransactionStatus.CREDITED


def credited_for(book: Ledger, refund: Refund) -> Decimal:
    mine = [c for c in book.credits if c.refund_id == refund.id]
    return sum((c.amount for c in mine if c.status is CreditStatus.CREDITED), ZERO)


def credit_rest(book: Ledger, key: str, refund: Refund, now: datetime, fail_at: int | None) -> None:
    """What the refund still needs, credited; a provider failure keeps the refund pending
    (the service commits it and its credits)."""
    try:
        credit(book, refund, refund.amount - credited_for(book, refund), now, fail_at)
    except ProviderFailed:
        book.refunds[key] = refund
        raise


def completed(book: Ledger, key: str, refund: Refund) -> Refund:
    refund.status = RefundStatus.COMPLETED
    refund.order_version = book.order.version
    book.refunds[key] = refund
    return refund


def refund_order(
    book: Ledger, key: str, line_ids: list[str] | None, now: datetime, fail_at: int | None
) -> Refund:
    """`refundOrder` under an idempotency key: a completed refund is answered again as it
    was; a pending one (the provider failed) credits the rest and then the lines."""
    refund = book.refunds.get(key)
    if refund is not None and refund.status is RefundStatus.COMPLETED:
        return refund
    if refund is None:
        refund = plan_refund(book.order, line_ids, now)
    else:
        ensure_refund_still_possible(book.order, refund.line_ids, now)
    credit_rest(book, key, refund, now, fail_at)
    book.order.refund_lines(refund.line_ids, refund.amount, now)
    return completed(book, key, refund)


def compensate_order(
    book: Ledger, key: str, amount: Decimal, now: datetime, fail_at: int | None
) -> Refund:
    """`compensateOrder` under an idempotency key (`credit_back`): refused while a refund is
    pending, then `check_compensation` before any money moves; once all of it is credited,
    `order_changes.compensate` (`credits._complete`)."""
    refund = book.refunds.get(key)
    if refund is not None and refund.status is RefundStatus.COMPLETED:
        return refund
    order = book.order
    if refund is None:
        if any(r.status is RefundStatus.PENDING for r in book.refunds.values()):
            raise SalesError(ErrorCode.INVALID_STATE, "A refund of the order is pending")
        order_changes.check_compensation(order, amount)
        refund = Refund(
            id=next_id("R"),
            order_id=order.id,
            status=RefundStatus.PENDING,
            order_version=order.version + 1,
            amount=amount,
            fee=ZERO,
            currency=order.currency,
            line_ids=[],
            created_at=now,
            reason="Goodwill",
            purpose=RefundPurpose.COMPENSATE,
        )
    credit_rest(book, key, refund, now, fail_at)
    order_changes.compensate(order, refund.amount, refund.reason or "", now)
    return completed(book, key, refund)


def add_fee(book: Ledger, type: FeeType, amount: Decimal, description: str, now: datetime) -> Fee:
    """`addFee`: `validate_fee` before the order is read (`locked_order`), then
    `order_changes.add_fee`."""
    order_changes.validate_fee(type, amount, description)
    ensure_no_money_moving(book)
    return order_changes.add_fee(book.order, type, amount, description, now, HOLD)


def extend_expiry(book: Ledger, now: datetime) -> None:
    """`extendOrderExpiry`: `locked_order`, then `order_changes.extend_expiry`."""
    ensure_no_money_moving(book)
    order_changes.extend_expiry(book.order, now, HOLD)


def cancel_lines(book: Ledger, line_ids: list[str], now: datetime) -> list[OrderLine]:
    """`cancelOrderLines`: `locked_order` (no capture is ever in flight here), then
    `order_changes.cancel_lines`."""
    ensure_no_money_moving(book)
    return order_changes.cancel_lines(book.order, line_ids, now)


def exchange(
    book: Ledger, line_ids: list[str], new_lines: list[OrderLine], now: datetime
) -> list[Fee]:
    """`exchangeOrderLines`: `locked_order`, the order's rules first (a refused exchange
    holds no seat), the new lines made, then `exchange_lines`."""
    ensure_no_money_moving(book)
    order_changes.check_exchange(book.order, line_ids, now)
    return order_changes.exchange_lines(book.order, line_ids, new_lines, now, HOLD)


def rebook(book: Ledger, line_ids: list[str], journey: str, now: datetime) -> list[OrderLine]:
    """`rebookDisruptedOrderLines`: `locked_order`, the lines checked, then CONFIRMED copies
    on the other journey at their old price (`_moved`), then `order_changes.rebook`."""
    order = book.order
    ensure_no_money_moving(book)
    old = order_changes.chosen_lines(order, line_ids, ["input", "orderLineIds"])
    order_changes.check_rebooking(order, old)
    departure = now + timedelta(hours=3)
    new = [
        OrderLine(
            id=next_id("L"),
            order_id=line.order_id,
            status=OrderLineStatus.CONFIRMED,
            product=line.product,
            travel=TravelSpecification(
                journey,
                line.travel.origin,
                line.travel.destination,
                departure,
                departure + timedelta(hours=7),
            ),
            traveller_ids=line.traveller_ids,
            price=line.price,
            created_at=now,
        )
        for line in old
    ]
    order_changes.rebook(order, old, new, now)
    return new


def deactivate_discarded_payments(book: Ledger, discarded_version: int | None) -> None:
    order = book.order
    if discarded_version is None or (
        order.status is not OrderStatus.CANCELLED and order.version == discarded_version
    ):
        return
    for payment in book.payments:
        if payment.order_version == discarded_version and payment.active:
            payment.active = False


CHANGES: dict[RefundPurpose, Callable[[Order, datetime], None]] = {
    RefundPurpose.CANCEL: lambda order, _now: order.cancel(),
    RefundPurpose.RESET: lambda order, _now: order.reset(),
    RefundPurpose.EXPIRE: lambda order, _now: order.reset(expired=True),
    RefundPurpose.CONFIRM: lambda order, now: order.confirm(now),
}


def apply_change(book: Ledger, purpose: RefundPurpose, now: datetime) -> None:
    """`lifecycle.apply_change`."""
    order = book.order
    if purpose is RefundPurpose.CONFIRM:
        order.confirm(now)
        return
    discarded = order.version if order.status is OrderStatus.DRAFT else None
    CHANGES[purpose](order, now)
    deactivate_discarded_payments(book, discarded)


def discard(
    book: Ledger, purpose: RefundPurpose, key: str, now: datetime, fail_at: int | None
) -> Refund | None:
    """`cancelOrder`, `resetOrder`, `confirmOrder` (`lifecycle._discard`) and the expiry
    sweep: money taken beyond what the version returned to costs (confirming: beyond what
    this one costs, the surplus) is credited back first, the change checked on a dry run
    before any money moves; once all of it is back it counts as credited and the change
    happens (`credits._complete`). The refund that gave money back, if any."""
    order = book.order
    order.ensure_changeable()
    refund: Refund | None = None
    if not (purpose is RefundPurpose.CONFIRM and order.surplus == 0):
        pending = [
            (k, r)
            for k, r in book.refunds.items()
            if r.status is RefundStatus.PENDING and r.purpose is purpose
        ]
        if pending:
            key, refund = pending[0]
        else:
            amount = (
                order.surplus
                if purpose is RefundPurpose.CONFIRM
                else order.money_beyond_confirmed()
            )
            if amount > 0:
                trial = copy.deepcopy(order)
                trial.credited_amount += amount
                CHANGES[purpose](trial, now)  # refused now, before money moves
                refund = Refund(
                    id=next_id("R"),
                    order_id=order.id,
                    status=RefundStatus.PENDING,
                    order_version=order.version,
                    amount=amount,
                    fee=ZERO,
                    currency=order.currency,
                    line_ids=[],
                    created_at=now,
                    purpose=purpose,
                )
    if refund is None:
        apply_change(book, purpose, now)
        return None
    credit_rest(book, key, refund, now, fail_at)
    order.credited_amount += refund.amount
    # The order may have moved on meanwhile: the money stays in its books.
    with contextlib.suppress(SalesError):
        apply_change(book, purpose, now)
    return completed(book, key, refund)


def expire(book: Ledger, now: datetime) -> None:
    """`expire_orders` for this order (a refusal keeps it for the next round)."""
    if not book.order.is_expired(now):
        return
    with contextlib.suppress(SalesError):
        discard(book, RefundPurpose.EXPIRE, next_id("X"), now, None)


# ------------------------------------------------------------------ the machine


def order_snapshot(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.version,
        order.captured_amount,
        order.credited_amount,
        order.expire_at,
        order.draft_started_at,
        tuple((line.id, line.status, line.travel.disrupted) for line in order.lines),
        tuple((fee.id, fee.type, fee.active, fee.price) for fee in order.fees),
    )


def snapshot(book: Ledger) -> tuple[object, ...]:
    """Everything a refused step must leave as it was."""
    return (
        order_snapshot(book.order),
        tuple(
            (
                p.id,
                p.active,
                p.total_amount,
                tuple((t.id, t.status, t.credited_amount) for t in p.transactions),
            )
            for p in book.payments
        ),
        len(book.credits),
        tuple((k, r.status, r.amount) for k, r in book.refunds.items()),
    )


ONE_IN_EIGHT = st.sampled_from([False] * 7 + [True])
FAIL_AT = st.none() | st.none() | st.integers(0, 2)
PRICES = st.integers(0, MAX_ORE) | st.sampled_from([0, 1, 7, 14, 72300, MAX_ORE])

# New lines: (price in øre, product, minutes to departure, journey).
LINES = st.lists(
    st.tuples(
        PRICES,
        st.sampled_from(sorted(PRODUCTS)),
        st.integers(30, 60 * 24 * 7),
        st.integers(1, JOURNEYS),
    ),
    min_size=1,
    max_size=3,
)
NewLine = tuple[int, str, int, int]


def pick(data: st.DataObject, items: list[str], label: str, most: int | None = None) -> list[str]:
    if not items:
        return []
    return data.draw(
        st.lists(st.sampled_from(items), min_size=1, max_size=most, unique=True), label=label
    )


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        order = Order(
            id="O1",
            organisation_id=1,
            currency="NOK",
            pos="pos",
            distribution_channel_id="ch",
            created_at=START,
        )
        self.book = Ledger(order, [], [], {})
        self.keys = itertools.count(1)
        self.last: tuple[str, object, object] | None = None
        # The model of the last confirmed version, for what a reset returns to: the lines and
        # fees active in it, and every line it knew.
        self.confirmed_ids: set[str] | None = None
        self.confirmed_fees: set[str] = set()
        self.known_at_confirmation: set[str] = set()
        self.disrupted: set[str] = set()

    @property
    def order(self) -> Order:
        return self.book.order

    # -------------------------------------------------------------- helpers

    def refused(
        self, expected: bool, step: object, *args: object, code: ErrorCode | None = None
    ) -> bool:
        """Run the step; it must raise SalesError (with `code`, if given) exactly when
        `expected`, changing nothing."""
        before = snapshot(self.book)
        if expected:
            with pytest.raises(SalesError) as refusal:
                step(*args)  # type: ignore[operator]
            assert snapshot(self.book) == before
            if code is not None:
                assert refusal.value.code is code, refusal.value
            return True
        step(*args)  # type: ignore[operator]
        return False

    def key(self) -> str:
        return f"K{next(self.keys)}"

    def blocked(self) -> bool:
        return self.order.status is OrderStatus.CANCELLED or self.order.is_expired(self.now)

    def after_change(self) -> None:
        order = self.order
        if order.status is OrderStatus.CONFIRMED:
            self.confirmed_ids = {line.id for line in order.active_lines}
            self.confirmed_fees = {fee.id for fee in order.active_fees}
            self.known_at_confirmation = {line.id for line in order.lines}

    def confirmed_total(self) -> Decimal:
        order = self.order
        lines = [x.price for x in order.lines if x.id in (self.confirmed_ids or ())]
        fees = [x.price for x in order.fees if x.id in self.confirmed_fees]
        return sum((price.amount for price in [*lines, *fees]), ZERO)

    def all_transactions(self) -> list[tuple[Payment, Transaction]]:
        return [(p, t) for p in self.book.payments for t in p.transactions]

    def credited_by_transaction(self) -> dict[str, Decimal]:
        return {t.id: t.credited_amount for _, t in self.all_transactions()}

    def check_newest_first(self, before: dict[str, Decimal]) -> None:
        """Credits of one step go to the newest captures first: no capture newer than one
        this step credited is left with money to give back."""
        taken = [t for _, t in self.all_transactions() if t.status in TAKEN]
        touched = [t for t in taken if t.credited_amount != before.get(t.id, ZERO)]
        if not touched:
            return
        oldest = min(t.captured_at or t.created_at for t in touched)
        for t in taken:
            if (t.captured_at or t.created_at) > oldest:
                assert t.credited_amount == t.amount, (t.id, oldest)

    def pending_refunds(self) -> list[str]:
        return [k for k, r in self.book.refunds.items() if r.status is RefundStatus.PENDING]

    def check_still_pending(self, key: str, order_before: tuple[object, ...]) -> None:
        """The provider failed part way: the refund is pending, the order as it was."""
        assert self.book.refunds[key].status is RefundStatus.PENDING
        assert order_snapshot(self.order) == order_before

    def line_refundable(self, line: OrderLine) -> bool:
        return (
            self.order.status is OrderStatus.CONFIRMED
            and line.status is OrderLineStatus.CONFIRMED
            and (
                line.travel.disrupted
                or (line.product.refundable and self.now < line.travel.departure_time)
            )
        )

    def line_exchange_code(self, line: OrderLine) -> ErrorCode | None:
        """Why the line cannot be exchanged now (`line_exchange_refusal`), if it cannot."""
        if line.status is not OrderLineStatus.CONFIRMED:
            return ErrorCode.INVALID_STATE
        if line.travel.disrupted:
            return None  # whatever its product's rules
        if not line.product.changeable or self.now >= line.travel.departure_time:
            return ErrorCode.NOT_CHANGEABLE
        return None

    def exchange_refusal(
        self, line_ids: list[str], chosen: list[OrderLine], new: list[OrderLine]
    ) -> ErrorCode | None:
        """What `exchangeOrderLines` answers, in the order it checks: the order, each line,
        the travellers, and a version that would cost less than nothing (compensations
        beyond it)."""
        order = self.order
        if order.status is OrderStatus.CANCELLED:
            return ErrorCode.INVALID_STATE
        if order.is_expired(self.now):
            return ErrorCode.ORDER_EXPIRED
        if not line_ids:
            return ErrorCode.VALIDATION_FAILED
        for line in chosen:
            code = self.line_exchange_code(line)
            if code is not None:
                return code
        if len(new) != len(chosen):
            return ErrorCode.VALIDATION_FAILED  # not the same travellers
        cost = order.total_amount + sum(self.change_fees(chosen), ZERO)
        cost += sum((x.price.amount for x in new), ZERO) - sum(
            (x.price.amount for x in chosen), ZERO
        )
        if cost < 0:
            note("exchange refused: it would cost less than nothing")
            return ErrorCode.INVALID_STATE
        return None

    def change_fees(self, replaced: list[OrderLine]) -> list[Decimal]:
        """The CHANGE fees of an exchange: the product's per line, none when disrupted."""
        fees = [ZERO if x.travel.disrupted else x.product.change_fee for x in replaced]
        return [fee for fee in fees if fee > 0]

    def idle_with_transactions(self) -> bool:
        return not self.pending_refunds() and any(p.transactions for p in self.book.payments)

    def new_line(self, price: int, product: str, minutes: int, journey: int) -> OrderLine:
        """A DRAFT line as `lines_for` makes it; a disrupted journey is no longer sold, so
        the offer is for a journey of its own."""
        journey_id = f"SJ{journey}"
        if journey_id in self.disrupted:
            journey_id = next_id("SJX")
        departure = self.now + timedelta(minutes=minutes)
        return OrderLine(
            id=next_id("L"),
            order_id=self.order.id,
            status=OrderLineStatus.DRAFT,
            product=PRODUCTS[product],
            travel=TravelSpecification(
                journey_id,
                StopPlaceRef("A", "Oslo S"),
                StopPlaceRef("B", "Bergen"),
                departure,
                departure + timedelta(hours=7),
            ),
            traveller_ids=(TRAVELLER.id,),
            price=PriceWithTax.including_vat(ore(price), "NOK"),
            created_at=self.now,
        )

    # -------------------------------------------------------------- rules
    # While a refund is pending (the provider failed part way) what would start a new
    # version is refused (`ensure_no_money_moving`), a compensation too, and a disruption
    # may come; the other steps wait until the refund is resumed (the service does not guard
    # payments, reset, cancel or confirm by it, and time does not stop: see
    # `test_a_pending_refund_resumed_after_the_order_changed`).

    @initialize(lines=LINES, captures=st.sampled_from([0, 0, 1, 2, 3]))
    def first_reservation(self, lines: list[NewLine], captures: int) -> None:
        """The first lines; often paid at once, in one or more captures a minute apart (so
        that most runs reach the after-sale steps, with several captures to credit)."""
        self.reserve(lines)
        if captures and self.order.balance == 0:
            self.confirm(fail_at=None)
        for left in range(captures, 0, -1):
            balance = minor(self.order.balance)
            if balance == 0:
                break
            payment = open_payment(self.book, ore(-(-balance // left)), self.now)
            transaction = create_transaction(self.order, payment, payment.total_amount, self.now)
            self.capture_step(payment, transaction, approved=True)
            self.now += timedelta(minutes=1)

    @rule(lines=LINES)
    def reserve(self, lines: list[NewLine]) -> None:
        new = [self.new_line(*line) for line in lines]
        was = (self.order.status, self.order.version, self.order.total_amount)
        refuse = self.blocked() or bool(self.pending_refunds())
        if self.refused(refuse, reserve, self.book, new, self.now):
            return
        assert self.order.status is OrderStatus.DRAFT
        assert self.order.version == was[1] + (was[0] is OrderStatus.CONFIRMED)
        assert self.order.total_amount == was[2] + sum((line.price.amount for line in new), ZERO)

    @precondition(lambda self: not self.pending_refunds())
    @rule(data=st.data())
    def open_payment(self, data: st.DataObject) -> None:
        balance = minor(self.order.balance)
        kind = data.draw(st.sampled_from(["balance", "part", "over", "zero"]), label="kind")
        amount: Decimal | None = None
        if kind == "part":
            amount = ore(data.draw(st.integers(1, max(balance, 1)), label="part"))
        elif kind == "over":
            amount = ore(balance + data.draw(st.integers(1, 10_000), label="over"))
        elif kind == "zero":
            amount = ZERO
        asked = balance if amount is None else minor(amount)
        expect_refusal = self.blocked() or balance <= 0 or asked <= 0 or asked > balance
        self.refused(expect_refusal, open_payment, self.book, amount, self.now)

    @precondition(lambda self: not self.pending_refunds() and self.book.payments)
    @rule(data=st.data())
    def create_transaction(self, data: st.DataObject) -> None:
        payment = data.draw(st.sampled_from(self.book.payments), label="payment")
        limit = minor(min(payment.unpaid_amount, self.order.balance))
        kind = data.draw(st.sampled_from(["limit", "part", "over"]), label="kind")
        if kind == "limit":
            amount = limit
        elif kind == "part":
            amount = data.draw(st.integers(1, max(limit, 1)), label="part")
        else:
            amount = limit + data.draw(st.integers(1, 10_000), label="over")
        expect_refusal = (
            not payment.active
            or payment.order_version != self.order.version
            or self.blocked()
            or amount <= 0
            or amount > limit
        )
        self.refused(expect_refusal, create_transaction, self.order, payment, ore(amount), self.now)

    @precondition(lambda self: self.idle_with_transactions())
    @rule(data=st.data(), approved=st.booleans() | st.just(True))
    def capture(self, data: st.DataObject, approved: bool) -> None:
        payment, transaction = data.draw(st.sampled_from(self.all_transactions()), label="tx")
        self.capture_step(payment, transaction, approved)

    def capture_step(self, payment: Payment, transaction: Transaction, approved: bool) -> None:
        order = self.order
        expect_refusal = (
            transaction.status is not TransactionStatus.CREATED
            or order.is_expired(self.now)
            or not payment.active
            or payment.order_version != order.version
            or transaction.amount > order.balance
        )
        captured, balance = order.captured_amount, order.balance
        if self.refused(expect_refusal, capture, order, payment, transaction, self.now, approved):
            return
        self.last = ("capture", payment, transaction)
        if approved:
            assert order.captured_amount == captured + transaction.amount
            assert order.balance == balance - transaction.amount
            assert (order.status is OrderStatus.CONFIRMED) == (order.balance == 0) or (
                order.balance > 0 and order.status is OrderStatus.DRAFT
            )
            if order.status is OrderStatus.CONFIRMED:
                note("paid up: confirmed")
            self.after_change()
        else:
            assert (order.captured_amount, transaction.status) == (
                captured,
                TransactionStatus.FAILED,
            )

    @precondition(lambda self: not self.pending_refunds())
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        """Open a payment for the balance or part of it (or, refused, more), and capture it."""
        balance = minor(self.order.balance)
        kind = data.draw(st.sampled_from(["balance", "balance", "part", "over"]), label="pay")
        amount: Decimal | None = None
        if kind == "part":
            amount = ore(data.draw(st.integers(1, max(balance, 1)), label="part"))
        elif kind == "over":
            amount = ore(balance + data.draw(st.integers(1, 10_000), label="over"))
        asked = balance if amount is None else minor(amount)
        if self.refused(
            self.blocked() or balance <= 0 or asked > balance,
            open_payment,
            self.book,
            amount,
            self.now,
        ):
            return
        payment = self.book.payments[-1]
        transaction = create_transaction(self.order, payment, payment.total_amount, self.now)
        self.capture_step(payment, transaction, approved=True)

    @precondition(lambda self: self.idle_with_transactions())
    @rule(data=st.data())
    def cancel_transaction(self, data: st.DataObject) -> None:
        _, transaction = data.draw(st.sampled_from(self.all_transactions()), label="tx")
        self.refused(
            transaction.status is not TransactionStatus.CREATED,
            cancel_transaction,
            transaction,
            self.now,
        )

    @precondition(lambda self: not self.pending_refunds())
    @rule(
        data=st.data(),
        everything=st.booleans(),
        stray=st.sampled_from([False, False, True]),
        fail_at=FAIL_AT,
    )
    def refund(
        self, data: st.DataObject, everything: bool, stray: bool, fail_at: int | None
    ) -> None:
        """Refund chosen lines (refundable ones, sometimes others too) or every refundable
        one; the provider may fail part way, leaving the refund pending. A line on a
        disrupted journey is refundable (at fee 0.00) whatever its product and departure."""
        order = self.order
        refundable = [line for line in order.lines if self.line_refundable(line)]
        line_ids: list[str] | None = None
        if not everything:
            pool = [line.id for line in (order.lines if stray else refundable)]
            line_ids = pick(data, pool, "lines")
        chosen = (
            refundable
            if line_ids is None
            else [line for line in order.lines if line.id in line_ids]
        )
        expect_refusal = not chosen or any(not self.line_refundable(line) for line in chosen)
        key = self.key()
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        credits_before = self.credited_by_transaction()
        expected_amount = min(
            sum((line.price.amount for line in chosen), ZERO),
            order.captured_amount - order.credited_amount,
        )
        try:
            if self.refused(
                expect_refusal, refund_order, self.book, key, line_ids, self.now, fail_at
            ):
                return
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            self.check_newest_first(credits_before)
            return
        if any(line.travel.disrupted for line in chosen):
            note("refunded a disrupted line")
        self.check_newest_first(credits_before)
        self.check_refunded(key, chosen, expected_amount, before)

    def check_refunded(
        self,
        key: str,
        chosen: list[OrderLine],
        amount: Decimal,
        before: tuple[Decimal, Decimal, int],
    ) -> None:
        order = self.order
        refund = self.book.refunds[key]
        assert refund.status is RefundStatus.COMPLETED
        assert refund.amount == amount
        assert refund.fee == 0
        assert all(line.status is OrderLineStatus.REFUNDED for line in chosen)
        assert order.credited_amount == before[0] + amount
        assert order.captured_amount == before[1]
        assert order.version == before[2] + 1 == refund.order_version
        assert order.balance == 0
        expected_status = OrderStatus.CONFIRMED if order.active_lines else OrderStatus.CANCELLED
        assert order.status is expected_status
        assert credited_for(self.book, refund) == amount
        self.last = ("refund", key, refund.line_ids)
        self.after_change()

    @precondition(lambda self: self.pending_refunds())
    @rule(fail_again=st.booleans())
    def resume_refund(self, fail_again: bool) -> None:
        """The same idempotency key (or, for money a DRAFT version gives back, the same
        request) again: credits what is left, then what the refund was for."""
        key = self.pending_refunds()[0]
        refund = self.book.refunds[key]
        order = self.order
        chosen = [line for line in order.lines if line.id in refund.line_ids]
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        credits_before = self.credited_by_transaction()
        fail_at = 0 if fail_again else None
        try:
            if refund.purpose is RefundPurpose.LINES:
                refund_order(self.book, key, None, self.now, fail_at)
            elif refund.purpose is RefundPurpose.COMPENSATE:
                compensate_order(self.book, key, refund.amount, self.now, fail_at)
            else:
                discard(self.book, refund.purpose, key, self.now, fail_at)
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            return
        self.check_newest_first(credits_before)
        if refund.purpose is RefundPurpose.LINES:
            self.check_refunded(key, chosen, refund.amount, before)
        elif refund.purpose is RefundPurpose.COMPENSATE:
            self.check_compensated(key, refund.amount, before)
        else:
            self.check_given_back(key, before)
            self.after_change()

    def check_given_back(self, key: str, before: tuple[Decimal, Decimal, int]) -> None:
        """Money a DRAFT version gave back: all of it credited, then the change it was for."""
        order = self.order
        refund = self.book.refunds[key]
        assert refund.status is RefundStatus.COMPLETED
        assert refund.line_ids == []
        assert credited_for(self.book, refund) == refund.amount
        assert order.credited_amount == before[0] + refund.amount
        assert order.captured_amount == before[1]
        if refund.purpose is RefundPurpose.CONFIRM:
            assert order.status is OrderStatus.CONFIRMED
            assert order.version == before[2]
        elif refund.purpose is RefundPurpose.CANCEL:
            assert order.status is OrderStatus.CANCELLED
        else:
            assert order.status is not OrderStatus.DRAFT
        assert order.owed == 0

    @precondition(lambda self: not self.pending_refunds())
    @rule(go=ONE_IN_EIGHT, fail_at=FAIL_AT)
    def reset(self, go: bool, fail_at: int | None) -> None:
        """`resetOrder`: money taken beyond what the confirmed version costs is given back
        first. A reset that would succeed runs one time in eight, so that a run gets far
        enough to pay and refund."""
        order = self.order
        kept = self.confirmed_total()
        negative = kept - order.captured_amount + order.credited_amount < 0
        assert (order.reset_blocker() is not None) == negative
        expect_refusal = order.status is not OrderStatus.DRAFT
        if not (expect_refusal or go):
            return
        beyond = max(order.captured_amount - order.credited_amount - kept, ZERO)
        assert order.money_beyond_confirmed() == beyond
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        credits_before = self.credited_by_transaction()
        key = self.key()
        try:
            if self.refused(
                expect_refusal, discard, self.book, RefundPurpose.RESET, key, self.now, fail_at
            ):
                return
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            return
        self.check_newest_first(credits_before)
        assert order.credited_amount == before[0] + beyond
        if beyond:
            note("reset: money given back")
            self.check_given_back(key, before)
        if self.confirmed_ids is None:
            assert order.status is OrderStatus.CANCELLED
        else:
            assert order.status is OrderStatus.CONFIRMED
            assert {line.id for line in order.active_lines} == self.confirmed_ids
            assert {fee.id for fee in order.active_fees} == self.confirmed_fees
        assert (
            not any(p.active for p in self.book.payments if p.order_version > order.version)
            or order.status is OrderStatus.CONFIRMED
        )

    @precondition(lambda self: not self.pending_refunds())
    @rule(go=ONE_IN_EIGHT, fail_at=FAIL_AT)
    def cancel(self, go: bool, fail_at: int | None) -> None:
        """`cancelOrder` (one time in eight when it would succeed, like `reset`): an order
        never confirmed, money taken for it given back first."""
        order = self.order
        expect_refusal = order.status is not OrderStatus.DRAFT or (
            self.confirmed_ids is not None and order.captured_amount != 0
        )
        if not (expect_refusal or go):
            return
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        key = self.key()
        try:
            if self.refused(
                expect_refusal, discard, self.book, RefundPurpose.CANCEL, key, self.now, fail_at
            ):
                return
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            return
        if key in self.book.refunds:
            self.check_given_back(key, before)
        assert order.status is OrderStatus.CANCELLED
        assert not order.active_lines
        assert not order.active_fees
        assert order.credited_amount == order.captured_amount

    @precondition(lambda self: not self.pending_refunds())
    @rule(fail_at=FAIL_AT)
    def confirm(self, fail_at: int | None) -> None:
        """`confirmOrder`: only at a balance of 0.00 (free lines, or an exchange that costs
        no more than was paid: its surplus credited back first, newest capture first)."""
        order = self.order
        expect_refusal = self.blocked() or order.balance != 0
        surplus = order.surplus
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        credits_before = self.credited_by_transaction()
        key = self.key()
        try:
            if self.refused(
                expect_refusal, discard, self.book, RefundPurpose.CONFIRM, key, self.now, fail_at
            ):
                return
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            return
        self.check_newest_first(credits_before)
        assert order.status is OrderStatus.CONFIRMED
        assert order.version == before[2]
        assert order.credited_amount == before[0] + surplus
        assert all(line.status is not OrderLineStatus.DRAFT for line in order.lines)
        if surplus:
            note("confirmed: surplus given back")
            self.check_given_back(key, before)
        self.last = ("confirm", snapshot(self.book), None)
        self.after_change()

    @precondition(lambda self: not self.pending_refunds())
    @rule(minutes=st.sampled_from([1, 2, 5, 10] * 3 + [19, 25, 90, 600]))
    def tick(self, minutes: int) -> None:
        """Time passes (lines may depart, a DRAFT may expire), and the expiry sweep runs:
        an expired DRAFT goes back to its confirmed version (or is cancelled), money taken
        for it given back first."""
        self.now += timedelta(minutes=minutes)
        order = self.order
        expired = order.is_expired(self.now)
        before = (order.credited_amount, order.captured_amount, order.version)
        beyond = order.money_beyond_confirmed()
        expire(self.book, self.now)
        assert not order.is_expired(self.now)
        if expired:
            assert order.status is not OrderStatus.DRAFT
            assert order.credited_amount == before[0] + beyond
        self.after_change()

    @rule()
    def extend_expiry(self) -> None:
        """`extendOrderExpiry`: a DRAFT's hold to now + the hold period, capped at the
        longest hold; HOLD_LIMIT_REACHED once there. No money moves."""
        order = self.order
        started = order.draft_started_at
        at_limit = (
            order.status is OrderStatus.DRAFT
            and started is not None
            and order.expire_at is not None
            and order.expire_at >= started + HOLD.longest
        )
        moving = bool(self.pending_refunds())
        expect_refusal = (
            moving
            or self.blocked()
            or order.status is not OrderStatus.DRAFT
            or order.expire_at is None
            or at_limit
        )
        code = None
        if moving:
            code = ErrorCode.INVALID_STATE
        elif at_limit and not self.blocked():
            code = ErrorCode.HOLD_LIMIT_REACHED
        if self.refused(expect_refusal, extend_expiry, self.book, self.now, code=code):
            return
        assert started is not None
        assert order.expire_at == min(self.now + HOLD.period, started + HOLD.longest)

    @rule(
        type=st.sampled_from(list(FeeType)),
        amount=PRICES | st.integers(-10_000, 0),
        description=st.sampled_from(["Booking fee", "Booking fee", " Manual ", " ", "x" * 201]),
    )
    def add_fee(self, type: FeeType, amount: int, description: str) -> None:
        """`addFee`: a BOOKING or MANUAL fee above 0.00, VAT included; a CONFIRMED order
        starts a new DRAFT version owing the fee. PENALTY, CHANGE, COMPENSATION, amounts of
        0.00 or less and bad descriptions are VALIDATION_FAILED, changing nothing."""
        order = self.order
        invalid = (
            type not in (FeeType.BOOKING, FeeType.MANUAL)
            or amount <= 0
            or not 1 <= len(description.strip()) <= 200
        )
        moving = bool(self.pending_refunds())
        code = None
        if invalid:
            code = ErrorCode.VALIDATION_FAILED
        elif moving:
            code = ErrorCode.INVALID_STATE
        was = (order.status, order.version, order.total_amount, order.owed)
        if self.refused(
            invalid or moving or self.blocked(), add_fee, self.book, type, ore(amount),
            description, self.now, code=code,
        ):  # fmt: skip
            return
        fee = order.fees[-1]
        assert (fee.type, fee.price.amount, fee.active) == (type, ore(amount), True)
        assert fee.price.tax_amount == vat_oracle(ore(amount))
        assert fee.description == description.strip()
        assert order.status is OrderStatus.DRAFT
        assert order.version == was[1] + (was[0] is OrderStatus.CONFIRMED)
        assert order.total_amount == was[2] + ore(amount)
        assert order.owed == was[3] + ore(amount)
        assert order.expire_at is not None and order.expire_at > self.now

    @rule(data=st.data(), stray=st.sampled_from([False, False, True]), extra=ONE_IN_EIGHT)
    def exchange(self, data: st.DataObject, stray: bool, extra: bool) -> None:
        """`exchangeOrderLines`: CONFIRMED changeable lines (or lines on a disrupted journey)
        replaced by new DRAFT lines, dearer or cheaper, with a CHANGE fee per replaced line
        by its product (none when disrupted), in a new DRAFT version; then (at once, or
        later) it is paid up, confirmed with its surplus credited back, or reset. Other
        lines, or new lines for other travellers (`extra`), are refused."""
        order = self.order
        eligible = [line.id for line in order.lines if self.line_exchange_code(line) is None]
        pool = [line.id for line in order.lines] if stray else eligible
        line_ids = pick(data, pool, "exchanged", most=2)
        by_id = {line.id: line for line in order.lines}
        chosen = [by_id[line_id] for line_id in line_ids]
        new: list[OrderLine] = []
        for old in [*chosen, *chosen[:1]] if extra else chosen:
            delta = data.draw(
                st.integers(-MAX_ORE, MAX_ORE) | st.sampled_from([-10_000, -1, 0, 1, 10_000]),
                label="price difference",
            )
            price = min(max(minor(old.price.amount) + delta, 0), MAX_ORE)
            product = data.draw(st.sampled_from(sorted(PRODUCTS)), label="product")
            minutes = data.draw(st.integers(30, 60 * 24 * 7), label="minutes")
            journey = data.draw(st.integers(1, JOURNEYS), label="journey")
            new.append(self.new_line(price, product, minutes, journey))
        code = (
            ErrorCode.INVALID_STATE
            if self.pending_refunds()
            else self.exchange_refusal(line_ids, chosen, new)
        )
        was = (order.status, order.version, order.total_amount, order.fees[:])
        money = (order.captured_amount, order.credited_amount)
        if self.refused(code is not None, exchange, self.book, line_ids, new, self.now, code=code):
            return
        fees = [fee for fee in order.fees if fee not in was[3]]
        expected_fees = self.change_fees(chosen)
        assert [(f.type, f.price.amount, f.active) for f in fees] == [
            (FeeType.CHANGE, amount, True) for amount in expected_fees
        ]
        assert all(line.status is OrderLineStatus.CANCELLED for line in chosen)
        assert all(line.status is OrderLineStatus.DRAFT for line in new)
        assert order.status is OrderStatus.DRAFT
        assert order.version == was[1] + (was[0] is OrderStatus.CONFIRMED)
        old_price = sum((line.price.amount for line in chosen), ZERO)
        new_price = sum((line.price.amount for line in new), ZERO)
        assert order.total_amount == was[2] - old_price + new_price + sum(expected_fees, ZERO)
        assert (order.captured_amount, order.credited_amount) == money
        note("exchange: surplus" if order.surplus else "exchange: balance to pay")
        # What follows an exchange, at once (else later, or never: it expires).
        then = data.draw(st.sampled_from(["later", "settle", "settle", "reset"]), label="then")
        if then == "reset":
            self.reset(go=True, fail_at=data.draw(FAIL_AT, label="fail_at"))
        elif then == "settle" and order.balance > 0:
            self.pay(data)
        elif then == "settle":
            self.confirm(fail_at=data.draw(FAIL_AT, label="fail_at"))

    @rule(data=st.data(), stray=st.sampled_from([False, False, True]))
    def cancel_lines(self, data: st.DataObject, stray: bool) -> None:
        """`cancelOrderLines`: DRAFT lines added since the last confirmation, refused (all of
        them) when that would leave more paid than owed, or for any other line."""
        order = self.order
        new = [
            line.id
            for line in order.lines
            if line.status is OrderLineStatus.DRAFT and line.id not in self.known_at_confirmation
        ]
        pool = [line.id for line in order.lines] if stray else new
        line_ids = pick(data, pool, "cancelled")
        chosen = [line for line in order.lines if line.id in line_ids]
        freed = sum((line.price.amount for line in chosen), ZERO)
        expect_refusal = (
            bool(self.pending_refunds())
            or self.blocked()
            or order.status is not OrderStatus.DRAFT
            or not chosen
            or any(line.id not in new for line in chosen)
            or order.owed - freed < 0
        )
        was = (order.version, order.total_amount, order.captured_amount, order.credited_amount)
        if self.refused(expect_refusal, cancel_lines, self.book, line_ids, self.now):
            return
        assert all(line.status is OrderLineStatus.CANCELLED for line in chosen)
        assert order.status is OrderStatus.DRAFT
        assert (order.version, order.total_amount + freed) == was[:2]
        assert (order.captured_amount, order.credited_amount) == was[2:]
        assert order.owed >= 0

    @rule(
        data=st.data(),
        kind=st.sampled_from(["part", "part", "all", "over", "zero"]),
        fail_at=FAIL_AT,
    )
    def compensate(self, data: st.DataObject, kind: str, fail_at: int | None) -> None:
        """`compensateOrder`: an amount above 0.00 and at most captured - credited (else
        AMOUNT_MISMATCH) of a CONFIRMED order given back, newest capture first; then a new
        CONFIRMED version with a COMPENSATION fee of minus it."""
        order = self.order
        left = minor(order.captured_amount - order.credited_amount)
        if kind == "part":
            amount = data.draw(st.integers(1, max(left, 1)), label="part")
        elif kind == "all":
            amount = left
        elif kind == "over":
            amount = left + data.draw(st.integers(1, 10_000), label="over")
        else:
            amount = data.draw(st.integers(-10_000, 0), label="zero")
        code = None
        if self.pending_refunds() or order.status is not OrderStatus.CONFIRMED or left <= 0:
            code = ErrorCode.INVALID_STATE
        elif amount <= 0:
            code = ErrorCode.VALIDATION_FAILED
        elif amount > left:
            code = ErrorCode.AMOUNT_MISMATCH
        key = self.key()
        before = (order.credited_amount, order.captured_amount, order.version)
        order_before = order_snapshot(order)
        credits_before = self.credited_by_transaction()
        try:
            if self.refused(
                code is not None, compensate_order, self.book, key, ore(amount), self.now,
                fail_at, code=code,
            ):  # fmt: skip
                return
        except ProviderFailed:
            self.check_still_pending(key, order_before)
            self.check_newest_first(credits_before)
            return
        self.check_newest_first(credits_before)
        self.check_compensated(key, ore(amount), before)

    def check_compensated(
        self, key: str, amount: Decimal, before: tuple[Decimal, Decimal, int]
    ) -> None:
        order = self.order
        refund = self.book.refunds[key]
        assert refund.status is RefundStatus.COMPLETED
        assert refund.purpose is RefundPurpose.COMPENSATE
        assert refund.line_ids == []
        assert credited_for(self.book, refund) == amount
        fee = order.fees[-1]
        assert (fee.type, fee.price.amount, fee.active) == (FeeType.COMPENSATION, -amount, True)
        assert fee.price.tax_amount == vat_oracle(-amount)
        assert order.credited_amount == before[0] + amount
        assert order.captured_amount == before[1]
        assert order.version == before[2] + 1 == refund.order_version
        assert order.status is OrderStatus.CONFIRMED
        assert order.owed == 0
        note("compensated")
        self.last = ("compensate", key, amount)
        self.after_change()

    @rule(data=st.data())
    def disrupt(self, data: st.DataObject) -> None:
        """`disruptServiceJourney`: every line on the journey is marked disrupted (it is no
        longer sold). No money moves."""
        journeys = sorted(
            {line.travel.service_journey_id for line in self.order.lines} - self.disrupted
        )
        if not journeys:
            return
        journey = data.draw(st.sampled_from(journeys), label="journey")
        before = snapshot(self.book)
        money = (self.order.total_amount, self.order.total_tax_amount, self.order.owed)
        for line in self.order.lines:
            if line.travel.service_journey_id == journey:
                line.travel = replace(line.travel, disrupted=True)
        self.disrupted.add(journey)
        assert snapshot(self.book)[1:] == before[1:]
        assert (self.order.total_amount, self.order.total_tax_amount, self.order.owed) == money

    @rule(data=st.data(), stray=st.sampled_from([False, False, True]))
    def rebook(self, data: st.DataObject, stray: bool) -> None:
        """`rebookDisruptedOrderLines`: CONFIRMED lines of a disrupted journey on a CONFIRMED
        order moved to another journey at their old price, with no payment, in a new
        CONFIRMED version; other lines are refused."""
        order = self.order

        def movable(line: OrderLine) -> bool:
            return (
                line.travel.disrupted
                and order.status is OrderStatus.CONFIRMED
                and line.status is OrderLineStatus.CONFIRMED
            )

        pool = [line.id for line in order.lines if stray or movable(line)]
        line_ids = pick(data, pool, "rebooked")
        by_id = {line.id: line for line in order.lines}
        chosen = [by_id[line_id] for line_id in line_ids]
        expect_refusal = (
            bool(self.pending_refunds()) or not chosen or not all(movable(line) for line in chosen)
        )
        was = (order.version, order.total_amount, order.captured_amount, order.credited_amount)
        count = len(order.lines)
        if self.refused(expect_refusal, rebook, self.book, line_ids, next_id("SJR"), self.now):
            return
        new = order.lines[count:]
        assert all(line.status is OrderLineStatus.CANCELLED for line in chosen)
        assert [line.price for line in new] == [line.price for line in chosen]
        assert all(line.status is OrderLineStatus.CONFIRMED for line in new)
        assert order.status is OrderStatus.CONFIRMED
        assert order.version == was[0] + 1
        assert (order.total_amount, order.captured_amount, order.credited_amount) == was[1:]
        note("rebooked")
        self.last = ("rebook", line_ids, None)
        self.after_change()

    @precondition(lambda self: self.last is not None and not self.pending_refunds())
    @rule(same_key=st.booleans())
    def retry(self, same_key: bool) -> None:
        """The last capture, refund, compensation, confirmation or rebooking again: refused,
        or (same idempotency key) answered as before; either way no more money moves."""
        assert self.last is not None
        kind, first, second = self.last
        before = snapshot(self.book)
        if kind == "capture":
            assert isinstance(first, Payment) and isinstance(second, Transaction)
            with pytest.raises(SalesError):
                capture(self.order, first, second, self.now, True)
        elif kind == "compensate":
            assert isinstance(first, str) and isinstance(second, Decimal)
            refund = compensate_order(self.book, first, second, self.now, None)
            assert refund.status is RefundStatus.COMPLETED
        elif kind == "confirm":
            if before != first:
                return  # the order moved on: confirming it now is another request
            discard(self.book, RefundPurpose.CONFIRM, self.key(), self.now, None)
        elif kind == "rebook":
            assert isinstance(first, list)
            with pytest.raises(SalesError):
                rebook(self.book, first, next_id("SJR"), self.now)
        elif same_key:
            assert isinstance(first, str)
            refund = refund_order(self.book, first, None, self.now, None)
            assert refund.status is RefundStatus.COMPLETED
        else:
            assert isinstance(second, list)
            with pytest.raises(SalesError):
                refund_order(self.book, self.key(), second, self.now, None)
        assert snapshot(self.book) == before

    # -------------------------------------------------------------- invariants

    @invariant()
    def credits_never_exceed_captures(self) -> None:
        for payment, transaction in self.all_transactions():
            credits = [c for c in self.book.credits if c.transaction_id == transaction.id]
            credited = sum((c.amount for c in credits if c.status is CreditStatus.CREDITED), ZERO)
            assert ZERO <= transaction.credited_amount <= transaction.amount
            assert credited == transaction.credited_amount
            if credits:
                assert transaction.status in TAKEN
                assert all(c.payment_id == payment.id for c in credits)
            assert (transaction.status is TransactionStatus.CREDITED) == (
                transaction.status in TAKEN and transaction.credited_amount == transaction.amount
            )
            logged = [op for op in transaction.operation_log if op.operation == "CREDIT"]
            assert sum((op.amount for op in logged), ZERO) == transaction.credited_amount
        assert ZERO <= self.order.credited_amount <= self.order.captured_amount

    @invariant()
    def money_adds_up(self) -> None:
        order = self.order
        taken = [t for _, t in self.all_transactions() if t.status in TAKEN]
        assert order.captured_amount == sum((t.amount for t in taken), ZERO)
        open_ids = {r.id for r in self.book.refunds.values() if r.status is RefundStatus.PENDING}
        pending = sum(
            (
                c.amount
                for c in self.book.credits
                if c.status is CreditStatus.CREDITED and c.refund_id in open_ids
            ),
            ZERO,
        )
        assert order.credited_amount + pending == sum((t.credited_amount for t in taken), ZERO)
        owed = order.total_amount - order.captured_amount + order.credited_amount
        assert order.owed == owed
        assert order.balance == max(owed, ZERO)
        assert order.balance >= 0
        beyond = max(-owed, ZERO)  # kept beyond what the version costs
        assert beyond <= order.captured_amount - order.credited_amount, (owed, beyond)
        assert order.surplus == beyond
        if order.status is not OrderStatus.DRAFT:
            assert order.balance == 0

    @invariant()
    def a_settled_order_keeps_what_it_costs(self) -> None:
        """A CONFIRMED or CANCELLED order keeps exactly what it costs: nothing owed, and no
        surplus that nothing would give back."""
        order = self.order
        if order.status is not OrderStatus.DRAFT:
            assert order.owed == 0, (order.status, order.total_amount, order.owed)

    @invariant()
    def totals_are_sums_of_active_lines_and_fees(self) -> None:
        order = self.order
        active = [
            line
            for line in order.lines
            if line.status in (OrderLineStatus.DRAFT, OrderLineStatus.CONFIRMED)
        ]
        fees = [fee for fee in order.fees if fee.active]
        for price in prices_of(order.lines, order.fees):
            assert price.tax_amount == vat_oracle(price.amount)
            assert price.tax_amount == vat_of(price.amount)
        for fee in order.fees:
            assert (fee.price.amount < 0) == (fee.type is FeeType.COMPENSATION)
        amounts = [price.amount for price in prices_of(active, fees)]
        assert order.total_amount == sum(amounts, ZERO)
        assert order.total_tax_amount == sum((vat_oracle(a) for a in amounts), ZERO)

    @invariant()
    def amounts_have_two_decimals(self) -> None:
        order = self.order
        amounts = [
            order.total_amount,
            order.total_tax_amount,
            order.balance,
            order.captured_amount,
            order.credited_amount,
        ]
        prices = prices_of(order.lines, order.fees)
        amounts += [price.amount for price in prices] + [price.tax_amount for price in prices]
        for payment in self.book.payments:
            amounts += [payment.total_amount, payment.captured_amount, payment.unpaid_amount]
            amounts += [t.amount for t in payment.transactions]
            amounts += [t.credited_amount for t in payment.transactions]
        amounts += [c.amount for c in self.book.credits]
        amounts += [r.amount for r in self.book.refunds.values()]
        assert all(two_decimals(a) for a in amounts), amounts

    @invariant()
    def lines_keep_their_money_status(self) -> None:
        order = self.order
        if order.status is OrderStatus.CONFIRMED:
            assert all(line.status is not OrderLineStatus.DRAFT for line in order.lines)
        if order.status is OrderStatus.CANCELLED:
            assert not order.active_lines
        assert (order.confirmed_state is None) == (self.confirmed_ids is None)


def test_a_pending_refund_resumed_after_the_order_changed_is_refused() -> None:
    """Found by the machine when other steps may run while a refund is pending: the resumed
    refund made a DRAFT order with an unpaid line CONFIRMED, with a balance above 0.00.
    Resuming now re-checks the order and refuses. (`reserveOffers` is now refused while the
    refund is pending; the domain's own re-check is kept, so the lines are added here as
    the domain step alone.)"""
    machine = MoneyMachine()
    machine.reserve([(10_000, "Flex", 600, 1)])
    book, now = machine.book, machine.now
    payment = open_payment(book, None, now)
    capture(
        book.order,
        payment,
        create_transaction(book.order, payment, ore(10_000), now),
        now,
        approved=True,
    )
    line_id = book.order.lines[0].id
    with pytest.raises(ProviderFailed):
        refund_order(book, "K1", [line_id], now, fail_at=0)
    new = [machine.new_line(5_000, "Flex", 600, 1)]
    with pytest.raises(SalesError) as guarded:
        reserve(book, new, now)
    assert guarded.value.code is ErrorCode.INVALID_STATE
    book.order.add_lines(new, [TRAVELLER], now)  # a new DRAFT version while it is pending
    with pytest.raises(SalesError) as refused:
        refund_order(book, "K1", None, now, fail_at=None)
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert book.order.status is OrderStatus.DRAFT
    assert book.order.balance > 0


def paid_order(*prices: int) -> MoneyMachine:
    """A machine whose order has Flex lines at `prices` (øre), paid and CONFIRMED."""
    machine = MoneyMachine()
    machine.first_reservation([(price, "Flex", 600, 1) for price in prices], captures=1)
    assert machine.order.status is OrderStatus.CONFIRMED
    return machine


def test_a_refused_cancel_of_lines_changes_no_line() -> None:
    """Found by the machine (`cancel_lines`: a refused step changes nothing): cancelOrderLines
    checks each line and cancels it before checking the next, so a refusal for a later line
    leaves the earlier ones CANCELLED ("All of them or none")."""
    machine = paid_order(10_000)
    confirmed = machine.order.lines[0]
    machine.reserve([(5_000, "Flex", 600, 1)])
    added = machine.order.lines[-1]
    with pytest.raises(SalesError) as refused:
        cancel_lines(machine.book, [added.id, confirmed.id], machine.now)
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert added.status is OrderLineStatus.DRAFT
    assert machine.order.total_amount == ore(15_000)


def test_a_refund_after_a_compensation_leaves_the_order_costing_what_it_keeps() -> None:
    """Found by the machine (`a_settled_order_keeps_what_it_costs`): a refund is capped at
    captured - credited, but its lines leave the order in full while the COMPENSATION fee
    stays active, so the refunded order costs less than it keeps (here -30.00 against
    0.00; the order says 30.00 more is owed back than there is to give)."""
    machine = paid_order(10_000)
    book, now = machine.book, machine.now
    compensate_order(book, "K1", ore(3_000), now, None)
    refund = refund_order(book, "K2", None, now, None)
    assert refund.amount == ore(7_000)  # capped: 30.00 was given back already
    assert book.order.status is OrderStatus.CANCELLED
    assert book.order.credited_amount == book.order.captured_amount == ore(10_000)
    assert book.order.total_amount == book.order.captured_amount - book.order.credited_amount
    assert book.order.owed == 0


def test_vat_of_a_negative_amount_rounds_away_from_zero() -> None:
    """A COMPENSATION fee's VAT mirrors a line's: 12/112 of -0.14 is -0.015, so -0.02."""
    assert vat_of(Decimal("-0.14")) == vat_oracle(Decimal("-0.14")) == Decimal("-0.02")
    assert vat_of(Decimal("0.14")) == vat_oracle(Decimal("0.14")) == Decimal("0.02")


MoneyMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MONEY_INVARIANTS_EXAMPLES", "200")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestMoneyInvariants = MoneyMachine.TestCase
