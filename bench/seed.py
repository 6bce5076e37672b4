"""Seeds orders through the domain services: reserve_offers -> create_payment ->
create_transaction -> capture_transaction, as organisation 1 with every permission.

Orders are spread over the 7 bookable days, every departure of both directions and every
leg of a run. A clock the bench controls puts each batch of orders in an earlier week
("window"): window 1 sells the week before today, window 2 the week before that, and so
on. The seeded runs are therefore in the past when the service is benchmarked, and the
sales measured over HTTP find today's runs empty."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import make_url

from sales_api.domain.caller import Caller
from sales_api.domain.catalogue import (
    LOCAL_TIME,
    Catalogue,
    FareProduct,
    catalogue_from_document,
)
from sales_api.domain.offers import price_offer
from sales_api.domain.orders import Traveller, UserType
from sales_api.domain.payments import PaymentType
from sales_api.domain.services.payments import (
    CreatePayment,
    CreateTransaction,
    TransactionRef,
    capture_transaction,
    create_payment,
    create_transaction,
)
from sales_api.domain.services.reservations import (
    OfferConfiguration,
    ReserveOffers,
    reserve_offers,
)
from sales_api.persistence.database import create_engine
from sales_api.persistence.migrate import upgrade
from sales_api.persistence.reference_data import SqlReferenceData
from sales_api.persistence.seed import load_catalogue_file, seed_catalogue
from sales_api.persistence.unit_of_work import SqlUnitOfWorkFactory
from sales_api.provider.simulator import SimulatedPaymentProvider

APP_CHANNEL = "ENT:DistributionChannel:App"
ALL_PERMISSIONS = frozenset({"sales:read", "sales:write", "payments:write", "refunds:write"})
CALLER = Caller(
    organisation_id=1,
    client_id="bench-seed",
    permissions=ALL_PERMISSIONS,
    pos="bench-pos",
    distribution_channel_id=APP_CHANNEL,
)
USER_TYPES = (UserType.ADULT, UserType.ADULT, UserType.CHILD, UserType.SENIOR, UserType.YOUTH)
DAYS = 7
# Orders in one window are created a second apart, from 00:05 local time: ~3 hours for
# 10,000 orders, so even the first departure of the first day (06:25) is still to come.
WINDOW_START = dtime(0, 5)


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@dataclass
class _Slot:
    """One leg of one dated run in one fare class, and its free seats."""

    window: int
    journey_id: str
    from_stop: str
    to_stop: str
    products: tuple[FareProduct, ...]
    free: int


@dataclass(frozen=True)
class PlannedOrder:
    window: int
    created_at: datetime
    journey_id: str
    from_stop: str
    to_stop: str
    product: FareProduct
    travellers: tuple[Traveller, ...]


@dataclass
class SeedResult:
    orders: int
    order_lines: int
    seconds: float
    windows: int
    failures: int

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def _window_slots(catalogue: Catalogue, window: int, today: datetime) -> list[_Slot]:
    first_day = (today - timedelta(days=7 * window)).date()
    slots: list[_Slot] = []
    for offset in range(DAYS):
        for journey in catalogue.journeys_on(first_day + timedelta(days=offset)):
            for leg in range(len(journey.calls) - 1):
                origin = journey.calls[leg].stop_place.id
                destination = journey.calls[leg + 1].stop_place.id
                for car_class in {car.fare_class for car in journey.cars}:
                    seats = sum(len(c.seats) for c in journey.cars if c.fare_class == car_class)
                    products = tuple(p for p in catalogue.products if p.fare_class == car_class)
                    if products:
                        slots.append(
                            _Slot(window, journey.id, origin, destination, products, seats)
                        )
    return slots


def plan_orders(catalogue: Catalogue, count: int, *, seed: int = 1) -> list[PlannedOrder]:
    """Where each order goes: a random leg with room for its 1-4 travellers. Seat counts
    are tracked here, so the domain's allocation never runs out of seats."""
    rng = random.Random(seed)
    today = datetime.now(LOCAL_TIME)
    window = 1
    slots = _window_slots(catalogue, window, today)
    in_window = 0
    planned: list[PlannedOrder] = []
    while len(planned) < count:
        size = rng.randint(1, 4)
        slot = None
        for _ in range(30):
            candidate = rng.choice(slots)
            if candidate.free >= size:
                slot = candidate
                break
        if slot is None:  # this week is nearly full: sell the week before it
            window += 1
            slots = _window_slots(catalogue, window, today)
            in_window = 0
            continue
        slot.free -= size
        start = datetime.combine(
            (today - timedelta(days=7 * window)).date(), WINDOW_START, LOCAL_TIME
        )
        travellers = tuple(
            Traveller(f"t{i + 1}", rng.choice(USER_TYPES), None) for i in range(size)
        )
        planned.append(
            PlannedOrder(
                window=window,
                created_at=(start + timedelta(seconds=in_window)).astimezone(UTC),
                journey_id=slot.journey_id,
                from_stop=slot.from_stop,
                to_stop=slot.to_stop,
                product=rng.choice(slot.products),
                travellers=travellers,
            )
        )
        in_window += 1
    return planned


