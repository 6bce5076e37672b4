"""Reading payments and credits of the calling organisation."""

from __future__ import annotations

from sales_api.domain.caller import Caller, Permission
from sales_api.domain.paging import ListQuery, Page, PageRequest
from sales_api.domain.payments import Credit, Payment
from sales_api.domain.ports import UnitOfWorkFactory


async def find_payment(
    uow_factory: UnitOfWorkFactory, caller: Caller, payment_id: str
) -> Payment | None:
    caller.require(Permission.SALES_READ)
    async with uow_factory() as uow:
        return await uow.payments.get(payment_id, caller.organisation_id)


async def list_payments(
    uow_factory: UnitOfWorkFactory, caller: Caller, query: ListQuery, page: PageRequest
) -> Page[Payment]:
    caller.require(Permission.SALES_READ)
    async with uow_factory() as uow:
        return await uow.payments.page(caller.organisation_id, query, page)


async def list_credits(
    uow_factory: UnitOfWorkFactory, caller: Caller, query: ListQuery, page: PageRequest
) -> Page[Credit]:
    caller.require(Permission.SALES_READ)
    async with uow_factory() as uow:
        return await uow.payments.credits_page(caller.organisation_id, query, page)
