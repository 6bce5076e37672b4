"""A fake unit of work: the ports of sales_api/domain/ports.py on plain dicts in memory, so
that the use cases in sales_api/domain/services get unit tests without a database (the
FakeUnitOfWork of "Architecture Patterns with Python").

It keeps the promises of the SQL implementations in sales_api/persistence, not their means:

- A unit of work is a transaction. It works on a deep copy of the committed tables and swaps
  that copy in on `commit()`; leaving `async with` without committing drops it, so a use
  case that fails half way leaves nothing behind, as a rollback would.
- Repositories hand out and take in deep copies: a change to an aggregate counts once it is
  saved, as with rows, never because a test or a use case kept a reference to it.
- Seat holds are keyed like the unique key uq_seat_holds_seat_leg (journey, car, seat, leg):
  `seats.sync` refuses a seat another reservation holds on a shared leg (SEAT_UNAVAILABLE).
- Idempotency keys, orders and payments are scoped by organisation as the SQL is;
  `organisation_id=None` is the service's own work and sees every organisation's.

There are no locks: units of work run one after another, as the use cases do. A commit after
another unit of work committed meanwhile is refused (RuntimeError) instead of silently losing
that one's changes; concurrency is tested against the real databases (tests/api)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import resources
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from sales_api.domain.catalogue import Catalogue, catalogue_from_document
from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.events import OrderEvent
from sales_api.domain.offers import OfferCodec
from sales_api.domain.orders import Order, OrderLineStatus, OrderStatus
from sales_api.domain.outbox import OutboxMessage
from sales_api.domain.payments import Credit, CreditStatus, Payment, TransactionStatus
from sales_api.domain.ports import IdempotencyRecord
from sales_api.domain.receipts import Receipt
from sales_api.domain.refunds import Refund, RefundStatus
from sales_api.domain.seating import SeatKey
from sales_api.domain.tickets import TicketDistribution, TicketDistributionGroup

HoldKey = tuple[str, int, str, int]
"""(service journey, car, seat, leg): the database's unique key of a seat hold."""


@dataclass(frozen=True, slots=True)
class SeatHold:
    reservation_id: str
    expire_at: datetime | None
    """None: held for good (CONFIRMED); else the DRAFT order's expiry."""

    def live(self, now: datetime) -> bool:
        return self.expire_at is None or self.expire_at > now


@dataclass(slots=True)
class ClaimedKey:
    record: IdempotencyRecord
    created_at: datetime


@dataclass(slots=True)
class Tables:
    """Everything the fake database holds; compare two snapshots to see what changed."""

    channels: dict[str, set[int]]
    """Distribution channel id -> the organisations it is open to."""
    orders: dict[str, Order] = field(default_factory=dict)
    seat_holds: dict[HoldKey, SeatHold] = field(default_factory=dict)
    idempotency_keys: dict[tuple[int, str], ClaimedKey] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    credits: dict[str, Credit] = field(default_factory=dict)
    ticket_groups: dict[str, TicketDistributionGroup] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)
    outbox: dict[str, OutboxMessage] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    events: list[OrderEvent] = field(default_factory=list)
    disrupted: dict[str, str] = field(default_factory=dict)
    """Disrupted service journey id -> reason."""


class FakeDatabase:
    """The committed tables, and the UnitOfWorkFactory over them (`uow_factory(write=...)`)."""

    def __init__(self, channels: Mapping[str, Iterable[int]]) -> None:
        self._committed = Tables(channels={cid: set(orgs) for cid, orgs in channels.items()})
        self.commits = 0

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        """`write` takes the write lock in SQL; one unit of work at a time needs none."""
        return FakeUnitOfWork(self)

    def snapshot(self) -> Tables:
        """A copy of what is committed, for assertions."""
        return copy.deepcopy(self._committed)

    def begin(self) -> tuple[Tables, int]:
        """A private copy of the committed tables, and the commit it was taken at."""
        return copy.deepcopy(self._committed), self.commits

    def commit(self, tables: Tables, taken_at: int) -> None:
        if self.commits != taken_at:
            raise RuntimeError(
                "another unit of work committed while this one was open; the fake runs "
                "units of work one at a time (races are tested against a real database)"
            )
        self._committed = tables
        self.commits += 1


