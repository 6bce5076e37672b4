"""The lean baseline's answers (bench/lean.py serves them): the SQL of each read and the
rows turned straight into the JSON GraphQL gives for the benchmark's documents.

Each answer is a generator: it yields its statements one by one (SQL with `?`
placeholders, arguments), gets each one's rows back, and returns the answer's data, so
that one driver loop (sqlite3 in a thread, or asyncpg) runs it inside one read
transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from sales_api.domain.payments import GROUP_OF, PaymentType

GROUP = {kind.value: GROUP_OF[kind].value for kind in PaymentType}
TAKEN = ("CAPTURED", "CREDITED")


def money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def sqlite_stamp(value: str | None) -> str | None:
    """'2026-11-27 10:15:00.000000' (naive UTC, as stored) -> '2026-11-27T10:15:00Z'."""
    return None if value is None else f"{value[:10]}T{value[11:19]}Z"


def pg_stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_value(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


Statements = Generator[tuple[str, tuple[Any, ...]], list[Sequence[Any]], Any]
"""An answer's work: yields each statement (SQL with `?` placeholders, arguments) and gets
its rows; returns the answer's data."""


PAGE = (
    "SELECT id, status, total_amount, balance, created_at,"
    " (SELECT count(*) FROM orders WHERE organisation_id = ?) FROM orders"
    " WHERE organisation_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
)
# `r.order_id IN (...)` is redundant for the answer but not for PostgreSQL's planner: at
# perPage 100 it hashes the page's lines against a sequential scan of every reservation
# (4.7 ms at 10,000 orders) where with it it reads the page's reservations by their
# index (2.3 ms). SQLite looks each line's reservation up by order_line_id either way.
PAGE_LINES = (
    "SELECT l.order_id, l.id, l.status, l.price_amount, l.tax_amount, l.departure_time,"
    " l.from_stop_name, r.id, r.seats FROM order_lines l"
    " LEFT JOIN reservations r ON r.order_line_id = l.id AND r.order_id IN ({ids})"
    " WHERE l.order_id IN ({ids}) ORDER BY l.order_id, l.position"
)
# CROSS JOIN fixes the join order on SQLite (payments of the page first): with a plain JOIN
# and no ANALYZE statistics, SQLite starts from ix_transactions_status and walks every
# captured transaction of the database (1.5 ms at 2,000 orders, growing with the table)
# instead of the page's few. PostgreSQL plans it as the inner join it is.
PAGE_REFS = (
    "SELECT p.order_id, x.amount FROM payments p CROSS JOIN transactions x"
    " WHERE x.payment_id = p.id AND p.order_id IN ({ids})"
    " AND x.status IN ('CAPTURED', 'CREDITED')"
    " ORDER BY p.created_at, p.id, x.created_at, x.id"
)


def orders_page(
    stamp: Callable[[Any], str | None], organisation_id: int, page: int, per_page: int
) -> Statements:
    rows = yield PAGE, (organisation_id, organisation_id, per_page, (page - 1) * per_page)
    if rows:
        total = rows[0][5]
    else:
        counted = yield "SELECT count(*) FROM orders WHERE organisation_id = ?", (organisation_id,)
        total = counted[0][0]
    ids = tuple(row[0] for row in rows)
    lines: dict[str, list[Any]] = defaultdict(list)
    refs: dict[str, list[Any]] = defaultdict(list)
    if ids:
        marks = ",".join("?" * len(ids))
        line_rows = yield PAGE_LINES.format(ids=marks), ids + ids
        ref_rows = yield PAGE_REFS.format(ids=marks), ids
        for line in line_rows:
            seats = json_value(line[8])
            lines[line[0]].append(
                {
                    "id": line[1],
                    "status": line[2],
                    "price": {"amount": money(line[3]), "taxAmount": money(line[4])},
                    "travelSpecification": {
                        "departureTime": stamp(line[5]),
                        "from": {"name": line[6]},
                    },
                    "reservation": None
                    if line[7] is None
                    else {
                        "seats": [
                            {"carNumber": int(s["car"]), "seatNumber": str(s["seat"])}
                            for s in seats
                        ]
                    },
                }
            )
        for ref in ref_rows:
            refs[ref[0]].append({"amount": money(ref[1])})
    return {
        "orders": {
            "items": [
                {
                    "id": row[0],
                    "status": row[1],
                    "totalAmount": money(row[2]),
                    "balance": money(row[3]),
                    "createdAt": stamp(row[4]),
                    "orderLines": lines.get(row[0], []),
                    "paymentRefs": refs.get(row[0], []),
                }
                for row in rows
            ],
            "totalItems": total,
        }
    }


ORDER = (
    "SELECT id, version, status, total_amount, total_tax_amount, balance, currency,"
    " organisation_id, pos, distribution_channel_id, external_reference, contact_name,"
    " contact_email, contact_phone, created_at, last_confirmed_at, expire_at"
    " FROM orders WHERE id = ? AND organisation_id = ?"
)
TRAVELLERS = (
    "SELECT traveller_id, user_type, name FROM order_travellers WHERE order_id = ?"
    " ORDER BY position"
)
LINES = (
    "SELECT l.id, l.order_id, l.status, l.product_id, l.product_name, l.fare_class,"
    " l.refundable, l.changeable, l.service_journey_id, l.from_stop_id, l.from_stop_name,"
    " l.to_stop_id, l.to_stop_name, l.departure_time, l.arrival_time, l.traveller_ids,"
    " l.price_amount, l.tax_amount, l.tax_rate_basis_points, l.currency, l.created_at,"
    " r.id, r.order_id, r.order_line_id, r.status, r.service_journey_id, r.from_stop_id,"
    " r.from_stop_name, r.to_stop_id, r.to_stop_name, r.seats, r.expire_at, r.created_at"
    " FROM order_lines l LEFT JOIN reservations r ON r.order_line_id = l.id"
    " WHERE l.order_id = ? ORDER BY l.position"
)
PAYMENTS = (
    "SELECT p.id, p.order_id, p.order_version, p.organisation_id, p.total_amount,"
    " p.currency, p.active, p.created_at, x.id, x.payment_id, x.payment_type, x.amount,"
    " x.currency, x.status, x.masked_card_number, x.psp_reference, x.operation_log,"
    " x.created_at, x.captured_at FROM payments p"
    " LEFT JOIN transactions x ON x.payment_id = p.id WHERE p.order_id = ?"
    " ORDER BY p.created_at, p.id, x.created_at, x.id"
)


