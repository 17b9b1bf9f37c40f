"""The one clock. Jobs take `now` from here, so tests and `{"now": ...}` can move it.

It also says which moments the API accepts: every date and date-time a client sends (bodies, query
strings, an admin's `now` for a job run) lies in `EARLIEST`..`LATEST` (2000-01-01 to 2100-01-01 UTC,
both included). Within it, the arithmetic the product does on dates (a session's end, a week's last
day, a settlement hold, a time zone) can never leave what Python's datetime can hold.
"""

from datetime import UTC, date, datetime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_MESSAGE = "must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z"


def now() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with a `Z`, second precision plus milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def accepted(moment: date) -> bool:
    """Whether a date or date-time is in the range the product accepts. Nothing is computed on a moment
    before its year is known to be near the range: `9999-12-31T23:59:59-12:00` is past datetime's
    maximum once in UTC, and `0001-01-01T00:00:00+01:00` before its minimum."""
    if not EARLIEST.year - 1 <= moment.year <= LATEST.year + 1:
        return False
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return EARLIEST <= aware.astimezone(UTC) <= LATEST
    return EARLIEST.date() <= moment <= LATEST.date()
