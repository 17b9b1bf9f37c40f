"""Splitting money: parts sum exactly to the total, each within one minor unit of its exact share."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.splitting import split
from chalicelib.money import Money

totals = st.integers(min_value=-10**12, max_value=10**12).map(lambda amount: Money(amount, "KRW"))
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any)


@given(totals, weights)
def test_the_parts_sum_exactly_to_the_total(total, weights):
    parts = split(total, weights)
    assert len(parts) == len(weights)
    assert sum(part.amount for part in parts) == total.amount
    assert {part.currency for part in parts} == {"KRW"}


@given(totals, weights)
def test_each_part_is_within_one_minor_unit_of_its_exact_share(total, weights):
    for part, weight in zip(split(total, weights), weights, strict=True):
        assert abs(part.amount - Fraction(total.amount * weight, sum(weights))) < 1


@given(totals, weights)
def test_a_part_of_weight_zero_gets_nothing_and_a_negative_total_splits_as_its_opposite(total, weights):
    parts = split(total, weights)
    assert all(part.amount == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)
    assert split(-total, weights) == [-part for part in parts]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10_000))
def test_two_parts_round_half_up_as_money_share_does(amount, bps):
    total = Money(amount, "USD")
    assert split(total, [bps, 10_000 - bps]) == [total.share(bps), total - total.share(bps)]


def test_left_over_units_go_to_the_largest_remainders_then_to_the_earlier_parts():
    assert split(Money(100, "KRW"), [1, 1, 1]) == [Money(34, "KRW"), Money(33, "KRW"), Money(33, "KRW")]
    assert split(Money(10, "KRW"), [1, 2, 3]) == [Money(2, "KRW"), Money(3, "KRW"), Money(5, "KRW")]  # 1.67 3.33 5
    assert split(Money(5, "KRW"), [1, 1]) == [Money(3, "KRW"), Money(2, "KRW")]


@pytest.mark.parametrize("bad", [[], [0, 0], [1, -1]])
def test_weights_that_share_nothing_are_refused(bad):
    with pytest.raises(ValueError):
        split(Money(100, "KRW"), bad)
