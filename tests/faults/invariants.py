"""The books after a fault: every order, payment, transaction, credit, refund, seat hold and
outbox row read back, and the payment provider's ledger beside them. What must hold:

- an order's balance = total - captured + credited, never negative; its captured amount is
  what its transactions captured, its credited amount what the completed refunds credited;
- nothing CONFIRMED (or CANCELLED) with a balance, no DRAFT fully paid;
- no seat held twice on a leg, and no hold of a reservation that holds no seat;
- every charge in the provider's ledger matched by exactly one CAPTURED (or CREDITED)
  transaction and the other way round; every credit matched by one CREDITED credit;
- no credit beyond what its transaction captured;
- nothing left PENDING (the reconciler has run) and every outbox row in a known state.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

TAKEN = ("CAPTURED", "CREDITED")


@dataclass
class Books:
    orders: int = 0
    transactions: int = 0
    credits: int = 0
    holds: int = 0
    charges: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.orders} orders, {self.transactions} transactions, {self.credits} credits, "
            f"{self.holds} seat holds, {self.charges} provider entries"
        )


async def _rows(database_url: str, sql: str) -> list[dict[str, Any]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(sql))
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()


def _ledger(path: Path) -> list[tuple[str, str, Decimal]]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT reference, operation, amount FROM entries").fetchall()
    return [(reference, operation, Decimal(amount)) for reference, operation, amount in rows]


async def check_books(database_url: str, ledger_file: Path) -> Books:
    """Every invariant over the whole database and the provider's ledger."""
    books = Books()
    problems = books.problems
    orders = await _rows(database_url, "SELECT * FROM orders")
    lines = await _rows(database_url, "SELECT order_id, status, price_amount FROM order_lines")
    transactions = await _rows(
        database_url,
        "SELECT x.id, x.status, x.amount, x.credited_amount, p.order_id FROM transactions x "
        "JOIN payments p ON p.id = x.payment_id",
    )
    credits = await _rows(
        database_url,
        "SELECT c.id, c.status, c.amount, c.transaction_id, c.order_id, c.refund_id, "
        "r.status AS refund_status FROM credits c LEFT JOIN refunds r ON r.id = c.refund_id",
    )
    refunds = await _rows(database_url, "SELECT id, order_id, status, purpose FROM refunds")
    holds = await _rows(
        database_url,
        "SELECT h.service_journey_id, h.car_number, h.seat_number, h.leg, r.status "
        "FROM seat_holds h JOIN reservations r ON r.id = h.reservation_id",
    )
    outbox = await _rows(database_url, "SELECT id, status FROM outbox")
    ledger = _ledger(ledger_file)
    books.orders, books.transactions, books.credits = len(orders), len(transactions), len(credits)
    books.holds, books.charges = len(holds), len(ledger)

    total: dict[str, int] = defaultdict(int)
    for line in lines:
        if line["status"] in ("DRAFT", "CONFIRMED"):
            total[line["order_id"]] += line["price_amount"]
    captured: dict[str, int] = defaultdict(int)
    for tx in transactions:
        if tx["status"] in TAKEN:
            captured[tx["order_id"]] += tx["amount"]
        if tx["status"] == "PENDING":
            problems.append(f"transaction {tx['id']} is still PENDING")
    credited: dict[str, int] = defaultdict(int)
    per_transaction: dict[str, int] = defaultdict(int)
    for credit in credits:
        if credit["status"] == "CREDITED":
            per_transaction[credit["transaction_id"]] += credit["amount"]
            if credit["refund_status"] == "COMPLETED":
                credited[credit["order_id"]] += credit["amount"]
        if credit["status"] == "CREATED":
            problems.append(f"credit {credit['id']} was never answered")
    giving_back = {r["order_id"] for r in refunds if r["status"] == "PENDING"}

    for order in orders:
        oid = order["id"]
        if (
            order["balance"]
            != order["total_amount"] - order["captured_amount"] + order["credited_amount"]
        ):
            problems.append(f"order {oid}: balance is not total - captured + credited")
        if order["balance"] < 0:
            problems.append(f"order {oid}: negative balance")
        if order["total_amount"] != total[oid]:
            problems.append(f"order {oid}: total {order['total_amount']} != lines {total[oid]}")
        if order["captured_amount"] != captured[oid]:
            problems.append(
                f"order {oid}: captured {order['captured_amount']} != transactions {captured[oid]}"
            )
        if order["credited_amount"] != credited[oid]:
            problems.append(
                f"order {oid}: credited {order['credited_amount']} != credits {credited[oid]}"
            )
        if order["status"] in ("CONFIRMED", "CANCELLED") and order["balance"] != 0:
            problems.append(f"order {oid} is {order['status']} with a balance")
        fully_paid = order["total_amount"] > 0 and order["balance"] == 0
        if order["status"] == "DRAFT" and fully_paid and oid not in giving_back:
            problems.append(f"order {oid} is a fully paid DRAFT")

    for tx in transactions:
        if per_transaction[tx["id"]] > tx["amount"]:
            problems.append(f"transaction {tx['id']} credited beyond its capture")
        if per_transaction[tx["id"]] != tx["credited_amount"]:
            problems.append(f"transaction {tx['id']}: credited amount != its credits")

    seats: dict[tuple[Any, ...], int] = defaultdict(int)
    for hold in holds:
        seats[
            (hold["service_journey_id"], hold["car_number"], hold["seat_number"], hold["leg"])
        ] += 1
        if hold["status"] not in ("DRAFT", "CONFIRMED"):
            problems.append(f"a seat is held by a {hold['status']} reservation")
    problems.extend(f"seat {seat} held {n} times" for seat, n in seats.items() if n > 1)

    charges = {ref: amount for ref, op, amount in ledger if op == "CHARGE"}
    provider_credits = {ref: amount for ref, op, amount in ledger if op == "CREDIT"}
    taken = {tx["id"]: Decimal(tx["amount"]) / 100 for tx in transactions if tx["status"] in TAKEN}
    for reference, amount in charges.items():
        if reference not in taken:
            problems.append(f"the provider charged {reference} with no captured transaction")
        elif taken[reference] != amount:
            problems.append(
                f"charge {reference}: {amount} at the provider, {taken[reference]} here"
            )
    problems.extend(
        f"transaction {tx} captured with no charge at the provider"
        for tx in taken
        if tx not in charges
    )
    done = {c["id"]: Decimal(c["amount"]) / 100 for c in credits if c["status"] == "CREDITED"}
    for reference, amount in provider_credits.items():
        if done.get(reference) != amount:
            problems.append(f"the provider credited {reference} with no CREDITED credit of it")
    problems.extend(
        f"credit {c} CREDITED with no credit at the provider"
        for c in done
        if c not in provider_credits
    )
    problems.extend(
        f"outbox row {row['id']} is {row['status']}"
        for row in outbox
        if row["status"] not in ("PENDING", "SENT", "FAILED")
    )
    return books
