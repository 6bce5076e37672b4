"""The money rules of DOMAIN.md ("Money", "After the sale", "Versions") as a Hypothesis state
machine over the pure domain: no database, no HTTP.

The helpers below apply the same domain steps, in the same order and with the same checks, as
the services do (`services/reservations.py`, `services/payments.py`, `services/after_sale.py`,
`services/lifecycle.py`); the machine drives them in random order and checks after every step:

- credits never exceed captures, per transaction, and each transaction's credited amount is
  the sum of its credits;
- the balance is never negative, is total - captured + credited, and is 0.00 on a CONFIRMED
  or CANCELLED order;
- the order's total and tax are the sums over its active lines, each line's VAT being
  12/112 of its price, half up to the øre (computed here with integers, not with `vat_of`);
- every amount has exactly two decimals;
- a refused step changes nothing, and retrying a capture or a refund takes no more money.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sales_api.domain.after_sale import ensure_refund_still_possible, refund_options
from sales_api.domain.errors import ErrorCode, SalesError, ValidationFailed
from sales_api.domain.money import PriceWithTax, vat_of
from sales_api.domain.orders import (
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
from sales_api.domain.payments import (
    Credit,
    CreditStatus,
    Payment,
    PaymentType,
    Transaction,
    TransactionStatus,
)
from sales_api.domain.refunds import Refund, RefundStatus, allocate_credits

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ZERO = Decimal("0.00")
TRAVELLER = Traveller("t1", UserType.ADULT)
TAKEN = (TransactionStatus.CAPTURED, TransactionStatus.CREDITED)
MAX_ORE = 500_000  # 5000.00


def ore(minor: int) -> Decimal:
    """Minor units to an amount with two decimals, independently of the code under test."""
    return Decimal(minor).scaleb(-2)


def minor(amount: Decimal) -> int:
    return int(amount * 100)


def vat_oracle(amount: Decimal) -> Decimal:
    """12/112 of the amount, half up to the øre, in integers: floor((24 n + 112) / 224)."""
    return ore((24 * minor(amount) + 112) // 224)


def two_decimals(amount: Decimal) -> bool:
    return amount.as_tuple().exponent == -2


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


def reserve(order: Order, lines: list[OrderLine], now: datetime) -> None:
    """`reserveOffers` on an existing order (`_order_to_extend`, then `add_lines`)."""
    order.ensure_changeable()
    order.ensure_not_expired(now)
    order.add_lines(lines, [TRAVELLER], now)


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
    """`captureTransaction`: the balance check, then the provider; at 0.00 the order confirms."""
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
    if order.balance == 0:
        order.confirm(now)


def cancel_transaction(transaction: Transaction, now: datetime) -> None:
    transaction.ensure_status(TransactionStatus.CREATED)
    transaction.status = TransactionStatus.CANCELLED
    transaction.log("CANCEL", transaction.amount, now)


def plan_refund(order: Order, line_ids: list[str] | None, now: datetime) -> Refund:
    """`_plan_refund`: every chosen line must be refundable now (None: every one that is)."""
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
        amount=sum((o.refundable_amount for o in options), ZERO),
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
    mine = [c for c in book.credits if c.refund_id == refund.id]
    credited = sum((c.amount for c in mine if c.status is CreditStatus.CREDITED), ZERO)
    try:
        credit(book, refund, refund.amount - credited, now, fail_at)
    except ProviderFailed:
        book.refunds[key] = refund  # kept pending: the service commits it and the credits
        raise
    book.order.refund_lines(refund.line_ids, refund.amount, now)
    refund.status = RefundStatus.COMPLETED
    refund.order_version = book.order.version
    book.refunds[key] = refund
    return refund


def deactivate_discarded_payments(book: Ledger, discarded_version: int | None) -> None:
    order = book.order
    if discarded_version is None or (
        order.status is not OrderStatus.CANCELLED and order.version == discarded_version
    ):
        return
    for payment in book.payments:
        if payment.order_version == discarded_version and payment.active:
            payment.active = False


def lifecycle(book: Ledger, change: str, now: datetime) -> None:
    """`cancelOrder`, `resetOrder`, `confirmOrder` through `lifecycle._change`."""
    order = book.order
    draft_version = order.version if order.status is OrderStatus.DRAFT else None
    if change == "cancel":
        order.cancel()
    elif change == "reset":
        order.reset()
    else:
        order.confirm(now)
    deactivate_discarded_payments(book, draft_version)


def expire(book: Ledger, now: datetime) -> None:
    """`expire_orders` for this order."""
    order = book.order
    if not order.is_expired(now):
        return
    discarded = order.version
    try:
        order.reset(expired=True)
    except SalesError:
        order.expire_at = None
    else:
        deactivate_discarded_payments(book, discarded)


# ------------------------------------------------------------------ the machine


def snapshot(book: Ledger) -> tuple[object, ...]:
    """Everything a refused step must leave as it was."""
    order = book.order
    return (
        order.status,
        order.version,
        order.captured_amount,
        order.credited_amount,
        order.expire_at,
        tuple((line.id, line.status) for line in order.lines),
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
        tuple((k, r.status) for k, r in book.refunds.items()),
    )


ONE_IN_EIGHT = st.sampled_from([False] * 7 + [True])

# New lines: (price in øre, refundable, minutes to departure).
LINES = st.lists(
    st.tuples(
        st.integers(0, MAX_ORE) | st.sampled_from([0, 1, 7, 72300, MAX_ORE]),
        st.booleans(),
        st.integers(30, 60 * 24 * 7),
    ),
    min_size=1,
    max_size=3,
)


def pick(data: st.DataObject, items: list[str], label: str) -> list[str]:
    if not items:
        return []
    return data.draw(st.lists(st.sampled_from(items), min_size=1, unique=True), label=label)


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
        # The model: the lines active at the last confirmation, for what a reset returns to.
        self.confirmed_ids: set[str] | None = None

    @property
    def order(self) -> Order:
        return self.book.order

    # -------------------------------------------------------------- helpers

    def refused(self, expected: bool, step: object, *args: object) -> bool:
        """Run the step; it must raise SalesError exactly when `expected`, changing nothing."""
        before = snapshot(self.book)
        if expected:
            with pytest.raises(SalesError):
                step(*args)  # type: ignore[operator]
            assert snapshot(self.book) == before
            return True
        step(*args)  # type: ignore[operator]
        return False

    def blocked(self) -> bool:
        return self.order.status is OrderStatus.CANCELLED or self.order.is_expired(self.now)

    def after_change(self) -> None:
        if self.order.status is OrderStatus.CONFIRMED:
            self.confirmed_ids = {line.id for line in self.order.active_lines}

    def all_transactions(self) -> list[tuple[Payment, Transaction]]:
        return [(p, t) for p in self.book.payments for t in p.transactions]

    def pending_refunds(self) -> list[str]:
        return [k for k, r in self.book.refunds.items() if r.status is RefundStatus.PENDING]

    def line_refundable(self, line: OrderLine) -> bool:
        return (
            self.order.status is OrderStatus.CONFIRMED
            and line.status is OrderLineStatus.CONFIRMED
            and line.product.refundable
            and self.now < line.travel.departure_time
        )

    def idle_with_transactions(self) -> bool:
        return not self.pending_refunds() and any(p.transactions for p in self.book.payments)

    # -------------------------------------------------------------- rules
    # While a refund is pending (the provider failed part way) the only step is to resume it:
    # the service does not yet guard an order with a pending refund against other changes
    # (see `test_a_pending_refund_resumed_after_the_order_changed`).

    @initialize(lines=LINES)
    def first_reservation(self, lines: list[tuple[int, bool, int]]) -> None:
        self.reserve(lines)

    @precondition(lambda self: not self.pending_refunds())
    @rule(lines=LINES)
    def reserve(self, lines: list[tuple[int, bool, int]]) -> None:
        new = []
        for price, refundable, minutes in lines:
            departure = self.now + timedelta(minutes=minutes)
            new.append(
                OrderLine(
                    id=next_id("L"),
                    order_id=self.order.id,
                    status=OrderLineStatus.DRAFT,
                    product=ProductSnapshot(
                        "P",
                        "Flex" if refundable else "Lite",
                        FareClass.STANDARD_CLASS,
                        refundable,
                        refundable,
                    ),
                    travel=TravelSpecification(
                        "SJ1",
                        StopPlaceRef("A", "Oslo S"),
                        StopPlaceRef("B", "Bergen"),
                        departure,
                        departure + timedelta(hours=7),
                    ),
                    traveller_ids=(TRAVELLER.id,),
                    price=PriceWithTax.including_vat(ore(price), "NOK"),
                    created_at=self.now,
                )
            )
        was = (self.order.status, self.order.version, self.order.total_amount)
        if self.refused(self.blocked(), reserve, self.order, new, self.now):
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
        fail_at=st.none() | st.none() | st.integers(0, 2),
    )
    def refund(
        self, data: st.DataObject, everything: bool, stray: bool, fail_at: int | None
    ) -> None:
        """Refund chosen lines (refundable ones, sometimes others too) or every refundable
        one; the provider may fail part way, leaving the refund pending."""
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
        key = f"K{next(self.keys)}"
        before = (order.credited_amount, order.captured_amount, order.version)
        expected_amount = sum((line.price.amount for line in chosen), ZERO)
        try:
            if self.refused(
                expect_refusal, refund_order, self.book, key, line_ids, self.now, fail_at
            ):
                return
        except ProviderFailed:
            refund = self.book.refunds[key]
            assert refund.status is RefundStatus.PENDING
            assert (order.credited_amount, order.captured_amount, order.version) == before
            assert all(line.status is OrderLineStatus.CONFIRMED for line in chosen)
            return
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
        assert all(line.status is OrderLineStatus.REFUNDED for line in chosen)
        assert order.credited_amount == before[0] + amount
        assert order.captured_amount == before[1]
        assert order.version == before[2] + 1 == refund.order_version
        assert order.balance == 0
        expected_status = OrderStatus.CONFIRMED if order.active_lines else OrderStatus.CANCELLED
        assert order.status is expected_status
        credited = sum(
            (
                c.amount
                for c in self.book.credits
                if c.refund_id == refund.id and c.status is CreditStatus.CREDITED
            ),
            ZERO,
        )
        assert credited == amount
        self.last = ("refund", key, refund.line_ids)
        self.after_change()

    @precondition(lambda self: self.pending_refunds())
    @rule(fail_again=st.booleans())
    def resume_refund(self, fail_again: bool) -> None:
        """The same idempotency key again: credits what is left, then refunds the lines."""
        key = self.pending_refunds()[0]
        refund = self.book.refunds[key]
        chosen = [line for line in self.order.lines if line.id in refund.line_ids]
        before = (self.order.credited_amount, self.order.captured_amount, self.order.version)
        try:
            refund_order(self.book, key, None, self.now, 0 if fail_again else None)
        except ProviderFailed:
            assert refund.status is RefundStatus.PENDING
            return
        self.check_refunded(key, chosen, refund.amount, before)

    @precondition(lambda self: not self.pending_refunds())
    @rule(go=ONE_IN_EIGHT)
    def reset(self, go: bool) -> None:
        """`resetOrder`; a reset that would succeed runs one time in eight, so that a run
        gets far enough to pay and refund."""
        order = self.order
        kept = sum(
            (line.price.amount for line in order.lines if line.id in (self.confirmed_ids or ())),
            ZERO,
        )
        negative = kept - order.captured_amount + order.credited_amount < 0
        assert (order.reset_blocker() is not None) == negative
        expect_refusal = order.status is not OrderStatus.DRAFT or negative
        if not (expect_refusal or go):
            return
        if self.refused(expect_refusal, lifecycle, self.book, "reset", self.now):
            return
        if self.confirmed_ids is None:
            assert order.status is OrderStatus.CANCELLED
        else:
            assert order.status is OrderStatus.CONFIRMED
            assert {line.id for line in order.active_lines} == self.confirmed_ids
        assert (
            not any(p.active for p in self.book.payments if p.order_version > order.version)
            or order.status is OrderStatus.CONFIRMED
        )

    @precondition(lambda self: not self.pending_refunds())
    @rule(go=ONE_IN_EIGHT)
    def cancel(self, go: bool) -> None:
        """`cancelOrder` (one time in eight when it would succeed, like `reset`)."""
        order = self.order
        expect_refusal = order.status is not OrderStatus.DRAFT or order.captured_amount != 0
        if not (expect_refusal or go):
            return
        if not self.refused(expect_refusal, lifecycle, self.book, "cancel", self.now):
            assert order.status is OrderStatus.CANCELLED
            assert not order.active_lines

    @precondition(lambda self: not self.pending_refunds())
    @rule()
    def confirm(self) -> None:
        """`confirmOrder`: only at 0.00 (an order of free lines)."""
        expect_refusal = self.blocked() or self.order.balance != 0
        if not self.refused(expect_refusal, lifecycle, self.book, "confirm", self.now):
            self.after_change()

    @precondition(lambda self: not self.pending_refunds())
    @rule(minutes=st.sampled_from([1, 2, 5, 10] * 3 + [19, 25, 90, 600]))
    def tick(self, minutes: int) -> None:
        """Time passes (lines may depart, a DRAFT may expire), and the expiry sweep runs."""
        self.now += timedelta(minutes=minutes)
        expire(self.book, self.now)
        self.after_change()

    @precondition(lambda self: self.last is not None and not self.pending_refunds())
    @rule(same_key=st.booleans())
    def retry(self, same_key: bool) -> None:
        """The last capture or refund again: refused, or (same idempotency key) answered as
        before; either way no more money moves."""
        assert self.last is not None
        kind, first, second = self.last
        before = snapshot(self.book)
        if kind == "capture":
            assert isinstance(first, Payment) and isinstance(second, Transaction)
            with pytest.raises(SalesError):
                capture(self.order, first, second, self.now, True)
        elif same_key:
            assert isinstance(first, str)
            refund = refund_order(self.book, first, None, self.now, None)
            assert refund.status is RefundStatus.COMPLETED
        else:
            assert isinstance(second, list)
            with pytest.raises(SalesError):
                refund_order(self.book, f"K{next(self.keys)}", second, self.now, None)
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
        assert order.balance == order.total_amount - order.captured_amount + order.credited_amount
        assert order.balance >= 0
        if order.status is not OrderStatus.DRAFT:
            assert order.balance == 0
        if order.status is OrderStatus.CANCELLED:
            assert order.total_amount == 0

    @invariant()
    def totals_are_sums_of_active_lines(self) -> None:
        order = self.order
        active = [
            line
            for line in order.lines
            if line.status in (OrderLineStatus.DRAFT, OrderLineStatus.CONFIRMED)
        ]
        for line in order.lines:
            assert line.price.tax_amount == vat_oracle(line.price.amount)
            assert line.price.tax_amount == vat_of(line.price.amount)
        assert order.total_amount == sum((line.price.amount for line in active), ZERO)
        assert order.total_tax_amount == sum(
            (vat_oracle(line.price.amount) for line in active), ZERO
        )

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
        amounts += [line.price.amount for line in order.lines]
        amounts += [line.price.tax_amount for line in order.lines]
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


def test_a_pending_refund_resumed_after_the_order_changed_is_refused() -> None:
    """Found by the machine when other steps may run while a refund is pending: the resumed
    refund made a DRAFT order with an unpaid line CONFIRMED, with a balance above 0.00.
    Resuming now re-checks the order and refuses."""
    machine = MoneyMachine()
    machine.reserve([(10_000, True, 600)])
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
    machine.reserve([(5_000, True, 600)])  # a new DRAFT version while the refund is pending
    with pytest.raises(SalesError) as refused:
        refund_order(book, "K1", None, now, fail_at=None)
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert book.order.status is OrderStatus.DRAFT
    assert book.order.balance > 0


MoneyMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestMoneyInvariants = MoneyMachine.TestCase
