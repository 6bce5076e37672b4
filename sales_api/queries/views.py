"""What each object of the API is made of: for every field of every type, the column (and
how its value is shown) or the relation it is read from. Plans (plans.py) read only the
fields a selection names.

Shown values follow the contract: money as a two-decimal string, timestamps as ISO 8601
in UTC with a Z (formatted by the database), enums as their names (stored as such).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table

from sales_api.persistence import tables as t

# How a stored value is shown: the name of a converter in plans.CONVERTERS, or STAMP for
# timestamps (formatted in SQL, so they arrive as text).
RAW = "raw"
MONEY = "money"
BOOL = "bool"
STAMP = "stamp"
RATE = "rate"
JSON = "json"
GROUP = "group"
INT = "int"
STR = "str"
ISO_STAMP = "iso_stamp"


@dataclass(frozen=True, slots=True)
class Column:
    """A leaf read from a column of the view's source."""

    column: Any
    shown: str = RAW


@dataclass(frozen=True, slots=True)
class Embedded:
    """An object built from the same row (a price, a stop, a travel specification).
    With `null_unless`, it is null when all those columns are null."""

    type_name: str
    fields: dict[str, Column | Embedded]
    null_unless: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class JsonKey:
    key: str
    shown: str = RAW
    optional: bool = False
    """Absent from some entries (read as null)."""


@dataclass(frozen=True, slots=True)
class JsonList:
    """A list of objects kept in a JSON column (seats, an operation log, receipt lines)."""

    type_name: str
    column: Any
    fields: dict[str, JsonKey]


@dataclass(frozen=True, slots=True)
class Related:
    """Rows of another view whose `child_key` equals the parent's `parent_key`: a list
    (`many`) or one object or null."""

    view: str
    parent_key: Any
    child_key: Any
    many: bool = True


@dataclass(frozen=True, slots=True)
class LineTravellers:
    """An order line's travellers: the order's travellers named by the line, in the line's
    order (the line keeps their ids in a JSON column)."""

    view: str = "Traveller"


Field = Column | Embedded | JsonList | Related | LineTravellers


@dataclass(frozen=True, slots=True)
class View:
    name: str
    """The GraphQL type."""
    source: FromClause
    key: Any
    """The column that identifies a row (reads by id)."""
    fields: dict[str, Field]
    order_by: tuple[Any, ...] = ()
    """The order of the items of a list of this type."""
    where: ColumnElement[bool] | None = None
    """A condition every row of the view meets (captured transactions for paymentRefs)."""
    scope: tuple[FromClause, Any] | None = None
    """(source joined to what holds the organisation, the organisation column): how a read
    by id or a page keeps to the caller's organisation."""
    extra: dict[str, Any] = field(default_factory=dict)


o, lines, res, trav = t.orders, t.order_lines, t.reservations, t.order_travellers
pay, tx, cr = t.payments, t.transactions, t.credits
grp, tk, rc, rf = t.ticket_groups, t.tickets, t.receipts, t.refunds
ev = t.order_events
fee = t.order_fees
ws, wd = t.webhook_subscriptions, t.webhook_deliveries


def _stop(stop_id: Any, name: Any) -> Embedded:
    return Embedded("StopPlace", {"id": Column(stop_id), "name": Column(name)})


def _with_orders(table: Table) -> tuple[FromClause, Any]:
    return table.join(o, o.c.id == table.c.order_id), o.c.organisation_id


VIEWS: dict[str, View] = {}


def _view(view: View) -> View:
    VIEWS[view.name] = view
    return view


_view(
    View(
        "Traveller",
        trav,
        trav.c.traveller_id,
        {
            "id": Column(trav.c.traveller_id),
            "userType": Column(trav.c.user_type),
            "name": Column(trav.c.name),
        },
        order_by=(trav.c.position,),
    )
)

_view(
    View(
        "Reservation",
        res,
        res.c.id,
        {
            "id": Column(res.c.id),
            "orderId": Column(res.c.order_id),
            "orderLineId": Column(res.c.order_line_id),
            "status": Column(res.c.status),
            "serviceJourneyId": Column(res.c.service_journey_id),
            "from": _stop(res.c.from_stop_id, res.c.from_stop_name),
            "to": _stop(res.c.to_stop_id, res.c.to_stop_name),
            "seats": JsonList(
                "SeatAssignment",
                res.c.seats,
                {
                    "carNumber": JsonKey("car", INT),
                    "seatNumber": JsonKey("seat", STR),
                    "travellerId": JsonKey("traveller", optional=True),
                },
            ),
            "expireAt": Column(res.c.expire_at, STAMP),
            "createdAt": Column(res.c.created_at, STAMP),
        },
        order_by=(res.c.created_at, res.c.id),
        scope=_with_orders(res),
    )
)

