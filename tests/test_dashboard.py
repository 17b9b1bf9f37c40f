"""The instructor dashboard: daily aggregates that agree with the ledger and the records, to the unit."""

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib import clock
from chalicelib.services import ledger
from chalicelib.store.enrollments import EnrollmentItem
from chalicelib.store.orders import OrderItem
from chalicelib.store.questions import AnswerItem, QnaItem, QuestionItem
from chalicelib.store.reviews import ReviewItem
from infra.project import PROJECT_DIR
from tests.support.courses import make_course
from tests.support.money import buy, confirm, funded_learner, new_key, start_topup
from tests.support.money import refund as refund_order

BOARD = "/instructor/dashboard"
SEOUL, LOS_ANGELES = "Asia/Seoul", "America/Los_Angeles"
MONEY_COUNTERS = ("gross", "fee", "net", "refunded", "refund_fee", "refund_net")


class Clock:
    """`chalicelib.clock.now`, moved by hand."""

    def __init__(self, monkeypatch, start: datetime):
        self.at = start
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def advance(self, **delta):
        self.at += timedelta(**delta)


def _me(api, token):
    return api.get("/me", token=token).json_body["user_id"]


def _board(api, token, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return api.get(f"{BOARD}?{query}" if query else BOARD, token=token)


def _instructor(api, tz=None):
    token = api.token_for(roles=["instructor"], name="Dana Dashboard")
    if tz:
        response = api.call("PUT", "/instructor/timezone", body={"timezone": tz}, token=token)
        assert response.status_code == 200, response.body
        assert response.json_body == {"timezone": tz}
    return token


def _complete(api, token, course_id):
    lesson_ids = [lesson["lesson_id"] for section in api.get(f"/courses/{course_id}").json_body["sections"]
                  for lesson in section["lessons"]]
    for lesson_id in lesson_ids:
        response = api.call("PUT", f"/me/enrollments/{course_id}/lessons/{lesson_id}/progress",
                            body={"completed": True, "position_seconds": 0}, token=token)
        assert response.status_code == 200, response.body


def _figures_counts(figures):
    """A dashboard `figures` object back to the store's counter names."""
    return {
        "gross": figures["gross"]["amount"], "fee": figures["platform_fee"]["amount"], "net": figures["net"]["amount"],
        "refunds": figures["refunds"]["count"], "refunded": figures["refunds"]["amount"]["amount"],
        "refund_fee": figures["refunds"]["platform_fee"]["amount"], "refund_net": figures["refunds"]["net"]["amount"],
        "orders": figures["orders"], "enrollments": figures["enrollments"], "completions": figures["completions"],
        "reviews": figures["reviews"], "rating_sum": figures["rating"]["sum"],
        "rating_count": figures["rating"]["count"], "questions": figures["questions"],
        "answered": figures["answered"],
    }


# --- the day boundary -------------------------------------------------------------------------------

def test_a_time_zone_set_after_the_course_exists_counts_its_next_sale_there_without_reading_the_profile(
        api, monkeypatch):
    """The zone is copied onto the instructor's courses, so a purchase reads the course and nothing more."""
    from chalicelib.store.instrumentation import on_dynamodb
    from chalicelib.store.users import UserItem

    at = Clock(monkeypatch, datetime(2026, 3, 1, 15, 30, tzinfo=UTC))  # 07:30 on March 1st in Los Angeles
    token = _instructor(api)
    course = make_course(api, token, amount=10_001)
    assert api.call("PUT", "/instructor/timezone", body={"timezone": LOS_ANGELES}, token=token).status_code == 200
    learner = funded_learner(api, 50_000)
    read = []
    with on_dynamodb("provide-client-params.dynamodb.GetItem", lambda params, **_: read.append(params["TableName"])):
        assert buy(api, learner, course).status_code == 201
    assert UserItem.Meta.table_name not in read and len(read) == 1  # the course
    at.advance(hours=1)
    days = _board(api, token, **{"from": "2026-03-01", "to": "2026-03-02"}).json_body
    assert [p["figures"]["orders"] for p in days["series"]] == [1, 0]



def test_a_sale_counts_on_the_instructors_calendar_day_seoul_by_default(api, monkeypatch):
    at = Clock(monkeypatch, datetime(2026, 3, 1, 15, 30, tzinfo=UTC))  # 00:30 on March 2nd in Seoul
    seoul, los_angeles = _instructor(api), _instructor(api, LOS_ANGELES)
    learner = funded_learner(api, 200_000)
    for token in (seoul, los_angeles):
        course = make_course(api, token, amount=10_001)
        assert buy(api, learner, course).status_code == 201
    at.advance(hours=1)

    seoul_days = _board(api, seoul, **{"from": "2026-03-01", "to": "2026-03-02"}).json_body
    la_days = _board(api, los_angeles, **{"from": "2026-03-01", "to": "2026-03-02"}).json_body

    assert seoul_days["timezone"] == SEOUL and la_days["timezone"] == LOS_ANGELES
    assert [p["figures"]["orders"] for p in seoul_days["series"]] == [0, 1]
    assert [p["figures"]["orders"] for p in la_days["series"]] == [1, 0]  # 07:30 on March 1st in Los Angeles
    totals = seoul_days["totals"]
    assert totals["gross"] == {"amount": 10_001, "currency": "KRW"}
    assert totals["platform_fee"]["amount"] == 2_000 and totals["net"]["amount"] == 8_001
    assert totals["net_revenue"]["amount"] == 8_001 and totals["enrollments"] == 1


def test_week_and_month_periods_start_on_monday_and_the_first_and_clip_to_the_range(api, monkeypatch):
    at = Clock(monkeypatch, datetime(2026, 1, 28, 3, tzinfo=UTC))  # Wednesday, Seoul noon
    token = _instructor(api)
    course = make_course(api, token, amount=20_000)
    for _day in range(10):  # one sale a day, Jan 28 .. Feb 6
        assert buy(api, funded_learner(api, 20_000), course).status_code == 201
        at.advance(days=1)

    weeks = _board(api, token, **{"from": "2026-01-28", "to": "2026-02-06", "granularity": "week"}).json_body
    months = _board(api, token, **{"from": "2026-01-28", "to": "2026-02-06", "granularity": "month"}).json_body

    assert [(p["period"], p["first_day"], p["last_day"], p["figures"]["orders"]) for p in weeks["series"]] == [
        ("2026-01-26", "2026-01-28", "2026-02-01", 5), ("2026-02-02", "2026-02-02", "2026-02-06", 5)]
    assert [(p["period"], p["figures"]["orders"]) for p in months["series"]] == [("2026-01", 4), ("2026-02", 6)]
    assert weeks["totals"] == months["totals"]
    assert weeks["totals"]["gross"]["amount"] == 200_000


# --- a random history, recounted from the records and the ledger -----------------------------------

def _local_day(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def _recount(instructor_id: str, course_ids: list[str], tz: str, first_ratings: dict, edits: list) -> dict:
    """Every counter per (scope, day), recounted from orders, enrollments, reviews, Q&A (scans: tests only)."""
    counts = defaultdict(lambda: defaultdict(int))

    def count(course_id, moment, **moves):
        day = _local_day(moment, tz)
        for scope in (f"course#{course_id}", f"instructor#{instructor_id}"):
            for name, value in moves.items():
                counts[(scope, day)][name] += value

    for order in OrderItem.by_instructor.query(instructor_id):
        count(order.course_id, order.created_at, gross=int(order.total), fee=int(order.platform_fee),
              net=int(order.instructor_share), orders=1, enrollments=1)
        if order.refunded_at:
            fee_back = int(order.platform_fee) * int(order.refund_amount) // int(order.total)
            count(order.course_id, order.refunded_at, refunds=1, refunded=int(order.refund_amount),
                  refund_fee=fee_back, refund_net=int(order.refund_amount) - fee_back)
    for course_id in course_ids:
        for enrollment in EnrollmentItem.by_course.query(course_id):
            if enrollment.completed_at:
                count(course_id, enrollment.completed_at, completions=1)
        for review in ReviewItem.query(course_id):
            count(course_id, datetime.fromisoformat(review.created_at), reviews=1,
                  rating_sum=first_ratings[review.review_id],
                  rating_count=1)
        for question in QnaItem.by_course.query(course_id):
            if not isinstance(question, QuestionItem):
                continue
            count(course_id, datetime.fromisoformat(question.created_at), questions=1)
            by_instructor = [a for a in QnaItem.query(question.question_id)
                             if isinstance(a, AnswerItem) and a.author_role == "instructor"]
            if by_instructor:
                count(course_id, datetime.fromisoformat(min(a.created_at for a in by_instructor)), answered=1)
    for moment, delta, edited_course in edits:  # an edit moves the sum by the difference, on its own day
        if edited_course in course_ids:
            count(edited_course, moment, rating_sum=delta)
    return counts


def _ledger_net_by_day(instructor_id: str, tz: str) -> dict[str, int]:
    """What the instructor's balances received from sales and refunds, per local day (the ledger's word)."""
    by_day = defaultdict(int)
    for account in (ledger.instructor_pending(instructor_id, "KRW"), ledger.instructor_available(instructor_id, "KRW")):
        for entry in ledger.entries_of(account):
            if entry.transfer_kind in ("purchase", "refund"):
                by_day[_local_day(entry.posted_at, tz)] += entry.amount.amount
    return by_day


@pytest.mark.parametrize("seed", [7, 2026])
def test_a_random_history_across_days_and_time_zones_agrees_with_the_records_and_the_ledger(api, monkeypatch, seed):
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, rng.randrange(24), tzinfo=UTC)
    at = Clock(monkeypatch, start)
    instructors = []
    for tz in (SEOUL, LOS_ANGELES):
        token = _instructor(api, tz if tz != SEOUL else None)
        courses = [make_course(api, token, title=f"Course {n}", amount=rng.choice([10_001, 33_333, 55_000]),
                               lessons=rng.choice([1, 2])) for n in range(2)]
        instructors.append((token, _me(api, token), tz, courses))
    course_of = {course: (token, instructor_id) for token, instructor_id, _tz, courses in instructors
                 for course in courses}
    learners = [funded_learner(api, 1_000_000) for _ in range(5)]
    orders = {}  # (learner, course) -> (order_id, bought_at) while it grants access
    completed, reviewed, questions = set(), {}, []  # questions: (question_id, course)
    first_ratings, edits = {}, []  # review_id -> the rating first given; (moment, delta, course) per edit

    for _step in range(70):
        at.advance(hours=rng.randrange(1, 30), minutes=rng.randrange(60))
        learner = rng.choice(learners)
        course = rng.choice(list(course_of))
        key = (learner, course)
        action = rng.choice(["buy", "buy", "refund", "complete", "review", "question", "answer"])
        if action == "buy" and key not in orders:
            response = buy(api, learner, course)
            assert response.status_code == 201, response.body
            orders[key] = (response.json_body["order_id"], at.at)
        elif action == "refund" and key in orders and key not in completed \
                and at.at - orders[key][1] < timedelta(days=7):
            assert refund_order(api, learner, orders.pop(key)[0]).status_code == 200
        elif action == "complete" and key in orders and key not in completed:
            _complete(api, learner, course)
            completed.add(key)
        elif action == "review" and key in orders:
            rating = rng.randrange(1, 6)
            if key not in reviewed:
                response = api.post(f"/courses/{course}/reviews", {"rating": rating, "text": "Useful"}, token=learner)
                assert response.status_code == 201, response.body
                reviewed[key] = (response.json_body["review_id"], rating)
                first_ratings[response.json_body["review_id"]] = rating
            else:
                response = api.call("PATCH", f"/courses/{course}/reviews/mine", body={"rating": rating}, token=learner)
                assert response.status_code == 200, response.body
                review_id, before = reviewed[key]
                edits.append((at.at, rating - before, course))
                reviewed[key] = (review_id, rating)
        elif action == "question" and key in orders:
            response = api.post(f"/courses/{course}/questions", {"title": "Why?", "body": "Explain"}, token=learner)
            assert response.status_code == 201, response.body
            questions.append((response.json_body["question_id"], course))
        elif action == "answer" and questions:
            question_id, asked_in = rng.choice(questions)
            token = course_of[asked_in][0] if rng.random() < 0.7 else None
            answerer = token or next((who for (who, c) in orders if c == asked_in), None)
            if answerer:
                response = api.post(f"/questions/{question_id}/answers", {"body": "Because"}, token=answerer)
                assert response.status_code == 201, response.body
    at.advance(days=1)

    first_day = (start - timedelta(days=1)).date()
    last_day = (at.at + timedelta(days=1)).date()
    window = {"from": first_day.isoformat(), "to": last_day.isoformat()}
    checked = 0
    for token, instructor_id, tz, courses in instructors:
        expected = _recount(instructor_id, courses, tz, first_ratings, edits)
        for course_id in (None, *courses):
            params = dict(window, course_id=course_id) if course_id else window
            board = _board(api, token, **params)
            assert board.status_code == 200, board.body
            scope = f"course#{course_id}" if course_id else f"instructor#{instructor_id}"
            for period in board.json_body["series"]:
                want = {name: expected.get((scope, period["period"]), {}).get(name, 0)
                        for name in _figures_counts(period["figures"])}
                assert _figures_counts(period["figures"]) == want, (scope, period["period"])
                checked += sum(1 for value in want.values() if value)
        # net revenue = the instructor's ledger entries, day by day and in total
        board = _board(api, token, **window).json_body
        ledger_days = _ledger_net_by_day(instructor_id, tz)
        assert {p["period"]: p["figures"]["net_revenue"]["amount"] for p in board["series"]
                if p["figures"]["net_revenue"]["amount"] or ledger_days.get(p["period"])} == \
            {day: amount for day, amount in ledger_days.items() if amount}
        assert board["totals"]["net_revenue"]["amount"] == sum(ledger_days.values())
        balance = api.get("/instructor/balance", token=token).json_body
        assert board["totals"]["net_revenue"]["amount"] == balance["pending"]["amount"] + \
            balance["available"]["amount"]
    assert checked > 50  # the history really counted things


# --- the range, the formats, who may read -----------------------------------------------------------

def test_a_range_longer_than_366_days_or_reversed_is_refused_naming_from_and_to(api):
    token = _instructor(api)
    too_long = _board(api, token, **{"from": "2025-01-01", "to": "2026-01-02"})
    assert too_long.status_code == 422
    assert {e["field"] for e in too_long.json_body["errors"]} == {"from", "to"}
    reversed_range = _board(api, token, **{"from": "2026-02-01", "to": "2026-01-01"})
    assert reversed_range.status_code == 422 and reversed_range.json_body["errors"][0]["field"] == "from"
    not_a_date = _board(api, token, **{"from": "yesterday"})
    assert not_a_date.status_code in (400, 422) and "from" in not_a_date.body.decode()
    assert _board(api, token, granularity="year").status_code in (400, 422)
    assert _board(api, token, **{"from": "2025-01-01", "to": "2025-12-31"}).status_code == 200  # 365 days
    assert _board(api, token, **{"from": "2024-01-01", "to": "2024-12-31"}).status_code == 200  # 366 (leap)


def test_a_bad_time_zone_is_refused_naming_the_field(api):
    token = _instructor(api)
    response = api.call("PUT", "/instructor/timezone", body={"timezone": "Mars/Olympus"}, token=token)
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == "timezone"


def test_the_dashboard_defaults_to_the_last_30_days_and_reads_one_query(api, monkeypatch, aws_calls):
    Clock(monkeypatch, datetime(2026, 5, 10, tzinfo=UTC))
    token = _instructor(api)
    aws_calls.clear()
    board = _board(api, token)
    assert board.status_code == 200
    assert (board.json_body["from"], board.json_body["to"]) == ("2026-04-11", "2026-05-10")
    assert len(board.json_body["series"]) == 30
    assert sorted(aws_calls.of("dynamodb")) == ["GetItem", "Query"]  # the time zone, then the 30 days


def test_csv_has_a_row_per_period_and_a_total_row(api, monkeypatch):
    Clock(monkeypatch, datetime(2026, 4, 2, 1, tzinfo=UTC))
    token = _instructor(api)
    course = make_course(api, token, amount=33_333)
    assert buy(api, funded_learner(api, 40_000), course).status_code == 201
    response = api.get(f"{BOARD}.csv?from=2026-04-01&to=2026-04-03", token=token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [row["period"] for row in rows] == ["2026-04-01", "2026-04-02", "2026-04-03", "total"]
    assert rows[1]["gross"] == "33333" and rows[1]["platform_fee"] == "6667" and rows[1]["net_revenue"] == "26666"
    assert rows[3]["orders"] == "1"


def test_the_chart_is_a_png_for_clients_that_accept_it(api, monkeypatch, tmp_path):
    Clock(monkeypatch, datetime(2026, 4, 2, 1, tzinfo=UTC))
    token = _instructor(api)
    course = make_course(api, token, amount=55_000)
    assert buy(api, funded_learner(api, 60_000), course).status_code == 201
    response = api.call("GET", f"{BOARD}.png?metric=net&from=2026-03-20&to=2026-04-05", token=token,
                        headers={"Accept": "image/png"})
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "image/png"
    assert response.body[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "chart.png").write_bytes(response.body)
    refused = api.get(f"{BOARD}.png", token=token, headers={"Accept": "application/json"})
    assert refused.status_code == 406
    assert api.call("GET", f"{BOARD}.png?metric=nope", token=token,
                    headers={"Accept": "image/png"}).status_code in (400, 422)


def _json_figure(figures, metric):
    """The dashboard JSON's field that a metric names (`refunds.amount`: figures["refunds"]["amount"]), as a number."""
    for name in metric.split("."):
        figures = figures[name]
    return figures["amount"] if isinstance(figures, dict) else figures


def test_each_chart_metric_plots_the_json_field_of_its_name(api, monkeypatch):
    """`metric=X` draws, period by period, the number the JSON shows as X, with the JSON's total: after a refund
    `net` (sales) and `net_revenue` (sales less refunds) differ, and a chart without `metric` draws net revenue."""
    from typing import get_args

    from chalicelib.api.dashboard import Metric
    from chalicelib.services import charts

    clock = Clock(monkeypatch, datetime(2026, 4, 2, 1, tzinfo=UTC))
    token = _instructor(api)
    course = make_course(api, token, amount=55_000)
    learners = [funded_learner(api, 60_000) for _ in range(2)]
    orders = [buy(api, learner, course).json_body["order_id"] for learner in learners]
    clock.advance(days=1)
    assert refund_order(api, learners[0], orders[0]).status_code == 200
    board = _board(api, token, **{"from": "2026-04-01", "to": "2026-04-04"}).json_body
    draw, drawn = charts.render, []
    monkeypatch.setattr(charts, "render", lambda dashboard, metric: drawn.append((dashboard, metric)) or b"")
    for metric in (None, "net", "refunds.amount"):  # through the route: it hands the chart the JSON itself
        query = "from=2026-04-01&to=2026-04-04" + (f"&metric={metric}" if metric else "")
        response = api.call("GET", f"{BOARD}.png?{query}", token=token, headers={"Accept": "image/png"})
        assert response.status_code == 200, response.body
        assert drawn.pop() == (board, metric or "net_revenue")
    plotted = {}
    for metric in get_args(Metric):
        title, values, _, total = charts.values(board, metric)
        assert values == [_json_figure(period["figures"], metric) for period in board["series"]], metric
        assert total.replace(",", "") == str(_json_figure(board["totals"], metric)), (metric, total)
        plotted[metric] = values
    # two sales of 55,000 less the 20% fee on April 2nd, one of them refunded in full on the 3rd
    assert plotted["net_revenue"] == [0, 88_000, -44_000, 0]
    assert plotted["net"] == [0, 88_000, 0, 0] and plotted["refunds.count"] == [0, 0, 1, 0]
    assert draw(board, "refunds.amount")[:8] == b"\x89PNG\r\n\x1a\n"  # a dotted figure draws too


@pytest.mark.parametrize("path", [BOARD, f"{BOARD}.csv", "/instructor/courses/{course}/enrollments"])
def test_another_instructors_course_is_404_a_learner_403_and_no_token_401(api, path):
    owner, other = _instructor(api), _instructor(api)
    course = make_course(api, owner)
    url = path.format(course=course) + ("" if "{course}" in path else f"?course_id={course}")
    assert api.get(url, token=owner).status_code == 200
    assert api.get(url, token=other).status_code == 404
    assert api.get(url, token=api.token_for(roles=["learner"])).status_code == 403
    assert api.get(url).status_code == 401


# --- learners of a course ---------------------------------------------------------------------------

def test_course_learners_show_names_progress_and_completion_never_emails_and_page(api):
    token = _instructor(api)
    course = make_course(api, token, lessons=2)
    names = []
    for n in range(3):
        learner = api.token_for(roles=["learner"], name=f"Learner Number {n}")
        assert confirm(api, learner, start_topup(api, learner, 60_000)).status_code == 200
        assert buy(api, learner, course, key=new_key()).status_code == 201
        if n == 0:
            _complete(api, learner, course)
        names.append(f"Learner Number {n}")

    first = api.get(f"/instructor/courses/{course}/enrollments?limit=2", token=token)
    assert first.status_code == 200
    rest = api.get(f"/instructor/courses/{course}/enrollments?limit=2&cursor={first.json_body['next_cursor']}",
                   token=token)
    learners = first.json_body["items"] + rest.json_body["items"]
    assert [item["learner_name"] for item in learners] == list(reversed(names))  # newest first
    assert learners[-1]["completed"] is True and learners[-1]["progress_percent"] == 100
    assert learners[0]["completed"] is False and learners[0]["progress_percent"] == 0
    assert "@" not in first.body.decode() + rest.body.decode()
    assert rest.json_body["next_cursor"] is None


def test_reconciliation_proves_each_instructors_dashboard_net_revenue_against_the_ledger(api, monkeypatch):
    from chalicelib.store.daily_stats import DailyStatsItem, instructor_scope

    Clock(monkeypatch, datetime(2026, 6, 1, 2, tzinfo=UTC))
    token = _instructor(api)
    instructor_id = _me(api, token)
    course = make_course(api, token, amount=10_001)
    assert buy(api, funded_learner(api, 30_000), course).status_code == 201
    refunding = funded_learner(api, 30_000)
    assert refund_order(api, refunding, buy(api, refunding, course).json_body["order_id"]).status_code == 200
    admin = api.admin_token()
    assert api.get("/admin/reconciliation", token=admin).json_body["ok"] is True

    drifted = DailyStatsItem(instructor_scope(instructor_id), "2026-06-01")
    drifted.update(actions=[DailyStatsItem.net.add(1)])  # what a write outside the sale's transaction could do
    try:
        report = api.get("/admin/reconciliation", token=admin).json_body
        assert report["ok"] is False
        assert [v["invariant"] for v in report["violations"]] == ["dashboard_net_equals_ledger"]
        assert instructor_id in report["violations"][0]["detail"]
    finally:
        drifted.update(actions=[DailyStatsItem.net.add(-1)])
    assert api.get("/admin/reconciliation", token=admin).json_body["ok"] is True


def test_loading_the_app_leaves_pillow_the_chart_and_the_certificate_for_their_first_use():
    """Every Lambda cold start imports app.py; Pillow, the chart and the certificate PDF are imported inside
    the routes that need them. A top-level import anywhere would put them on every cold start: this catches it
    in a fresh interpreter (this one has long since loaded them)."""
    import json
    import os
    import subprocess
    import sys

    lazy = ("PIL", "chalicelib.services.charts", "chalicelib.services.certificates")
    script = ("import app, json, sys; print(json.dumps({'routes': len(app.app.routes), 'loaded': sorted("
              f"m for m in sys.modules if m.split('.')[0] == 'PIL' or m in {lazy!r})}}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["routes"] > 20  # the whole app was loaded, not an early failure
    assert result["loaded"] == []


@pytest.mark.parametrize(("low", "high", "smallest", "ticks"), [
    (0, 0, 1, [0, 1]),  # a day without sales, in won: no 0.2-won marks
    (0, 3, 1, [0, 1, 2, 3]),
    (0, 0.03, 0.01, [0, 0.01, 0.02, 0.03]),  # dollars: a cent is the finest mark
    (0, 1_250_000, 1, [0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000]),
    (-30_000, 90_000, 1, [-50_000, -25_000, 0, 25_000, 50_000, 75_000, 100_000]),  # refunds: below zero
])
def test_chart_ticks_are_round_and_never_finer_than_the_figure(low, high, smallest, ticks):
    from chalicelib.services.charts import nice_ticks

    assert nice_ticks(low, high, smallest=smallest) == pytest.approx(ticks)
