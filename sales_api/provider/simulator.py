"""The embedded payment provider: a simulator with books (a ledger) a test can read.

Tokens: `tok_declined` is declined; `tok_error` fails at once as an outage would (nothing
is charged); `tok_timeout` charges, but answers only after the caller's time limit (the
answer is lost; asking `outcome` later tells); `tok_refund_error` captures, but its
credits fail; any other token is approved. A reference is charged or credited once: asked
again, the simulator answers what it did the first time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sales_api.domain.payments import (
    GROUP_OF,
    CaptureApproved,
    CreditApproved,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PaymentType,
    PaymentTypeGroup,
    ProviderEntry,
)
from sales_api.provider.ledger import Ledger

CHARGE = "CHARGE"
CREDIT = "CREDIT"


class SimulatedPaymentProvider:
    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        late_answer_seconds: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger or Ledger()
        self.late_answer_seconds = late_answer_seconds
        self._now = now

    async def capture(
        self,
        reference: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        found = await self.ledger.find(reference)
        if found is None:
            if token == "tok_declined":
                raise PaymentDeclined("The card was declined")
            if token == "tok_error":
                raise PaymentProviderUnavailable("The payment provider did not answer")
            masked = None
            if GROUP_OF[payment_type] is PaymentTypeGroup.PAYMENTCARD:
                digits = token[-4:] if token and token[-4:].isdigit() else "4242"
                masked = "************" + digits
            psp = f"SIM-NOREFUND-{reference}" if token == "tok_refund_error" else f"SIM-{reference}"
            found = await self.ledger.record(
                ProviderEntry(reference, CHARGE, amount, currency, self._now(), psp, masked)
            )
            if token == "tok_timeout":
                await asyncio.sleep(self.late_answer_seconds)
        return CaptureApproved(found.psp_reference, found.masked_card_number)

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        found = await self.ledger.find(reference)
        if found is None:
            if capture_reference and capture_reference.startswith("SIM-NOREFUND-"):
                raise PaymentProviderUnavailable("The payment provider did not answer")
            found = await self.ledger.record(
                ProviderEntry(
                    reference, CREDIT, amount, currency, self._now(), f"SIM-CREDIT-{reference}"
                ),
                capture_reference,
            )
        return CreditApproved(found.psp_reference)

    async def outcome(self, reference: str) -> ProviderEntry | None:
        return await self.ledger.find(reference)
