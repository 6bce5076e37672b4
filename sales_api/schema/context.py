"""The typed per-request context: the caller, the doors to the database (the unit of work
for changes, the reader for everything shown), the services a resolver needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from strawberry.types import Info as StrawberryInfo

from sales_api.domain.caller import Caller
from sales_api.domain.clock import Clock
from sales_api.domain.live import EventHub
from sales_api.domain.orders import DEFAULT_HOLD, HoldRules
from sales_api.domain.payments import PaymentProvider
from sales_api.domain.ports import ReferenceData, UnitOfWorkFactory
from sales_api.domain.services.webhooks import UrlRules
from sales_api.domain.tickets import TicketRenderer, TicketSigner
from sales_api.queries.reader import Reader


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
    reader: Reader
    """Every object an answer shows is read through it (the read side)."""
    reference: ReferenceData
    payment_provider: PaymentProvider
    ticket_signer: TicketSigner
    ticket_renderer: TicketRenderer
    events: SaleEvents = field(default_factory=NoSaleEvents)
    webhook_rules: UrlRules = field(
        default_factory=lambda: UrlRules(allow_loopback=False, allow_private=False)
    )
    """Where webhooks may be sent (production refuses loopback and private addresses)."""
    hub: EventHub | None = None
    holds: HoldRules = DEFAULT_HOLD
    """How long DRAFT orders hold their seats (settings)."""
    """This process's live notices of committed events (subscriptions listen to it)."""
    # The operation run: named by the request's operationName or by its document (for the
    # access log and metrics); set by the runner once it has chosen the operation.
    operation_name: str | None = None
    operation: Any = None
    """The prepared operation being run (schema.operations.PreparedOperation)."""
    failed: bool = False
    """The answer carries errors (for the access log and the metrics)."""
    budget: Any = None
    """What the client's cost budget holds after this operation (schema.budgets.Spent),
    when budgets are on."""
    executed: bool = False
    """Execution began: errors from here on are field errors of an answer with `data`;
    before it (parse, validation, variables, a header or a limit) the request itself
    was refused (a request error: 400 under application/graphql-response+json)."""
    unavailable: bool = False
    """The database did not answer in time while the request ran."""


Info = StrawberryInfo[SalesContext, Any]
