"""The hand-written baseline: the same JSON as GraphQL for two operations, straight from
SQLAlchemy Core rows to dicts to orjson, with as few statements as the data allows.

- orders page: 3 statements (the page with its total as a scalar subquery; lines with
  their reservations; captured transactions with their payments).
- order(id): 4 statements (the order; travellers; lines with reservations; payments with
  transactions)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sales_api.domain.payments import GROUP_OF, PaymentType
from sales_api.persistence import tables as t

TAKEN = ("CAPTURED", "CREDITED")
PAYMENT_TYPE_GROUP = {kind.value: GROUP_OF[kind].value for kind in PaymentType}


def money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def stamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(data: Any) -> Response:
    return Response(orjson.dumps({"data": data}), media_type="application/json")


async def _verified(request: Request) -> int | None:
    """The caller's organisation from the same bearer token the GraphQL view verifies."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        verified = await request.app.state.verifier.verify(token)
    except Exception:
        return None
    return int(verified.organisation_id)


L, R = t.order_lines, t.reservations
LINES_WITH_RESERVATIONS = select(
    L.c.order_id,
    L.c.id,
    L.c.status,
    L.c.price_amount,
    L.c.tax_amount,
    L.c.departure_time,
    L.c.from_stop_name,
    R.c.id.label("reservation_id"),
    R.c.seats,
).select_from(L.outerjoin(R, R.c.order_line_id == L.c.id))