class FakeUnitOfWork:
    """UnitOfWork: `async with` begins, `commit()` makes the changes visible to later units
    of work, leaving the block without it discards them (an exception included)."""

    orders: FakeOrders
    channels: FakeChannels
    seats: FakeSeatInventory
    idempotency: FakeIdempotencyKeys
    payments: FakePayments
    tickets: FakeTickets
    receipts: FakeReceipts
    outbox: FakeOutbox
    refunds: FakeRefunds
    events: FakeEventLog
    disruptions: FakeDisruptions

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self._taken_at = -1
        self._open = False

    def _begin(self) -> None:
        tables, self._taken_at = self._database.begin()
        self.seats = FakeSeatInventory(tables.seat_holds)
        self.orders = FakeOrders(tables.orders, self.seats)
        self.channels = FakeChannels(tables.channels)
        self.idempotency = FakeIdempotencyKeys(tables.idempotency_keys)
        self.payments = FakePayments(tables.payments, tables.credits)
        self.tickets = FakeTickets(tables.ticket_groups)
        self.receipts = FakeReceipts(tables.receipts)
        self.outbox = FakeOutbox(tables.outbox)
        self.refunds = FakeRefunds(tables.refunds)
        self.events = FakeEventLog(tables.events)
        self.disruptions = FakeDisruptions(tables.disrupted, tables.orders)
        self._tables = tables

    async def __aenter__(self) -> Self:
        self._begin()
        self._open = True
        return self

    async def commit(self) -> None:
        if not self._open:
            raise RuntimeError("commit() inside `async with` only")
        # What `add` staged is written now, as SqlUnitOfWork flushes before it commits.
        await self.orders.flush()
        self.outbox.flush()
        self.events.flush()
        self._database.commit(self._tables, self._taken_at)
        # Like a connection after COMMIT: what follows is a new transaction, rolled back
        # unless committed again.
        self._begin()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Uncommitted changes live only in this unit of work's copy, which is never
        committed now: that is the rollback."""
        self._open = False


class FakeOrders:
    """OrderRepository. `add` is written at commit and `save` at once, each syncing the
    order's seat holds, as SqlOrderRepository writes its children."""

    def __init__(self, orders: dict[str, Order], seats: FakeSeatInventory) -> None:
        self._orders = orders
        self._seats = seats
        self._new: list[Order] = []
        self._loaded: set[str] = set()

    def add(self, order: Order) -> None:
        self._new.append(order)  # written as it stands at commit, like the SQL's flush

    async def flush(self) -> None:
        new, self._new = self._new, []
        for order in new:
            if order.id in self._orders:
                raise RuntimeError(f"order {order.id} exists already (primary key)")
            self._orders[order.id] = copy.deepcopy(order)
            self._loaded.add(order.id)
            await self._seats.sync(order)

    async def get_for_update(self, order_id: str, organisation_id: int | None) -> Order | None:
        order = self._orders.get(order_id)
        if order is None or organisation_id not in (None, order.organisation_id):
            return None
        self._loaded.add(order_id)
        return copy.deepcopy(order)

    async def save(self, order: Order) -> None:
        if order.id not in self._loaded:
            raise RuntimeError("save() takes an order loaded with get_for_update()")
        self._orders[order.id] = copy.deepcopy(order)
        await self._seats.sync(order)

    async def find_reservation_order(
        self, reservation_id: str, organisation_id: int
    ) -> tuple[str, str] | None:
        for order in self._orders.values():
            if order.organisation_id != organisation_id:
                continue
            for reservation in order.reservations:
                if reservation.id == reservation_id:
                    return order.id, reservation.service_journey_id
        return None

    async def expired_order_ids(self, now: datetime, limit: int) -> list[str]:
        expired = [
            o
            for o in self._orders.values()
            if o.status is OrderStatus.DRAFT and o.expire_at is not None and o.expire_at <= now
        ]
        expired.sort(key=lambda o: (o.expire_at, o.id))
        return [o.id for o in expired[:limit]]

    async def with_confirmed_line_on(
        self, journey_id: str, organisation_id: int | None
    ) -> list[str]:
        return sorted(
            o.id
            for o in self._orders.values()
            if organisation_id in (None, o.organisation_id)
            and any(
                line.travel.service_journey_id == journey_id
                and line.status is OrderLineStatus.CONFIRMED
                for line in o.lines
            )
        )


