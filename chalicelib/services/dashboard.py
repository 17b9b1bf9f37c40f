"""The instructor dashboard: revenue, refunds, enrollments, completion, ratings and Q&A over time.

Read from the daily aggregates (`store.daily_stats`), never from orders: one Query per
course or per instructor over at most 366 days, whatever the number of sales. Days are
calendar days in the instructor's time zone; `from`/`to` are inclusive. Weeks start on
Monday; a period at either end of the range counts only the days inside it.

Net revenue is what the instructor's ledger received for the period: instructor shares
of purchases minus the instructor's part of refunds (`net - refund_net`). Under a co-instructors'
revenue split each party's figures count their own part (services/stats.py); a co-instructor sees a
course's dashboard with their part of its sales and the course's learning figures (completions, reviews,
ratings, questions: two Queries, their scope and the course's), never its learners.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from chalicelib import clock, config, errors
from chalicelib.domain.courses import owned_by
from chalicelib.roles import Caller
from chalicelib.services import stats
from chalicelib.services.course_access import own_course
from chalicelib.store import courses, daily_stats, enrollments, users

DAY, WEEK, MONTH = "day", "week", "month"
DEFAULT_DAYS = 30
# What learners did in a course (no money): a co-instructor sees these of the whole course.
LEARNING_COUNTERS = frozenset({"completions", "reviews", "rating_sum", "rating_count", "questions", "answered"})


@dataclass(frozen=True)
class Period:
    label: str  # the day, the week's Monday, or "YYYY-MM"
    first_day: date
    last_day: date
    counts: dict[str, int]


@dataclass(frozen=True)
class Dashboard:
    timezone: str
    first_day: date
    last_day: date
    granularity: str
    course_id: str | None
    currency: str
    totals: dict[str, int]
    series: list[Period] = field(default_factory=list)


def _range(first: date | None, last: date | None, tz: ZoneInfo) -> tuple[date, date]:
    last = last or (clock.now().astimezone(tz).date() if first is None else first + timedelta(days=DEFAULT_DAYS - 1))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise errors.ValidationFailed.on("from", "must be on or before `to`")
    if (last - first).days + 1 > daily_stats.MAX_DAYS:
        message = f"at most {daily_stats.MAX_DAYS} days from `from` to `to` (both included)"
        raise errors.ValidationFailed(f"from/to: {message}", errors=[errors.FieldError("from", message),
                                                                     errors.FieldError("to", message)])
    return first, last


def _period_start(day: date, granularity: str) -> date:
    if granularity == WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == MONTH:
        return day.replace(day=1)
    return day


def _label(start: date, granularity: str) -> str:
    return start.strftime("%Y-%m") if granularity == MONTH else start.isoformat()


def series(by_day: dict[str, dict[str, int]], first: date, last: date, granularity: str) -> list[Period]:
    """Every period of the range in order, zeros included (charts and spreadsheets want no gaps)."""
    periods: list[Period] = []
    day = first
    while day <= last:
        start = _period_start(day, granularity)
        days = []
        while day <= last and _period_start(day, granularity) == start:
            days.append(day)
            day += timedelta(days=1)
        counts = daily_stats.total(by_day.get(d.isoformat(), {}) for d in days)
        periods.append(Period(_label(start, granularity), days[0], days[-1], counts))
    return periods


def dashboard(caller: Caller, first: date | None, last: date | None, course_id: str | None,
              granularity: str = DAY) -> Dashboard:
    profile = users.get_profile(caller.user_id)
    tz = stats.zone(profile.timezone if profile else None)
    first, last = _range(first, last, tz)
    scopes = _course_scopes(caller, course_id) if course_id else [daily_stats.instructor_scope(caller.user_id)]
    rows = daily_stats.days_of(scopes[0], first.isoformat(), last.isoformat())
    by_day = {row.day: row.counts for row in rows}
    if len(scopes) > 1:  # a co-instructor: the course's learning figures beside their sales figures
        course_rows = daily_stats.days_of(scopes[1], first.isoformat(), last.isoformat())
        by_day = _with_learning(by_day, {row.day: row.counts for row in course_rows})
        rows += course_rows
    currency = next((row.currency for row in rows if row.currency), None) or config.wallet_currency()
    return Dashboard(tz.key, first, last, granularity, course_id, currency, daily_stats.total(by_day.values()),
                     series(by_day, first, last, granularity))


def _course_scopes(caller: Caller, course_id: str) -> list[str]:
    """Where the course's figures as the caller sees them are counted: its owner, the whole course's; a
    co-instructor of its revenue split, their sales figures (`course_party_scope`, the course's sales with their
    own part of its revenue) and then the course's, whose learning figures they see too."""
    course = courses.get_course(course_id)
    if course is not None and owned_by(course, caller.user_id):
        return [daily_stats.course_scope(course_id)]
    if course is not None and caller.user_id in {party for party, _ in course.revenue_split}:
        return [daily_stats.course_party_scope(course_id, caller.user_id), daily_stats.course_scope(course_id)]
    raise errors.NotFound(f"No course {course_id} in your studio")


def _with_learning(sales: dict[str, dict[str, int]], course: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """A co-instructor's days of a course: the money and sales counters of their own scope, the learning
    counters of the course's (counted on its owner's calendar days; no money in them)."""
    days = sorted(sales.keys() | course.keys())
    return {day: {name: (course if name in LEARNING_COUNTERS else sales).get(day, {}).get(name, 0)
                  for name in daily_stats.COUNTERS} for day in days}


def set_timezone(caller: Caller, name: str) -> str:
    try:
        tz = ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise errors.ValidationFailed.on("timezone", "an IANA time zone name, e.g. Asia/Seoul") from None
    users.set_timezone(caller.user_id, tz.key)
    courses.copy_instructor_profile(caller.user_id, timezone=tz.key)  # purchases read it from the course
    return tz.key


# --- learners of a course ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Learner:
    enrollment_id: str
    learner_name: str
    status: str
    enrolled_at: str
    progress_percent: int
    completed_lessons: int
    completed: bool
    completed_at: object
    last_lesson_id: str | None


def course_learners(caller: Caller, course_id: str, limit: int, cursor: str | None) -> tuple[list[Learner], str | None]:
    """A course's learners, newest enrollment first, with progress; display names only (never emails)."""
    own_course(caller, course_id)
    items, next_cursor = enrollments.list_for_course(course_id, limit, cursor)
    names = users.display_names({e.learner_id for e in items})
    learners = [
        Learner(e.enrollment_id, names.get(e.learner_id, "Learner"), e.status, e.enrolled_at, e.progress_percent,
                len(e.completed_lessons), e.completed_at is not None, e.completed_at, e.last_lesson_id)
        for e in items
    ]
    return learners, next_cursor
