"""Launch day: 200 learners buy one course and a seat of its 50-seat live session at the same moment.

Over the `make run` stack on its own loopback ports (`infra/stack.py`: the
emulator with TransactionConflict on, as the servers run it, and `chalice
local`), an instructor publishes a course with one live session; freshly
signed-up learners, each with a wallet funded through a top-up the fake gateway
confirms, wait at a barrier and then all send `POST /orders` (course and
session, an Idempotency-Key each) at once. Every purchase touches the same
session, course, instructor balance and day's figures, so DynamoDB would cancel
overlapping transactions (TransactionConflict) and the app retries them
(`retry_on_contention`); the retries are counted from the API's own JSON log
lines ("transaction contention"). The 200 requests reach `chalice local` at once;
it lets a few into the app at a time (`infra/api_server.py` says why), so the
latencies include that queue.

Reported: paid, SOLD_OUT, other 4xx, failed (5xx, connection errors and
timeouts, CONFLICT: retries given up), conflicts retried, p50/p95 latency,
then the seats left, every learner's wallet (charged once if paid, untouched
otherwise) and `GET /admin/reconciliation` as the demo admin. Exits non-zero
when a purchase failed, paid != the seats, a wallet is wrong or the
reconciliation is not ok. Bounded: LEARNERS sign-ups (8 at a time) and one
purchase each, each request at most 60 s; loopback only.

    .venv/bin/python bench/launch_day.py [LEARNERS] [SEATS]   # default 200 50
"""

import collections
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import repository  # noqa: F401 - puts the repository on sys.path
import requests

from infra.api_server import CONCURRENT_INVOCATIONS
from infra.emulator import SERVER_CONFLICT_WINDOW
from infra.stack import running_stack
from infra.stack_client import Client, demo_admin, new_key

MOTO_PORT = int(os.environ.get("BENCH_LAUNCH_MOTO_PORT", "5807"))
API_PORT = int(os.environ.get("BENCH_LAUNCH_API_PORT", "8807"))
PRICE = 30_000
FUNDS = 50_000
SETUP_THREADS = 8
REQUEST_SECONDS = 60


def _learner(base_url: str) -> Client:
    learner = Client(base_url, timeout=REQUEST_SECONDS).sign_up(name="Launch Learner")
    learner.fund(FUNDS)
    return learner


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else 0.0


def _contention(log: Path, start: int) -> tuple[int, int]:
    """(retries, requests that retried) logged by the API after byte `start` of its log."""
    retries, requests_retried = 0, set()
    with open(log, "rb") as lines:
        lines.seek(start)
        for raw in lines:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # chalice's own lines ("Serving on ...") are not JSON
            if isinstance(line, dict) and str(line.get("message", "")).startswith("transaction contention"):
                retries += 1
                requests_retried.add(line.get("request_id"))
    return retries, len(requests_retried)


def main() -> int:
    learners_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seats = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "api.log"
        with running_stack(MOTO_PORT, API_PORT, api_log=log) as base_url:
            return _launch(base_url, log, learners_wanted, seats)


