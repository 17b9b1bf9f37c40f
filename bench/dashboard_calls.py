"""Instructor dashboard: DynamoDB calls and handler time for a one-year dashboard, in-process on moto.

Builds an instructor with COURSES published courses, buys each once through the API (so the
aggregates are written the way production writes them), then fills a whole year of daily
aggregates for every course and the instructor (as a year of sales would have left them).
Then times GET /instructor/dashboard (366 days; by day, week, month; the instructor and one
course), the CSV, and the PNG chart,
counting the DynamoDB operations each request makes; the first chart in the process
includes importing Pillow and loading the fonts. Also: what a purchase costs now.

    .venv/bin/python bench/dashboard_calls.py [REQUESTS]
"""

import logging
import statistics
import sys
import time
from datetime import date, timedelta

from harness import ROOT, Calls, in_process_stage
from learning_calls import Client

COURSES = 5
FIRST, LAST = date(2025, 1, 1), date(2025, 12, 31)


def fill_year(instructor_id: str, course_ids: list[str]) -> int:
    from chalicelib.store.daily_stats import DailyStatsItem, course_scope, instructor_scope

    written = 0
    with DailyStatsItem.batch_write() as batch:
        day = FIRST
        while day <= LAST:
            for scope, orders in [(course_scope(c), 3) for c in course_ids] + \
                                 [(instructor_scope(instructor_id), 3 * len(course_ids))]:
                batch.save(DailyStatsItem(scope, day.isoformat(), currency="KRW", gross=orders * 50_000,
                                          fee=orders * 10_000, net=orders * 40_000, orders=orders,
                                          enrollments=orders, completions=1, reviews=1, rating_sum=5,
                                          rating_count=1, questions=1, answered=1))
                written += 1
            day += timedelta(days=1)
    return written


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with in_process_stage():
        from chalice.test import Client as ChaliceClient

        from app import app
        from tests.support.money import buy, funded_learner

        logging.getLogger("classpay").setLevel(logging.WARNING)
        with ChaliceClient(app, stage_name="test", project_dir=str(ROOT)) as chalice_client:
            client = Client(chalice_client.http)
            api = client.api
            teacher = client.token(("instructor",), "Bench Instructor")
            teacher_id = client.ok("GET", "/me", token=teacher)["user_id"]
            from tests.support.courses import make_course

            course_ids = [make_course(api, teacher, title=f"Course {n}", amount=50_000) for n in range(COURSES)]
            learner = funded_learner(api, 1_000_000)
            purchase_ops = []
            for course_id in course_ids:
                with Calls() as calls:
                    assert buy(api, learner, course_id).status_code == 201
                purchase_ops.append(calls.dynamodb())
            fill_year(teacher_id, course_ids)
            window = f"from={FIRST}&to={LAST}"
            rows = []

            def measure(name, path, headers=None, n=runs):
                timings, own, counted = [], [], []
                for _ in range(n):
                    with Calls() as calls:
                        started = time.perf_counter()
                        response = api.call("GET", path, token=teacher, headers=headers)
                        timings.append((time.perf_counter() - started) * 1000)
                    own.append(timings[-1] - calls.aws_seconds * 1000)
                    assert response.status_code == 200, (path, response.status_code, response.body[:200])
                    counted.append(calls.dynamodb())
                ops = counted[-1]
                rows.append((name, ops.total(), statistics.median(timings), statistics.median(own),
                             ", ".join(f"{op} {k}" for op, k in sorted(ops.items()))))

            png = {"Accept": "image/png"}
            measure("chart PNG, 366 days (1st: imports Pillow, fonts)", f"/instructor/dashboard.png?{window}", png, 1)
            measure("dashboard, instructor, 366 days by day", f"/instructor/dashboard?{window}")
            measure("dashboard, instructor, by week", f"/instructor/dashboard?{window}&granularity=week")
            measure("dashboard, instructor, by month", f"/instructor/dashboard?{window}&granularity=month")
            measure("dashboard, one course, 366 days by day",
                    f"/instructor/dashboard?{window}&course_id={course_ids[0]}")
            measure("dashboard CSV, instructor, by day", f"/instructor/dashboard.csv?{window}")
            measure("chart PNG, instructor, by month", f"/instructor/dashboard.png?{window}&granularity=month", png)
            measure("chart PNG, instructor, 366 days by day", f"/instructor/dashboard.png?{window}", png)
            measure("course learners (page of 20)", f"/instructor/courses/{course_ids[0]}/enrollments")

    print(f"instructor dashboard on moto: {COURSES} courses, a full year of daily aggregates, {runs} requests each")
    print("  p50 ms: the whole request on moto; own ms: p50 of the same minus the time spent inside AWS calls")
    print(f"  {'route':50} {'calls':>5} {'p50 ms':>8} {'own ms':>8}  operations")
    for name, calls, p50, own_p50, ops in rows:
        print(f"  {name:50} {calls:5d} {p50:8.1f} {own_p50:8.1f}  {ops}")
    ops = purchase_ops[-1]
    print(f"  POST /orders now: {ops.total()} calls ({', '.join(f'{op} {k}' for op, k in sorted(ops.items()))})")


if __name__ == "__main__":
    main()
