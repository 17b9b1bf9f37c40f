"""Learning routes: DynamoDB calls per request and handler time, in-process on moto.

Builds one published course (LESSONS lessons, a booked live session, files uploaded),
enrolls learners the way the tests do (`tests/support/learning.enroll`, the one helper
that becomes a real purchase after the orders merge), then calls every learning route
through the Chalice test client and counts the DynamoDB operations each request makes.
Read routes are called REQUESTS times; writes that can happen once per learner are
called once per fresh learner.

    .venv/bin/python bench/learning_calls.py [REQUESTS]
"""

import collections
import logging
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from harness import ROOT, Calls, in_process_stage

LESSONS = 10


class Client:
    """The tests' JSON client (so `tests/support/learning` gets the `api` it expects), plus `ok`."""

    def __init__(self, http):
        from tests.support.api import Api

        self.api = Api(http)

    def token(self, roles=("learner",), name="Bench User"):
        return self.api.token_for(roles=list(roles), name=name)

    def ok(self, method, path, body=None, token=None, headers=None):
        response = self.api.call(method, path, body=body, token=token, headers=headers)
        assert response.status_code < 300, (method, path, response.status_code, response.body[:300])
        return response.json_body if response.headers.get("Content-Type") == "application/json" else None


def build(client: Client):
    import requests

    from tests.support.learning import enroll

    teacher = client.token(("instructor",), "Bench Instructor")
    course = client.ok("POST", "/instructor/courses", {"title": "벤치마크 강좌", "category": "data",
                                                       "price": {"amount": 50000, "currency": "KRW"}}, teacher)
    course_id = course["course_id"]
    section = client.ok("POST", f"/instructor/courses/{course_id}/sections", {"title": "Only"}, teacher)
    lessons = []
    for n in range(LESSONS):
        lesson = client.ok("POST", f"/instructor/courses/{course_id}/sections/{section['section_id']}/lessons",
                           {"title": f"Lesson {n}", "kind": "video", "preview": n == 0}, teacher)
        ticket = client.ok("POST", f"/instructor/courses/{course_id}/lessons/{lesson['lesson_id']}/upload-url",
                           {"content_type": "video/mp4", "size_bytes": 4}, teacher)
        requests.put(ticket["url"], data=b"data", headers=ticket["headers"])
        client.ok("POST", f"/instructor/courses/{course_id}/lessons/{lesson['lesson_id']}/upload-complete",
                  token=teacher)
        lessons.append(lesson["lesson_id"])
    starts = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    session = client.ok("POST", f"/instructor/courses/{course_id}/sessions",
                        {"starts_at": starts, "duration_minutes": 60, "capacity": 1000,
                         "join_url": "https://meet.example/bench"}, teacher)
    client.ok("POST", f"/instructor/courses/{course_id}/publish", token=teacher)

    def new_learner(book=False):
        token = client.token()
        enroll(client.api, token, course_id, session_id=session["session_id"] if book else None)
        return token

    # a learner with 20 other courses too, so "my enrollments" reads a full page
    busy = new_learner(book=True)
    for n in range(20):
        other = client.ok("POST", "/instructor/courses", {"title": f"Other {n}", "category": "data",
                                                          "price": {"amount": 1000, "currency": "KRW"}}, teacher)
        other_section = client.ok("POST", f"/instructor/courses/{other['course_id']}/sections", {"title": "S"}, teacher)
        client.ok("POST", f"/instructor/courses/{other['course_id']}/sections/{other_section['section_id']}/lessons",
                  {"title": "L", "kind": "video"}, teacher)
        client.ok("POST", f"/instructor/courses/{other['course_id']}/publish", token=teacher)
        enroll(client.api, busy, other["course_id"])
    return teacher, course_id, lessons, new_learner, busy


