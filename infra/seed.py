"""Demo data for `make run`: accounts, published courses with live sessions, funded wallets, payout accounts.

Seeding goes through the services, like a user would, and is idempotent:
an account or a course that exists is left as it is (a course only gets a new
live session once its sessions have all started or filled up).
"""

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import boto3

from chalicelib import clock, config, errors, roles
from chalicelib.money import Money
from chalicelib.roles import Caller
from chalicelib.services import identity, studio
from chalicelib.store.courses import Lesson

DEMO_PASSWORD = "Classpay-demo-1"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    roles: tuple[str, ...]
    admin: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin@classpay.test", "Ada Admin", ("learner",), admin=True),
    DemoAccount("instructor@classpay.test", "Ina Instructor", ("instructor",)),
    DemoAccount("instructor2@classpay.test", "Ivan Instructor", ("instructor",)),
    DemoAccount("learner@classpay.test", "Lea Learner", ("learner",)),
    DemoAccount("learner2@classpay.test", "Leo Learner", ("learner",)),
    DemoAccount("both@classpay.test", "Bo Both", ("learner", "instructor")),
)


def seed_accounts() -> list[DemoAccount]:
    for account in DEMO_ACCOUNTS:
        try:
            identity.sign_up(account.email, DEMO_PASSWORD, account.name, list(account.roles))
        except errors.EmailTaken:
            continue
        if account.admin:
            boto3.client("cognito-idp").admin_add_user_to_group(
                UserPoolId=config.user_pool_id(), Username=account.email, GroupName=roles.ADMINS
            )
    return list(DEMO_ACCOUNTS)


# (instructor email, title, category, price in KRW, lessons, live session seats or 0, description)
DEMO_COURSES = (
    ("instructor@classpay.test", "파이썬으로 배우는 데이터 분석", "data", 55000, 6, 20,
     "판다스와 시각화로 실제 데이터를 분석합니다"),
    ("instructor@classpay.test", "Python for Absolute Beginners", "programming", 39000, 8, 0,
     "Variables, loops and functions from zero"),
    ("instructor@classpay.test", "실전 SQL 쿼리 튜닝", "data", 72000, 5, 5, "인덱스와 실행 계획 읽기"),
    ("instructor@classpay.test", "Machine Learning Crash Course", "data", 99000, 10, 30,
     "Regression, classification and evaluation with scikit-learn"),
    ("instructor2@classpay.test", "피그마 UI 디자인 기초", "design", 45000, 4, 0, "컴포넌트와 오토 레이아웃"),
    ("instructor2@classpay.test", "Brand Identity Design", "design", 65000, 6, 10, "Logos, palettes and type"),
    ("instructor2@classpay.test", "마케팅 퍼널 설계", "marketing", 50000, 5, 0, "유입에서 전환까지"),
    ("instructor2@classpay.test", "Growth Marketing Playbook", "marketing", 80000, 7, 15,
     "Experiments that move the numbers"),
    ("both@classpay.test", "통기타 첫걸음", "music", 30000, 6, 8, "코드와 스트로크 기초"),
    ("both@classpay.test", "Music Production with Ableton", "music", 120000, 9, 0, "From idea to finished track"),
    ("both@classpay.test", "스마트폰 사진 잘 찍는 법", "photography", 25000, 4, 12, "구도와 빛"),
    ("both@classpay.test", "Personal Finance 101", "finance", 35000, 5, 0, "Budgeting, saving and investing"),
)


DEMO_WALLETS = {"learner@classpay.test": 200_000, "learner2@classpay.test": 50_000}


def _user_id(email: str) -> str:
    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=config.user_pool_id(), Username=email)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def seed_courses() -> int:
    """A dozen published courses (Korean and English, several categories), some with live sessions.

    A course that exists (same instructor, same title) is left as it is, except that a course with
    live sessions gets a new one when none is still ahead with seats left: demo sessions pass, and
    `make run` days later should still have something to book. Returns the number of courses created.
    """
    created = 0
    callers = {email: Caller(_user_id(email), frozenset({roles.INSTRUCTORS}))
               for email in {course[0] for course in DEMO_COURSES}}
    existing = {email: {c.title: c.course_id for c in studio.my_courses(caller, 100, None)[0]}
                for email, caller in callers.items()}
    for position, (email, title, category, price, lessons, seats, description) in enumerate(DEMO_COURSES):
        caller = callers[email]
        course_id = existing[email].get(title)
        if course_id is None:
            course_id = _create_course(caller, title, category, price, lessons, description)
            created += 1
        if seats:
            ensure_upcoming_session(caller, course_id, seats, stagger=timedelta(hours=position))
    return created