_view(
    View(
        "TicketDistribution",
        tk,
        tk.c.id,
        {
            "id": Column(tk.c.id),
            "orderId": Column(tk.c.order_id),
            "orderLineId": Column(tk.c.order_line_id),
            "travellerId": Column(tk.c.traveller_id),
            "status": Column(tk.c.status),
            "distributionMethod": Column(tk.c.distribution_method),
            "ticketToken": Column(tk.c.ticket_token),
            "validFrom": Column(tk.c.valid_from, STAMP),
            "validTo": Column(tk.c.valid_to, STAMP),
            "createdAt": Column(tk.c.created_at, STAMP),
            "distributedAt": Column(tk.c.distributed_at, STAMP),
        },
        order_by=(tk.c.created_at, tk.c.id),
        scope=_with_orders(tk),
    )
)

_view(
    View(
        "OrderLine",
        lines,
        lines.c.id,
        {
            "id": Column(lines.c.id),
            "orderId": Column(lines.c.order_id),
            "status": Column(lines.c.status),
            "product": Embedded(
                "FareProduct",
                {
                    "id": Column(lines.c.product_id),
                    "name": Column(lines.c.product_name),
                    "fareClass": Column(lines.c.fare_class),
                    "refundable": Column(lines.c.refundable, BOOL),
                    "changeable": Column(lines.c.changeable, BOOL),
                },
            ),
            "travelSpecification": Embedded(
                "TravelSpecification",
                {
                    "serviceJourneyId": Column(lines.c.service_journey_id),
                    "from": _stop(lines.c.from_stop_id, lines.c.from_stop_name),
                    "to": _stop(lines.c.to_stop_id, lines.c.to_stop_name),
                    "departureTime": Column(lines.c.departure_time, STAMP),
                    "arrivalTime": Column(lines.c.arrival_time, STAMP),
                    "disrupted": Column(lines.c.disrupted, BOOL),
                },
            ),
            "travellers": LineTravellers(),
            "price": Embedded(
                "PriceWithTax",
                {
                    "amount": Column(lines.c.price_amount, MONEY),
                    "taxAmount": Column(lines.c.tax_amount, MONEY),
                    "taxRate": Column(lines.c.tax_rate_basis_points, RATE),
                    "currency": Column(lines.c.currency),
                },
            ),
            "reservation": Related("Reservation", lines.c.id, res.c.order_line_id, many=False),
            "ticketDistributions": Related("TicketDistribution", lines.c.id, tk.c.order_line_id),
            "createdAt": Column(lines.c.created_at, STAMP),
        },
        order_by=(lines.c.position,),
        scope=_with_orders(lines),
    )
)

_view(
    View(
        "PaymentRef",
        pay.join(tx, tx.c.payment_id == pay.c.id),
        tx.c.id,
        {
            "orderVersion": Column(pay.c.order_version),
            "paymentId": Column(pay.c.id),
            "transactionId": Column(tx.c.id),
            "amount": Column(tx.c.amount, MONEY),
            "currency": Column(tx.c.currency),
            "completedAt": Column(tx.c.captured_at, STAMP),
        },
        order_by=(pay.c.created_at, pay.c.id, tx.c.created_at, tx.c.id),
        where=tx.c.status.in_(("CAPTURED", "CREDITED")),
    )
)

_view(
    View(
        "Transaction",
        tx,
        tx.c.id,
        {
            "id": Column(tx.c.id),
            "paymentId": Column(tx.c.payment_id),
            "paymentType": Column(tx.c.payment_type),
            "paymentTypeGroup": Column(tx.c.payment_type, GROUP),
            "amount": Column(tx.c.amount, MONEY),
            "currency": Column(tx.c.currency),
            "status": Column(tx.c.status),
            "maskedCardNumber": Column(tx.c.masked_card_number),
            "pspReference": Column(tx.c.psp_reference),
            "operationLog": JsonList(
                "TransactionOperation",
                tx.c.operation_log,
                {
                    "operation": JsonKey("operation"),
                    "amount": JsonKey("amount"),
                    "status": JsonKey("status"),
                    "at": JsonKey("at", ISO_STAMP),
                },
            ),
            "createdAt": Column(tx.c.created_at, STAMP),
            "capturedAt": Column(tx.c.captured_at, STAMP),
        },
        order_by=(tx.c.created_at, tx.c.id),
        scope=(tx.join(pay, pay.c.id == tx.c.payment_id), pay.c.organisation_id),
    )
)

