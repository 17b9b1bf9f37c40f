"""Catalog reads over a large catalog: DynamoDB calls per route and handler time, in-process on moto.

Seeds COURSES published courses straight into the tables (batch writes, as a
migration would), then calls each catalog route through the Chalice test
client. Targets: 1 DynamoDB call for a listing page and for a course page.

    .venv/bin/python bench/catalog.py [COURSES] [REQUESTS]
"""

import logging
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from harness import ROOT, Calls, in_process_stage

CATEGORIES = ("programming", "data", "design", "business", "marketing", "music", "language", "photography",
              "lifestyle", "finance")
WORDS = ("python", "data", "design", "파이썬", "데이터", "디자인", "guitar", "기타", "marketing", "마케팅", "photo", "사진")


def seed(count: int) -> list[str]:
    from chalicelib.services import search
    from chalicelib.store import search_terms
    from chalicelib.store.courses import ALL_PARTITION, COURSE, CURRICULUM, CourseItem, CurriculumItem, SessionItem

    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    with CourseItem.batch_write() as batch, search_terms.CourseTermItem.batch_write() as terms:
        for n in range(count):
            course_id = f"01BENCH{n:019d}"
            category = CATEGORIES[n % len(CATEGORIES)]
            title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} course {n}"
            published = (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
            index_terms = search.index_terms(title, "")
            batch.save(CourseItem(
                course_id, COURSE, instructor_id=f"instructor-{n % 50}", instructor_name=f"Instructor {n % 50}",
                title=title, description="A benchmark course", category=category, price_amount=rng.randrange(1, 200) * 1000,
                price_currency="KRW", status="published", published_at=published, listed_all=ALL_PARTITION,
                listed_category=category, enrollment_count=rng.randrange(0, 5000), rating_score=rng.randrange(0, 5000),
                rating_sum=0, rating_count=0, lesson_count=5, created_at=start, updated_at=start,
                search_terms=index_terms,
            ))
            batch.save(CurriculumItem(course_id, CURRICULUM, document='[{"section_id":"s","title":"S","lessons":[]}]'))
            if n % 10 == 0:
                batch.save(SessionItem(course_id, f"session#{n}", session_id=str(n), starts_at=published,
                                       starts_hour=published[:13], duration_minutes=60, capacity=20, booked=3,
                                       course_title=title))
            for term in index_terms:
                terms.save(search_terms.CourseTermItem(term, course_id))
            ids.append(course_id)
    return ids


def measure(http, paths: list[str], requests: int) -> tuple[float, float, float]:
    timings = []
    with Calls() as calls:
        for n in range(requests):
            started = time.perf_counter()
            response = http.get(paths[n % len(paths)])
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.body
    quantiles = statistics.quantiles(timings, n=20)
    return calls.dynamodb().total() / requests, statistics.median(timings), quantiles[18]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with in_process_stage():
        started = time.perf_counter()
        ids = seed(count)
        seeded = time.perf_counter() - started
        from chalice.test import Client

        from app import app

        logging.getLogger("classpay").setLevel(logging.WARNING)  # the per-request log lines would drown the figures
        routes = {
            "GET /courses (popular, all)": ["/courses?limit=20"],
            "GET /courses?category=&sort=price_asc": [f"/courses?category={c}&sort=price_asc" for c in CATEGORIES],
            "GET /courses?sort=newest&cursor= (page 2)": None,
            "GET /courses/{id}": [f"/courses/{course_id}" for course_id in random.Random(1).sample(ids, 50)],
            "GET /courses?q=<word> (search)": [f"/courses?q={w}" for w in WORDS],
        }
        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            first = client.http.get("/courses?sort=newest").json_body
            routes["GET /courses?sort=newest&cursor= (page 2)"] = [f"/courses?sort=newest&cursor={first['next_cursor']}"]
            print(f"catalog benchmark: {count} published courses seeded in {seeded:.1f}s, {requests} requests per route")
            print(f"  {'route':<44} {'DynamoDB calls':>15} {'p50 ms':>8} {'p95 ms':>8}")
            for name, paths in routes.items():
                per_request, p50, p95 = measure(client.http, paths, requests)
                print(f"  {name:<44} {per_request:>15.2f} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