def _create_course(caller: Caller, title: str, category: str, price: int, lessons: int, description: str) -> str:
    course = studio.create_course(caller, studio.CourseDraft(
        title=title, description=description, category=category, price=Money(price, "KRW")))
    section = studio.add_section(caller, course.course_id, "1부", None)
    for n in range(lessons):
        studio.add_lesson(caller, course.course_id, section.section_id,
                          Lesson("", f"Lesson {n + 1}", "video", 600, preview=n == 0), None)
    studio.publish(caller, course.course_id, None)
    return course.course_id


SESSION_LEAD = timedelta(days=3)  # a new demo session starts this far ahead (plus the course's stagger)
SESSION_MINUTES = 90


def ensure_upcoming_session(caller: Caller, course_id: str, seats: int, stagger: timedelta = timedelta()) -> bool:
    """Add a live session `SESSION_LEAD` ahead unless one still to start has a seat left; True if added."""
    now = clock.now()
    sessions = studio.own_course(caller, course_id).sessions
    if any(datetime.fromisoformat(s.starts_at) > now and s.seats_left > 0 for s in sessions):
        return False
    starts_at = now.replace(minute=0, second=0, microsecond=0) + SESSION_LEAD + stagger
    studio.add_session(caller, course_id, starts_at, SESSION_MINUTES, seats)
    return True


def seed_wallets() -> None:
    """Fund demo learners through a real top-up confirmed by the fake gateway; an empty wallet only,
    so running the seed again adds nothing."""
    from chalicelib.adapters.fake_payments import FakePayments
    from chalicelib.money import Money
    from chalicelib.services import wallet

    for email, amount in DEMO_WALLETS.items():
        user_id = _user_id(email)
        if wallet.balance(user_id).amount > 0:
            continue
        topup = wallet.create_topup(user_id, Money(amount, config.wallet_currency()), gateway=FakePayments())
        wallet.confirm_topup(user_id, topup.topup_id, topup.checkout.payment_key, gateway=FakePayments())


# Demo instructors' payout accounts (the fake bank pays these; one ending in 0000 it would refuse).
DEMO_PAYOUT_ACCOUNTS = {
    "instructor@classpay.test": ("088", "110-234-567891", "Ina Instructor"),
    "instructor2@classpay.test": ("090", "3333-01-2345678", "Ivan Instructor"),
}


def seed_payout_accounts() -> None:
    """Give demo instructors a payout account, unless they have one."""
    from chalicelib.services import payout_accounts
    from chalicelib.store import payout_accounts as store

    for email, (bank_code, number, holder) in DEMO_PAYOUT_ACCOUNTS.items():
        user_id = _user_id(email)
        if store.get(user_id) is None:
            payout_accounts.save(user_id, bank_code, number, holder)


# Demo instructors' tax profiles (made-up numbers that pass the checks), so `make run`'s payouts pay: one freelancer
# withheld 3.3% (사업소득), one business withheld nothing.
DEMO_TAX_PROFILES = {
    "instructor@classpay.test": ("individual_business", "900101-1234567", None),
    "instructor2@classpay.test": ("business", None, "123-45-67891"),
}


def seed_tax_profiles() -> None:
    """Give demo instructors a tax profile, unless they have one (payouts wait, held, without it)."""
    from chalicelib.services import tax_profiles
    from chalicelib.store import tax_profiles as store

    for email, (kind, resident_number, business_number) in DEMO_TAX_PROFILES.items():
        user_id = _user_id(email)
        if store.get(user_id) is None:
            tax_profiles.save(user_id, kind, resident_number, business_number)


def seed_demo() -> list[DemoAccount]:
    accounts = seed_accounts()
    seed_courses()
    seed_wallets()
    seed_payout_accounts()
    seed_tax_profiles()
    return accounts