async def _sell(
    uow_factory: SqlUnitOfWorkFactory,
    reference: SqlReferenceData,
    provider: SimulatedPaymentProvider,
    catalogue: Catalogue,
    planned: PlannedOrder,
) -> int:
    clock = FixedClock(planned.created_at)
    codec = await reference.offer_codec()
    journey = catalogue.journey(planned.journey_id)
    assert journey is not None
    segment = journey.segment(planned.from_stop, planned.to_stop)
    assert segment is not None
    offer = price_offer(catalogue, planned.product, segment, planned.travellers, "NOK", clock.now())
    reserved = await reserve_offers(
        uow_factory,
        reference,
        clock,
        CALLER,
        ReserveOffers((OfferConfiguration(codec.encode(offer)),)),
    )
    # The services answer with ids; the payment is for the order's balance, which is the
    # offer's price (a transaction above what is unpaid would be refused).
    payment_id = await create_payment(
        uow_factory, clock, CALLER, CreatePayment(order_id=reserved.order_id)
    )
    outcome = await create_transaction(
        uow_factory,
        clock,
        CALLER,
        CreateTransaction(
            payment_id=payment_id,
            payment_type=PaymentType.VISA,
            amount=Decimal(offer.price),
            payment_token="tok_visa",
        ),
    )
    assert outcome.transaction_id is not None
    captured = await capture_transaction(
        uow_factory, clock, provider, CALLER, TransactionRef(outcome.transaction_id)
    )
    if captured.error is not None:
        raise captured.error
    return len(reserved.line_ids)


