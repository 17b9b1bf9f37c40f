"""The instructor digest: once a day, one mail per instructor with activity in the last 24 hours.

Whom to look at, without a scan: the instructors whose dashboard counted an event (a sale, a
refund, a completion, a review, a question) on a calendar day the window touches, in any time zone
(the sparse `active_instructors` index of the daily aggregates: a Query per day, 3 or 4 days).
For each, the orders of the last refund window and a day give the new enrollments, revenue and
refunds of the day: those of the instructor's own courses from `by_instructor` (order ids being
ULIDs: from a moment on), and those of courses they co-teach (a revenue split's party, whom that
index does not name) from their own ledger (`co_taught_orders`). A Query per course (the
instructor's courses: one Query) counts new reviews, and the sparse unanswered index counts the
questions waiting. One mail per instructor and day (`digest:<instructor_id>:<KST date>`), however
often the job runs.

Access patterns (per instructor looked at)
    their courses' orders since a moment ... Query orders.by_instructor, order_id >= the moment's lowest ULID
    their co-taught sales since then ....... Query ledger_entries book = their pending account, entry_id after
                                             the moment's lowest ULID (every paid sale credits each party's
                                             pending in its transaction); a purchase entry names its order
                                             (`order:<order_id>`), a checkout's the checkout: BatchGetItem
                                             ledger_transfers for the memos' order ids, unless the
                                             instructor's own orders of that checkout account for all of
                                             the entry; then BatchGetItem orders for the others
    new reviews ............................ Query reviews per course of theirs (courses.by_instructor)
    questions waiting ...................... two counting Queries of questions.unanswered_by_instructor

Not in the digest: refunds of orders older than the refund window (only admins make those); a
co-instructor's free enrollments (a 100% coupon credits nobody's ledger) and the reviews and questions of
courses they co-teach (the owner's to answer); the co-instructor's course dashboard has them.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chalicelib import clock, config, errors, ids
from chalicelib.domain.calendar import business_day, business_time
from chalicelib.money import Money, format_money
from chalicelib.services import ledger, mail
from chalicelib.store import courses as courses_store
from chalicelib.store import daily_stats as stats_store
from chalicelib.store import orders as orders_store
from chalicelib.store import questions as questions_store
from chalicelib.store import reviews as reviews_store
from chalicelib.store import users

log = logging.getLogger("classpay.jobs.digest")
WINDOW = timedelta(days=1)


# --- reviews and questions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LearningActivity:
    new_reviews: int = 0
    new_questions: int = 0  # asked in the window and still waiting for the instructor
    unanswered_questions: int = 0  # all those waiting, however old


def learning_activity(instructor_id: str, since: datetime, until: datetime) -> LearningActivity:
    """Reviews of the instructor's courses posted in [since, until) (one Query per course), and the
    questions waiting for the instructor (two counting Queries of their sparse unanswered index)."""
    start, end = clock.to_rfc3339(since), clock.to_rfc3339(until)
    courses, _ = courses_store.list_by_instructor(instructor_id, None, None)
    new_reviews = sum(reviews_store.count_posted_between(c.course_id, start, end) for c in courses)
    waiting = questions_store.count_unanswered(instructor_id)
    return LearningActivity(new_reviews, min(questions_store.count_unanswered(instructor_id, start), waiting), waiting)


def _local_days(since: datetime, until: datetime) -> list[str]:
    """Every calendar day the window touches in some time zone (UTC-12 to UTC+14): the dashboard
    counts reviews and questions on the instructor's own days."""
    first, last = (since.astimezone(UTC) - timedelta(hours=12)).date(), (until.astimezone(UTC) + timedelta(hours=14)).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


# --- the digest ----------------------------------------------------------------------------------------

@dataclass
class CourseDay:
    title: str
    enrollments: int = 0
    share: int = 0


@dataclass
class InstructorDay:
    instructor_id: str
    since: datetime
    until: datetime
    currency: str
    new_enrollments: int = 0
    sales: int = 0  # what learners paid
    revenue: int = 0  # the instructor's share of it
    refunds: int = 0
    refunded: int = 0
    learning: LearningActivity = field(default_factory=LearningActivity)
    courses: dict[str, CourseDay] = field(default_factory=dict)

    @property
    def has_activity(self) -> bool:
        # Old unanswered questions alone send no mail (no daily nagging); the mail shows them.
        return bool(self.new_enrollments or self.refunds or self.learning.new_reviews
                    or self.learning.new_questions)


@dataclass(frozen=True)
class DigestResult:
    since: datetime
    until: datetime
    instructors_looked_at: int
    sent: int
    already_sent: int
    failed: int


