"""VAT in the platform's fee (1/11 at 10%), and the VAT part of each refund's fee part: exact per order."""

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fees import split_sale
from chalicelib.domain.refunds import reversal
from chalicelib.domain.vat import vat_back, vat_in
from chalicelib.money import Money

RATE = 1000  # 10%: the VAT act's rate


def krw(amount):
    return Money(amount, "KRW")


def test_the_vat_in_a_fee_is_one_eleventh_with_the_supply_value_rounded_half_up():
    assert vat_in(krw(11_000), RATE) == krw(1_000)
    assert vat_in(krw(7_800), RATE) == krw(709)  # supply 7,090.9 -> 7,091
    assert vat_in(krw(6), RATE) == krw(1)  # supply 5.45 -> 5
    assert vat_in(krw(5), RATE) == krw(0)  # supply 4.54 -> 5
    assert vat_in(krw(0), RATE) == krw(0)
    assert vat_in(krw(11_000), 0) == krw(0)  # a stage without VAT


@given(st.integers(0, 10**12), st.integers(0, 3000))
def test_the_vat_is_within_half_a_unit_of_its_exact_share_and_never_more_than_the_fee(fee, rate):
    vat = vat_in(krw(fee), rate).amount
    assert 0 <= vat <= fee
    assert abs(2 * vat * (10_000 + rate) - 2 * fee * rate) <= 10_000 + rate  # |vat - exact| <= 1/2


@given(st.integers(0, 10**9), st.integers(0, 10_000), st.lists(st.integers(1, 10**9), max_size=6), st.booleans())
def test_refunds_give_back_vat_in_proportion_and_all_of_it_with_the_fee(total, fee_bps, asks, finish):
    total = krw(total)
    fee, _ = split_sale(total, fee_bps)
    vat = vat_in(fee, RATE)
    refunded = fee_back = vat_given = krw(0)
    for ask in [*asks, None] if finish else asks:  # None: the rest
        amount = total - refunded if ask is None else krw(min(ask, (total - refunded).amount))
        fee_part, _ = reversal(total, fee, fee_back, refunded, amount)
        vat_part = vat_back(fee, vat, fee_back, vat_given, fee_part)
        assert 0 <= vat_part.amount <= fee_part.amount
        refunded, fee_back, vat_given = refunded + amount, fee_back + fee_part, vat_given + vat_part
        assert vat_given <= vat and fee_back - vat_given <= fee - vat
    if finish:
        assert (fee_back, vat_given) == (fee, vat)


def test_an_order_sold_before_vat_gives_back_revenue_only():
    assert vat_back(krw(8_000), krw(0), krw(0), krw(0), krw(4_000)) == krw(0)