async def orders_page(engine: AsyncEngine, organisation_id: int, page: int, per_page: int) -> Any:
    o = t.orders
    async with engine.connect() as connection:
        mine = o.c.organisation_id == organisation_id
        # The total as an uncorrelated scalar subquery: computed once, by the index, in the
        # same statement as the page (a window count would materialise every row).
        total_items = select(func.count()).select_from(o).where(mine).scalar_subquery()
        rows = (
            await connection.execute(
                select(
                    o.c.id,
                    o.c.status,
                    o.c.total_amount,
                    o.c.balance,
                    o.c.created_at,
                    total_items.label("total"),
                )
                .where(mine)
                .order_by(o.c.created_at.desc(), o.c.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        ).all()
        total = rows[0].total if rows else await connection.scalar(select(total_items))
        ids = [row.id for row in rows]
        lines: dict[str, list[Any]] = defaultdict(list)
        refs: dict[str, list[Any]] = defaultdict(list)
        if ids:
            for line in await connection.execute(
                LINES_WITH_RESERVATIONS.where(L.c.order_id.in_(ids)).order_by(L.c.position)
            ):
                lines[line.order_id].append(
                    {
                        "id": line.id,
                        "status": line.status,
                        "price": {
                            "amount": money(line.price_amount),
                            "taxAmount": money(line.tax_amount),
                        },
                        "travelSpecification": {
                            "departureTime": stamp(line.departure_time),
                            "from": {"name": line.from_stop_name},
                        },
                        "reservation": None
                        if line.reservation_id is None
                        else {
                            "seats": [
                                {"carNumber": int(s["car"]), "seatNumber": str(s["seat"])}
                                for s in line.seats
                            ]
                        },
                    }
                )
            p, x = t.payments, t.transactions
            for ref in await connection.execute(
                select(p.c.order_id, x.c.amount)
                .select_from(p.join(x, x.c.payment_id == p.c.id))
                .where(p.c.order_id.in_(ids), x.c.status.in_(TAKEN))
                .order_by(p.c.created_at, p.c.id, x.c.created_at, x.c.id)
            ):
                refs[ref.order_id].append({"amount": money(ref.amount)})
    return {
        "orders": {
            "items": [
                {
                    "id": row.id,
                    "status": row.status,
                    "totalAmount": money(row.total_amount),
                    "balance": money(row.balance),
                    "createdAt": stamp(row.created_at),
                    "orderLines": lines.get(row.id, []),
                    "paymentRefs": refs.get(row.id, []),
                }
                for row in rows
            ],
            "totalItems": total,
        }
    }


def _stop(stop_id: str, name: str) -> dict[str, str]:
    return {"id": stop_id, "name": name}


async def one_order(engine: AsyncEngine, organisation_id: int, order_id: str) -> Any:
    o, tr, p, x = t.orders, t.order_travellers, t.payments, t.transactions
    async with engine.connect() as connection:
        order = (
            await connection.execute(
                select(o).where(o.c.id == order_id, o.c.organisation_id == organisation_id)
            )
        ).first()
        if order is None:
            return {"order": None}
        travellers = [
            {"id": row.traveller_id, "userType": row.user_type, "name": row.name}
            for row in await connection.execute(
                select(tr).where(tr.c.order_id == order_id).order_by(tr.c.position)
            )
        ]
        by_id = {traveller["id"]: traveller for traveller in travellers}
        r_cols = [c.label(f"r_{c.name}") for c in R.c]
        lines: list[dict[str, Any]] = []
        reservations: list[dict[str, Any]] = []
        for row in await connection.execute(
            select(L, *r_cols)
            .select_from(L.outerjoin(R, R.c.order_line_id == L.c.id))
            .where(L.c.order_id == order_id)
            .order_by(L.c.position)
        ):
            reservation = None
            if row.r_id is not None:
                reservation = {
                    "id": row.r_id,
                    "orderId": row.r_order_id,
                    "orderLineId": row.r_order_line_id,
                    "status": row.r_status,
                    "serviceJourneyId": row.r_service_journey_id,
                    "from": _stop(row.r_from_stop_id, row.r_from_stop_name),
                    "to": _stop(row.r_to_stop_id, row.r_to_stop_name),
                    "seats": [
                        {
                            "carNumber": int(s["car"]),
                            "seatNumber": str(s["seat"]),
                            "travellerId": s.get("traveller"),
                        }
                        for s in row.r_seats
                    ],
                    "expireAt": stamp(row.r_expire_at),
                    "createdAt": stamp(row.r_created_at),
                }
                reservations.append(reservation)
            lines.append(
                {
                    "id": row.id,
                    "orderId": row.order_id,
                    "status": row.status,
                    "product": {
                        "id": row.product_id,
                        "name": row.product_name,
                        "fareClass": row.fare_class,
                        "refundable": bool(row.refundable),
                        "changeable": bool(row.changeable),
                    },
                    "travelSpecification": {
                        "serviceJourneyId": row.service_journey_id,
                        "from": _stop(row.from_stop_id, row.from_stop_name),
                        "to": _stop(row.to_stop_id, row.to_stop_name),
                        "departureTime": stamp(row.departure_time),
                        "arrivalTime": stamp(row.arrival_time),
                    },
                    "travellers": [by_id[tid] for tid in row.traveller_ids if tid in by_id],
                    "price": {
                        "amount": money(row.price_amount),
                        "taxAmount": money(row.tax_amount),
                        "taxRate": f"{Decimal(row.tax_rate_basis_points) / 100:.2f}",
                        "currency": row.currency,
                    },
                    "reservation": reservation,
                    "createdAt": stamp(row.created_at),
                }
            )
        x_cols = [c.label(f"x_{c.name}") for c in x.c]
        payments: dict[str, dict[str, Any]] = {}
        refs: list[dict[str, Any]] = []
        for row in await connection.execute(
            select(p, *x_cols)
            .select_from(p.outerjoin(x, x.c.payment_id == p.c.id))
            .where(p.c.order_id == order_id)
            .order_by(p.c.created_at, p.c.id, x.c.created_at, x.c.id)
        ):
            payment = payments.get(row.id)
            if payment is None:
                payment = payments[row.id] = {
                    "id": row.id,
                    "orderId": row.order_id,
                    "orderVersion": row.order_version,
                    "organisationId": row.organisation_id,
                    "totalAmount": money(row.total_amount),
                    "currency": row.currency,
                    "active": bool(row.active),
                    "transactions": [],
                    "createdAt": stamp(row.created_at),
                }
            if row.x_id is None:
                continue
            payment["transactions"].append(
                {
                    "id": row.x_id,
                    "paymentId": row.x_payment_id,
                    "paymentType": row.x_payment_type,
                    "paymentTypeGroup": PAYMENT_TYPE_GROUP[row.x_payment_type],
                    "amount": money(row.x_amount),
                    "currency": row.x_currency,
                    "status": row.x_status,
                    "maskedCardNumber": row.x_masked_card_number,
                    "pspReference": row.x_psp_reference,
                    "operationLog": [
                        {
                            "operation": entry["operation"],
                            "amount": f"{Decimal(entry['amount']):.2f}",
                            "status": entry["status"],
                            "at": stamp(datetime.fromisoformat(entry["at"])),
                        }
                        for entry in row.x_operation_log
                    ],
                    "createdAt": stamp(row.x_created_at),
                    "capturedAt": stamp(row.x_captured_at),
                }
            )
            if row.x_status in TAKEN:
                refs.append(
                    {
                        "orderVersion": row.order_version,
                        "paymentId": row.id,
                        "transactionId": row.x_id,
                        "amount": money(row.x_amount),
                        "currency": row.x_currency,
                        "completedAt": stamp(row.x_captured_at),
                    }
                )
    contact = None
    if order.contact_name or order.contact_email or order.contact_phone:
        contact = {
            "name": order.contact_name,
            "email": order.contact_email,
            "phoneNumber": order.contact_phone,
        }
    return {
        "order": {
            "id": order.id,
            "version": order.version,
            "status": order.status,
            "totalAmount": money(order.total_amount),
            "totalTaxAmount": money(order.total_tax_amount),
            "balance": money(order.balance),
            "currency": order.currency,
            "organisationId": order.organisation_id,
            "pos": order.pos,
            "distributionChannelId": order.distribution_channel_id,
            "externalReference": order.external_reference,
            "contactInfo": contact,
            "travellers": travellers,
            "orderLines": lines,
            # GraphQL lists an order's reservations by creation, then id.
            "reservations": sorted(reservations, key=lambda r: (r["createdAt"], r["id"])),
            "paymentRefs": refs,
            "payments": list(payments.values()),
            "createdAt": stamp(order.created_at),
            "lastConfirmedAt": stamp(order.last_confirmed_at),
            "expireAt": stamp(order.expire_at),
        }
    }


def handwritten_app(engine: AsyncEngine, verifier: Any) -> Starlette:
    """POST /orders {"page", "perPage"} and GET /order/{id}; same bearer token as GraphQL."""

    async def orders_endpoint(request: Request) -> Response:
        organisation_id = await _verified(request)
        if organisation_id is None:
            return Response(status_code=401)
        body = orjson.loads(await request.body())
        page, per_page = int(body.get("page", 1)), int(body.get("perPage", 20))
        if not (page >= 1 and 1 <= per_page <= 100):
            return Response(status_code=400)
        return _json(await orders_page(engine, organisation_id, page, per_page))

    async def order_endpoint(request: Request) -> Response:
        organisation_id = await _verified(request)
        if organisation_id is None:
            return Response(status_code=401)
        order_id = request.path_params["order_id"]
        return _json(await one_order(engine, organisation_id, order_id))

    app = Starlette(
        routes=[
            Route("/orders", orders_endpoint, methods=["POST"]),
            Route("/order/{order_id}", order_endpoint, methods=["GET"]),
        ]
    )
    app.state.verifier = verifier
    return app