_view(
    View(
        "Credit",
        cr,
        cr.c.id,
        {
            "id": Column(cr.c.id),
            "orderId": Column(cr.c.order_id),
            "orderVersion": Column(cr.c.order_version),
            "paymentId": Column(cr.c.payment_id),
            "transactionId": Column(cr.c.transaction_id),
            "amount": Column(cr.c.amount, MONEY),
            "currency": Column(cr.c.currency),
            "status": Column(cr.c.status),
            "createdAt": Column(cr.c.created_at, STAMP),
        },
        order_by=(cr.c.created_at, cr.c.id),
        scope=_with_orders(cr),
    )
)

_view(
    View(
        "Payment",
        pay,
        pay.c.id,
        {
            "id": Column(pay.c.id),
            "orderId": Column(pay.c.order_id),
            "orderVersion": Column(pay.c.order_version),
            "organisationId": Column(pay.c.organisation_id),
            "totalAmount": Column(pay.c.total_amount, MONEY),
            "currency": Column(pay.c.currency),
            "active": Column(pay.c.active, BOOL),
            "transactions": Related("Transaction", pay.c.id, tx.c.payment_id),
            "credits": Related("Credit", pay.c.id, cr.c.payment_id),
            "createdAt": Column(pay.c.created_at, STAMP),
        },
        order_by=(pay.c.created_at, pay.c.id),
        scope=(pay, pay.c.organisation_id),
    )
)

_view(
    View(
        "TicketDistributionGroup",
        grp,
        grp.c.id,
        {
            "id": Column(grp.c.id),
            "orderId": Column(grp.c.order_id),
            "orderLineId": Column(grp.c.order_line_id),
            "orderVersion": Column(grp.c.order_version),
            "ticketDistributions": Related("TicketDistribution", grp.c.id, tk.c.group_id),
        },
        order_by=(grp.c.order_version, grp.c.id),
        scope=_with_orders(grp),
    )
)

_view(
    View(
        "Receipt",
        rc,
        rc.c.id,
        {
            "id": Column(rc.c.id),
            "reference": Column(rc.c.reference),
            "orderId": Column(rc.c.order_id),
            "orderVersion": Column(rc.c.order_version),
            "language": Column(rc.c.language),
            "email": Column(rc.c.email),
            "phoneNumber": Column(rc.c.phone_number),
            "status": Column(rc.c.status),
            "lines": JsonList(
                "ReceiptLine",
                rc.c.lines,
                {
                    "description": JsonKey("description"),
                    "amount": JsonKey("amount", MONEY),
                    "taxAmount": JsonKey("tax", MONEY),
                    "taxRate": JsonKey("rate", MONEY),
                },
            ),
            "totalAmount": Column(rc.c.total_amount, MONEY),
            "totalTaxAmount": Column(rc.c.total_tax_amount, MONEY),
            "currency": Column(rc.c.currency),
            "createdAt": Column(rc.c.created_at, STAMP),
            "sentAt": Column(rc.c.sent_at, STAMP),
        },
        order_by=(rc.c.created_at, rc.c.id),
        scope=_with_orders(rc),
    )
)

_view(
    View(
        "Refund",
        rf,
        rf.c.id,
        {
            "id": Column(rf.c.id),
            "orderId": Column(rf.c.order_id),
            "orderVersion": Column(rf.c.order_version),
            "amount": Column(rf.c.amount, MONEY),
            "fee": Column(rf.c.fee, MONEY),
            "currency": Column(rf.c.currency),
            "credits": Related("Credit", rf.c.id, cr.c.refund_id),
            "affectedOrderLineIds": Column(rf.c.line_ids, JSON),
            "disabledTicketDistributionIds": Column(rf.c.disabled_ticket_ids, JSON),
            "createdAt": Column(rf.c.created_at, STAMP),
        },
        order_by=(rf.c.created_at, rf.c.id),
        scope=_with_orders(rf),
    )
)

