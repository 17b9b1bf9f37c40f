"""Checkout: DynamoDB calls per create and confirm, and the items checkouts of different instructors share.

In-process moto, the real API through the Chalice test client, the fake gateway (no network).

1. DynamoDB calls per request, by kind, for POST /checkouts (a card checkout of one course; a cart of
   two courses with a seat, a coupon and a wallet part) and its confirm, against the issue's target
   "the reads it needs plus one TransactWriteItems for the confirm"; the idempotency claim (a
   conditional PutItem before the work) and the confirm's mark (an UpdateItem before the gateway is
   asked, the recovery job's clue) are printed as the writes they are.
2. The items each checkout's transactions write (table + key, from the request parameters), for
   CHECKOUTS checkouts of CHECKOUTS courses of CHECKOUTS different instructors, each created and
   confirmed by its own learner (a wallet part from a topped-up wallet, the rest by card): DynamoDB
   cancels a transaction with TransactionConflict only over an item another one writes at the same
   time, so checkouts that share no item never contend (target: none shared). Hot accounts (the
   gateway's clearing, platform revenue) take a new entry in one of their books and keep no balance
   item: they are not shared.

    .venv/bin/python bench/checkout_calls.py [CHECKOUTS]   # default 12
"""

import collections
import itertools
import sys

from harness import ROOT, DynamoDBCalls, in_process_stage


def main() -> None:
    checkouts = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib import metrics
        from chalicelib.store.instrumentation import on_dynamodb

        logging.getLogger("classpay").setLevel(logging.WARNING)  # the request log lines are not the figures
        metrics.emit = lambda *args, **kwargs: None  # EMF lines on stdout: not what is measured here

        recorder = DynamoDBCalls()
        recorded = recorder.recorded

        with Client(app, stage_name="test", project_dir=str(ROOT)) as client, \
                on_dynamodb("provide-client-params.dynamodb", recorder.record):
            from tests.support.api import Api
            from tests.support.courses import make_course
            from tests.support.money import course_with_session, funded_learner

            api = Api(client.http)
            serial = itertools.count()

            def call(method, path, body=None, token=None, key=None):
                response = api.call(method, path, body=body, token=token,
                                    headers={"Idempotency-Key": key} if key else None)
                return response.status_code, response.json_body

            def learner(amount):
                return funded_learner(api, amount) if amount else api.token_for(roles=["learner"])

            def measured(label, *args, **kwargs):
                with recorder.labelled(label):
                    status, body = call(*args, **kwargs)
                operations = collections.Counter(operation for operation, _, _ in recorded[label])
                summary = ", ".join(f"{n} {op}" for op, n in sorted(operations.items()))
                print(f"  {label:<44} {status}  {sum(operations.values()):>2} calls: {summary}")
                return status, body

            def checkout_of(label, token, items, **extra):
                status, created = measured(f"{label}: POST /checkouts", "POST", "/checkouts",
                                           {"items": items, **extra}, token, key=f"k{next(serial)}")
                assert status == 201, created
                body = {"amount": created["amount_due"]}
                if created["payment"]:
                    body["payment_key"] = created["payment"]["payment_key"]
                status, paid = measured(f"{label}: POST .../confirm", "POST",
                                        f"/checkouts/{created['checkout_id']}/confirm", body, token,
                                        key=f"k{next(serial)}")
                assert status == 200 and paid["status"] == "paid", paid
                return created, body

            instructors = [api.token_for(roles=["instructor"]) for _ in range(max(checkouts, 2))]
            single = make_course(api, instructors[0], amount=30_000)
            seated, session_id = course_with_session(api, instructors[0], 5, "2099-01-01T10:00:00Z", amount=30_000)
            coupon_course = make_course(api, instructors[1], amount=20_000)
            call("POST", f"/instructor/courses/{coupon_course}/coupons",
                 {"code": "BENCH10", "kind": "percent", "value": 10, "max_redemptions": 1000,
                  "expires_at": "2099-01-01T00:00:00Z"}, instructors[1])
            print("DynamoDB calls per request (in-process moto, fake gateway)")
            buyer = learner(0)
            created, body = checkout_of("card, 1 course", buyer, [{"course_id": single}])
            measured("card, 1 course: confirm again (new key)", "POST",
                     f"/checkouts/{created['checkout_id']}/confirm", body, buyer, key=f"k{next(serial)}")
            checkout_of("cart of 2 (seat, coupon, wallet part)", learner(20_000),
                        [{"course_id": seated, "session_id": session_id}, {"course_id": coupon_course}],
                        coupon_code="BENCH10", wallet_amount={"amount": 20_000, "currency": "KRW"})
            measured("GET /checkouts/{id}", "GET", f"/checkouts/{created['checkout_id']}", None, buyer)

            print("\ncheckout vs the issue's target: the reads it needs + 1 TransactWriteItems for the confirm "
                  "(the idempotency claim PutItem and the confirm's mark UpdateItem are writes of their own)")
            for name in ("card, 1 course", "cart of 2 (seat, coupon, wallet part)"):
                for step in ("POST /checkouts", "POST .../confirm"):
                    reads, writes, transactions = recorder.split(f"{name}: {step}")
                    print(f"  {name:<38} {step:<17} reads {len(reads)} ({', '.join(reads)}); "
                          f"TransactWriteItems {len(transactions)} ({', '.join(map(str, transactions))} items); "
                          f"other writes {len(writes)} ({', '.join(writes)})")

            # --- the items checkouts of different instructors share ------------------------------------
            print(f"\n{checkouts} checkouts of {checkouts} courses of {checkouts} different instructors, one new "
                  "learner each (10,000 from the wallet, the rest by card), created and confirmed")
            writes_of: dict[int, set] = {}
            for n in range(checkouts):
                course_id = make_course(api, instructors[n], amount=30_000)
                token = learner(10_000)
                with recorder.labelled(("checkout", n)):
                    status, created = call("POST", "/checkouts", {"items": [{"course_id": course_id}],
                                                                 "wallet_amount": {"amount": 10_000, "currency": "KRW"}},
                                           token, key=f"k{next(serial)}")
                    status, paid = call("POST", f"/checkouts/{created['checkout_id']}/confirm",
                                        {"amount": created["amount_due"],
                                         "payment_key": created["payment"]["payment_key"]}, token,
                                        key=f"k{next(serial)}")
                assert status == 200 and paid["status"] == "paid", paid
                transactions = recorder.transactions(("checkout", n))
                assert len(transactions) == 2, transactions  # the holds, then the payment
                writes_of[n] = {item for keys in transactions for item in keys}

            shared = collections.Counter()
            pairs = 0
            for a, b in itertools.combinations(sorted(writes_of), 2):
                pairs += 1
                shared.update(table for table, _ in writes_of[a] & writes_of[b])
            sizes = collections.Counter(len(keys) for keys in writes_of.values())
            print(f"  items written by each checkout's two transactions: "
                  f"{', '.join(f'{n} items x {count}' for n, count in sorted(sizes.items()))}")
            example = collections.Counter(table for table, _ in writes_of[0])
            print(f"  one checkout: {', '.join(f'{t} x{n}' if n > 1 else t for t, n in sorted(example.items()))}")
            print(f"  shared, by table: {dict(shared) or 'none'}")
            print(f"items shared by checkouts of different instructors: {sum(shared.values())} "
                  f"(over {pairs} pairs)")


if __name__ == "__main__":
    main()
