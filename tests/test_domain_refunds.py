"""The refund policy (withdrawal, pro rata, live sessions) and how refunds are taken back from the fee and the share."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.fees import split_sale
from chalicelib.domain.refunds import (
    LIVE_SESSION,
    PRO_RATA,
    WITHDRAWAL,
    RefundPolicy,
    Usage,
    clawback,
    legacy_fee_back,
    pro_rata,
    repayment,
    reversal,
    tender_split,
)
from chalicelib.domain.splitting import split
from chalicelib.money import Money

POLICY = RefundPolicy(window_days=7, progress_limit_percent=10)
BOUGHT = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
ages = st.integers(min_value=0, max_value=30 * 86_400).map(lambda seconds: timedelta(seconds=seconds))
sales = st.integers(min_value=0, max_value=10**9).map(lambda amount: Money(amount, "KRW"))


def krw(amount):
    return Money(amount, "KRW")


def usage(studied=0, lessons=10, completed=None, starts_at=None):
    completed = studied if completed is None else completed
    return Usage(BOUGHT, completed * 100 // lessons, studied, lessons, starts_at)


def quote(age, studied=0, paid=100_000, refunded=0, lessons=10, starts_at=None, policy=POLICY):
    return policy.quote(paid=krw(paid), refunded=krw(refunded), usage=usage(studied, lessons, starts_at=starts_at),
                        now=BOUGHT + age)


def test_the_worked_example_3_of_10_lessons_after_7_days_gives_back_70_000():
    after = quote(timedelta(days=8), studied=3)
    assert (after.allowed, after.refundable, after.rule) == (True, krw(70_000), PRO_RATA)
    assert "table 3" in after.basis


def test_withdrawal_within_the_window_below_the_limit_gives_back_everything_left():
    assert quote(timedelta(days=7)).refundable == krw(100_000)
    assert quote(timedelta(days=7)).rule == WITHDRAWAL
    assert quote(timedelta(days=1), refunded=30_000).refundable == krw(70_000)
    # at the progress limit, the studied part is kept even within the window
    assert (quote(timedelta(days=1), studied=1).rule, quote(timedelta(days=1), studied=1).refundable) \
        == (PRO_RATA, krw(90_000))


def test_a_live_session_is_refunded_in_full_until_it_starts_and_not_after():
    starts = BOUGHT + timedelta(days=10)
    before = quote(timedelta(days=9), studied=5, starts_at=starts)
    assert (before.allowed, before.refundable, before.rule) == (True, krw(100_000), LIVE_SESSION)
    after = quote(timedelta(days=10), starts_at=starts)
    assert (after.allowed, after.refundable, after.reason) == (False, krw(0), "the live session has started")


def test_without_pro_rata_nothing_is_refunded_past_the_withdrawal():
    strict = RefundPolicy(window_days=7, progress_limit_percent=10, pro_rata=False)
    late = quote(timedelta(days=8), policy=strict)
    assert (late.allowed, late.reason) == (False, "refunds are possible for 7 days after purchase")
    used = quote(timedelta(days=1), studied=1, policy=strict)
    assert (used.allowed, used.reason) == (False, "refunds are possible below 10% of lessons completed")


def test_nothing_left_is_not_allowed_and_a_free_order_may_still_be_withdrawn_from():
    spent = quote(timedelta(days=30), studied=10)
    assert (spent.allowed, spent.refundable) == (False, krw(0))
    done = quote(timedelta(days=1), refunded=100_000)
    assert (done.allowed, done.refundable) == (False, krw(0))
    free = quote(timedelta(days=1), paid=0)
    assert (free.allowed, free.refundable) == (True, krw(0))


def test_the_studied_part_rounds_down_in_the_learners_favour():
    assert pro_rata(krw(10_000), 1, 3) == krw(6_667)  # 3,333.33 studied: 3,333 kept
    assert pro_rata(krw(10_000), 0, 0) == krw(10_000)


@given(sales, st.integers(1, 40), st.data())
def test_a_quote_never_exceeds_what_is_left_and_never_grows_with_time_or_study(paid, lessons, data):
    refunded = krw(data.draw(st.integers(0, paid.amount)))
    age, older = sorted([data.draw(ages), data.draw(ages)])
    studied, more = sorted([data.draw(st.integers(0, lessons)), data.draw(st.integers(0, lessons))])
    starts_at = data.draw(st.none() | ages.map(lambda age: BOUGHT + age))
    policy = RefundPolicy(7, data.draw(st.integers(1, 100)), data.draw(st.booleans()))

    def refundable(at, studied_lessons):
        return quote(at, studied_lessons, paid.amount, refunded.amount, lessons, starts_at, policy).refundable

    assert 0 <= refundable(age, studied).amount <= (paid - refunded).amount
    assert refundable(older, studied) <= refundable(age, studied)
    assert refundable(age, more) <= refundable(age, studied)


def refunded_in_parts(first, second, divide, asks, finish):
    """Refund an order that paid `first + second` in parts of `asks` (each at most what is left; with `finish`
    then the rest), each divided by `divide(first_back_before, refunded_before, amount)` -> (first's part,
    second's part): each part sums to its refund, and what each side gave back is the one split of the running
    total (path independent), within its side; all of it gives back exactly each side."""
    total = first + second
    refunded = first_back = second_back = krw(0)
    for ask in asks:
        amount = krw(min(ask, (total - refunded).amount))
        first_part, second_part = divide(first_back, refunded, amount)
        assert first_part + second_part == amount and first_part.amount >= 0 and second_part.amount >= 0
        refunded, first_back, second_back = refunded + amount, first_back + first_part, second_back + second_part
        if total.amount:
            assert first_back == split(refunded, [first.amount, second.amount])[0]
        assert first_back <= first and second_back <= second and refunded <= total
    if finish:
        first_part, second_part = divide(first_back, refunded, total - refunded)
        assert (first_back + first_part, second_back + second_part) == (first, second)


@given(sales, st.integers(0, 10_000), st.lists(st.integers(1, 10**9), max_size=6), st.booleans())
def test_parts_of_an_order_sum_exactly_to_what_was_paid_and_each_partys_parts_to_its_share(total, bps, asks, finish):
    fee, share = split_sale(total, bps)
    refunded_in_parts(fee, share, lambda fee_back, refunded, amount: reversal(total, fee, fee_back, refunded, amount),
                      asks, finish)


@given(sales, st.integers(0, 10_000), st.data())
def test_after_a_refund_posted_by_the_old_rule_the_last_part_still_takes_exactly_what_is_left(total, bps, data):
    fee, share = split_sale(total, bps)
    first = krw(data.draw(st.integers(0, total.amount)))
    old_fee = legacy_fee_back(total, fee, first)
    fee_part, share_part = reversal(total, fee, old_fee, first, total - first)
    assert (old_fee + fee_part, first - old_fee + share_part) == (fee, share)


def test_the_fee_comes_back_by_largest_remainder_over_the_running_total():
    total = krw(10_000)
    fee, _share = split_sale(total, 2000)
    assert reversal(total, fee, krw(0), krw(0), krw(3_333)) == (krw(667), krw(2_666))  # 666.6: rounds up
    assert reversal(total, fee, krw(667), krw(3_333), krw(3_333)) == (krw(666), krw(2_667))  # 1,333.2 in all
    assert reversal(krw(0), krw(0), krw(0), krw(0), krw(0)) == (krw(0), krw(0))


def test_a_refund_goes_back_to_the_card_and_the_wallet_in_proportion_to_what_each_paid():
    card, wallet = krw(20_000), krw(10_000)
    assert tender_split(card, wallet, krw(0), krw(0), krw(10_000)) == (krw(6_667), krw(3_333))  # 6,666.7: up
    assert tender_split(card, wallet, krw(6_667), krw(10_000), krw(20_000)) == (krw(13_333), krw(6_667))
    assert tender_split(krw(0), wallet, krw(0), krw(0), krw(4_000)) == (krw(0), krw(4_000))  # wallet only
    assert tender_split(card, krw(0), krw(0), krw(0), krw(4_000)) == (krw(4_000), krw(0))  # card only
    assert tender_split(krw(0), krw(0), krw(0), krw(0), krw(0)) == (krw(0), krw(0))  # a free order


@given(sales, st.data(), st.lists(st.integers(1, 10**9), max_size=6), st.booleans())
def test_tender_parts_sum_to_each_refund_and_over_the_order_to_what_each_tender_paid(total, data, asks, finish):
    wallet = krw(data.draw(st.integers(0, total.amount)))
    card = total - wallet
    refunded_in_parts(card, wallet, lambda card_back, refunded, amount: tender_split(card, wallet, card_back,
                                                                                      refunded, amount),
                      asks, finish)


@given(sales, st.data())
def test_after_refunds_all_to_the_wallet_the_card_gets_what_is_left_of_its_part(total, data):
    """Checkout orders refunded before refunds went to the card: their parts all went to the wallet."""
    wallet = krw(data.draw(st.integers(0, total.amount)))
    card = total - wallet
    earlier = krw(data.draw(st.integers(0, total.amount)))
    to_card, to_wallet = tender_split(card, wallet, krw(0), earlier, total - earlier)
    assert to_card + to_wallet == total - earlier and to_card <= card and to_wallet.amount >= 0


@given(st.integers(0, 10**9), st.integers(-10, 10**9))
def test_a_clawback_takes_what_available_holds_and_the_rest_is_owed(share_back, available):
    taken, owed = clawback(krw(share_back), krw(available))
    assert taken + owed == krw(share_back) and taken.amount >= 0 and owed.amount >= 0
    assert taken.amount <= max(available, 0)
    assert repayment(krw(available), owed).amount == max(0, min(available, owed.amount))
