"""The typed per-request context: the caller, the door to the database, the dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from aiodataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from sales_api.domain.caller import Caller
from sales_api.domain.clock import Clock
from sales_api.domain.orders import OrderLine, Reservation, Traveller
from sales_api.domain.payments import Credit, Payment, PaymentProvider
from sales_api.domain.ports import ReferenceData, UnitOfWorkFactory
from sales_api.domain.receipts import Receipt
from sales_api.domain.tickets import TicketDistributionGroup, TicketRenderer, TicketSigner


@dataclass(slots=True)
class Loaders:
    """Built anew for every request, so nothing cached leaks between callers."""

    travellers_by_order_id: DataLoader[str, list[Traveller]]
    order_lines_by_order_id: DataLoader[str, list[OrderLine]]
    reservations_by_order_id: DataLoader[str, list[Reservation]]
    payments_by_order_id: DataLoader[str, list[Payment]]
    credits_by_payment_id: DataLoader[str, list[Credit]]
    ticket_groups_by_order_id: DataLoader[str, list[TicketDistributionGroup]]
    receipts_by_order_id: DataLoader[str, list[Receipt]]


class SaleEvents(Protocol):
    """What resolvers report after a sale step succeeded, for the operator's counters.
    Replays of an idempotency key are not reported: nothing happened a second time."""

    def seats_held(self, count: int) -> None: ...

    def payment_captured(self, amount: Decimal, currency: str) -> None: ...


class NoSaleEvents:
    """Reports go nowhere (tests and tools that build a context by hand)."""

    def seats_held(self, count: int) -> None:
        pass

    def payment_captured(self, amount: Decimal, currency: str) -> None:
        pass


@dataclass(slots=True)
class SalesContext:
    caller: Caller
    uow_factory: UnitOfWorkFactory
    clock: Clock
    loaders: Loaders
    reference: ReferenceData
    payment_provider: PaymentProvider
    ticket_signer: TicketSigner
    ticket_renderer: TicketRenderer
    events: SaleEvents = field(default_factory=NoSaleEvents)
    # The operation run: named by the request's operationName or by its document (for the
    # access log and metrics); set by OperationNaming once the operation is answered.
    operation_name: str | None = None


Info = StrawberryInfo[SalesContext, Any]
