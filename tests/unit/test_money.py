from decimal import Decimal

import pytest

from sales_api.domain.errors import ErrorCode, SalesError
from sales_api.domain.money import (
    PriceWithTax,
    format_amount,
    from_minor_units,
    normalise_currency,
    parse_amount,
    to_minor_units,
    vat_of,
)


def test_the_guides_example_carries_154_93_vat() -> None:
    assert vat_of(Decimal("1446.00")) == Decimal("154.93")


@pytest.mark.parametrize(
    ("gross", "tax"),
    [
        ("0.00", "0.00"),
        ("0.01", "0.00"),
        ("0.05", "0.01"),  # 0.05 * 12 / 112 = 0.00535... -> 0.01 (half up)
        ("100.00", "10.71"),
        ("1120.00", "120.00"),
        ("1.40", "0.15"),  # 0.15 exactly: half up keeps it
    ],
)
def test_vat_is_rounded_half_up_to_the_ore(gross: str, tax: str) -> None:
    assert vat_of(Decimal(gross)) == Decimal(tax)


@pytest.mark.parametrize("text", ["0.00", "1446.00", "-5.10", "999999999999999.99"])
def test_amounts_with_two_decimals_parse_exactly(text: str) -> None:
    assert format_amount(parse_amount(text)) == text


@pytest.mark.parametrize(
    "bad", ["12.5", "1e3", "12", "12.345", " 1.00", "1.00 ", "+1.00", "01.00", "NaN", "", "1,00"]
)
def test_anything_but_a_two_decimal_string_is_refused(bad: str) -> None:
    with pytest.raises(SalesError) as caught:
        parse_amount(bad)
    assert caught.value.code is ErrorCode.VALIDATION_FAILED


@pytest.mark.parametrize("bad", [12.5, 1000, None])
def test_non_strings_are_refused(bad: object) -> None:
    with pytest.raises(SalesError):
        parse_amount(bad)  # type: ignore[arg-type]


def test_minor_units_round_trip() -> None:
    assert to_minor_units(Decimal("1446.00")) == 144600
    assert from_minor_units(144600) == Decimal("1446.00")
    assert format_amount(from_minor_units(5)) == "0.05"


def test_minor_units_refuse_fractions_of_an_ore() -> None:
    with pytest.raises(SalesError):
        to_minor_units(Decimal("1.005"))


def test_format_never_uses_an_exponent() -> None:
    assert format_amount(Decimal("1E+3")) == "1000.00"


def test_currency_defaults_to_nok_and_is_normalised() -> None:
    assert normalise_currency(None) == "NOK"
    assert normalise_currency("sek") == "SEK"
    with pytest.raises(SalesError):
        normalise_currency("kroner")


def test_price_with_tax_includes_vat() -> None:
    price = PriceWithTax.including_vat(Decimal("723.00"), "NOK")
    assert (price.amount, price.tax_amount, price.tax_rate) == (
        Decimal("723.00"),
        Decimal("77.46"),
        Decimal("12"),
    )
