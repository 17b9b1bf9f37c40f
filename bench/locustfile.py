"""The main learner path for locust: browse the catalog, open a course, buy it (`bench/load.py` runs it).

Each simulated learner signs up, tops up its wallet through the fake gateway,
then loops: `GET /courses` -> `GET /courses/{id}` -> `POST /orders` with a
fresh Idempotency-Key. Buying a course it already owns (409) or running out
of money (402) are answers the API documents, counted as such, not failures.
"""

import uuid

from locust import HttpUser, between, task

PASSWORD = "Classpay-bench-1"


class Learner(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        email = f"load-{uuid.uuid4().hex[:12]}@classpay.test"
        self.client.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Load",
                                               "roles": ["learner"]}, name="(setup) signup")
        tokens = self.client.post("/auth/login", json={"email": email, "password": PASSWORD},
                                  name="(setup) login").json()
        self.client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        topup = self.client.post("/wallet/topups", json={"amount": {"amount": 2_000_000, "currency": "KRW"}},
                                 headers={"Idempotency-Key": uuid.uuid4().hex}, name="(setup) top-up").json()
        self.client.post(f"/wallet/topups/{topup['topup_id']}/confirm",
                         json={"payment_key": topup["checkout"]["payment_key"]},
                         headers={"Idempotency-Key": uuid.uuid4().hex}, name="(setup) confirm")

    @task
    def browse_detail_buy(self):
        page = self.client.get("/courses?limit=20", name="GET /courses").json()
        if not page["items"]:
            return
        course = page["items"][uuid.uuid4().int % len(page["items"])]
        self.client.get(f"/courses/{course['course_id']}", name="GET /courses/{id}")
        with self.client.post("/orders", json={"course_id": course["course_id"]},
                              headers={"Idempotency-Key": uuid.uuid4().hex}, name="POST /orders",
                              catch_response=True) as response:
            if response.status_code in (201, 402, 409):
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