# --- 90 days of history ------------------------------------------------------------------------------
# The demo instructors' dashboards, charts and payouts have something to show on a first `make run`: sales by
# wallet and by card checkout, refunds, completions with their certificates, reviews, questions and answers,
# and the weekly settlement and payouts, made by the services themselves with the clock moved to when each
# happened. The same on every machine (a seeded random), and made once: when the first history learner exists
# the history is left as it is (a start interrupted in the middle keeps what it made, never makes it twice).

HISTORY_DAYS = 90
HISTORY_RANDOM_SEED = 19
HISTORY_LEARNERS = 12
HISTORY_WALLET = 1_000_000  # KRW each history learner tops up before the first day
HISTORY_REVIEWS = ("Clear and practical.", "Good pace, useful examples.", "설명이 친절해요.", "실무에 바로 써먹었어요.",
                   "A bit fast in the middle, great overall.")
HISTORY_QUESTIONS = (("Where are the exercise files?", "I could not find them under lesson 2."),
                     ("2강 질문입니다", "예제 데이터는 어디서 받나요?"), ("Is there a certificate?", "Do I get one at the end?"))
HISTORY_ANSWER = "Thanks for asking: it is in the lesson notes, and yes, a certificate comes when you finish."


@dataclass(frozen=True)
class HistorySummary:
    orders: int
    checkouts: int
    refunds: int
    completions: int
    reviews: int
    questions: int
    payouts: int

    def __str__(self) -> str:
        if not any(vars(self).values()):
            return "the history is there already: left as it is"
        return (f"{self.orders} sales ({self.checkouts} by card checkout), {self.refunds} refunds, {self.completions} "
                f"completions, {self.reviews} reviews, {self.questions} questions, {self.payouts} payouts")


def _history_email(n: int) -> str:
    return f"history{n:02d}@classpay.test"


@contextlib.contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    """The services read the time from `clock.now()` only: for the block, it answers `moment`."""
    real = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = real


def _history_plan(rng: random.Random, learners: list[str], courses: list[tuple[str, str, list[str]]],
                  featured: list[tuple[str, str, list[str]]], start: datetime) -> list[tuple[datetime, str, tuple]]:
    """(when, what, arguments) of every event, in time order: most sales are of the `featured` instructor's
    courses (the one the README logs in as); a learner buys a course at most once."""
    events: list[tuple[datetime, str, tuple]] = []
    owned: set[tuple[str, str]] = set()
    for day in range(HISTORY_DAYS):
        for _sale in range(rng.choice((0, 0, 0, 1, 1, 1))):  # each event costs seconds of `make run`'s start: few
            course_id, _instructor, lessons = rng.choice(featured if rng.random() < 0.6 else courses)
            buyers = [learner for learner in learners if (learner, course_id) not in owned]
            if not buyers:
                continue
            learner = rng.choice(buyers)
            owned.add((learner, course_id))
            bought = start + timedelta(days=day, hours=rng.randint(1, 13), minutes=rng.randint(0, 59))
            events.append((bought, "buy", (learner, course_id, rng.random() < 0.3)))
            fate = rng.random()
            if fate < 0.12:  # changes their mind within the refund window, before studying
                events.append((bought + timedelta(days=rng.randint(1, 5)), "refund", (learner, course_id)))
                continue
            done = bought + timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 6))
            if fate < 0.35:  # every lesson: a completion costs a request per lesson, so a few
                events.append((done, "complete", (learner, course_id, tuple(lessons))))
            if rng.random() < 0.35:
                events.append((done + timedelta(hours=rng.randint(1, 48)), "review",
                               (learner, course_id, rng.choice((3, 4, 4, 5, 5, 5)), rng.choice(HISTORY_REVIEWS))))
            if rng.random() < 0.2:
                asked = bought + timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 10))
                events.append((asked, "ask", (learner, course_id, rng.choice(HISTORY_QUESTIONS), rng.random() < 0.7)))
    monday = start - timedelta(days=start.weekday())
    week = monday.replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=7)  # Monday 10:00 in Korea
    while week < start + timedelta(days=HISTORY_DAYS):  # every other Monday: half the cost, enough to show
        events.append((week, "settle_and_pay", ()))
        week += timedelta(days=14)
    last = start + timedelta(days=HISTORY_DAYS)
    return sorted((event for event in events if event[0] < last), key=lambda event: event[0])