class FakeDisruptions:
    """Disruptions: the journeys, and the lines on them marked, as the SQL update does."""

    def __init__(self, disrupted: dict[str, str], orders: dict[str, Order]) -> None:
        self._disrupted = disrupted
        self._orders = orders

    async def disrupt(
        self, journey_id: str, reason: str, organisation_id: int, client_id: str, now: datetime
    ) -> bool:
        if journey_id in self._disrupted:
            return False
        self._disrupted[journey_id] = reason
        for order in self._orders.values():
            for line in order.lines:
                if line.travel.service_journey_id == journey_id:
                    line.travel = replace(line.travel, disrupted=True)
        return True

    async def disrupted_among(self, journey_ids: Iterable[str]) -> set[str]:
        return {j for j in journey_ids if j in self._disrupted}


class FakeSeatInventory:
    """SeatInventory: one hold per (journey, car, seat, leg), by construction of the dict."""

    def __init__(self, holds: dict[HoldKey, SeatHold]) -> None:
        self._holds = holds

    async def lock_journey(self, journey_id: str) -> None:
        """Nothing to lock: units of work run one at a time."""

    async def release_expired(self, journey_id: str, now: datetime) -> None:
        for key, hold in list(self._holds.items()):
            if key[0] == journey_id and hold.expire_at is not None and hold.expire_at <= now:
                del self._holds[key]

    async def taken(
        self,
        journey_id: str,
        from_index: int,
        to_index: int,
        now: datetime,
        excluding: Sequence[str] = (),
    ) -> set[SeatKey]:
        """Seats held on any leg of [from_index, to_index) by a live hold."""
        return {
            (car, seat)
            for (journey, car, seat, leg), hold in self._holds.items()
            if journey == journey_id
            and from_index <= leg < to_index
            and hold.live(now)
            and hold.reservation_id not in excluding
        }

    async def sync(self, order: Order) -> None:
        """The order's holds replaced by what its live reservations hold, all or nothing:
        a seat held by another reservation on a shared leg is SEAT_UNAVAILABLE, as the
        database's unique key refuses it, expired or not (release_expired frees those)."""
        reservations = order.reservations
        if not reservations:
            return
        mine = {r.id for r in reservations}
        holds = {k: h for k, h in self._holds.items() if h.reservation_id not in mine}
        for reservation in (r for r in reservations if r.holds_seats):
            for seat in reservation.seats:
                for leg in range(reservation.from_index, reservation.to_index):
                    key = (reservation.service_journey_id, seat.car_number, seat.seat_number, leg)
                    if key in holds:
                        raise SalesError(
                            ErrorCode.SEAT_UNAVAILABLE,
                            "A requested seat was taken by another sale at the same moment",
                        )
                    holds[key] = SeatHold(reservation.id, reservation.expire_at)
        self._holds.clear()
        self._holds.update(holds)


class FakeIdempotencyKeys:
    """IdempotencyKeys: a key is claimed per organisation; the result is kept as JSON, as
    the database's JSON column keeps it (tuples come back as lists)."""

    def __init__(self, keys: dict[tuple[int, str], ClaimedKey]) -> None:
        self._keys = keys

    async def claim(
        self, organisation_id: int, key: str, operation: str, request_hash: str, now: datetime
    ) -> IdempotencyRecord | None:
        claimed = self._keys.get((organisation_id, key))
        if claimed is None:
            record = IdempotencyRecord(operation, request_hash, {})
            self._keys[(organisation_id, key)] = ClaimedKey(record, now)
            return None
        return copy.deepcopy(claimed.record)

    async def complete(self, organisation_id: int, key: str, result: dict[str, Any]) -> None:
        claimed = self._keys.get((organisation_id, key))
        if claimed is not None:  # an UPDATE of no row changes nothing
            claimed.record = replace(claimed.record, result=json.loads(json.dumps(result)))

    async def forget_older_than(self, moment: datetime) -> int:
        old = [k for k, claimed in self._keys.items() if claimed.created_at < moment]
        for k in old:
            del self._keys[k]
        return len(old)


