"""Daily aggregates for the instructor dashboard: one item per (course, day) and per (instructor, day).

Table `<prefix>daily_stats`
    hash key   scope      "course#<course_id>" | "instructor#<instructor_id>"
                          | "course#<course_id>#<instructor_id>" (a co-instructor's view of a course)
    range key  day        "YYYY-MM-DD", a calendar day in the instructor's time zone

Index (sparse, keys only: only instructor-days carry `active_day`)
    active_instructors   active_day, scope     the instructors with any event on a day

Access patterns
    instructors with any event on a day  Query active_instructors (the daily digest's candidates)
    a dashboard over a range ........... ONE Query per scope: scope = :s AND day BETWEEN :from AND :to
                                         (at most 366 items; no scan, cost O(days) not O(orders))
    count an event ..................... inside the event's own UnitOfWork: two UpdateItems with ADD
                                         (course-day and instructor-day), which create the item if missing

Counters (integers, money in minor units of `currency`):
    gross, fee, net                      order totals, platform fees, instructor shares of purchases
    refunds, refunded, refund_fee,       refund count, refunded amount, its platform-fee and
    refund_net                           instructor parts (net revenue = net - refund_net)
    orders, enrollments, completions
    reviews, rating_sum, rating_count    a review edit moves rating_sum by the difference only
    questions, answered                  answered: questions the course's instructor answered first

Because every counter moves in the same transaction as the order, refund, enrollment,
review or question it counts, the aggregates cannot drift from the records: a cancelled
transaction counts nothing, a committed one counts exactly once.

`active_day` is set to the item's own day by every event, so the index gets one write per
instructor and day (an update that leaves an index's attributes unchanged does not write it):
no hot partition, however busy the day.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork

COUNTERS = (
    "gross", "fee", "net", "refunds", "refunded", "refund_fee", "refund_net", "orders", "enrollments",
    "completions", "reviews", "rating_sum", "rating_count", "questions", "answered",
)
MAX_DAYS = 366


class ActiveInstructors(GlobalSecondaryIndex):
    class Meta:
        index_name = "active_instructors"
        projection = KeysOnlyProjection()

    active_day = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)


class DailyStatsItem(Model):
    Meta = table_meta("daily_stats")

    scope = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    currency = UnicodeAttribute(null=True)
    gross = NumberAttribute(null=True)
    fee = NumberAttribute(null=True)
    net = NumberAttribute(null=True)
    refunds = NumberAttribute(null=True)
    refunded = NumberAttribute(null=True)
    refund_fee = NumberAttribute(null=True)
    refund_net = NumberAttribute(null=True)
    orders = NumberAttribute(null=True)
    enrollments = NumberAttribute(null=True)
    completions = NumberAttribute(null=True)
    reviews = NumberAttribute(null=True)
    rating_sum = NumberAttribute(null=True)
    rating_count = NumberAttribute(null=True)
    questions = NumberAttribute(null=True)
    answered = NumberAttribute(null=True)
    active_day = UnicodeAttribute(null=True)  # = day, on instructor-days only

    active_instructors = ActiveInstructors()


def course_scope(course_id: str) -> str:
    return f"course#{course_id}"


def course_party_scope(course_id: str, instructor_id: str) -> str:
    """A co-instructor's view of a course: its figures with their own part of its revenue."""
    return f"course#{course_id}#{instructor_id}"


INSTRUCTOR_PREFIX = "instructor#"


def instructor_scope(instructor_id: str) -> str:
    return f"{INSTRUCTOR_PREFIX}{instructor_id}"


def add_counts(uow: UnitOfWork, *, course_id: str, instructor_id: str, day: str, counts: dict[str, int],
               currency: str | None = None) -> None:
    """ADD `counts` to the course-day and the instructor-day, inside the event's unit of work.

    Zero counts are left out; nothing is written when every count is zero. Two items per event.
    """
    moves = {name: int(value) for name, value in counts.items() if value}
    unknown = set(moves) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)}")
    if not moves:
        return
    for scope in (course_scope(course_id), instructor_scope(instructor_id)):
        add_scope_counts(uow, scope, day, moves, currency)


def add_scope_counts(uow: UnitOfWork, scope: str, day: str, counts: dict[str, int], currency: str | None) -> None:
    """ADD `counts` (known counters, none zero) to one scope's day: for a use case that counts several events of
    one instructor in one transaction (a checkout's items), where the instructor's day is one item."""
    actions = [getattr(DailyStatsItem, name).add(value) for name, value in counts.items()]
    if currency:
        actions.append(DailyStatsItem.currency.set(currency))
    if scope.startswith(INSTRUCTOR_PREFIX):
        actions.append(DailyStatsItem.active_day.set(day))
    uow.update(DailyStatsItem(scope, day), actions=actions)


@dataclass(frozen=True)
class DayCounts:
    """One day of a scope: its counters (every one, zeros included) and the currency of its money."""

    day: str
    currency: str | None
    counts: dict[str, int]


def days_of(scope: str, first_day: str, last_day: str) -> list[DayCounts]:
    """The scope's days in [first_day, last_day] that have any counts: one Query (paged past 1 MB)."""
    return [DayCounts(item.day, item.currency, {name: int(getattr(item, name) or 0) for name in COUNTERS})
            for item in DailyStatsItem.query(scope, DailyStatsItem.day.between(first_day, last_day))]


def instructors_active_on(day: str) -> Iterator[str]:
    """The instructors with any counted event (sale, refund, completion, review, question, answer)
    on `day` in their time zone: Query active_instructors, paged."""
    for item in DailyStatsItem.active_instructors.query(day):
        yield item.scope.removeprefix(INSTRUCTOR_PREFIX)


def total(rows: Iterable[dict[str, int]]) -> dict[str, int]:
    summed = dict.fromkeys(COUNTERS, 0)
    for row in rows:
        for name in COUNTERS:
            summed[name] += row.get(name, 0)
    return summed
