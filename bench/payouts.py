"""Weekly payouts at scale: the fan-out job and the queue worker, at one size or several.

In-process moto. Seeded directly (BatchWriteItem, not one transaction per transfer: see `seed`):
per instructor a payout account and a tax profile (numbers encrypted with KMS; a third of each tax
kind, so the worker withholds as it does for real) and settled sales, about 10
ledger entries each by default (top-up, purchase, settlement: the ledger's invariants hold and
are checked on a sample), so the available balances are what the worker pays. Then, measured
with a call counter on every boto3 client and `tracemalloc`:

1. the fan-out (the scheduled function, through the Chalice test client's `lambda_.invoke`):
   time, peak memory, calls by service and operation, messages sent;
2. the worker on a SAMPLE of those messages (20 by default, through `lambda_.invoke` with SQS
   events of 10): calls and time per payout (each message is independent: the queue spreads
   them over up to 5 concurrent workers on AWS);
3. one statement read (`GET /instructor/payouts/{id}`).

    .venv/bin/python bench/payouts.py [SIZE ...] [--sample N]     # SIZE: INSTRUCTORS[:ENTRIES]
    .venv/bin/python bench/payouts.py 1000                        # one size, in this process
    .venv/bin/python bench/payouts.py 1000 10000                  # each size in a fresh process,
                                                                  # then the size table (linearity)
                                                                  # and the fan-out for 10,000
                                                                  # instructors against 15 minutes

moto differs from DynamoDB and SQS where it matters at this size, so the bench works around it:
the fan-out's SQS is a recording stand-in (moto's SendMessageBatch walks the whole queue: the
calls are counted as made, the messages kept for the worker). The emulator (infra/emulator.py)
writes a transaction without copying tables and answers a Query from its partition or index key
alone, as DynamoDB does. The call counts are what
carries over to AWS; the AWS time is projected from them at 20 ms a call.
"""

import collections
import json
import os
import subprocess
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


