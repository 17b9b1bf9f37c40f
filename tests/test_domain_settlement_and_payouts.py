"""Settlement dates, payout amounts, net revenue and the business calendar."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.calendar import BUSINESS_TZ, business_day, business_time, payout_period
from chalicelib.domain.payouts import is_payable, payout_amount
from chalicelib.domain.revenue import net_revenue
from chalicelib.domain.settlement import settles_at
from chalicelib.money import Money

moments = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC))


@given(moments, st.integers(min_value=0, max_value=365))
def test_a_sale_settles_its_hold_after_the_purchase(purchased_at, hold_days):
    assert settles_at(purchased_at, hold_days) - purchased_at == timedelta(days=hold_days)
    assert settles_at(purchased_at, hold_days) >= purchased_at


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**6))
def test_a_payout_pays_the_whole_available_balance_once_it_reaches_the_minimum(balance, minimum):
    available = Money(balance, "KRW")
    assert payout_amount(available, minimum) == (available if balance >= minimum else None)
    assert is_payable(available, minimum) == (balance >= minimum)


def test_net_revenue_is_the_shares_of_sales_less_the_shares_refunded():
    assert net_revenue({"net": 31_200, "refund_net": 7_800, "gross": 39_000}) == 23_400
    assert net_revenue({"net": 0, "refund_net": 500}) == -500  # a refund of a sale from an earlier period


def test_the_business_calendar_is_korean_time_and_its_weeks_start_on_monday():
    sunday_night_utc = datetime(2030, 1, 13, 15, 30, tzinfo=UTC)  # Monday 00:30 in Korea
    assert business_time(sunday_night_utc).utcoffset() == timedelta(hours=9) and BUSINESS_TZ.tzname(None) == "KST"
    assert business_day(sunday_night_utc) == "2030-01-14"
    assert payout_period(sunday_night_utc) == "2030-W03"
    assert payout_period(sunday_night_utc - timedelta(hours=1)) == "2030-W02"
    assert payout_period(datetime(2029, 12, 31, 0, 0, tzinfo=UTC)) == "2030-W01"  # ISO years


@given(moments)
def test_a_payout_period_is_the_iso_week_of_the_business_day(moment):
    year, week, _ = datetime.fromisoformat(business_day(moment)).isocalendar()
    assert payout_period(moment) == f"{year}-W{week:02d}"
