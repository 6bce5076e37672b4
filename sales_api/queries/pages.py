"""The paged lists: what each can be filtered and sorted on, and its default order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, true

from sales_api.domain.paging import Comparison
from sales_api.persistence import tables as t
from sales_api.queries.filters import FilterableColumn, comparison_clause, money, timestamp

Special = Callable[[Comparison], ColumnElement[bool]]


@dataclass(frozen=True, slots=True)
class PagedList:
    view: str
    connection: str
    """The GraphQL type of the page (for __typename)."""
    filters: Mapping[str, FilterableColumn]
    special: Mapping[str, Special] = field(default_factory=dict)
    sort_columns: Mapping[str, Any] = field(default_factory=dict)
    default_order: tuple[Any, ...] = ()
    tie_break: Any = None


def _service_journey_clause(comparison: Comparison) -> ColumnElement[bool]:
    """`eq`/`in`: orders with at least one order line on the journey(s); `ne`/`nin`: orders
    with no order line on it (them), orders without lines included. Operators are ANDed."""
    journey = FilterableColumn(t.order_lines.c.service_journey_id)

    def has_line(on: Comparison) -> ColumnElement[bool]:
        return exists().where(
            t.order_lines.c.order_id == t.orders.c.id, comparison_clause(journey, on)
        )

    clauses = []
    if comparison.eq is not None:
        clauses.append(has_line(Comparison(eq=comparison.eq)))
    if comparison.in_ is not None:
        clauses.append(has_line(Comparison(in_=comparison.in_)))
    if comparison.ne is not None:
        clauses.append(~has_line(Comparison(eq=comparison.ne)))
    if comparison.nin is not None:
        clauses.append(~has_line(Comparison(in_=comparison.nin)))
    return and_(true(), *clauses)


def _transaction_status_clause(comparison: Comparison) -> ColumnElement[bool]:
    """Payments having at least one transaction whose status matches."""
    return exists().where(
        t.transactions.c.payment_id == t.payments.c.id,
        comparison_clause(
            FilterableColumn(t.transactions.c.status, lambda value: str(value)), comparison
        ),
    )


def _enum(column: Any) -> FilterableColumn:
    return FilterableColumn(column, lambda value: str(value))


o, r, p, c, tk, rc = t.orders, t.reservations, t.payments, t.credits, t.tickets, t.receipts
ev = t.order_events
ws, wd = t.webhook_subscriptions, t.webhook_deliveries

PAGES: dict[str, PagedList] = {
    "Order": PagedList(
        "Order",
        "OrderConnection",
        {
            "id": FilterableColumn(o.c.id),
            "status": _enum(o.c.status),
            "total_amount": money(o.c.total_amount),
            "balance": money(o.c.balance),
            "currency": FilterableColumn(o.c.currency),
            "organisation_id": FilterableColumn(o.c.organisation_id),
            "pos": FilterableColumn(o.c.pos),
            "distribution_channel_id": FilterableColumn(o.c.distribution_channel_id),
            "external_reference": FilterableColumn(o.c.external_reference),
            "created_at": timestamp(o.c.created_at),
        },
        special={"service_journey_id": _service_journey_clause},
        sort_columns={"created_at": o.c.created_at, "total_amount": o.c.total_amount, "id": o.c.id},
        default_order=(o.c.created_at.desc(), o.c.id.desc()),
        tie_break=o.c.id,
    ),
    "Reservation": PagedList(
        "Reservation",
        "ReservationConnection",
        {
            "id": FilterableColumn(r.c.id),
            "order_id": FilterableColumn(r.c.order_id),
            "status": _enum(r.c.status),
            "service_journey_id": FilterableColumn(r.c.service_journey_id),
            "created_at": timestamp(r.c.created_at),
        },
        default_order=(r.c.created_at.desc(), r.c.id.desc()),
    ),
    "Payment": PagedList(
        "Payment",
        "PaymentConnection",
        {
            "id": FilterableColumn(p.c.id),
            "order_id": FilterableColumn(p.c.order_id),
            "order_version": FilterableColumn(p.c.order_version),
            "total_amount": money(p.c.total_amount),
            "currency": FilterableColumn(p.c.currency),
            "created_at": timestamp(p.c.created_at),
        },
        special={"transaction_status": _transaction_status_clause},
        default_order=(p.c.created_at.desc(), p.c.id.desc()),
    ),
    "Credit": PagedList(
        "Credit",
        "CreditConnection",
        {
            "id": FilterableColumn(c.c.id),
            "order_id": FilterableColumn(c.c.order_id),
            "payment_id": FilterableColumn(c.c.payment_id),
            "amount": money(c.c.amount),
            "created_at": timestamp(c.c.created_at),
        },
        default_order=(c.c.created_at.desc(), c.c.id.desc()),
    ),
    "TicketDistribution": PagedList(
        "TicketDistribution",
        "TicketDistributionConnection",
        {
            "id": FilterableColumn(tk.c.id),
            "order_id": FilterableColumn(tk.c.order_id),
            "order_line_id": FilterableColumn(tk.c.order_line_id),
            "status": _enum(tk.c.status),
            "created_at": timestamp(tk.c.created_at),
        },
        default_order=(tk.c.created_at.desc(), tk.c.id.desc()),
    ),
    "Receipt": PagedList(
        "Receipt",
        "ReceiptConnection",
        {
            "id": FilterableColumn(rc.c.id),
            "order_id": FilterableColumn(rc.c.order_id),
            "created_at": timestamp(rc.c.created_at),
        },
        default_order=(rc.c.created_at.desc(), rc.c.id.desc()),
    ),
    "OrderEvent": PagedList(
        "OrderEvent",
        "OrderEventConnection",
        {
            "order_id": FilterableColumn(ev.c.order_id),
            "type": _enum(ev.c.type),
            "occurred_at": timestamp(ev.c.occurred_at),
        },
        default_order=(ev.c.seq,),
    ),
    "WebhookSubscription": PagedList(
        "WebhookSubscription",
        "WebhookSubscriptionConnection",
        {},
        default_order=(ws.c.created_at.desc(), ws.c.id.desc()),
    ),
    "WebhookDelivery": PagedList(
        "WebhookDelivery",
        "WebhookDeliveryConnection",
        {
            "webhook_subscription_id": FilterableColumn(wd.c.subscription_id),
            "event_id": FilterableColumn(wd.c.event_id),
            "status": _enum(wd.c.status),
        },
        default_order=(wd.c.created_at.desc(), wd.c.id.desc()),
    ),
}