def seed(instructors: int, entries: int) -> tuple[list[str], dict]:
    """Instructors with a payout account and a tax profile (a third of each kind), and about `entries` ledger
    entries: settled sales.

    Each sale is what the app posts for it: the learner's top-up (gateway clearing -> wallet), the
    purchase `order:<id>` (wallet -> instructor pending + platform revenue) and its settlement
    `settle:<id>` (pending -> available), so the available balances are what the worker pays.

    Written directly with BatchWriteItem, NOT through `chalicelib.services.ledger`: the service posts
    one TransactWriteItems per transfer, and moto takes 10-15 ms for each (its update-expression
    parser), so 100,000 entries (~40,000 transfers) would be 7-10 minutes of seeding before anything
    is measured. The items are those the service writes for the same transfers (journal item with its
    legs, one entry per leg at `<seq>.<leg>`, a hot account's entry in its shard's book, a balance item
    per balance-keeping account with its entry count), so the ledger's invariants hold: the entries
    sum to zero, each balance equals the sum and the count of its entries, no balance is negative
    (pending ends at 0; each wallet is topped up with what it spends). `main` checks a sample of the
    accounts with `reconciliation.check_account`. Orders, enrollments and courses are not seeded:
    the payout job reads none of them.
    """
    from chalicelib import config, ids
    from chalicelib.money import Money
    from chalicelib.services import ledger, tax_profiles
    from chalicelib.services import payout_accounts as accounts_service
    from chalicelib.store import ledger as store
    from chalicelib.store.payout_accounts import PAYABLE, PayoutAccountItem
    from chalicelib.store.tax_profiles import KEY_PREFIX, TaxProfileItem
    from chalicelib.store.users import UserItem

    now = datetime.now(UTC)
    topped_up_at, bought_at, settled_at = now - timedelta(days=10), now - timedelta(days=9), now - timedelta(days=1)
    sales_each = max(round(entries / (5 * instructors)), 1)  # 5 entries a sale: 3 for the purchase, 2 to settle
    learner_ids = [f"bench-learner-{n:06d}" for n in range(max(instructors // 10, 1))]
    instructor_ids = [f"bench-instructor-{n:06d}" for n in range(instructors)]
    fee_bps = config.platform_fee_bps()
    last_seq = [""]

    def new_seq() -> str:
        """A transfer's seq, later than every earlier one (ULIDs of one millisecond are in random order)."""
        seq = ids.new_id()
        while seq <= last_seq[0]:
            seq = ids.new_id()
        last_seq[0] = seq
        return seq

    # the sales: (instructor, learner, price); each learner tops up exactly what it spends
    sales = [(n, (n * sales_each + t) % len(learner_ids), Money(8_000 + 1_000 * (t % 5), "KRW"))
             for n in range(instructors) for t in range(sales_each)]
    spends = collections.Counter()
    for _, learner, price in sales:
        spends[learner] += price.amount
    balances: dict[str, list] = {}  # account id -> [kind, owner, balance, entry count]
    written = collections.Counter()
    kinds = ("individual_business", "individual_other", "business")  # each withholds differently
    with PayoutAccountItem.batch_write() as accounts, TaxProfileItem.batch_write() as profiles, \
            UserItem.batch_write() as users, \
            store.LedgerEntryItem.batch_write() as entry_items, store.LedgerTransferItem.batch_write() as journal:

        def post(transfer_id: str, kind: str, legs: list[tuple], memo: dict, at: datetime) -> None:
            """What `ledger.add_transfer` writes for these legs ((account, signed amount), ...)."""
            assert sum(amount for _, amount in legs) == 0 and all(amount for _, amount in legs)
            seq = new_seq()
            journal.save(store.LedgerTransferItem(
                transfer_id, kind=kind, seq=seq, posted_at=at, memo=memo,
                legs=[store.LegMap(account_id=a.account_id, amount=amount, currency="KRW") for a, amount in legs]))
            for leg, (account, amount) in enumerate(legs):
                entry_items.save(store.LedgerEntryItem(
                    account.book_for(transfer_id), f"{seq}.{leg:02d}", account_id=account.account_id,
                    transfer_id=transfer_id, transfer_kind=kind, amount=amount, currency="KRW", posted_at=at))
                written["entries"] += 1
                written[str(account.kind)] += amount
                if not account.hot:
                    kept = balances.setdefault(account.account_id, [str(account.kind), account.owner_id, 0, 0])
                    kept[2] += amount
                    kept[3] += 1

        for learner, learner_id in enumerate(learner_ids):
            users.save(UserItem(learner_id, email=f"{learner_id}@classpay.test", name=f"Learner {learner}",
                                groups={"learners"}, created_at=now))
            topup_id = ids.new_id()
            post(f"topup:{topup_id}", "topup", [(ledger.gateway_clearing("KRW"), -spends[learner]),
                                                (ledger.learner_wallet(learner_id, "KRW"), spends[learner])],
                 {"topup_id": topup_id}, topped_up_at)
        for n, instructor_id in enumerate(instructor_ids):
            number = f"1102{n:07d}7"  # never ending in 0000 or 9999 (the fake bank's refusals)
            ciphertext, key_id = accounts_service.encrypt(instructor_id, number)
            accounts.save(PayoutAccountItem(
                instructor_id, payable=PAYABLE, bank_code="088", holder_name=f"Instructor {n}",
                account_ciphertext=ciphertext, account_last4=number[-4:], key_id=key_id, created_at=now,
                updated_at=now))
            kind = kinds[n % len(kinds)]  # a tax profile, as PUT /instructor/tax-profile stores it
            registration = "9001011234567" if kind != "business" else "1234567891"
            ciphertext, key_id = accounts_service.encrypt(instructor_id, registration, purpose=tax_profiles.PURPOSE)
            profiles.save(TaxProfileItem(
                KEY_PREFIX + instructor_id, kind=kind, number_ciphertext=ciphertext, number_masked="masked",
                key_id=key_id, created_at=now, updated_at=now))
            users.save(UserItem(instructor_id, email=f"{instructor_id}@classpay.test", name=f"Instructor {n}",
                                groups={"instructors"}, created_at=now))
        orders = []
        for n, learner, price in sales:  # the purchases, then (a week later) their settlements
            order_id, course_id = ids.new_id(), f"bench-course-{n:06d}"
            fee = price.share(fee_bps)
            share = price - fee
            post(f"order:{order_id}", "purchase",
                 [(ledger.learner_wallet(learner_ids[learner], "KRW"), -price.amount),
                  (ledger.instructor_pending(instructor_ids[n], "KRW"), share.amount),
                  (ledger.platform_revenue("KRW"), fee.amount)],
                 {"order_id": order_id, "course_id": course_id}, bought_at)
            orders.append((n, order_id, course_id, share))
        for n, order_id, course_id, share in orders:
            post(f"settle:{order_id}", "settlement",
                 [(ledger.instructor_pending(instructor_ids[n], "KRW"), -share.amount),
                  (ledger.instructor_available(instructor_ids[n], "KRW"), share.amount)],
                 {"order_id": order_id, "course_id": course_id}, settled_at)
    with store.LedgerAccountItem.batch_write() as balance_items:
        for account_id, (kind, owner_id, balance, count) in balances.items():
            assert balance >= 0, (account_id, balance)
            balance_items.save(store.LedgerAccountItem(
                account_id, kind=kind, owner_id=owner_id, currency="KRW", balance=balance, entry_count=count,
                opened_at=topped_up_at, updated_at=settled_at))
    assert sum(amount for kind, amount in written.items() if kind != "entries") == 0  # entries sum to zero
    return instructor_ids, {"entries": written["entries"], "learners": len(learner_ids), "sales": len(sales),
                            "balance_items": len(balances)}


def check_sample(instructor_ids: list[str], learners: int) -> tuple[int, list]:
    """The invariants on a sample, read back as the reconciliation job reads them: each balance against its
    entries, in sum and in count, and none negative. (The hot accounts keep no balance item, and that all
    entries sum to zero is asserted as they are written: reading their 16 books whole through moto would
    take longer than the rest of the seeding.)"""
    from chalicelib.services import ledger, reconciliation

    accounts = []
    for instructor_id in instructor_ids[:10] + instructor_ids[-10:]:
        accounts += [ledger.instructor_pending(instructor_id, "KRW"), ledger.instructor_available(instructor_id, "KRW")]
    accounts += [ledger.learner_wallet(f"bench-learner-{n:06d}", "KRW") for n in range(min(learners, 10))]
    violations = [v for account in accounts for v in reconciliation.check_account(account).violations]
    return len(accounts), violations


def run(instructors: int, entries: int, sample: int) -> dict:
    """One size in this process: seed, then the fan-out, the worker on `sample` messages, one statement."""
    run_started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = [run_started]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - mark[0]
        mark[0] = now

    with in_process_stage():
        import logging

        from chalice.test import Client

        from app import app
        from chalicelib import clock, metrics
        from chalicelib.adapters.fake_payouts import FakePayouts

        logging.getLogger("classpay").setLevel(logging.WARNING)
        metrics.emit = lambda *args, **kwargs: None  # EMF lines on stdout: not what is measured here
        phase("stage")
        started = time.perf_counter()
        instructor_ids, seeded = seed(instructors, entries)
        phase("seed")
        seed_seconds = time.perf_counter() - started
        print(f"seeded {instructors:,} instructors, {seeded['entries']:,} ledger entries ({seeded['sales']:,} settled "
              f"sales of {seeded['learners']:,} learners, {seeded['balance_items']:,} balance items) in "
              f"{seed_seconds:.1f} s", flush=True)
        checked, violations = check_sample(instructor_ids, seeded["learners"])
        phase("check")
        print(f"  ledger invariants on a sample ({checked} instructor and learner accounts), read back as "
              f"reconciliation does: {len(violations)} violations; all entries sum to zero", flush=True)
        for violation in violations[:5]:
            print(f"    {violation}", flush=True)
        calls = Calls()
        queue = RecordingQueue(calls)
        from chalicelib.services import payouts as payouts_service

        real_client = payouts_service.client
        payouts_service.client = lambda name: queue if name == "sqs" else real_client(name)
        bank = FakePayouts()  # the bank of this run, to count what it was sent
        payouts_service.payout_gateway = lambda: bank
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
            phase("fan-out")
            tracemalloc.start()
            client.lambda_.invoke("payouts", event)
            _, fan_out_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            calls.take()
            phase("fan-out traced")
            print(f"fan-out: {result['messages']:,} messages for {result['instructors_with_account']:,} instructors in "
                  f"{fan_out_seconds:.1f} s, peak {fan_out_peak / 2**20:.1f} MiB traced (moto's emulation included); "
                  f"held by the job's code, sampled every 500 messages: at most {queue.live_peak / 2**20:.2f} MiB",
                  flush=True)
            print(f"  calls: {_listing(fan_out_calls)}", flush=True)
            print("  SQS here is a stand-in that counts and keeps the messages (moto's queue is quadratic in its "
                  "length); the DynamoDB calls go to moto", flush=True)

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
            phase("worker")
            outcomes = collections.Counter(o.status for o in bank.outcomes.values())
            print(f"worker: {len(messages)} of the {len(bodies):,} messages (a sample: each payout is independent), "
                  f"{failures} to retry; bank outcomes {dict(outcomes)}, {len(bank.sent)} transfers (fake bank); "
                  f"{timed_messages} timed in {worker_seconds:.1f} s "
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
        phase("statement")
    phase("teardown")
    print("time by phase: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items()), flush=True)

    def per(counter, service, n=1):
        return sum(count for (s, _), count in counter.items() if s == service) / n

    return {
        "instructors": instructors, "entries": seeded["entries"], "seed_s": seed_seconds,
        "violations": len(violations), "fan_out_s": fan_out_seconds, "messages": result["messages"],
        "fan_out_dynamodb": per(fan_out_calls, "dynamodb"), "fan_out_sqs": per(fan_out_calls, "sqs"),
        "fan_out_peak_mib": fan_out_peak / 2**20, "job_held_mib": queue.live_peak / 2**20,
        "worker_payouts": len(messages), "worker_retries": failures, "worker_timed": timed_messages,
        "worker_s_each": worker_seconds / max(timed_messages, 1),
        "worker_dynamodb_each": per(worker_calls, "dynamodb", max(timed_messages, 1)),
        "worker_kms_each": per(worker_calls, "kms", max(timed_messages, 1)),
        "run_s": time.perf_counter() - run_started,
    }


AWS_SECONDS_PER_CALL = 0.020  # a generous DynamoDB / SQS round trip from Lambda in the same region
TARGET_INSTRUCTORS = 10_000
TARGET_SECONDS = 900  # the bound: one Lambda's 15 minutes (the job's own timeout is 300 s)


def scaling(figures: list[dict]) -> None:
    """The size table and the fan-out for 10,000 instructors against the 15 minutes."""
    small, large = figures[0], figures[-1]
    columns = [f"{f['instructors']:,} / {f['entries']:,}" for f in figures]
    print(f"\npayouts at {len(figures)} sizes, each in a fresh process (moto; SQS a recording stand-in)")
    rows = [
        ("instructors / ledger entries", columns),
        ("seeding (not measured below)", [f"{f['seed_s']:.0f} s" for f in figures]),
        ("fan-out DynamoDB calls", [f"{f['fan_out_dynamodb']:g}" for f in figures]),
        ("fan-out SQS calls", [f"{f['fan_out_sqs']:g}" for f in figures]),
        ("  calls per 1,000 instructors", [f"{(f['fan_out_dynamodb'] + f['fan_out_sqs']) / f['instructors'] * 1000:.1f}"
                                           for f in figures]),
        ("fan-out time (moto)", [f"{f['fan_out_s']:.1f} s" for f in figures]),
        ("  per instructor", [f"{f['fan_out_s'] / f['instructors'] * 1000:.2f} ms" for f in figures]),
        ("fan-out peak traced (moto incl.)", [f"{f['fan_out_peak_mib']:.1f} MiB" for f in figures]),
        ("  held by the job's code", [f"{f['job_held_mib']:.2f} MiB" for f in figures]),
        ("worker: payouts measured", [f"{f['worker_payouts']} of {f['messages']:,}" for f in figures]),
        ("  DynamoDB calls per payout", [f"{f['worker_dynamodb_each']:g}" for f in figures]),
        ("  KMS calls per payout", [f"{f['worker_kms_each']:g}" for f in figures]),
        ("  time per payout (moto)", [f"{f['worker_s_each'] * 1000:.0f} ms" for f in figures]),
        ("whole run", [f"{f['run_s']:.0f} s" for f in figures]),
    ]
    for label, values in rows:
        print(f"  {label:<34}" + "".join(f"{v:>22}" for v in values))
    calls_ratio = ((large["fan_out_dynamodb"] + large["fan_out_sqs"]) / large["instructors"]) / \
        ((small["fan_out_dynamodb"] + small["fan_out_sqs"]) / small["instructors"])
    time_ratio = (large["fan_out_s"] / large["instructors"]) / (small["fan_out_s"] / small["instructors"])
    worker_ratio = large["worker_dynamodb_each"] / small["worker_dynamodb_each"]
    print(f"linear: fan-out calls per instructor, largest / smallest size: {calls_ratio:.2f}; "
          f"fan-out moto time per instructor, largest / smallest: {time_ratio:.2f}; "
          f"worker DynamoDB calls per payout, largest / smallest: {worker_ratio:.2f}")
    scale = TARGET_INSTRUCTORS / large["instructors"]
    calls = (large["fan_out_dynamodb"] + large["fan_out_sqs"]) * scale
    moto_seconds = large["fan_out_s"] * scale
    note = "" if scale == 1 else f" (scaled linearly from {large['instructors']:,})"
    print(f"fan-out for {TARGET_INSTRUCTORS:,} instructors: {moto_seconds:.1f} s on moto{note}; "
          f"projected on AWS {calls * AWS_SECONDS_PER_CALL:.1f} s ({calls:,.0f} calls x "
          f"{AWS_SECONDS_PER_CALL * 1000:.0f} ms, one after another); target far under {TARGET_SECONDS} s "
          "(the job's Lambda timeout is 300 s)")


def main() -> int:
    arguments = sys.argv[1:]
    figures_line = "--figures" in arguments
    sample = 20
    if "--sample" in arguments:
        at = arguments.index("--sample")
        sample = int(arguments[at + 1])
        del arguments[at:at + 2]
    sizes = []
    for size in [a for a in arguments if a != "--figures"] or ["1000"]:
        instructors, _, entries = size.partition(":")
        sizes.append((int(instructors), int(entries) if entries else 10 * int(instructors)))
    if len(sizes) == 1:
        figures = run(*sizes[0], sample)
        if figures_line:
            print("FIGURES " + json.dumps(figures), flush=True)
        return 0
    collected = []
    for instructors, entries in sizes:  # each size in a fresh process: moto's tables and memory start empty
        print(f"== {instructors:,} instructors, {entries:,} ledger entries", flush=True)
        child = subprocess.run([sys.executable, __file__, f"{instructors}:{entries}", "--sample", str(sample),
                                "--figures"], capture_output=True, text=True, check=False)
        for line in child.stdout.splitlines():
            if line.startswith("FIGURES "):
                collected.append(json.loads(line.removeprefix("FIGURES ")))
            else:
                print(line, flush=True)
        if child.returncode != 0:
            print(child.stderr[-3000:], flush=True)
            return child.returncode
    scaling(collected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
