"""Purchases and refunds: DynamoDB calls per request, which items purchases share, and moto throughput.

In-process moto, the real API through the Chalice test client.

1. DynamoDB calls per request, reads and writes apart, for a purchase with and without a
   coupon, against the issue's target "a purchase is at most 2 reads + 1 TransactWriteItems"
   (the idempotency claim, a conditional PutItem before the work, comes on top and is printed).
2. The items each purchase's TransactWriteItems writes (table + key, recorded from the request
   parameters through `chalicelib.store.instrumentation.on_dynamodb`), for PURCHASES purchases
   of PURCHASES different courses, one learner per course, made twice (1 thread, then 8
   threads, new learners, the same courses). DynamoDB cancels a transaction with
   TransactionConflict only when another one writes one of ITS items at the same time, so two
   purchases that share no item can never conflict, on DynamoDB as on anything else: the
   proof is the key overlap, which holds on AWS, not a count of conflicts (moto never
   reports TransactionConflict, and the bench serializes moto's operations as the tests do).
   Pairs are told apart: different courses of different instructors (target: 0 shared
   items), different courses of the same instructor, and the same course (bought once in
   each run), with the items they share named.
3. Throughput with 1 and 8 threads: moto's, not DynamoDB's (one lock around moto's
   operations, Python's GIL); it only shows that the path works under concurrency.

    .venv/bin/python bench/orders.py [PURCHASES] [INSTRUCTORS]   # default 40 8
"""

import collections
import itertools
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from harness import ROOT, Calls, DynamoDBCalls, in_process_stage

# what a purchase reads each table for (chalicelib/services/orders.py, services/stats.py)
PURPOSE = {"courses": "the course", "coupons": "the coupon", "users": "the instructor's time zone, for the stats day",
           "idempotency": "the idempotency claim"}