async def sell_planned(
    database_url: str, plan: list[PlannedOrder], *, concurrency: int = 2, label: str = ""
) -> tuple[int, int, int]:
    """Sells the planned orders into the database; returns (orders, lines, failures)."""
    engine = create_engine(database_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(engine)
        reference = SqlReferenceData(engine)
        provider = SimulatedPaymentProvider()
        catalogue = await reference.catalogue()
        await reference.offer_codec()
        queue = iter(plan)
        lines = failures = done = 0
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal lines, failures, done
            for planned in queue:  # a shared iterator: each order is taken once
                for attempt in (1, 2):  # a refused sale (a seat race) is tried once more
                    try:
                        sold = await _sell(uow_factory, reference, provider, catalogue, planned)
                        lines += sold
                        break
                    except Exception as error:
                        print(f"  seed{label}: attempt {attempt} failed: {error!r}", flush=True)
                else:
                    failures += 1
                done += 1
                if done % 1000 == 0:
                    rate = done / (time.perf_counter() - started)
                    print(f"  seed{label}: {done}/{len(plan)} orders ({rate:.0f}/s)", flush=True)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(plan) - failures, lines, failures
    finally:
        await engine.dispose()


def prepare_database(database_url: str) -> None:
    """Migrate and load the demo catalogue (not inside a running event loop)."""
    upgrade(database_url)

    async def load() -> None:
        engine = create_engine(database_url)
        try:
            await seed_catalogue(engine, load_catalogue_file())
        finally:
            await engine.dispose()

    asyncio.run(load())


def _sell_part(database_url: str, plan: list[PlannedOrder], label: str, fresh: bool) -> tuple:
    """A seeding process: (optionally) its own fresh database, then its share of orders."""
    if fresh:
        prepare_database(database_url)
    return asyncio.run(sell_planned(database_url, plan, label=label))


# Tables the seeding fills, parents first; seat_holds without its autoincrement id.
MERGED_TABLES = (
    "orders",
    "order_travellers",
    "order_lines",
    "reservations",
    "payments",
    "transactions",
    "credits",
)


def _merge_sqlite(target: Path, parts: list[Path]) -> None:
    """Copies the rows the domain services wrote into each part into the target database.
    Parts sold disjoint runs, so seat holds never collide."""
    connection = sqlite3.connect(target)
    try:
        hold_columns = [
            row[1] for row in connection.execute("PRAGMA table_info(seat_holds)") if row[1] != "id"
        ]
        for index, part in enumerate(parts):
            name = f"part{index}"
            connection.execute(f"ATTACH DATABASE ? AS {name}", (str(part),))
            with connection:
                for table in MERGED_TABLES:
                    connection.execute(f"INSERT INTO main.{table} SELECT * FROM {name}.{table}")
                columns = ", ".join(hold_columns)
                connection.execute(
                    f"INSERT INTO main.seat_holds ({columns}) "
                    f"SELECT {columns} FROM {name}.seat_holds"
                )
                connection.execute(
                    f"INSERT OR IGNORE INTO main.journey_locks SELECT * FROM {name}.journey_locks"
                )
            connection.execute(f"DETACH DATABASE {name}")
    finally:
        connection.close()


def seed_orders(
    database_url: str, count: int, *, processes: int = 2, work_dir: Path | None = None
) -> SeedResult:
    """Sells `count` orders through the domain services into a migrated database with the
    catalogue loaded. The work is CPU-bound Python, so it runs in `processes` processes,
    each with the runs (service journeys) of its share. SQLite lets one writer in at a
    time, so on SQLite each process sells into a database of its own and the rows are
    copied into the target at the end; PostgreSQL takes them all at once."""
    started = time.perf_counter()
    catalogue = catalogue_from_document(load_catalogue_file())
    plan = plan_orders(catalogue, count)
    shares: list[list[PlannedOrder]] = [[] for _ in range(processes)]
    journeys = sorted({p.journey_id for p in plan})
    owner = {journey: index % processes for index, journey in enumerate(journeys)}
    for planned in plan:
        shares[owner[planned.journey_id]].append(planned)
    sqlite = database_url.startswith("sqlite")
    urls: list[str] = []
    part_files: list[Path] = []
    for index in range(processes):
        if sqlite:
            assert work_dir is not None, "SQLite seeding needs a folder for its parts"
            part = work_dir / f"seed-part-{index}.db"
            part_files.append(part)
            urls.append(f"sqlite+aiosqlite:///{part}")
        else:
            urls.append(database_url)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = [
            pool.submit(_sell_part, urls[i], shares[i], f"[{i}]", sqlite) for i in range(processes)
        ]
        results = [f.result() for f in futures]
    if sqlite:
        target = Path(make_url(database_url).database or "")
        _merge_sqlite(target, part_files)
        for part in part_files:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{part}{suffix}").unlink(missing_ok=True)
    return SeedResult(
        orders=sum(r[0] for r in results),
        order_lines=sum(r[1] for r in results),
        seconds=time.perf_counter() - started,
        windows=max(p.window for p in plan),
        failures=sum(r[2] for r in results),
    )
