"""Weekly payouts at scale: the fan-out job and the queue worker, on N instructors and 10 ledger entries each.

In-process moto. Seeded directly through the store (BatchWriteItem, not one transaction per
transfer, for speed): per instructor a payout account (its number encrypted with KMS), and
`ENTRIES` ledger entries in settled-sale transfers (pending -> available), so the available
balances are what the worker pays. Then, measured with a call counter on every boto3 client
and `tracemalloc`:

1. the fan-out (the scheduled function, through the Chalice test client's `lambda_.invoke`):
   time, peak memory, calls by service and operation, messages sent;
2. the worker on a sample of those messages (through `lambda_.invoke` with SQS events of 10):
   calls and time per payout (each message is independent: the queue spreads them over up
   to 5 concurrent workers on AWS);
3. one statement read (`GET /instructor/payouts/{id}`).

    .venv/bin/python bench/payouts.py [INSTRUCTORS] [ENTRIES] [WORKER_SAMPLE]   # default 1000 10000 20

moto answers a Query on a global secondary index by walking the whole table, and its SQS walks
the whole queue on every message, so its times grow with the data in ways DynamoDB's and SQS's do
not: the fan-out's SQS is a recording stand-in here (the calls counted as made) and moto's
per-transaction table copies are skipped (`without_moto_transaction_backups`). The call counts
are what carries over to AWS.
"""

import collections
import json
import os
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from harness import ROOT, Calls, in_process_stage


class RecordingQueue:
    """SQS for the fan-out, as far as it uses it: counts and keeps what is sent. moto's SendMessage walks
    the whole queue on every message (quadratic in its length), which would measure moto, not the job;
    the SQS calls themselves are covered by the tests."""

    def __init__(self, calls: Calls):
        self.calls = calls
        self.bodies: list[str] = []
        self.keep = True  # off while memory is measured: on AWS the messages leave the process

    def get_queue_url(self, QueueName):  # noqa: N803 (boto3's parameter names)
        self.calls.add("sqs", "GetQueueUrl")
        return {"QueueUrl": f"https://sqs.local/{QueueName}"}

    def send_message_batch(self, QueueUrl, Entries):  # noqa: N803
        assert len(Entries) <= 10
        self.calls.add("sqs", "SendMessageBatch")
        if self.keep:
            self.bodies += [entry["MessageBody"] for entry in Entries]
        elif tracemalloc.is_tracing() and self.calls.counter[("sqs", "SendMessageBatch")] % 50 == 0:
            self.sample_live_memory()
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}

    live_peak = 0

    def sample_live_memory(self) -> None:
        """What the job's own code (not moto's emulation) holds now: traced memory outside moto."""
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, "*/moto/*"),
                                                             tracemalloc.Filter(False, tracemalloc.__file__)])
        self.live_peak = max(self.live_peak, sum(stat.size for stat in snapshot.statistics("filename")))


def _listing(counter: collections.Counter, per: int = 1) -> str:
    services = collections.defaultdict(list)
    for (service, operation), count in sorted(counter.items()):
        services[service].append(f"{count / per:g} {operation}")
    return "; ".join(f"{service}: {sum(counter[k] for k in counter if k[0] == service) / per:g} "
                     f"({', '.join(ops)})" for service, ops in services.items())


def without_moto_transaction_backups() -> None:
    """moto makes every TransactWriteItems deep-copy each table it touches (to roll back on failure),
    so its cost grows with the whole database: 100,000 ledger entries copied per payout. No transaction
    fails in this bench, so the copies are skipped; DynamoDB itself does nothing of the kind."""
    import moto.dynamodb.models as models

    real = models.DynamoDBBackend.transact_write_items

    class _NoCopy:
        deepcopy = staticmethod(lambda value: value)

    def transact_write_items(self, transact_items):
        saved, models.copy = models.copy, _NoCopy
        try:
            return real(self, transact_items)
        finally:
            models.copy = saved

    models.DynamoDBBackend.transact_write_items = transact_write_items


