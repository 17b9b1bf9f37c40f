"""DynamoDB calls per money request, counted with a botocore event hook on every client the store uses.

Runs the real API (`chalice.test.Client`) over in-process moto, as the tests do,
and counts each DynamoDB operation during one request: creating a top-up,
confirming it with the fake gateway, replaying the confirm with the same
Idempotency-Key, and GET /wallet. The target for a money effect is one
TransactWriteItems carrying everything (state, entries, balances, idempotency
record) plus a few single-item reads and writes.

    .venv/bin/python bench/ledger_calls.py
"""

import collections
import json

from harness import ROOT, in_process_stage


def main() -> None:
    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib.store.instrumentation import on_dynamodb

        logging.getLogger("classpay").setLevel(logging.WARNING)  # the request log lines are not the figures
        calls: collections.Counter = collections.Counter()

        items_per_transaction: list[int] = []

        def count(model=None, params=None, **kwargs):
            calls[kwargs.get("event_name", "").split(".")[-1]] += 1
            if model is not None and model.name == "TransactWriteItems":
                body = params.get("body") if isinstance(params, dict) else None
                items_per_transaction.append(len(json.loads(body)["TransactItems"]) if body else -1)

        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            def call(method, path, body=None, token=None, key=None):
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                if key:
                    headers["Idempotency-Key"] = key
                payload = json.dumps(body).encode() if body is not None else b""
                response = client.http.request(method, path, headers=headers, body=payload)
                return response.status_code, (json.loads(response.body) if response.body else None)

            email = "bench-learner@classpay.test"
            call("POST", "/auth/signup", {"email": email, "password": "Bench-pass-1", "name": "Bench"})
            _, tokens = call("POST", "/auth/login", {"email": email, "password": "Bench-pass-1"})
            token = tokens["access_token"]
            call("GET", "/wallet", token=token)  # warm up: JWKS, connections

            def measured(label, *args, **kwargs):
                calls.clear()
                items_per_transaction.clear()
                with on_dynamodb("before-call.dynamodb", count):
                    status, body = call(*args, **kwargs)
                summary = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
                if items_per_transaction:
                    summary += f" ({'+'.join(map(str, items_per_transaction))} items)"
                print(f"  {label:<36} {status}  {sum(calls.values()):>2} calls: {summary}")
                return body

            print("DynamoDB calls per request (in-process moto, fake gateway)")
            topup = measured("POST /wallet/topups", "POST", "/wallet/topups",
                             {"amount": {"amount": 10000, "currency": "KRW"}}, token=token, key="bench-create")
            confirm = (f"/wallet/topups/{topup['topup_id']}/confirm", {"payment_key": topup["checkout"]["payment_key"]})
            measured("POST .../confirm", "POST", *confirm, token=token, key="bench-confirm")
            measured("POST .../confirm (same key: replay)", "POST", *confirm, token=token, key="bench-confirm")
            measured("POST .../confirm (new key: no-op)", "POST", *confirm, token=token, key="bench-confirm-2")
            measured("GET /wallet", "GET", "/wallet", token=token)


if __name__ == "__main__":
    main()
