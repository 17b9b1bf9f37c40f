"""The platform fee: basis points of the sale, rounded half up; fee and share sum to the sale."""

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fees import BASIS_POINTS, platform_fee, split_sale
from chalicelib.money import Money

sales = st.integers(min_value=0, max_value=10**12).map(lambda amount: Money(amount, "KRW"))
rates = st.integers(min_value=0, max_value=BASIS_POINTS)


def test_the_fee_rounds_half_up_to_the_minor_unit():
    assert platform_fee(Money(39_000, "KRW"), 2000) == Money(7_800, "KRW")
    assert platform_fee(Money(5, "KRW"), 1000) == Money(1, "KRW")  # 0.5 -> 1
    assert platform_fee(Money(4, "KRW"), 1000) == Money(0, "KRW")  # 0.4 -> 0
    assert platform_fee(Money(1_999, "USD"), 2000) == Money(400, "USD")  # 399.8 -> 400


@given(sales, rates)
def test_fee_and_instructor_share_sum_to_the_sale_and_neither_is_negative(total, bps):
    fee, share = split_sale(total, bps)
    assert fee + share == total
    assert 0 <= fee.amount <= total.amount and share.amount >= 0


@given(sales, rates, rates)
def test_a_higher_rate_never_takes_a_smaller_fee(total, bps, other):
    low, high = sorted((bps, other))
    assert platform_fee(total, low) <= platform_fee(total, high)
