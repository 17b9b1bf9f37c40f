"""The main learner path for locust: browse the catalog, open a course, buy it (`bench/load.py` runs it).

Each simulated learner signs up, tops up its wallet through the fake gateway,
then loops: `GET /courses` -> `GET /courses/{id}` -> `POST /orders` with a
fresh Idempotency-Key. Buying a course it already owns (409) or running out
of money (402) are answers the API documents, counted as such, not failures.

Bounded twice: by `--run-time`, and by `--max-requests N` (every request counted, the setup
ones too): once N have been made the runner stops, letting requests in flight finish. It
refuses a host other than the loopback interface (the bench's own stack).
"""

import ipaddress
import urllib.parse
import uuid

import gevent
from locust import HttpUser, between, events, task
from locust.stats import CSV_STATS_INTERVAL_SEC

PASSWORD = "Classpay-bench-1"


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--max-requests", type=int, default=0, env_var="LOCUST_MAX_REQUESTS",
                        help="stop after this many requests (0: no bound but --run-time)")


def _loopback(host: str | None) -> bool:
    name = urllib.parse.urlsplit(host or "").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@events.init.add_listener
def _bounds(environment, **_kwargs):
    if not _loopback(environment.host):
        raise SystemExit(f"bench/locustfile.py runs against the loopback interface only, not {environment.host!r}")
    limit = getattr(environment.parsed_options, "max_requests", 0) or 0
    if not limit:
        return
    made = [0]

    @environment.events.request.add_listener
    def _count(**_request):
        made[0] += 1
        if made[0] == limit and environment.runner is not None:
            # from a greenlet of its own: stopping the runner kills the users' greenlets, this one among them
            gevent.spawn(environment.runner.quit)


@events.quitting.add_listener
def _last_csv_rows(environment, **_kwargs):
    """locust rewrites its CSV files once a second and not again when it quits: the users are stopped by
    now, so one more interval lets the CSV hold every request (the count `bench/load.py` reports)."""
    if getattr(environment.parsed_options, "csv_prefix", None):
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.5)


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