def co_taught_orders(instructor_id: str, first_id: str, own: list[orders_store.Order],
                     currency: str) -> list[orders_store.Order]:
    """The orders from `first_id` on of courses others own that gave the instructor a share of the revenue, found
    through the sales their pending account received since (see "Access patterns"); `own`: their own orders
    since then, which are left out."""
    own_ids = {order.order_id for order in own}
    own_in_checkout: dict[str, int] = {}
    for order in own:
        if order.checkout_id:
            share = order.share_of(instructor_id).amount
            own_in_checkout[order.checkout_id] = own_in_checkout.get(order.checkout_id, 0) + share
    order_ids: list[str] = []
    checkouts: list[str] = []  # checkout transfers with a part for orders of others' courses
    for entry in ledger.entries_between(ledger.instructor_pending(instructor_id, currency), first_id):
        if entry.amount.amount <= 0:
            continue  # a refund or a settlement; the sale itself credited pending
        event_id = entry.transfer_id.partition(":")[2]  # `order:<order_id>`, `checkout:<checkout_id>`
        if entry.transfer_kind == ledger.PURCHASE:
            order_ids.append(event_id)
        elif entry.transfer_kind == ledger.CHECKOUT_POST and own_in_checkout.get(event_id) != entry.amount.amount:
            checkouts.append(entry.transfer_id)
    if checkouts:
        order_ids += [order_id for memo in ledger.transfers(checkouts).values()
                      for order_id in memo.get("order_ids", "").split(",")]
    others = [order_id for order_id in order_ids if order_id and order_id not in own_ids]
    return [order for order in orders_store.get_many(others)
            if order.instructor_id != instructor_id and order.share_of(instructor_id).amount]


def day_of(instructor_id: str, since: datetime, until: datetime) -> InstructorDay:
    """What happened in [since, until) to the sales an instructor has a share of: their courses' and those
    they co-teach."""
    day = InstructorDay(instructor_id, since, until, config.wallet_currency())
    first = ids.lowest_at(since - timedelta(days=config.refund_window_days()) - WINDOW)
    own = list(orders_store.of_instructor_since(instructor_id, first))
    for order in own + co_taught_orders(instructor_id, first, own, day.currency):
        course = day.courses.setdefault(order.course_id, CourseDay(order.course_title))
        if since <= order.created_at < until:
            day.new_enrollments += 1
            day.sales += order.total.amount
            day.revenue += order.share_of(instructor_id).amount  # their part under a co-instructors' split
            course.enrollments += 1
            course.share += order.share_of(instructor_id).amount
        for part in order.refunds:
            if since <= part.created_at < until and part.amount.amount:
                day.refunds += 1
                day.refunded += part.amount.amount
    day.courses = {cid: c for cid, c in day.courses.items() if c.enrollments}
    day.learning = learning_activity(instructor_id, since, until)
    return day


def render(day: InstructorDay, name: str) -> tuple[str, str]:
    """(subject, text) of the digest mail."""
    money = lambda amount: format_money(Money(amount, day.currency))  # noqa: E731
    subject = (f"[classpay] Your day: {day.new_enrollments} new enrollment{'s' if day.new_enrollments != 1 else ''}, "
               f"{money(day.revenue)}")
    lines = [
        f"Hi {name},", "",
        f"Your classpay day, {business_time(day.since):%Y-%m-%d %H:%M} to {business_time(day.until):%Y-%m-%d %H:%M} KST:",
        "",
        f"- New enrollments: {day.new_enrollments}",
        f"- Revenue: {money(day.revenue)} (your share of {money(day.sales)} in sales)",
        f"- Refunds: {day.refunds} ({money(day.refunded)} returned to learners)",
        f"- New reviews: {day.learning.new_reviews}",
        f"- Unanswered questions: {day.learning.unanswered_questions} ({day.learning.new_questions} new)",
    ]
    if day.courses:
        lines += ["", "By course:"]
        lines += [f"  {c.title}: {c.enrollments} new, {money(c.share)}"
                  for c in sorted(day.courses.values(), key=lambda c: (-c.share, c.title))]
    lines += ["", "Your balance and payouts: GET /instructor/balance, GET /instructor/payouts", "classpay"]
    return subject, "\n".join(lines) + "\n"


def _candidates(since: datetime, until: datetime) -> Iterator[str]:
    """Instructors with any event counted on a day the window touches, in some time zone."""
    seen: set[str] = set()
    for day in _local_days(since, until):
        for instructor_id in stats_store.instructors_active_on(day):
            if instructor_id not in seen:
                seen.add(instructor_id)
                yield instructor_id


def send_digests(now: datetime | None = None) -> DigestResult:
    """Mail each instructor with activity their day; ServiceUnavailable if any mail could not be sent."""
    until = now or clock.now()
    since = until - WINDOW
    looked = sent = already = failed = 0
    for instructor_id in _candidates(since, until):
        looked += 1
        day = day_of(instructor_id, since, until)
        if not day.has_activity:
            continue
        profile = users.get_profile(instructor_id)
        if profile is None:
            continue
        subject, text = render(day, profile.name)
        try:
            if mail.send_once(f"digest:{instructor_id}:{business_day(until)}",
                              mail.Mail(profile.email, subject, text), kind="instructor_digest",
                              recipient_id=instructor_id, now=until):
                sent += 1
            else:
                already += 1
        except Exception:  # noqa: BLE001 - the next instructors still get theirs; this one is retried next run
            log.exception("digest not sent", extra={"fields": {"instructor_id": instructor_id}})
            failed += 1
    log.info("digest: %d instructors looked at, %d sent, %d sent before, %d failed", looked, sent, already, failed)
    if failed:
        # The run fails after trying everyone: EventBridge invokes the job asynchronously, so Lambda runs it
        # again (twice, minutes apart) and those mailed already are skipped. The admin trigger answers 503.
        raise errors.ServiceUnavailable(
            f"{failed} of {failed + sent + already} digests could not be sent; "
            "run the job again (digests already sent are not sent twice)")
    return DigestResult(since, until, looked, sent, already, failed)
