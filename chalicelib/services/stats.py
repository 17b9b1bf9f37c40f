"""Counting events into the dashboard's daily aggregates, on the instructor's calendar.

Each use case that changes a dashboard figure (purchase, refund, completion, review,
question, first instructor answer) calls `add_event` with its own UnitOfWork, so the
count commits or fails with the event. The day is the event's calendar day in the
instructor's time zone (their profile's `timezone`, else `DASHBOARD_TIMEZONE`, Asia/Seoul).
"""

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import config
from chalicelib.store import daily_stats, users
from chalicelib.store.transactions import UnitOfWork


def zone(name: str | None) -> tzinfo:
    """The named zone, or the default one (an unknown name stored earlier falls back to the default)."""
    try:
        return ZoneInfo(name or config.default_timezone())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(config.default_timezone())


def zone_of(instructor_id: str) -> tzinfo:
    profile = users.get_profile(instructor_id)
    return zone(profile.timezone if profile else None)


def day_in(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).date().isoformat()


def add_event(uow: UnitOfWork, *, course_id: str, instructor_id: str, at: datetime, currency: str | None = None,
              tz: tzinfo | None = None, **counts: int) -> None:
    """Count an event on the course's and the instructor's day (two small updates in `uow`). `tz`: the
    instructor's zone when the caller has it at hand (a purchase, from the course); else the profile's."""
    daily_stats.add_counts(uow, course_id=course_id, instructor_id=instructor_id,
                           day=day_in(at, tz or zone_of(instructor_id)), counts=counts, currency=currency)
