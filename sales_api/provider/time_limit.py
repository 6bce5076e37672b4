"""Every call to the payment provider runs under a time limit; past it, or when the
connection fails, the answer is lost (PaymentProviderNoAnswer), which is not a refusal:
the attempt stays recorded until the provider is asked what it did."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sales_api.domain.payments import (
    CaptureApproved,
    CreditApproved,
    PaymentProvider,
    PaymentProviderNoAnswer,
    PaymentType,
    ProviderEntry,
)


class TimeLimitedProvider:
    def __init__(self, provider: PaymentProvider, seconds: float) -> None:
        self.provider = provider
        self.seconds = seconds

    async def capture(
        self,
        reference: str,
        payment_type: PaymentType,
        token: str | None,
        amount: Decimal,
        currency: str,
    ) -> CaptureApproved:
        try:
            return await asyncio.wait_for(
                self.provider.capture(reference, payment_type, token, amount, currency),
                self.seconds,
            )
        except (TimeoutError, ConnectionError) as lost:
            raise PaymentProviderNoAnswer(_why(lost, self.seconds)) from lost

    async def credit(
        self, reference: str, capture_reference: str | None, amount: Decimal, currency: str
    ) -> CreditApproved:
        try:
            return await asyncio.wait_for(
                self.provider.credit(reference, capture_reference, amount, currency),
                self.seconds,
            )
        except (TimeoutError, ConnectionError) as lost:
            raise PaymentProviderNoAnswer(_why(lost, self.seconds)) from lost

    async def outcome(self, reference: str) -> ProviderEntry | None:
        try:
            return await asyncio.wait_for(self.provider.outcome(reference), self.seconds)
        except (TimeoutError, ConnectionError) as lost:
            raise PaymentProviderNoAnswer(_why(lost, self.seconds)) from lost


def _why(lost: BaseException, seconds: float) -> str:
    if isinstance(lost, TimeoutError):
        return f"The payment provider did not answer within {seconds:g} s"
    return "The connection to the payment provider was lost"
