"""The whole market as a state machine: instructors, learners, money, seats, jobs and faults, over HTTP.

Hypothesis drives random sequences of what people do through the API —
instructors create courses (with a live session and a coupon) and publish
them now or later; learners top up, confirm or get declined, buy (with a seat,
with the coupon), retry with the same and with a new Idempotency-Key, make
progress, review and refund; scheduled jobs run at random times with the clock
moved forward (`POST /admin/jobs/{name}/run {"now": ...}`); several learners
race for the last seats in threads; DynamoDB fails before or after a purchase
commits. A small in-memory model says what must be true; after every step
the wallets, orders and seats agree with it and every account of the market
equals its ledger entries; after every sequence `GET /admin/reconciliation`
proves the whole ledger (it reads every entry, so once per sequence keeps the
test bounded however big the suite's table has grown).
"""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from chalicelib.services import ledger, reconciliation
from tests.money import buy, dynamodb_fails, new_key, refund
from tests.test_catalog import STUDIO

PRICES = (10_000, 30_000)
_codes = itertools.count()


def _at(minutes=0):
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


class Course:
    def __init__(self, course_id, owner, price, lessons, session_id, capacity):
        self.course_id, self.owner, self.price, self.lessons = course_id, owner, price, lessons
        self.session_id, self.capacity, self.booked = session_id, capacity, 0
        self.status, self.coupon = "draft", None  # coupon: (code, percent)
        self.publish_at_minutes = None


class Learner:
    def __init__(self, token, user_id):
        self.token, self.user_id = token, user_id
        self.balance = 0
        self.topups = {}  # topup_id -> [amount, payment_key, status]
        self.orders = {}  # order_id -> [course, total, status, seat]
        self.progress = {}  # course_id -> completed lesson ids (while enrolled)
        self.reviewed = set()

    def paid_order(self, course):
        return next((oid for oid, (c, _, s, _) in self.orders.items() if c is course and s == "paid"), None)


