"""A checkout's cart: coupons over several items, the wallet part, the amount due, the gateway's order name."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import checkout as cart
from chalicelib.money import Money

amounts = st.integers(min_value=0, max_value=10**9)
lines = st.lists(st.tuples(amounts, amounts), min_size=1, max_size=cart.MAX_ITEMS).map(
    lambda pairs: [cart.Line(Money(price, "KRW"), Money(min(price, off), "KRW")) for price, off in pairs])


@given(lines, st.data())
def test_the_wallet_and_the_gateway_together_pay_the_total(cart_lines, data):
    total = cart.cart_total(cart_lines)
    wallet = Money(data.draw(st.integers(min_value=0, max_value=total.amount)), "KRW")
    due = cart.amount_due(total, wallet)
    assert due + wallet == total and due.amount >= 0


@given(lines, st.data())
def test_the_wallet_part_splits_over_the_items_within_each_total(cart_lines, data):
    total = cart.cart_total(cart_lines)
    wallet = Money(data.draw(st.integers(min_value=0, max_value=total.amount)), "KRW")
    parts = cart.wallet_parts(cart_lines, wallet)
    assert sum(part.amount for part in parts) == (wallet.amount if total.amount else 0)
    assert all(0 <= part.amount <= line.total.amount for part, line in zip(parts, cart_lines, strict=True))


def test_a_wallet_part_above_the_total_is_refused():
    with pytest.raises(ValueError):
        cart.amount_due(Money(100, "KRW"), Money(101, "KRW"))


@given(st.lists(st.sampled_from("abcdefghijkl"), min_size=1, max_size=cart.MAX_ITEMS))
def test_the_first_repeated_course_is_named(course_ids):
    at = cart.duplicate_at(course_ids)
    if len(set(course_ids)) == len(course_ids):
        assert at is None
    else:
        assert course_ids[at] in course_ids[:at] and len(set(course_ids[:at])) == at


def test_the_coupon_discounts_only_the_items_whose_course_has_it():
    prices = [Money(30_000, "KRW"), Money(20_000, "KRW")]
    assert cart.coupon_discounts(prices, [None, Money(5_000, "KRW")]) == [Money(0, "KRW"), Money(5_000, "KRW")]
    assert cart.coupon_discounts(prices, [None, None]) is None


@given(st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=cart.MAX_ITEMS))
def test_the_order_name_fits_the_gateway_and_counts_the_other_items(titles):
    name = cart.order_name(titles)
    assert 0 < len(name) <= cart.ORDER_NAME_LENGTH
    more = f" 외 {len(titles) - 1}건" if len(titles) > 1 else ""
    first = name.removesuffix(more)
    assert name.endswith(more)
    assert first == titles[0] or (first.endswith("…") and titles[0].startswith(first[:-1]))


def test_a_long_title_is_cut_to_the_gateways_length():
    assert cart.order_name(["가" * 150]) == "가" * 99 + "…"
    assert cart.order_name(["a" * 150, "b"]) == "a" * 94 + "… 외 1건"


def test_a_checkout_expires_after_its_minutes():
    created = datetime(2030, 1, 1, tzinfo=UTC)
    assert cart.expires_at(created, 40) == datetime(2030, 1, 1, 0, 40, tzinfo=UTC)
