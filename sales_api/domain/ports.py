"""What the domain needs from the outside world, as Protocols; persistence implements them."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from sales_api.domain.orders import Order, OrderSummary
from sales_api.domain.paging import ListQuery, Page, PageRequest


class OrderRepository(Protocol):
    def add(self, order: Order) -> None:
        """Stage a new order for insertion at commit."""

    async def get_for_update(self, order_id: str, organisation_id: int) -> Order | None:
        """The whole aggregate, locked against concurrent writers until commit."""

    async def get(self, order_id: str, organisation_id: int) -> OrderSummary | None:
        """The order as reads show it (travellers and lines come from the loaders)."""

    async def page(
        self, organisation_id: int, query: ListQuery, page: PageRequest
    ) -> Page[OrderSummary]:
        """A page of orders of one organisation, filtered and sorted in SQL."""

    async def save(self, order: Order) -> None:
        """Write back an aggregate loaded with `get_for_update`."""


class DistributionChannels(Protocol):
    async def allows(self, channel_id: str, organisation_id: int) -> bool:
        """Whether the organisation may sell and refund through this channel."""


class UnitOfWork(Protocol):
    """One database transaction. Leaving the block without `commit()` rolls everything back."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def channels(self) -> DistributionChannels: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """A unit of work; `write=True` takes the write lock up front (SQLite IMMEDIATE)."""
