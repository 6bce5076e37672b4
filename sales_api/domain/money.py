"""Money: exact decimals in the domain, integer minor units (øre) in storage.

Prices include VAT; the tax of an amount A at rate R percent is A * R / (100 + R),
rounded half up to the øre, per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sales_api.domain.errors import ValidationFailed

TWO_PLACES = Decimal("0.01")
DEFAULT_CURRENCY = "NOK"
VAT_RATE_PERCENT = Decimal("12")

# A money amount as the contract writes it: an optional minus, digits, a point and two digits.
_AMOUNT_PATTERN = re.compile(r"-?(0|[1-9][0-9]{0,14})\.[0-9]{2}")
_CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")


def parse_amount(text: str) -> Decimal:
    """Parse a contract `Amount` ("1446.00"); anything else (12.5, "1e3", "12.5") is refused."""
    if not isinstance(text, str) or not _AMOUNT_PATTERN.fullmatch(text):
        raise ValidationFailed(
            "Amount must be a decimal string with exactly two decimals, "
            f'like "1446.00"; got {text!r}'
        )
    return Decimal(text)


def format_amount(amount: Decimal) -> str:
    """Two decimals, never an exponent: Decimal("1446") -> "1446.00"."""
    return f"{amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP):f}"


def to_minor_units(amount: Decimal) -> int:
    quantized = amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    if quantized != amount:
        raise ValidationFailed(f"Amount {amount} has more than two decimals")
    return int(quantized * 100)


def from_minor_units(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(TWO_PLACES)


def vat_of(gross: Decimal, rate_percent: Decimal = VAT_RATE_PERCENT) -> Decimal:
    """VAT contained in a VAT-inclusive amount, rounded half up to the øre."""
    tax = gross * rate_percent / (Decimal(100) + rate_percent)
    return tax.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def normalise_currency(code: str | None) -> str:
    """An ISO 4217 code in capitals; NOK when none is given."""
    if code is None:
        return DEFAULT_CURRENCY
    upper = code.strip().upper()
    if not _CURRENCY_PATTERN.fullmatch(upper):
        raise ValidationFailed(
            f"Currency must be an ISO 4217 code like NOK; got {code!r}", ["input", "currency"]
        )
    return upper


@dataclass(frozen=True, slots=True)
class PriceWithTax:
    """A VAT-inclusive price and the VAT it contains."""

    amount: Decimal
    tax_amount: Decimal
    tax_rate: Decimal
    currency: str

    @classmethod
    def including_vat(
        cls, amount: Decimal, currency: str, rate_percent: Decimal = VAT_RATE_PERCENT
    ) -> PriceWithTax:
        return cls(amount, vat_of(amount, rate_percent), rate_percent, currency)