def seed(instructors: int, entries: int) -> list[str]:
    """Instructors with a payout account and `entries` ledger entries between them (settled sales)."""
    from chalicelib import ids
    from chalicelib.services import ledger
    from chalicelib.services import payout_accounts as accounts_service
    from chalicelib.store import ledger as store
    from chalicelib.store.payout_accounts import PAYABLE, PayoutAccountItem
    from chalicelib.store.users import UserItem

    now = datetime.now(UTC) - timedelta(days=1)
    transfers_each = max(entries // (2 * instructors), 1)
    kms = __import__("boto3").client("kms")
    key_id = os.environ["PAYOUT_ACCOUNT_KEY_ID"]
    instructor_ids = [f"bench-instructor-{n:06d}" for n in range(instructors)]
    with PayoutAccountItem.batch_write() as accounts, UserItem.batch_write() as users, \
            store.LedgerEntryItem.batch_write() as entry_items, store.LedgerTransferItem.batch_write() as journal, \
            store.LedgerAccountItem.batch_write() as balances:
        for n, instructor_id in enumerate(instructor_ids):
            number = f"1102{n:07d}7"  # never ending in 0000 or 9999 (the fake bank's refusals)
            ciphertext = kms.encrypt(KeyId=key_id, Plaintext=number.encode(),
                                     EncryptionContext=accounts_service._context(instructor_id))["CiphertextBlob"]
            accounts.save(PayoutAccountItem(
                instructor_id, payable=PAYABLE, bank_code="088", holder_name=f"Instructor {n}",
                account_ciphertext=ciphertext, account_last4=number[-4:], key_id=key_id, created_at=now,
                updated_at=now))
            users.save(UserItem(instructor_id, email=f"{instructor_id}@classpay.test", name=f"Instructor {n}",
                                groups={"instructors"}, created_at=now))
            pending = ledger.instructor_pending(instructor_id, "KRW").account_id
            available = ledger.instructor_available(instructor_id, "KRW").account_id
            total = 0
            for t in range(transfers_each):
                amount = 8_000 + 1_000 * (t % 5)
                total += amount
                seq, order_id = ids.new_id(), ids.new_id()
                transfer_id = f"settle:{order_id}"
                journal.save(store.LedgerTransferItem(
                    transfer_id, kind="settlement", seq=seq, posted_at=now, memo={"order_id": order_id},
                    legs=[store.LegMap(account_id=pending, amount=-amount, currency="KRW"),
                          store.LegMap(account_id=available, amount=amount, currency="KRW")]))
                for leg, (account_id, signed) in enumerate(((pending, -amount), (available, amount))):
                    entry_items.save(store.LedgerEntryItem(
                        account_id, f"{seq}.{leg:02d}", account_id=account_id, transfer_id=transfer_id,
                        transfer_kind="settlement", amount=signed, currency="KRW", posted_at=now))
            for account_id, kind, balance in ((pending, "instructor_pending", -total),
                                              (available, "instructor_available", total)):
                balances.save(store.LedgerAccountItem(
                    account_id, kind=kind, owner_id=instructor_id, currency="KRW", balance=balance,
                    entry_count=transfers_each, opened_at=now, updated_at=now))
    return instructor_ids


def main() -> None:
    instructors = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 10 * instructors
    sample = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib import clock, metrics
        from chalicelib.services.payout_gateway import FAKE

        logging.getLogger("classpay").setLevel(logging.WARNING)
        without_moto_transaction_backups()
        metrics.emit = lambda *args, **kwargs: None  # EMF lines on stdout: not what is measured here
        started = time.perf_counter()
        instructor_ids = seed(instructors, entries)
        print(f"seeded {instructors} instructors, {entries} ledger entries in {time.perf_counter() - started:.1f} s",
              flush=True)
        calls = Calls()
        queue = RecordingQueue(calls)
        from chalicelib.services import payouts as payouts_service

        real_client = payouts_service.client
        payouts_service.client = lambda name: queue if name == "sqs" else real_client(name)
        monday = datetime(2030, 1, 7, 1, 0, tzinfo=UTC)
        clock.now = lambda: monday  # the Monday schedule
        with calls, Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
            # timed without tracemalloc (it slows Python down), then again with it for the peak memory
            calls.take()
            started = time.perf_counter()
            result = client.lambda_.invoke("payouts", event).payload
            fan_out_seconds = time.perf_counter() - started
            fan_out_calls = calls.take()
            bodies, queue.bodies, queue.keep = queue.bodies, [], False
            tracemalloc.start()
            client.lambda_.invoke("payouts", event)
            _, fan_out_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            calls.take()
            print(f"fan-out: {result['messages']} messages for {result['instructors_with_account']} instructors in "
                  f"{fan_out_seconds:.1f} s, peak {fan_out_peak / 2**20:.1f} MiB traced (moto's emulation included); "
                  f"held by the job's code, sampled every 500 messages: at most {queue.live_peak / 2**20:.2f} MiB",
                  flush=True)
            print(f"  calls: {_listing(fan_out_calls)}", flush=True)

            # the worker, on a sample of the messages
            messages = [{"MessageId": f"m{n}", "Body": body} for n, body in enumerate(bodies[:sample])]

            def work(chunks) -> int:
                failures = 0
                for chunk in chunks:
                    sqs_event = client.events.generate_sqs_event([m["Body"] for m in chunk],
                                                                 queue_name=os.environ["PAYOUT_QUEUE"])
                    for record, message in zip(sqs_event["Records"], chunk, strict=True):
                        record["messageId"] = message["MessageId"]
                    failures += len(client.lambda_.invoke("payout_worker", sqs_event).payload["batchItemFailures"])
                return failures

            chunks = [messages[start:start + 10] for start in range(0, len(messages), 10)]
            timed, traced = chunks[:max(len(chunks) - 1, 1)], chunks[max(len(chunks) - 1, 1):]
            calls.take()
            started = time.perf_counter()
            failures = work(timed)
            worker_seconds = time.perf_counter() - started
            timed_messages = sum(len(c) for c in timed)
            worker_calls = calls.take()
            tracemalloc.start()
            failures += work(traced)  # one batch of 10, for the worker's peak memory
            _, worker_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            outcomes = collections.Counter(o.status for o in FAKE.outcomes.values())
            print(f"worker: {len(messages)} messages, {failures} to retry; bank outcomes {dict(outcomes)}, "
                  f"{len(FAKE.sent)} transfers; {timed_messages} in {worker_seconds:.1f} s "
                  f"({worker_seconds / max(timed_messages, 1) * 1000:.0f} ms each), peak {worker_peak / 2**20:.1f} MiB "
                  "for a batch of 10", flush=True)
            print(f"  calls per payout: {_listing(worker_calls, max(timed_messages, 1))}", flush=True)

            # one statement
            from chalicelib.services import payouts

            body = json.loads(messages[0]["Body"])
            payout = payouts.store.get(body["instructor_id"], body["period"])
            calls.take()
            lines = payouts.statement(payout)
            print(f"statement of {payout.amount.amount} KRW: {len(lines)} lines summing to "
                  f"{sum(line.amount.amount for line in lines)}; calls: {_listing(calls.take())}", flush=True)
        assert len(instructor_ids) == instructors


if __name__ == "__main__":
    main()