def seed_history(now: datetime | None = None) -> HistorySummary:
    """The demo instructors' last `HISTORY_DAYS` days, once (see above)."""
    from chalicelib.adapters.fake_payments import FakePayments
    from chalicelib.adapters.payouts import PAID
    from chalicelib.domain.calendar import payout_period
    from chalicelib.services import checkout, learning, orders, payouts, questions, reviews, settlement, wallet

    now = now or clock.now()
    start = (now - timedelta(days=HISTORY_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    learners: list[str] = []
    with _clock_at(start - timedelta(days=1)):
        for n in range(1, HISTORY_LEARNERS + 1):
            try:
                profile = identity.sign_up(_history_email(n), DEMO_PASSWORD, f"History Learner {n}", ["learner"])
            except errors.EmailTaken:
                if n == 1:
                    return HistorySummary(0, 0, 0, 0, 0, 0, 0)
                learners.append(_user_id(_history_email(n)))  # an interrupted first start
                continue
            learners.append(profile.user_id)
            topup = wallet.create_topup(profile.user_id, Money(HISTORY_WALLET, config.wallet_currency()),
                                        gateway=FakePayments())
            wallet.confirm_topup(profile.user_id, topup.topup_id, topup.checkout.payment_key, gateway=FakePayments())
    instructors = {email: Caller(_user_id(email), frozenset({roles.INSTRUCTORS}))
                   for email in {course[0] for course in DEMO_COURSES}}
    courses = []
    for caller in instructors.values():
        for course in studio.my_courses(caller, 100, None)[0]:
            detail = studio.own_course(caller, course.course_id)
            courses.append((course.course_id, caller.user_id,
                            [lesson.lesson_id for section in detail.sections for lesson in section.lessons]))
    courses.sort()
    payable = [instructors[email].user_id for email in DEMO_PAYOUT_ACCOUNTS]
    counts = dict.fromkeys(("orders", "checkouts", "refunds", "completions", "reviews", "questions", "payouts"), 0)
    bought: dict[tuple[str, str], str] = {}  # (learner, course) -> order id
    instructor_of = {course_id: instructor_id for course_id, instructor_id, _ in courses}
    featured = [course for course in courses if course[1] == instructors[DEMO_ACCOUNTS[1].email].user_id]
    plan = _history_plan(random.Random(HISTORY_RANDOM_SEED), learners, courses, featured, start)
    for moment, what, arguments in plan:
        with _clock_at(moment):
            if what == "buy":
                learner, course_id, by_card = arguments
                if by_card:
                    started = checkout.create_checkout(learner, [(course_id, None)], None, None, gateway=FakePayments())
                    paid = checkout.confirm_checkout(learner, started.record.checkout_id, started.payment.payment_key,
                                                     started.record.amount_due, gateway=FakePayments())
                    bought[(learner, course_id)] = paid.orders[0].order_id
                    counts["checkouts"] += 1
                else:
                    bought[(learner, course_id)] = orders.buy_course(learner, course_id, None, None).order_id
                counts["orders"] += 1
            elif what == "refund":
                learner, course_id = arguments
                orders.refund_order(Caller(learner, frozenset({roles.LEARNERS})), bought[(learner, course_id)],
                                    "changed my mind")
                counts["refunds"] += 1
            elif what == "complete":
                learner, course_id, lessons = arguments
                for lesson_id in lessons:
                    learning.record_progress(Caller(learner, frozenset({roles.LEARNERS})), course_id, lesson_id,
                                             True, 600)
                counts["completions"] += 1
            elif what == "review":
                learner, course_id, rating, text = arguments
                reviews.write_review(Caller(learner, frozenset({roles.LEARNERS})), course_id, rating, text)
                counts["reviews"] += 1
            elif what == "ask":
                learner, course_id, (title, body), answered = arguments
                question = questions.ask(Caller(learner, frozenset({roles.LEARNERS})), course_id, title, body)
                counts["questions"] += 1
                if answered:
                    instructor = Caller(instructor_of[course_id], frozenset({roles.INSTRUCTORS}))
                    with _clock_at(moment + timedelta(hours=5)):
                        questions.answer(instructor, question.question_id, HISTORY_ANSWER)
            else:  # settlement (daily when deployed) and the weekly payouts, every other Monday here
                settlement.settle_due(moment)
                period = payout_period(moment)
                counts["payouts"] += sum(payouts.process(instructor_id, period) == PAID
                                         for instructor_id in payable)
    return HistorySummary(**counts)