def main() -> None:
    purchases = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    instructor_count = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib import metrics
        from chalicelib.services import ledger
        from chalicelib.store.instrumentation import on_dynamodb

        logging.getLogger("classpay").setLevel(logging.WARNING)
        metrics.emit = lambda *args, **kwargs: None  # EMF lines on stdout: not what is measured here

        recorder = DynamoDBCalls()
        recorded = recorder.recorded

        with Client(app, stage_name="test", project_dir=str(ROOT)) as client, \
                on_dynamodb("provide-client-params.dynamodb", recorder.record):
            serial = itertools.count()

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
                with recorder.labelled(label), Calls() as calls:
                    status, body = call(*args, **kwargs)
                counter = calls.dynamodb()
                summary = ", ".join(f"{n} {op}" for op, n in sorted(counter.items()))
                print(f"  {label:<40} {status}  {sum(counter.values()):>2} calls: {summary}")
                if sum(counter.values()) != len(recorded[label]):
                    print(f"  (!) {len(recorded[label])} calls recorded by the hook, {sum(counter.values())} counted")
                return status, body

            instructors = [account(["instructor"]) for _ in range(instructor_count)]
            # one course per purchase, spread over the instructors (course n is instructor n % count's)
            courses = [course(instructors[n % instructor_count]) for n in range(purchases)]
            owner = {course_id: n % instructor_count for n, course_id in enumerate(courses)}
            coupon_course = course(instructors[0])
            call("POST", f"/instructor/courses/{coupon_course}/coupons",
                 {"code": "BENCH10", "kind": "percent", "value": 10, "max_redemptions": 1000,
                  "expires_at": "2099-01-01T00:00:00Z"}, instructors[0])
            buyer = learner(100_000)
            print("DynamoDB calls per request (in-process moto)")
            _, order = measured("POST /orders", "POST", "/orders", {"course_id": courses[0]}, buyer, key="bench-buy")
            measured("POST /orders (with a coupon)", "POST", "/orders",
                     {"course_id": coupon_course, "coupon_code": "BENCH10"}, buyer, key="bench-buy-coupon")
            measured("POST /orders (same key: replay)", "POST", "/orders", {"course_id": courses[0]}, buyer,
                     key="bench-buy")
            measured("POST /orders/{id}/refund", "POST", f"/orders/{order['order_id']}/refund",
                     {"reason": "bench"}, buyer, key="bench-refund")
            measured("GET /orders", "GET", "/orders", None, buyer)

            print("\npurchase vs the issue's target: <= 2 reads + 1 TransactWriteItems "
                  "(the idempotency claim PutItem is not in it: printed as a write of its own)")
            for name, label in (("plain purchase", "POST /orders"), ("with a coupon", "POST /orders (with a coupon)")):
                reads, writes, transactions = recorder.split(label, PURPOSE)
                print(f"  {name:<16} reads {len(reads)} ({', '.join(reads)}); "
                      f"TransactWriteItems {len(transactions)} ({', '.join(map(str, transactions))} items); "
                      f"other writes {len(writes)} ({', '.join(writes)})")

            # --- which items purchases share, and moto's throughput -----------------------------------
            print(f"\n{purchases} purchases of {purchases} different courses ({instructor_count} instructors, "
                  f"~{purchases / instructor_count:g} courses each), one new learner per course; twice: "
                  "1 thread, then 8 threads (new learners, the same courses)")
            writes_of: dict[tuple[int, int], set] = {}  # (run, n) -> the items its transaction wrote
            for run, threads in enumerate((1, 8)):
                buyers = [(learner(50_000), courses[n]) for n in range(purchases)]
                os_environ = os.environ

                def buy(n, buyers=buyers, run=run):
                    with recorder.labelled((run, n)):
                        token, course_id = buyers[n]
                        return call("POST", "/orders", {"course_id": course_id}, token, key=f"o{next(serial)}")[0]

                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    statuses = list(pool.map(buy, range(purchases)))
                elapsed = time.perf_counter() - started
                os.environ = os_environ  # noqa: B003 (undo the test client's per-request swap)
                for n in range(purchases):
                    transactions = recorder.transactions((run, n))
                    assert len(transactions) == 1, (run, n, recorded[(run, n)])
                    writes_of[(run, n)] = set(transactions[0])
                ok = statuses.count(201)
                print(f"  moto throughput, {threads} thread(s): {ok}/{purchases} paid, {ok / elapsed:6.1f} purchases/s "
                      "(in-process moto behind one lock: not a DynamoDB figure)")

            def kind(item: tuple[str, str]) -> str:
                table, key = item
                head = key.split(" / ")[0]
                if table == "ledger_accounts":
                    return f"ledger_accounts {head.split(':')[0]} balance"
                if table == "ledger_entries":
                    return f"ledger_entries {head.split(':')[0]} entry"
                if table == "daily_stats":
                    return f"daily_stats {head.split('#')[0]}-day"
                return f"{table} item"

            groups = ("different courses, different instructors", "different courses, same instructor",
                      "same course (different learners)")
            pairs = {group: {"pairs": 0, "sharing": 0, "items": 0, "kinds": collections.Counter()} for group in groups}
            for a, b in itertools.combinations(sorted(writes_of), 2):
                if a[1] == b[1]:
                    group = groups[2]
                elif owner[courses[a[1]]] == owner[courses[b[1]]]:
                    group = groups[1]
                else:
                    group = groups[0]
                shared = writes_of[a] & writes_of[b]
                entry = pairs[group]
                entry["pairs"] += 1
                entry["sharing"] += bool(shared)
                entry["items"] += len(shared)
                entry["kinds"].update(kind(item) for item in shared)
            sizes = collections.Counter(len(keys) for keys in writes_of.values())
            print(f"\nitems written by each purchase's TransactWriteItems (table + key, from the request): "
                  f"{', '.join(f'{n} items x {count}' for n, count in sorted(sizes.items()))}")
            example = collections.Counter(kind(item) for item in writes_of[(0, 0)])
            print(f"  one purchase: {', '.join(f'{k} x{n}' if n > 1 else k for k, n in sorted(example.items()))}")
            print(f"  (a hot account's entry is a new item in one of {ledger.HOT_SHARDS} books; it keeps no balance item)")
            print("  DynamoDB cancels a transaction with TransactionConflict only over an item another one writes "
                  "at the same time:\n  two purchases that share no item cannot conflict (moto never reports one: "
                  "no conflict count is shown)")
            print(f"  {'pairs of purchases':<44}{'pairs':>6}{'sharing':>9}{'items':>7}  shared per pair, by kind")
            for group, entry in pairs.items():
                count = max(entry["pairs"], 1)
                per_pair = ", ".join(f"{kind_} {n / count:g}" for kind_, n in sorted(entry["kinds"].items())) or "none"
                print(f"  {group:<44}{entry['pairs']:>6}{entry['sharing']:>9}{entry['items']:>7}  {per_pair}")
            across, within = pairs[groups[0]], pairs[groups[1]]
            print(f"items shared by purchases of different courses of different instructors: {across['items']} "
                  f"(over {across['pairs']} pairs)")
            print(f"items shared by purchases of different courses of the same instructor: "
                  f"{within['items'] / max(within['pairs'], 1):g} per pair ({within['items']} over {within['pairs']} "
                  "pairs): these two purchases can cancel each other with TransactionConflict on DynamoDB "
                  "(retried: retry_on_contention)")

if __name__ == "__main__":
    main()
