"""Purchases and refunds: DynamoDB calls per request, and throughput with 1 and 8 threads.

In-process moto, the real API through the Chalice test client. Targets: a purchase is at
most 2 reads + 1 TransactWriteItems (plus the idempotency claim); purchases of different
courses never conflict on a shared item (the platform revenue and gateway clearing accounts
keep no balance item, see chalicelib/services/ledger.py).

    .venv/bin/python bench/orders.py [PURCHASES]
"""

import collections
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import ROOT, Calls, in_process_stage


def main() -> None:
    purchases = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib.store.instrumentation import on_dynamodb
        from tests.moto_isolation import serialize_dynamodb_operations

        serialize_dynamodb_operations()  # DynamoDB's isolation, as in the tests
        logging.getLogger("classpay").setLevel(logging.WARNING)
        conflicts = collections.Counter()
        lock = threading.Lock()

        def note_conflict(parsed=None, **_kwargs):
            reasons = (parsed or {}).get("CancellationReasons") or []
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                with lock:
                    conflicts["TransactionConflict"] += 1

        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            serial = iter(range(10**9))

            def call(method, path, body=None, token=None, key=None):
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                if key:
                    headers["Idempotency-Key"] = key
                response = client.http.request(method, path, headers=headers,
                                               body=json.dumps(body).encode() if body is not None else b"")
                return response.status_code, json.loads(response.body) if response.body else None

            def account(roles):
                email = f"bench{next(serial)}@classpay.test"
                call("POST", "/auth/signup", {"email": email, "password": "Bench-pass-1", "name": "B", "roles": roles})
                return call("POST", "/auth/login", {"email": email, "password": "Bench-pass-1"})[1]["access_token"]

            def course(token, price=10_000):
                _, created = call("POST", "/instructor/courses", {"title": "Bench", "category": "data",
                                                                  "price": {"amount": price, "currency": "KRW"}}, token)
                course_id = created["course_id"]
                _, section = call("POST", f"/instructor/courses/{course_id}/sections", {"title": "S"}, token)
                call("POST", f"/instructor/courses/{course_id}/sections/{section['section_id']}/lessons",
                     {"title": "L", "kind": "video"}, token)
                call("POST", f"/instructor/courses/{course_id}/publish", None, token)
                return course_id

            def learner(amount):
                token = account(["learner"])
                _, topup = call("POST", "/wallet/topups", {"amount": {"amount": amount, "currency": "KRW"}}, token,
                                key=f"t{next(serial)}")
                call("POST", f"/wallet/topups/{topup['topup_id']}/confirm",
                     {"payment_key": topup["checkout"]["payment_key"]}, token, key=f"c{next(serial)}")
                return token

            def measured(label, *args, **kwargs):
                with Calls() as calls:
                    status, body = call(*args, **kwargs)
                counter = calls.dynamodb()
                summary = ", ".join(f"{n} {op}" for op, n in sorted(counter.items()))
                print(f"  {label:<40} {status}  {sum(counter.values()):>2} calls: {summary}")
                return body

            instructors = [account(["instructor"]) for _ in range(8)]
            courses = [course(token) for token in instructors for _ in range(2)]
            buyer = learner(100_000)
            print("DynamoDB calls per request (in-process moto)")
            order = measured("POST /orders", "POST", "/orders", {"course_id": courses[0]}, buyer, key="bench-buy")
            measured("POST /orders (same key: replay)", "POST", "/orders", {"course_id": courses[0]}, buyer,
                     key="bench-buy")
            measured("POST /orders/{id}/refund", "POST", f"/orders/{order['order_id']}/refund",
                     {"reason": "bench"}, buyer, key="bench-refund")
            measured("GET /orders", "GET", "/orders", None, buyer)

            print(f"\nthroughput: {purchases} purchases, each learner buying a different course")
            for threads in (1, 8):
                buyers = [(learner(50_000), courses[n % len(courses)]) for n in range(purchases)]
                conflicts.clear()
                os_environ = os.environ
                started = time.perf_counter()
                with on_dynamodb("after-call.dynamodb.TransactWriteItems", note_conflict), \
                        ThreadPoolExecutor(max_workers=threads) as pool:
                    statuses = list(pool.map(lambda pair: call("POST", "/orders", {"course_id": pair[1]}, pair[0],
                                                               key=f"o{next(serial)}")[0], buyers))
                elapsed = time.perf_counter() - started
                os.environ = os_environ  # noqa: B003 (undo the test client's per-request swap)
                ok = statuses.count(201)
                print(f"  {threads} thread(s): {ok}/{purchases} paid, {ok / elapsed:6.1f} purchases/s, "
                      f"{conflicts['TransactionConflict']} transaction conflicts")


if __name__ == "__main__":
    main()