class _Dated(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


Dated = TypeVar("Dated", bound=_Dated)


def _by_time(items: Iterable[Dated]) -> list[Dated]:
    """Ordered as the SQL orders them: by created_at, then id."""
    return sorted(items, key=lambda item: (item.created_at, item.id))


class FakePayments:
    """PaymentRepository: payments with their transactions, and credits."""

    def __init__(self, payments: dict[str, Payment], credits: dict[str, Credit]) -> None:
        self._payments = payments
        self._credits = credits

    async def order_of_payment(self, payment_id: str, organisation_id: int) -> str | None:
        payment = self._payments.get(payment_id)
        return payment.order_id if payment and payment.organisation_id == organisation_id else None

    async def payment_of_transaction(
        self, transaction_id: str, organisation_id: int | None
    ) -> tuple[str, str] | None:
        for payment in self._payments.values():
            if organisation_id not in (None, payment.organisation_id):
                continue
            if any(t.id == transaction_id for t in payment.transactions):
                return payment.order_id, payment.id
        return None

    async def transaction_status(self, transaction_id: str) -> TransactionStatus | None:
        for payment in self._payments.values():
            for transaction in payment.transactions:
                if transaction.id == transaction_id:
                    return transaction.status
        return None

    async def unsettled_captures(
        self, sent_before: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        pending = sorted(
            (t.sent_at, t.id)
            for p in self._payments.values()
            for t in p.transactions
            if t.status is TransactionStatus.PENDING
            and t.sent_at is not None
            and t.sent_at <= sent_before
        )
        return [(transaction_id, sent_at) for sent_at, transaction_id in pending[:limit]]

    async def for_order(self, order_id: str) -> list[Payment]:
        payments = copy.deepcopy(
            _by_time(p for p in self._payments.values() if p.order_id == order_id)
        )
        for payment in payments:
            payment.transactions = _by_time(payment.transactions)
        return payments

    async def unsettled_credits(
        self, created_before: datetime, limit: int
    ) -> list[tuple[str, str, datetime]]:
        waiting = _by_time(
            c
            for c in self._credits.values()
            if c.status is CreditStatus.CREATED
            and c.created_at <= created_before
            and c.refund_id is not None
        )
        return [(c.id, str(c.refund_id), c.created_at) for c in waiting[:limit]]

    async def credits_for_order(self, order_id: str) -> list[Credit]:
        return copy.deepcopy(_by_time(c for c in self._credits.values() if c.order_id == order_id))

    async def save(self, payment: Payment) -> None:
        self._payments[payment.id] = copy.deepcopy(payment)

    async def save_credit(self, credit: Credit, *, new: bool) -> None:
        if new and credit.id in self._credits:
            raise RuntimeError(f"credit {credit.id} exists already (primary key)")
        if new or credit.id in self._credits:
            self._credits[credit.id] = copy.deepcopy(credit)


class FakeTickets:
    """TicketRepository: groups with their tickets."""

    def __init__(self, groups: dict[str, TicketDistributionGroup]) -> None:
        self._groups = groups

    async def groups_for_order(self, order_id: str) -> list[TicketDistributionGroup]:
        groups = copy.deepcopy([g for g in self._groups.values() if g.order_id == order_id])
        for group in groups:
            group.tickets = _by_time(group.tickets)
        return groups

    async def add_group(self, group: TicketDistributionGroup) -> None:
        if group.id in self._groups:
            raise RuntimeError(f"ticket group {group.id} exists already (primary key)")
        self._groups[group.id] = copy.deepcopy(group)

    async def save_ticket(self, ticket: TicketDistribution) -> None:
        group = self._groups.get(ticket.group_id)
        if group is not None:
            group.tickets = [
                copy.deepcopy(ticket) if t.id == ticket.id else t for t in group.tickets
            ]


class FakeReceipts:
    def __init__(self, receipts: dict[str, Receipt]) -> None:
        self._receipts = receipts

    async def add(self, receipt: Receipt) -> None:
        self._receipts[receipt.id] = copy.deepcopy(receipt)


class FakeEventLog:
    """EventLog: staged events are appended to the table at commit, in order."""

    def __init__(self, events: list[OrderEvent]) -> None:
        self._events = events
        self._staged: list[OrderEvent] = []

    def add(self, event: OrderEvent) -> None:
        self._staged.append(event)

    def flush(self) -> None:
        staged, self._staged = self._staged, []
        self._events.extend(staged)


class FakeOutbox:
    """OutboxStore as a unit of work uses it: `add` stages, the commit writes. The delivery
    worker's leasing runs in transactions of its own on the real outbox and is tested there
    (tests/integration/test_outbox.py); the fake does not pretend to it."""

    def __init__(self, messages: dict[str, OutboxMessage]) -> None:
        self._messages = messages
        self._staged: list[OutboxMessage] = []

    def add(self, message: OutboxMessage) -> None:
        self._staged.append(message)

    def flush(self) -> None:
        staged, self._staged = self._staged, []
        for message in staged:
            self._messages[message.id] = copy.deepcopy(message)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        raise NotImplementedError("the delivery worker is tested against a real database")

    async def mark_sent(self, message_id: str, now: datetime) -> None:
        raise NotImplementedError("the delivery worker is tested against a real database")

    async def mark_retry(self, message_id: str, error: str, next_attempt_at: datetime) -> None:
        raise NotImplementedError("the delivery worker is tested against a real database")

    async def mark_failed(self, message_id: str, error: str, now: datetime) -> None:
        raise NotImplementedError("the delivery worker is tested against a real database")

    async def backlog(self) -> int:
        raise NotImplementedError("the delivery worker is tested against a real database")


class FakeRefunds:
    """RefundRepository."""

    def __init__(self, refunds: dict[str, Refund]) -> None:
        self._refunds = refunds

    async def get(self, refund_id: str) -> Refund | None:
        return copy.deepcopy(self._refunds.get(refund_id))

    async def pending(self, order_id: str) -> list[Refund]:
        return copy.deepcopy(
            [
                r
                for r in self._refunds.values()
                if r.order_id == order_id and r.status is RefundStatus.PENDING
            ]
        )

    async def pending_line_ids(self, order_id: str) -> set[str]:
        return {line_id for r in await self.pending(order_id) for line_id in r.line_ids}

    async def save(self, refund: Refund, *, new: bool) -> None:
        if new and refund.id in self._refunds:
            raise RuntimeError(f"refund {refund.id} exists already (primary key)")
        if new or refund.id in self._refunds:
            self._refunds[refund.id] = copy.deepcopy(refund)


class FakeChannels:
    """DistributionChannels: the registry `sales-api seed` loads from the catalogue file."""

    def __init__(self, channels: dict[str, set[int]]) -> None:
        self._channels = channels

    async def allows(self, channel_id: str, organisation_id: int) -> bool:
        return organisation_id in self._channels.get(channel_id, set())


def demo_document() -> dict[str, Any]:
    """The demo catalogue file shipped with the package, as `sales-api seed` reads it."""
    text = resources.files("sales_api.catalogue").joinpath("demo.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def channels_of(document: Mapping[str, Any]) -> dict[str, set[int]]:
    """The channel registry a catalogue file seeds: channel id -> its organisations."""
    return {
        channel["id"]: {int(org) for org in channel["organisations"]}
        for channel in document.get("distributionChannels", [])
    }


class FakeReferenceData:
    """ReferenceData: the catalogue of a document, and an offer codec with a fixed secret
    (the service keeps a random one in the database)."""

    def __init__(
        self, document: dict[str, Any], secret: bytes = b"offer-signing-key-of-the-unit-tests"
    ) -> None:
        self._catalogue = catalogue_from_document(document)
        self._codec = OfferCodec(secret)

    async def catalogue(self) -> Catalogue:
        return self._catalogue

    async def offer_codec(self) -> OfferCodec:
        return self._codec


@dataclass(slots=True)
class FixedClock:
    """Clock: time stands still unless a test moves it."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta
