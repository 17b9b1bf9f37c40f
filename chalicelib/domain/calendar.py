"""The business calendar: the marketplace keeps Korean time for its days and payout weeks."""

from datetime import datetime, timedelta, timezone

# Korea keeps no daylight saving time, so a fixed offset is exact.
BUSINESS_TZ = timezone(timedelta(hours=9), "KST")


def business_time(moment: datetime) -> datetime:
    """The moment on the business clock (for people: mails, days, weeks)."""
    return moment.astimezone(BUSINESS_TZ)


def business_day(moment: datetime) -> str:
    """The business day a moment falls on, `YYYY-MM-DD`."""
    return f"{business_time(moment):%Y-%m-%d}"


def payout_period(moment: datetime) -> str:
    """The payout period a moment falls in: its ISO week in business time, `2030-W02`."""
    year, week, _ = business_time(moment).isocalendar()
    return f"{year}-W{week:02d}"