def rate(basis_points: int) -> str:
    return f"{basis_points // 100}.{basis_points % 100:02d}"


def operation_amount(text: str) -> str:
    whole, _, cents = text.partition(".")
    return f"{whole}.{(cents + '00')[:2]}"


def one_order(
    stamp: Callable[[Any], str | None], organisation_id: int, order_id: str
) -> Statements:
    found = yield ORDER, (order_id, organisation_id)
    if not found:
        return {"order": None}
    o = found[0]
    travellers = [
        {"id": r[0], "userType": r[1], "name": r[2]} for r in (yield TRAVELLERS, (order_id,))
    ]
    by_id = {traveller["id"]: traveller for traveller in travellers}
    lines: list[Any] = []
    reservations: list[Any] = []
    for r in (yield LINES, (order_id,)):
        reservation = None
        if r[21] is not None:
            reservation = {
                "id": r[21],
                "orderId": r[22],
                "orderLineId": r[23],
                "status": r[24],
                "serviceJourneyId": r[25],
                "from": {"id": r[26], "name": r[27]},
                "to": {"id": r[28], "name": r[29]},
                "seats": [
                    {
                        "carNumber": int(s["car"]),
                        "seatNumber": str(s["seat"]),
                        "travellerId": s.get("traveller"),
                    }
                    for s in json_value(r[30])
                ],
                "expireAt": stamp(r[31]),
                "createdAt": stamp(r[32]),
            }
            reservations.append(reservation)
        lines.append(
            {
                "id": r[0],
                "orderId": r[1],
                "status": r[2],
                "product": {
                    "id": r[3],
                    "name": r[4],
                    "fareClass": r[5],
                    "refundable": bool(r[6]),
                    "changeable": bool(r[7]),
                },
                "travelSpecification": {
                    "serviceJourneyId": r[8],
                    "from": {"id": r[9], "name": r[10]},
                    "to": {"id": r[11], "name": r[12]},
                    "departureTime": stamp(r[13]),
                    "arrivalTime": stamp(r[14]),
                },
                "travellers": [by_id[i] for i in json_value(r[15]) if i in by_id],
                "price": {
                    "amount": money(r[16]),
                    "taxAmount": money(r[17]),
                    "taxRate": rate(r[18]),
                    "currency": r[19],
                },
                "reservation": reservation,
                "createdAt": stamp(r[20]),
            }
        )
    payments: dict[str, Any] = {}
    refs: list[Any] = []
    for r in (yield PAYMENTS, (order_id,)):
        payment = payments.get(r[0])
        if payment is None:
            payment = payments[r[0]] = {
                "id": r[0],
                "orderId": r[1],
                "orderVersion": r[2],
                "organisationId": r[3],
                "totalAmount": money(r[4]),
                "currency": r[5],
                "active": bool(r[6]),
                "transactions": [],
                "createdAt": stamp(r[7]),
            }
        if r[8] is None:
            continue
        payment["transactions"].append(
            {
                "id": r[8],
                "paymentId": r[9],
                "paymentType": r[10],
                "paymentTypeGroup": GROUP[r[10]],
                "amount": money(r[11]),
                "currency": r[12],
                "status": r[13],
                "maskedCardNumber": r[14],
                "pspReference": r[15],
                "operationLog": [
                    {
                        "operation": entry["operation"],
                        "amount": operation_amount(entry["amount"]),
                        "status": entry["status"],
                        "at": pg_stamp(datetime.fromisoformat(entry["at"])),
                    }
                    for entry in json_value(r[16])
                ],
                "createdAt": stamp(r[17]),
                "capturedAt": stamp(r[18]),
            }
        )
        if r[13] in TAKEN:
            refs.append(
                {
                    "orderVersion": r[2],
                    "paymentId": r[0],
                    "transactionId": r[8],
                    "amount": money(r[11]),
                    "currency": r[12],
                    "completedAt": stamp(r[18]),
                }
            )
    contact = None
    if o[11] or o[12] or o[13]:
        contact = {"name": o[11], "email": o[12], "phoneNumber": o[13]}
    return {
        "order": {
            "id": o[0],
            "version": o[1],
            "status": o[2],
            "totalAmount": money(o[3]),
            "totalTaxAmount": money(o[4]),
            "balance": money(o[5]),
            "currency": o[6],
            "organisationId": o[7],
            "pos": o[8],
            "distributionChannelId": o[9],
            "externalReference": o[10],
            "contactInfo": contact,
            "travellers": travellers,
            "orderLines": lines,
            "reservations": sorted(reservations, key=lambda r: (r["createdAt"], r["id"])),
            "paymentRefs": refs,
            "payments": list(payments.values()),
            "createdAt": stamp(o[14]),
            "lastConfirmedAt": stamp(o[15]),
            "expireAt": stamp(o[16]),
        }
    }
