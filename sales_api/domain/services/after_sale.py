"""Change options, refund options and refunds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sales_api.domain.after_sale import (
    ChangeOption,
    LineRefundOption,
    change_options,
    ensure_refund_still_possible,
    refund_options,
)
from sales_api.domain.caller import Caller, Permission
from sales_api.domain.clock import Clock
from sales_api.domain.errors import ErrorCode, NotFound, SalesError, ValidationFailed
from sales_api.domain.ids import new_id
from sales_api.domain.order_changes import check_compensation
from sales_api.domain.order_parts import MAX_FEE_DESCRIPTION_LENGTH
from sales_api.domain.orders import HoldRules, Order, OrderLine, OrderLineStatus
from sales_api.domain.payments import (
    PaymentProvider,
)
from sales_api.domain.ports import SalesReads, UnitOfWork, UnitOfWorkFactory
from sales_api.domain.refunds import Refund, RefundPurpose, RefundStatus
from sales_api.domain.services import idempotency
from sales_api.domain.services.credits import (
    ToSend,
    credit_error,
    record_credits,
    send_credits,
    settle_credits,
)
from sales_api.domain.services.idempotency import Result
from sales_api.domain.services.orders import ensure_channel_allowed


async def _order(
    uow: UnitOfWork, caller: Caller, order_id: str, path: tuple[str, ...] = ("orderId",)
) -> Order:
    order = await uow.orders.get_for_update(order_id, caller.organisation_id)
    if order is None:
        raise NotFound("Order", list(path))
    return order


async def _read_order(reads: SalesReads, order_id: str) -> Order:
    order = await reads.order(order_id)
    if order is None:
        raise NotFound("Order", ["orderId"])
    return order


async def find_change_options(
    reads: SalesReads, clock: Clock, caller: Caller, order_id: str, hold: HoldRules
) -> tuple[Order, list[ChangeOption], list[tuple[OrderLine, list[ChangeOption]]]]:
    """The order's change options now, by the rules its mutations enforce (the hold
    settings included)."""
    caller.require(Permission.SALES_READ)
    order = await _read_order(reads, order_id)
    moving = await reads.money_in_flight(order.id)
    order_options, line_options = change_options(order, clock.now(), hold, moving)
    return order, order_options, line_options


def _chosen_lines(order: Order, line_ids: Sequence[str] | None, path: list[str]) -> list[OrderLine]:
    if line_ids is None:
        return list(order.lines)
    by_id = {line.id: line for line in order.lines}
    chosen = []
    for index, line_id in enumerate(line_ids):
        line = by_id.get(line_id)
        if line is None:
            raise NotFound("Order line", [*path, str(index)])
        if line not in chosen:
            chosen.append(line)
    return chosen


async def find_refund_options(
    reads: SalesReads,
    clock: Clock,
    caller: Caller,
    order_id: str,
    line_ids: Sequence[str] | None,
) -> tuple[Order, list[LineRefundOption]]:
    caller.require(Permission.SALES_READ)
    order = await _read_order(reads, order_id)
    lines = _chosen_lines(order, line_ids, ["orderLineIds"])
    moving = await reads.money_in_flight(order.id)
    return order, refund_options(order, lines, clock.now(), moving)


@dataclass(frozen=True, slots=True)
class RefundOrder:
    order_id: str
    idempotency_key: str
    expected_version: int | None = None
    order_line_ids: tuple[str, ...] | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """What a refund left behind, by id (the payload is read after the commit)."""

    order_id: str
    refund_id: str | None
    """None while the provider has not credited all of it (retry with the same key)."""
    error: SalesError | None = None


def _finished(earlier: Result) -> bool:
    return earlier.get("status") == RefundStatus.COMPLETED.value


async def refund_order(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    provider: PaymentProvider,
    caller: Caller,
    command: RefundOrder,
) -> RefundOutcome:
    """Credit the captured transactions through the provider, then mark the lines REFUNDED,
    free their seats, disable their tickets and make a new version. The credits are
    recorded before the provider is asked and its answers committed after (credits.py); if
    it refuses or does not answer, the lines stay as they were and the same idempotency key
    finishes the refund later."""
    caller.require(Permission.REFUNDS_WRITE)
    now = clock.now()
    if command.reason is not None and len(command.reason) > 500:
        raise ValidationFailed("reason is at most 500 characters", ["input", "reason"])

    async def plan(uow: UnitOfWork, order: Order) -> Refund:
        order.check_version(command.expected_version)
        refund = _plan_refund(order, command, now)
        pending = await uow.refunds.pending_line_ids(order.id)
        taken = [line_id for line_id in refund.line_ids if line_id in pending]
        if taken:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"A refund of order line {taken[0]} is pending; retry it with its idempotencyKey",
                ["input", "orderLineIds"],
            )
        return refund

    def resume(order: Order, refund: Refund) -> None:
        ensure_refund_still_possible(order, refund.line_ids, now)

    return await credit_back(
        uow_factory, clock, provider, caller, command.order_id,
        (command.idempotency_key, "refundOrder", command), plan, resume,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CompensateOrder:
    order_id: str
    amount: Decimal
    reason: str
    idempotency_key: str
    expected_version: int | None = None


async def compensate_order(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    provider: PaymentProvider,
    caller: Caller,
    command: CompensateOrder,
) -> RefundOutcome:
    """Goodwill: `amount` credited back to the captured transactions (newest first) without
    touching a line; once it is all back, a new CONFIRMED version with a COMPENSATION fee
    of minus the amount. At most what was captured and not yet credited."""
    caller.require(Permission.REFUNDS_WRITE)
    now = clock.now()
    reason = command.reason.strip()
    if not reason or len(reason) > MAX_FEE_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"Give a reason of 1 to {MAX_FEE_DESCRIPTION_LENGTH} characters", ["input", "reason"]
        )

    async def plan(uow: UnitOfWork, order: Order) -> Refund:
        order.check_version(command.expected_version)
        if await uow.refunds.pending(order.id):
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"A refund of order {order.id} is pending; finish it with its idempotencyKey",
            )
        check_compensation(order, command.amount)
        return Refund(
            id=new_id(),
            order_id=order.id,
            status=RefundStatus.PENDING,
            order_version=order.version + 1,
            amount=command.amount,
            fee=Decimal("0.00"),
            currency=order.currency,
            line_ids=[],
            created_at=now,
            reason=reason,
            purpose=RefundPurpose.COMPENSATE,
        )

    return await credit_back(
        uow_factory, clock, provider, caller, command.order_id,
        (command.idempotency_key, "compensateOrder", command), plan, lambda _o, _r: None,
    )  # fmt: skip


async def credit_back(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    provider: PaymentProvider,
    caller: Caller,
    order_id: str,
    request: tuple[str, str, object],
    plan: Callable[[UnitOfWork, Order], Awaitable[Refund]],
    resume: Callable[[Order, Refund], None],
) -> RefundOutcome:
    """The one way money is given back by request (refundOrder, compensateOrder), under an
    idempotency key (`request`: key, operation, command): the refund planned (or resumed,
    when an earlier attempt with the key did not finish) and its credits recorded with the
    order locked; sent to the provider outside any transaction; the answers settled."""
    key, operation, command = request
    to_send: list[ToSend] = []
    now = clock.now()
    async with uow_factory(write=True) as uow:
        await ensure_channel_allowed(uow, caller)
        order = await _order(uow, caller, order_id, ("input", "orderId"))

        async def work(earlier: Result | None) -> Result:
            nonlocal to_send
            payments = await uow.payments.for_order(order.id)
            refund = None
            if earlier is not None and earlier.get("refundId"):
                refund = await uow.refunds.get(str(earlier["refundId"]))
            new_refund = refund is None
            if refund is None:
                refund = await plan(uow, order)
            else:
                resume(order, refund)
            await uow.refunds.save(refund, new=new_refund)
            to_send = await record_credits(uow, order, refund, payments, now)
            return {"refundId": refund.id, "status": refund.status.value}

        done = await idempotency.once(
            uow, caller, key, operation, command, now, work, finished=_finished
        )
        await uow.commit()
    refund_id = str(done.result["refundId"])
    if done.replayed:
        return RefundOutcome(order.id, refund_id)
    answers = await send_credits(provider, to_send)
    async with uow_factory(write=True) as uow:
        refund = await settle_credits(uow, refund_id, answers, clock.now(), caller)
        await uow.idempotency.complete(
            caller.organisation_id, key, {"refundId": refund.id, "status": refund.status.value}
        )
        await uow.commit()
    if refund.status is RefundStatus.COMPLETED:
        return RefundOutcome(order.id, refund.id)
    return RefundOutcome(order.id, None, credit_error(answers, to_send))


def _plan_refund(order: Order, command: RefundOrder, now: datetime) -> Refund:
    if command.order_line_ids is not None and not command.order_line_ids:
        raise ValidationFailed(
            "Name at least one order line, or leave orderLineIds out for every refundable one",
            ["input", "orderLineIds"],
        )
    options = refund_options(order, _chosen_lines(
        order, command.order_line_ids, ["input", "orderLineIds"]), now)  # fmt: skip
    if command.order_line_ids is None:
        options = [o for o in options if o.refundable]
        if not options:
            raise SalesError(ErrorCode.NOT_REFUNDABLE, "No line of the order can be refunded now")
    for index, option in enumerate(options):
        if option.line.status is OrderLineStatus.REFUNDED:
            raise SalesError(
                ErrorCode.INVALID_STATE,
                f"Order line {option.line.id} is already refunded",
                ["input", "orderLineIds", str(index)],
            )
        if not option.refundable:
            raise SalesError(
                ErrorCode.NOT_REFUNDABLE,
                option.reason or "Not refundable",
                ["input", "orderLineIds", str(index)],
            )
    return Refund(
        id=new_id(),
        order_id=order.id,
        status=RefundStatus.PENDING,
        order_version=order.version + 1,
        # Never more than is left of what was paid (a compensation gave some back).
        amount=min(
            sum((o.refundable_amount for o in options), Decimal("0.00")),
            order.captured_amount - order.credited_amount,
        ),
        fee=sum((o.fee for o in options), Decimal("0.00")),
        currency=order.currency,
        line_ids=[o.line.id for o in options],
        created_at=now,
        reason=command.reason,
    )