def main() -> None:
    requests_per_route = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with in_process_stage():
        from chalice.test import Client as ChaliceClient

        from app import app

        logging.getLogger("classpay").setLevel(logging.WARNING)
        with ChaliceClient(app, stage_name="test", project_dir=str(ROOT)) as chalice_client:
            client = Client(chalice_client.http)
            teacher, course_id, lessons, new_learner, busy = build(client)
            rows = []

            def measure(name, runs, request):
                """request(n) makes the n-th request; returns (calls per request, operations, p50 ms)."""
                timings, counted = [], []
                for n in range(runs):
                    with Calls() as calls:
                        started = time.perf_counter()
                        request(n)
                        timings.append((time.perf_counter() - started) * 1000)
                    counted.append(calls.dynamodb())
                per_request = sum(counted, collections.Counter())
                shape = ", ".join(f"{op} {count / runs:g}" for op, count in sorted(per_request.items()))
                rows.append((name, per_request.total() / runs, shape, statistics.median(timings)))

            reads = requests_per_route
            writes = max(5, requests_per_route // 5)
            learner = new_learner(book=True)
            c = f"/courses/{course_id}"
            measure("GET /me/enrollments (page of 20)", reads, lambda n: client.ok("GET", "/me/enrollments", token=busy))
            measure("GET /me/enrollments/{course_id}", reads,
                    lambda n: client.ok("GET", f"/me/enrollments/{course_id}", token=learner))
            measure("GET .../content (enrolled learner)", reads,
                    lambda n: client.ok("GET", f"{c}/lessons/{lessons[1]}/content", token=learner))
            measure("GET .../content (course instructor)", reads,
                    lambda n: client.ok("GET", f"{c}/lessons/{lessons[1]}/content", token=teacher))
            stranger = client.token()
            measure("GET .../content (preview lesson)", reads,
                    lambda n: client.ok("GET", f"{c}/lessons/{lessons[0]}/content", token=stranger))
            measure("PUT .../progress (position only)", reads,
                    lambda n: client.ok("PUT", f"/me/enrollments/{course_id}/lessons/{lessons[0]}/progress",
                                        {"completed": False, "position_seconds": n}, learner))
            measure("PUT .../progress (completes a lesson)", LESSONS - 1,
                    lambda n: client.ok("PUT", f"/me/enrollments/{course_id}/lessons/{lessons[n]}/progress",
                                        {"completed": True, "position_seconds": 0}, learner))
            measure("PUT .../progress (last lesson: completion)", 1,
                    lambda n: client.ok("PUT", f"/me/enrollments/{course_id}/lessons/{lessons[-1]}/progress",
                                        {"completed": True, "position_seconds": 0}, learner))
            measure("GET /me/certificates/{course_id}", reads,
                    lambda n: client.ok("GET", f"/me/certificates/{course_id}", token=learner))
            verification_id = client.ok("GET", f"/me/certificates/{course_id}", token=learner)["verification_id"]
            measure("GET /certificates/{verification_id}", reads,
                    lambda n: client.ok("GET", f"/certificates/{verification_id}"))
            from chalicelib.services.certificates import render_pdf

            def pdf(n, cached):
                if not cached:
                    render_pdf.cache_clear()
                client.ok("GET", f"/certificates/{verification_id}?format=pdf", headers={"Accept": "application/pdf"})

            pdf(0, False)  # the first PDF of a container also imports fpdf2 and loads the fonts
            measure("GET /certificates/{id}?format=pdf (render)", max(5, reads // 5), lambda n: pdf(n, False))
            measure("GET /certificates/{id}?format=pdf (cached)", reads, lambda n: pdf(n, True))
            measure("GET /me/sessions", reads, lambda n: client.ok("GET", "/me/sessions", token=busy))

            reviewers = [new_learner() for _ in range(writes)]
            measure("POST /courses/{id}/reviews", writes,
                    lambda n: client.ok("POST", f"{c}/reviews", {"rating": 1 + n % 5, "text": "Good"}, reviewers[n]))
            measure("PATCH /courses/{id}/reviews/mine", writes,
                    lambda n: client.ok("PATCH", f"{c}/reviews/mine", {"rating": 5 - n % 5}, reviewers[n]))
            measure("GET /courses/{id}/reviews", reads, lambda n: client.ok("GET", f"{c}/reviews"))
            review_ids = [r["review_id"] for r in client.ok("GET", f"{c}/reviews?limit=100")["items"]]
            measure("POST .../reviews/{review_id}/reply", writes,
                    lambda n: client.ok("POST", f"{c}/reviews/{review_ids[n]}/reply", {"text": "Thanks"}, teacher))

            question_ids = []
            measure("POST /courses/{id}/questions", writes,
                    lambda n: question_ids.append(client.ok("POST", f"{c}/questions", {"title": "Q", "body": "?"},
                                                            reviewers[n])["question_id"]))
            measure("GET /courses/{id}/questions", reads, lambda n: client.ok("GET", f"{c}/questions", token=learner))
            measure("GET /questions/{question_id}", reads,
                    lambda n: client.ok("GET", f"/questions/{question_ids[0]}", token=learner))
            measure("POST /questions/{id}/answers (learner)", writes,
                    lambda n: client.ok("POST", f"/questions/{question_ids[n]}/answers", {"body": "A"}, learner))
            measure("POST /questions/{id}/answers (instructor)", writes,
                    lambda n: client.ok("POST", f"/questions/{question_ids[n]}/answers", {"body": "A"}, teacher))
            measure("GET /instructor/questions/unanswered", reads,
                    lambda n: client.ok("GET", "/instructor/questions/unanswered", token=teacher))

    print(f"learning routes: DynamoDB calls per request on moto ({requests_per_route} requests per read route)")
    print(f"  {'route':<44} {'calls':>5}  {'p50 ms':>6}  operations")
    for name, calls, shape, p50 in rows:
        print(f"  {name:<44} {calls:>5.1f}  {p50:>6.1f}  {shape}")


if __name__ == "__main__":
    main()
