"""Prices and coupons: a discount never exceeds the price; a coupon is usable before expiry with redemptions left."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.pricing import amount_off, coupon_code, coupon_usable, is_valid_percent, percent_off
from chalicelib.money import Money

prices = st.integers(min_value=0, max_value=10**10).map(lambda amount: Money(amount, "KRW"))
percents = st.integers(min_value=1, max_value=100)
NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)


@given(prices, percents)
def test_a_percent_discount_never_exceeds_the_price_and_grows_with_the_percent(price, percent):
    discount = percent_off(price, percent)
    assert 0 <= discount.amount <= price.amount
    assert percent == 100 or discount <= percent_off(price, percent + 1)


@given(prices, st.integers(min_value=0, max_value=10**11))
def test_a_fixed_discount_is_its_amount_at_most_the_price(price, amount):
    discount = amount_off(price, Money(amount, "KRW"))
    assert discount.amount == min(amount, price.amount)


def test_discounts_as_the_checkout_gives_them():
    assert percent_off(Money(39_000, "KRW"), 15) == Money(5_850, "KRW")
    assert percent_off(Money(39_000, "KRW"), 100) == Money(39_000, "KRW")
    assert percent_off(Money(999, "KRW"), 5) == Money(50, "KRW")  # 49.95 rounds half up
    assert amount_off(Money(10_000, "KRW"), Money(30_000, "KRW")) == Money(10_000, "KRW")


def test_a_coupon_in_another_currency_or_an_impossible_percent_is_a_bug_in_the_caller():
    with pytest.raises(ValueError):
        amount_off(Money(10_000, "KRW"), Money(500, "USD"))
    with pytest.raises(ValueError):
        percent_off(Money(10_000, "KRW"), 101)
    assert not is_valid_percent(0) and not is_valid_percent(101) and is_valid_percent(1) and is_valid_percent(100)


@given(st.integers(min_value=-10**6, max_value=10**6), st.integers(0, 5), st.integers(0, 5))
def test_a_coupon_is_usable_strictly_before_it_expires_and_while_redemptions_are_left(seconds, used, limit):
    expires_at = NOW + timedelta(seconds=seconds)
    usable = coupon_usable(expires_at=expires_at, redemptions=used, max_redemptions=limit, now=NOW)
    assert usable == (seconds > 0 and used < limit)


def test_codes_are_compared_upper_case_without_blanks_around():
    assert coupon_code("  welcome10 ") == "WELCOME10"