def _launch(base_url: str, log: Path, learners_wanted: int, seats: int) -> int:
    started = time.monotonic()
    instructor = Client(base_url).sign_up(roles=("instructor",), name="Launch Instructor")
    course_id, (session_id,) = instructor.publish_course(PRICE, seats=(seats,), title="Launch day course")
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        learners = list(pool.map(lambda _: _learner(base_url), range(learners_wanted)))
    setup_seconds = time.monotonic() - started

    barrier = threading.Barrier(len(learners))
    results: list[tuple[str, float, str]] = [("", 0.0, "")] * len(learners)  # (outcome, seconds, detail)

    def buy(n: int) -> None:
        key = new_key("launch")
        barrier.wait()
        sent = time.perf_counter()
        try:
            response = learners[n].buy(course_id, session_id, key=key)
        except requests.RequestException as error:
            results[n] = ("connection", time.perf_counter() - sent, type(error).__name__)
            return
        seconds = time.perf_counter() - sent
        try:
            body = response.json()
        except ValueError:  # not the API's JSON (e.g. chalice local's own error page)
            body = {}
        code = str(body.get("code", "")) if response.status_code >= 400 else ""
        if response.status_code == 201 and body.get("status") == "paid":
            outcome = "paid"
        elif response.status_code == 409 and code == "SOLD_OUT":
            outcome = "sold_out"
        elif response.status_code == 409 and code == "CONFLICT":
            outcome = "conflict"
        elif 400 <= response.status_code < 500:
            outcome = "other_4xx"
        else:
            outcome = "5xx" if response.status_code >= 500 else "unexpected"
        results[n] = (outcome, seconds, f"{response.status_code} {code}")

    log_start = log.stat().st_size
    launch_started = time.monotonic()
    threads = [threading.Thread(target=buy, args=(n,)) for n in range(len(learners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_SECONDS + 30)
    launch_seconds = time.monotonic() - launch_started
    time.sleep(0.5)  # the API's last log lines
    retries, retried_requests = _contention(log, log_start)

    count = {name: sum(1 for outcome, _, _ in results if outcome == name)
             for name in ("paid", "sold_out", "other_4xx", "5xx", "connection", "conflict", "unexpected", "")}
    failed = count["5xx"] + count["connection"] + count["conflict"] + count["unexpected"] + count[""]
    latencies = [seconds * 1000 for outcome, seconds, _ in results if outcome]
    paid_latencies = [seconds * 1000 for outcome, seconds, _ in results if outcome == "paid"]

    seats_left = next(s["seats_left"] for s in instructor.get(f"/courses/{course_id}").json()["sessions"]
                      if s["session_id"] == session_id)
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        balances = list(pool.map(lambda learner: learner.balance(), learners))
    wrong_wallets = sum(1 for (outcome, _, _), balance in zip(results, balances, strict=True)
                        if balance != (FUNDS - PRICE if outcome == "paid" else FUNDS))
    report = demo_admin(base_url).reconciliation()

    out = sys.stdout.write
    out(f"launch day: {len(learners)} learners buy one course and a seat of its {seats}-seat live session at once, "
        f"chalice local on moto (loopback), TransactionConflict emulated ({SERVER_CONFLICT_WINDOW * 1000:g} ms in "
        f"flight per transaction), at most {CONCURRENT_INVOCATIONS or 'any number of'} requests in the app at once "
        f"(infra/api_server.py)\n")
    out(f"  setup: instructor, course, {len(learners)} sign-ups with funded wallets in {setup_seconds:.1f} s\n")
    out(f"  paid               {count['paid']:>5}\n")
    out(f"  SOLD_OUT           {count['sold_out']:>5}\n")
    out(f"  other 4xx          {count['other_4xx']:>5}\n")
    out(f"  failed             {failed:>5}   (5xx {count['5xx']}, connection errors {count['connection']}, "
        f"CONFLICT after retries {count['conflict']}, other {count['unexpected'] + count['']})\n")
    out(f"  conflicts retried  {retries:>5}   (in {retried_requests} purchases; from the API's log)\n")
    out(f"  latency            p50 {_percentile(latencies, 0.5):.0f} ms  p95 {_percentile(latencies, 0.95):.0f} ms  "
        f"max {max(latencies, default=0):.0f} ms   (paid only: p50 {_percentile(paid_latencies, 0.5):.0f} ms, "
        f"p95 {_percentile(paid_latencies, 0.95):.0f} ms)\n")
    out(f"  all answered in {launch_seconds:.1f} s; mean {statistics.fmean(latencies) if latencies else 0:.0f} ms\n")
    out(f"  seats left {seats_left}; wallets not as expected {wrong_wallets} (paid: {FUNDS - PRICE:,}, "
        f"others: {FUNDS:,} KRW)\n")
    out(f"reconciliation: ok {str(report['ok']).lower()}, violations {len(report['violations'])}\n")
    others = collections.Counter(f"{outcome} {detail}".strip() for outcome, _, detail in results
                                 if outcome not in ("paid", "sold_out"))
    for answer, times in others.most_common():
        out(f"  neither paid nor sold out: {answer or 'no answer'} x {times}\n")
    return 0 if failed == 0 and count["paid"] == seats and seats_left == 0 and not wrong_wallets and report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
