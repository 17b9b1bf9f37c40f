"""Money written for people: one table of minor-unit digits, one way to write an amount."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.money import CURRENCIES, Money, format_amount, format_money, in_major_units, minor_digits


def test_amounts_are_written_in_major_units_grouped_with_the_currency():
    assert format_money(Money(104_000, "KRW")) == "₩104,000"
    assert format_money(Money(0, "KRW")) == "₩0"
    assert format_money(Money(123_450, "USD")) == "1,234.50 USD"
    assert format_money(Money(5, "USD")) == "0.05 USD"
    assert format_money(Money(-7_800, "KRW")) == "-₩7,800"
    assert format_amount(-123_405, "USD") == "-1,234.05"
    assert in_major_units(123_450, "USD") == 1234.5 and in_major_units(39_000, "KRW") == 39_000


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=-10**15, max_value=10**15))
def test_the_written_amount_reads_back_as_the_amount(currency, amount):
    written = format_amount(amount, currency).replace(",", "")
    assert Decimal(written).scaleb(minor_digits(currency)) == amount
    assert written.count(".") == (1 if minor_digits(currency) else 0)


def test_a_currency_money_refuses_has_no_digits_either():
    with pytest.raises(KeyError):
        minor_digits("EUR")