_view(
    View(
        "Fee",
        fee,
        fee.c.id,
        {
            "id": Column(fee.c.id),
            "orderId": Column(fee.c.order_id),
            "orderVersion": Column(fee.c.order_version),
            "type": Column(fee.c.type),
            "amount": Column(fee.c.amount, MONEY),
            "taxAmount": Column(fee.c.tax_amount, MONEY),
            "currency": Column(fee.c.currency),
            "description": Column(fee.c.description),
            "createdAt": Column(fee.c.created_at, STAMP),
        },
        order_by=(fee.c.position,),
        # The fees that count in the current version (those of a discarded one do not).
        where=fee.c.active.is_(True),
        scope=_with_orders(fee),
    )
)

_view(
    View(
        "OrderEvent",
        ev,
        ev.c.id,
        {
            "id": Column(ev.c.id),
            "orderId": Column(ev.c.order_id),
            "orderVersion": Column(ev.c.order_version),
            "type": Column(ev.c.type),
            "occurredAt": Column(ev.c.occurred_at, STAMP),
            "clientId": Column(ev.c.client_id),
            "pos": Column(ev.c.pos),
            "distributionChannelId": Column(ev.c.distribution_channel_id),
            "correlationId": Column(ev.c.correlation_id),
            "subjectIds": Column(ev.c.subject_ids, JSON),
        },
        order_by=(ev.c.seq,),
        scope=(ev, ev.c.organisation_id),
    )
)

_view(
    View(
        "WebhookSubscription",
        ws,
        ws.c.id,
        {
            "id": Column(ws.c.id),
            "url": Column(ws.c.url),
            "eventTypes": Column(ws.c.event_types, JSON),
            "active": Column(ws.c.active, BOOL),
            "createdAt": Column(ws.c.created_at, STAMP),
        },
        order_by=(ws.c.created_at, ws.c.id),
        scope=(ws, ws.c.organisation_id),
    )
)

_view(
    View(
        "WebhookDelivery",
        wd,
        wd.c.id,
        {
            "id": Column(wd.c.id),
            "webhookSubscriptionId": Column(wd.c.subscription_id),
            "eventId": Column(wd.c.event_id),
            "eventType": Column(wd.c.event_type),
            "status": Column(wd.c.status),
            "attempts": Column(wd.c.attempts),
            "lastResponseStatus": Column(wd.c.last_response_status),
            "lastAttemptAt": Column(wd.c.last_attempt_at, STAMP),
            "nextAttemptAt": Column(wd.c.next_attempt_at, STAMP),
            "deliveredAt": Column(wd.c.delivered_at, STAMP),
        },
        order_by=(wd.c.created_at, wd.c.id),
        scope=(wd, wd.c.organisation_id),
    )
)

_view(
    View(
        "Order",
        o,
        o.c.id,
        {
            "id": Column(o.c.id),
            "version": Column(o.c.version),
            "status": Column(o.c.status),
            "totalAmount": Column(o.c.total_amount, MONEY),
            "totalTaxAmount": Column(o.c.total_tax_amount, MONEY),
            "balance": Column(o.c.balance, MONEY),
            "currency": Column(o.c.currency),
            "organisationId": Column(o.c.organisation_id),
            "pos": Column(o.c.pos),
            "distributionChannelId": Column(o.c.distribution_channel_id),
            "externalReference": Column(o.c.external_reference),
            "contactInfo": Embedded(
                "ContactInfo",
                {
                    "name": Column(o.c.contact_name),
                    "email": Column(o.c.contact_email),
                    "phoneNumber": Column(o.c.contact_phone),
                },
                null_unless=(o.c.contact_name, o.c.contact_email, o.c.contact_phone),
            ),
            "travellers": Related("Traveller", o.c.id, trav.c.order_id),
            "orderLines": Related("OrderLine", o.c.id, lines.c.order_id),
            "reservations": Related("Reservation", o.c.id, res.c.order_id),
            "paymentRefs": Related("PaymentRef", o.c.id, pay.c.order_id),
            "payments": Related("Payment", o.c.id, pay.c.order_id),
            "ticketDistributionGroups": Related("TicketDistributionGroup", o.c.id, grp.c.order_id),
            "receipts": Related("Receipt", o.c.id, rc.c.order_id),
            "events": Related("OrderEvent", o.c.id, ev.c.order_id),
            "fees": Related("Fee", o.c.id, fee.c.order_id),
            "createdAt": Column(o.c.created_at, STAMP),
            "lastConfirmedAt": Column(o.c.last_confirmed_at, STAMP),
            "expireAt": Column(o.c.expire_at, STAMP),
        },
        order_by=(o.c.created_at.desc(), o.c.id.desc()),
        scope=(o, o.c.organisation_id),
    )
)
