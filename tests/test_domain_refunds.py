"""The refund policy (window and progress) and how a refund is taken back from the fee and the share."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fees import split_sale
from chalicelib.domain.refunds import RefundPolicy, refund_split, unrefunded_share
from chalicelib.money import Money

POLICY = RefundPolicy(window_days=7, progress_limit_percent=10)
BOUGHT = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
ages = st.integers(min_value=0, max_value=30 * 86_400).map(lambda seconds: timedelta(seconds=seconds))
progress = st.none() | st.integers(min_value=0, max_value=100)


def refusal(age, percent):
    return POLICY.refusal(purchased_at=BOUGHT, progress_percent=percent, now=BOUGHT + age)


def test_refundable_within_7_days_and_below_10_percent():
    assert refusal(timedelta(days=7), 9) is None
    assert refusal(timedelta(0), None) is None  # no enrollment left: only the window counts
    assert refusal(timedelta(days=7, seconds=1), 0) == "refunds are possible for 7 days after purchase"
    assert refusal(timedelta(days=1), 10) == "refunds are possible below 10% of lessons completed"


@given(ages, ages, progress, progress)
def test_the_policy_is_monotone_later_or_further_along_is_never_more_refundable(age, other_age, percent, other):
    (early, late), (less, more) = sorted((age, other_age)), sorted((percent or 0, other or 0))
    if refusal(early, more) is None:
        assert refusal(early, less) is None
    if refusal(late, less) is None:
        assert refusal(early, less) is None


sales = st.integers(min_value=0, max_value=10**9).map(lambda amount: Money(amount, "KRW"))


@given(sales, st.integers(min_value=0, max_value=10_000), st.data())
def test_a_refund_takes_back_fee_and_share_summing_to_it_never_more_than_each_holds(total, bps, data):
    fee, share = split_sale(total, bps)
    amount = Money(data.draw(st.integers(min_value=0, max_value=total.amount)), "KRW")
    fee_back, share_back = refund_split(total, fee, amount)
    assert fee_back + share_back == amount
    assert 0 <= fee_back.amount <= fee.amount and 0 <= share_back.amount <= share.amount
    assert unrefunded_share(total, fee, share, amount) == share - share_back
    assert unrefunded_share(total, fee, share, None) == share


def test_the_fee_taken_back_rounds_down_and_a_free_order_gives_back_nothing_of_the_fee():
    total = Money(10_000, "KRW")
    fee, share = split_sale(total, 2000)
    assert refund_split(total, fee, Money(3_333, "KRW")) == (Money(666, "KRW"), Money(2_667, "KRW"))
    assert refund_split(total, fee, total) == (fee, share)
    assert refund_split(Money(0, "KRW"), Money(0, "KRW"), Money(0, "KRW")) == (Money(0, "KRW"), Money(0, "KRW"))