class Market(RuleBasedStateMachine):
    api = None
    admin = None
    instructors: list = []
    learners: list = []

    def __init__(self):
        super().__init__()
        self.courses: list[Course] = []
        self.learners = [Learner(*self._new_learner()) for _ in range(3)]
        self.instructors = [self.api.token_for(roles=["instructor"], name=f"Instructor {n}") for n in range(2)]
        self.instructor_ids = [self.api.get("/me", token=t).json_body["user_id"] for t in self.instructors]
        self.last = None  # (send, response, on_success) of the last money request, for retries
        self.jobs_at = 0  # minutes ahead of now the jobs last ran

    def _new_learner(self):
        token = self.api.token_for(name="Market learner")
        return token, self.api.get("/me", token=token).json_body["user_id"]

    # --- instructors ------------------------------------------------------------------------------
    @rule(owner=st.integers(0, 1), price=st.sampled_from(PRICES), capacity=st.integers(0, 2))
    def create_course(self, owner, price, capacity):
        token = self.instructors[owner]
        created = self.api.post(STUDIO, {"title": "Market course", "category": "programming",
                                         "price": {"amount": price, "currency": "KRW"}}, token=token)
        assert created.status_code == 201, created.body
        course_id = created.json_body["course_id"]
        section = self.api.post(f"{STUDIO}/{course_id}/sections", {"title": "Part"}, token=token).json_body
        lessons = []
        for n in range(2):
            lesson = self.api.post(f"{STUDIO}/{course_id}/sections/{section['section_id']}/lessons",
                                   {"title": f"L{n}", "kind": "video", "duration_seconds": 60}, token=token)
            assert lesson.status_code == 201, lesson.body
            lessons.append(lesson.json_body["lesson_id"])
        session_id = None
        if capacity:
            session = self.api.post(f"{STUDIO}/{course_id}/sessions",
                                    {"starts_at": _at(60 * 24 * 20), "duration_minutes": 60, "capacity": capacity},
                                    token=token)
            assert session.status_code == 201, session.body
            session_id = session.json_body["session_id"]
        self.courses.append(Course(course_id, owner, price, lessons, session_id, capacity))

    @precondition(lambda self: any(c.status == "draft" for c in self.courses))
    @rule(pick=st.integers(0, 9), later=st.booleans())
    def publish(self, pick, later):
        drafts = [c for c in self.courses if c.status == "draft"]
        course = drafts[pick % len(drafts)]
        body = {"publish_at": _at(self.jobs_at + 60)} if later else {}
        response = self.api.post(f"{STUDIO}/{course.course_id}/publish", body, token=self.instructors[course.owner])
        assert response.status_code == 200, response.body
        course.status = "scheduled" if later else "published"
        course.publish_at_minutes = self.jobs_at + 60 if later else None
        assert response.json_body["status"] == course.status

    @precondition(lambda self: any(c.coupon is None for c in self.courses))
    @rule(pick=st.integers(0, 9), percent=st.sampled_from([10, 50, 100]))
    def add_coupon(self, pick, percent):
        open_ = [c for c in self.courses if c.coupon is None]
        course = open_[pick % len(open_)]
        code = f"MKT{next(_codes)}{os.getpid()}"
        response = self.api.post(f"{STUDIO}/{course.course_id}/coupons",
                                 {"code": code, "kind": "percent", "value": percent, "max_redemptions": 1000,
                                  "expires_at": _at(60 * 24 * 30)}, token=self.instructors[course.owner])
        assert response.status_code == 201, response.body
        course.coupon = (code, percent)

    # --- learners: money in -----------------------------------------------------------------------
    @rule(who=st.integers(0, 2), amount=st.sampled_from([10_000, 40_000]))
    def top_up(self, who, amount):
        learner = self.learners[who]
        response = self.api.post("/wallet/topups", {"amount": {"amount": amount, "currency": "KRW"}},
                                 token=learner.token, headers={"Idempotency-Key": new_key("mkt")})
        assert response.status_code == 201, response.body
        learner.topups[response.json_body["topup_id"]] = [amount, response.json_body["checkout"]["payment_key"],
                                                          "pending"]

    @precondition(lambda self: any(lr.topups for lr in self.learners))
    @rule(who=st.integers(0, 2), pick=st.integers(0, 9), decline=st.booleans())
    def confirm(self, who, pick, decline):
        learner = self.learners[who]
        if not learner.topups:
            return
        topup_id = sorted(learner.topups)[pick % len(learner.topups)]
        amount, payment_key, status = learner.topups[topup_id]
        key = new_key("mkt")
        sent_key = "decline" if decline else payment_key

        def send():
            return self.api.post(f"/wallet/topups/{topup_id}/confirm", {"payment_key": sent_key},
                                 token=learner.token, headers={"Idempotency-Key": key})

        response = send()
        if status == "pending" and not decline:
            assert response.status_code == 200, response.body
            learner.topups[topup_id][2] = "confirmed"
            learner.balance += amount
        elif status == "pending":
            assert response.status_code == 402, response.body
            learner.topups[topup_id][2] = "declined"
        elif status == "confirmed":
            assert response.status_code == (409 if decline else 200), response.body
        elif status == "declined":
            assert response.status_code == 402, response.body
        else:  # expired
            assert response.status_code == 409, response.body
        self.last = (send, response)

    # --- learners: buying -------------------------------------------------------------------------
    def _expect_buy(self, learner, course, seat, coupon):
        """(status, code) the model expects, in the order the service refuses."""
        if learner.paid_order(course):
            return 409, "ALREADY_ENROLLED"
        if course.status != "published":
            return 404, "NOT_FOUND"
        if seat and course.booked >= course.capacity:
            return 409, "SOLD_OUT"
        total = course.price - (course.price * course.coupon[1] // 100 if coupon else 0)
        if total > learner.balance:
            return 402, "INSUFFICIENT_FUNDS"
        return 201, total

    def _apply_buy(self, learner, course, seat, response):
        total = response.json_body["total"]["amount"]
        learner.orders[response.json_body["order_id"]] = [course, total, "paid", seat]
        learner.balance -= total
        course.booked += 1 if seat else 0
        learner.progress[course.course_id] = set()

    def _buy_body(self, course, seat, coupon):
        extra = {}
        if seat and course.session_id:
            extra["session_id"] = course.session_id
        if coupon and course.coupon:
            extra["coupon_code"] = course.coupon[0]
        return extra

    @precondition(lambda self: self.courses)
    @rule(who=st.integers(0, 2), pick=st.integers(0, 9), seat=st.booleans(), coupon=st.booleans(),
          fault=st.sampled_from([None, None, None, "before", "after"]))
    def buy(self, who, pick, seat, coupon, fault):
        learner, course = self.learners[who], self.courses[pick % len(self.courses)]
        extra = self._buy_body(course, seat, coupon)
        seat, coupon = "session_id" in extra, "coupon_code" in extra
        key = new_key("mkt")

        def send():
            return buy(self.api, learner.token, course.course_id, key=key, **extra)

        expected = self._expect_buy(learner, course, seat, coupon)
        if fault and expected[0] == 201:
            with dynamodb_fails("TransactWriteItems", when=fault):
                assert send().status_code == 500
        response = send()  # after a fault: the retry with the same key
        if expected[0] == 201:
            assert response.status_code == 201, response.body
            assert response.json_body["total"]["amount"] == expected[1]
            self._apply_buy(learner, course, seat, response)
        else:
            assert (response.status_code, response.json_body["code"]) == expected, response.body
        self.last = (send, response)

    @precondition(lambda self: self.last is not None)
    @rule()
    def retry_with_the_same_key(self):
        send, first = self.last
        again = send()
        assert (again.status_code, again.json_body) == (first.status_code, first.json_body)

    @precondition(lambda self: any(c.status == "published" and c.session_id for c in self.courses))
    @rule(pick=st.integers(0, 9))
    def learners_race_for_seats(self, pick):
        """Every learner buys a seat of the same session at once, in threads."""
        with_seats = [c for c in self.courses if c.status == "published" and c.session_id]
        course = with_seats[pick % len(with_seats)]
        original = os.environ
        try:
            with ThreadPoolExecutor(max_workers=len(self.learners)) as pool:
                responses = list(pool.map(
                    lambda lr: buy(self.api, lr.token, course.course_id, session_id=course.session_id),
                    self.learners))
        finally:
            os.environ = original  # noqa: B003 (the test client swaps os.environ per request)
        seats_left = course.capacity - course.booked
        eligible = [lr for lr in self.learners
                    if not lr.paid_order(course) and lr.balance >= course.price]
        for learner, response in zip(self.learners, responses, strict=True):
            if response.status_code == 201:
                assert learner in eligible
                self._apply_buy(learner, course, True, response)
            elif learner in eligible:
                assert response.json_body["code"] == "SOLD_OUT", response.body
            else:
                assert response.status_code in (402, 409), response.body
        won = sum(r.status_code == 201 for r in responses)
        assert won == min(seats_left, len(eligible))
        self.last = None

    # --- learners: learning and refunds -----------------------------------------------------------
    @precondition(lambda self: self.courses)
    @rule(who=st.integers(0, 2), pick=st.integers(0, 9), lesson=st.integers(0, 1))
    def progress(self, who, pick, lesson):
        learner, course = self.learners[who], self.courses[pick % len(self.courses)]
        lesson_id = course.lessons[lesson]
        response = self.api.call("PUT", f"/me/enrollments/{course.course_id}/lessons/{lesson_id}/progress",
                                 body={"completed": True, "position_seconds": 30}, token=learner.token)
        if learner.paid_order(course):
            assert response.status_code == 200, response.body
            learner.progress[course.course_id].add(lesson_id)
            assert response.json_body["progress_percent"] == 50 * len(learner.progress[course.course_id])
        else:
            assert response.status_code in (403, 404), response.body

    @precondition(lambda self: self.courses)
    @rule(who=st.integers(0, 2), pick=st.integers(0, 9), stars=st.integers(1, 5))
    def review(self, who, pick, stars):
        learner, course = self.learners[who], self.courses[pick % len(self.courses)]
        response = self.api.post(f"/courses/{course.course_id}/reviews", {"rating": stars, "text": "ok"},
                                 token=learner.token)
        if course.status != "published":
            assert response.status_code == 404, response.body
        elif learner.paid_order(course) and course.course_id not in learner.reviewed:
            assert response.status_code == 201, response.body
            learner.reviewed.add(course.course_id)
        else:
            assert response.status_code in (403, 409), response.body

    @precondition(lambda self: any(lr.orders for lr in self.learners))
    @rule(who=st.integers(0, 2), pick=st.integers(0, 9))
    def refund(self, who, pick):
        learner = self.learners[who]
        if not learner.orders:
            return
        order_id = sorted(learner.orders)[pick % len(learner.orders)]
        course, total, status, seat = learner.orders[order_id]
        key = new_key("mkt")

        def send():
            return refund(self.api, learner.token, order_id, key=key)

        response = send()
        if status == "paid" and not learner.progress.get(course.course_id):
            assert response.status_code == 200, response.body
            learner.orders[order_id][2] = "refunded"
            learner.balance += total
            course.booked -= 1 if seat else 0
        else:
            assert (response.status_code, response.json_body["code"]) == (422, "REFUND_NOT_ALLOWED"), response.body
        self.last = (send, response)

    # --- time passes --------------------------------------------------------------------------------
    @rule(job=st.sampled_from(["scheduled_publishing", "topup_expiry"]), ahead=st.sampled_from([1, 45, 120]))
    def jobs_run_later(self, job, ahead):
        self.jobs_at = max(self.jobs_at, ahead)
        response = self.api.post(f"/admin/jobs/{job}/run", {"now": _at(self.jobs_at)}, token=self.admin)
        assert response.status_code == 200, response.body
        if job == "scheduled_publishing":
            for course in self.courses:
                if course.status == "scheduled" and course.publish_at_minutes <= self.jobs_at:
                    course.status = "published"
        elif self.jobs_at >= 31:
            for learner in self.learners:
                for topup in learner.topups.values():
                    if topup[2] == "pending":
                        topup[2] = "expired"

    # --- what must always be true -------------------------------------------------------------------
    @invariant()
    def wallets_orders_and_seats_agree_with_the_model(self):
        for learner in self.learners:
            wallet = self.api.get("/wallet", token=learner.token)
            assert wallet.json_body["balance"]["amount"] == learner.balance
            shown = {o["order_id"]: o["status"]
                     for o in self.api.get("/orders?limit=100", token=learner.token).json_body["items"]}
            assert shown == {oid: status for oid, (_, _, status, _) in learner.orders.items()}
        for course in self.courses:
            if course.status == "published":
                detail = self.api.get(f"/courses/{course.course_id}").json_body
                assert detail["status"] == "published"
                if course.session_id:
                    assert detail["sessions"][0]["seats_left"] == course.capacity - course.booked

    @invariant()
    def every_account_of_this_market_reconciles(self):
        """After every step: each wallet and instructor balance equals its entries and none is negative (the
        whole-ledger proof reads every entry of the table, so it runs once per sequence, in `teardown`)."""
        accounts = [ledger.learner_wallet(lr.user_id, "KRW") for lr in self.learners]
        accounts += [ledger.instructor_pending(user_id, "KRW") for user_id in self.instructor_ids]
        for account in accounts:
            assert reconciliation.check_account(account).violations == [], account

    def teardown(self):
        response = self.api.get("/admin/reconciliation", token=self.admin)
        assert response.status_code == 200, response.body
        assert response.json_body["ok"] is True, response.json_body["violations"]


@pytest.fixture
def restore_environ():
    original = os.environ
    yield
    os.environ = original  # noqa: B003


def test_the_whole_market_agrees_with_its_model_whatever_happens(api, restore_environ):
    Market.api = api
    Market.admin = api.admin_token()
    run_state_machine_as_test(Market, settings=settings(
        max_examples=10, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)))
