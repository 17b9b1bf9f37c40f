"""Payout accounts, weekly payouts by SQS fan-out, and statements: one payout per instructor and period,
however often the job runs or a message is delivered, and no double pay across crashes."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from chalicelib.domain.calendar import payout_period
from chalicelib.services import ledger, payouts, settlement
from chalicelib.services.ledger import Transfer, credit, debit
from chalicelib.store import ledger as ledger_store
from chalicelib.store import orders as orders_store
from chalicelib.store import payout_accounts as accounts_store
from chalicelib.store import payouts as payouts_store
from chalicelib.store.transactions import Contention, UnitOfWork
from tests.support.courses import make_course
from tests.support.jobs import clock_at, later, run_scheduled
from tests.support.money import admin_token, assert_reconciled, buy, funded_learner, refund
from tests.support.payouts import deliver, run_payouts, set_tax_profile, settle, take_messages

GOOD_ACCOUNT = "110-234-567891"
CLOSED_ACCOUNT = "110-234-560000"  # the fake bank refuses accounts ending in 0000
SILENT_ACCOUNT = "110-234-569999"  # ... and never answers for those ending in 9999


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


# --- helpers ----------------------------------------------------------------------------------------

class Instructor:
    def __init__(self, api):
        self.api = api
        self.token = api.token_for(roles=["instructor"], name="Ina Payee")
        self.user_id = api.get("/me", token=self.token).json_body["user_id"]

    def set_account(self, number=GOOD_ACCOUNT, bank_code="088", holder="김강사"):
        """The payout account, and a tax profile (a business: nothing withheld) so that payouts pay."""
        saved = self.api.call("PUT", "/instructor/payout-account", body={
            "bank_code": bank_code, "account_number": number, "holder_name": holder}, token=self.token)
        if saved.status_code == 200:
            assert set_tax_profile(self.api, self.token).status_code == 200
        return saved

    def sell(self, amount=50_000):
        """A sale to a new learner; the order id."""
        learner = funded_learner(self.api, 200_000)
        order = buy(self.api, learner, make_course(self.api, self.token, amount=amount))
        assert order.status_code == 201, order.body
        return order.json_body["order_id"], learner

    def money(self):
        body = self.api.get("/instructor/balance", token=self.token).json_body
        return {name: body[name]["amount"] for name in ("pending", "available", "in_transit", "paid_out")}

    def payouts(self):
        response = self.api.get("/instructor/payouts", token=self.token)
        assert response.status_code == 200, response.body
        return response.json_body["items"]

    def statement(self, payout_id):
        response = self.api.get(f"/instructor/payouts/{payout_id}", token=self.token)
        assert response.status_code == 200, response.body
        return response.json_body


def for_instructor(messages, instructor):
    return [m for m in messages if json.loads(m["Body"])["instructor_id"] == instructor.user_id]


def failures_of(instructor, messages, failed):
    """The instructor's messages the worker reported failed (other tests' instructors may still be pending)."""
    return [m for m in for_instructor(messages, instructor) if m["MessageId"] in failed]


def ready_instructor(api, functions, monkeypatch, sales=(50_000,), account=GOOD_ACCOUNT):
    instructor = Instructor(api)
    assert instructor.set_account(account).status_code == 200
    orders = [instructor.sell(amount)[0] for amount in sales]
    settle(functions, monkeypatch)
    return instructor, orders


# --- payout accounts ------------------------------------------------------------------------------

def test_a_payout_account_is_stored_encrypted_and_every_read_shows_it_masked(api, caplog):
    instructor = Instructor(api)
    assert instructor.api.get("/instructor/payout-account", token=instructor.token).status_code == 404
    with caplog.at_level("DEBUG"):
        saved = instructor.set_account("110-234-567891", bank_code="088", holder="김강사")
    assert saved.status_code == 200, saved.body
    assert saved.json_body["account_number_masked"] == "****7891"
    assert saved.json_body["bank_name"] == "신한은행" and saved.json_body["holder_name"] == "김강사"
    read = api.get("/instructor/payout-account", token=instructor.token)
    assert read.status_code == 200 and read.json_body["account_number_masked"] == "****7891"
    assert "110234567891" not in json.dumps(read.json_body) and "110-234-567891" not in read.body.decode()

    raw = boto3.client("dynamodb").get_item(TableName=accounts_store.PayoutAccountItem.Meta.table_name,
                                            Key={"instructor_id": {"S": instructor.user_id}})["Item"]
    assert "110234567891" not in repr(raw)  # at rest: only KMS ciphertext and the last four digits
    plain = boto3.client("kms").decrypt(
        CiphertextBlob=raw["account_ciphertext"]["B"], KeyId=os.environ["PAYOUT_ACCOUNT_KEY_ID"],
        EncryptionContext={"purpose": "payout-account", "instructor_id": instructor.user_id})["Plaintext"]
    assert plain == b"110234567891"
    assert "110234567891" not in caplog.text and "110-234-567891" not in caplog.text


@pytest.mark.parametrize(("body", "field"), [
    ({"bank_code": "999", "account_number": "1102345678", "holder_name": "A"}, "bank_code"),
    ({"bank_code": "88", "account_number": "1102345678", "holder_name": "A"}, "bank_code"),
    ({"bank_code": "088", "account_number": "12-34", "holder_name": "A"}, "account_number"),
    ({"bank_code": "088", "account_number": "1234567890123456789", "holder_name": "A"}, "account_number"),
    ({"bank_code": "088", "account_number": "abc4567890", "holder_name": "A"}, "account_number"),
    ({"bank_code": "088", "account_number": "1102345678", "holder_name": "   "}, "holder_name"),
    ({"bank_code": "088", "account_number": "1102345678"}, "holder_name"),
])
def test_a_bad_payout_account_is_refused_naming_the_field_and_nothing_is_stored(api, body, field):
    instructor = Instructor(api)
    response = api.call("PUT", "/instructor/payout-account", body=body, token=instructor.token)
    assert response.status_code == 422, response.body
    assert field in [e["field"] for e in response.json_body["errors"]]
    assert accounts_store.get(instructor.user_id) is None


def test_only_instructors_have_payout_accounts_and_payouts(api):
    learner = api.token_for(roles=["learner"])
    assert api.call("PUT", "/instructor/payout-account", body={
        "bank_code": "088", "account_number": GOOD_ACCOUNT, "holder_name": "A"}, token=learner).status_code == 403
    assert api.get("/instructor/payouts", token=learner).status_code == 403
    assert api.get("/instructor/payouts").status_code == 401


# --- the weekly payout ----------------------------------------------------------------------------

def test_the_weekly_job_run_twice_and_a_redelivered_message_make_one_payout(api, fake_bank, functions, admin, monkeypatch):
    instructor, (order_id,) = ready_instructor(api, functions, monkeypatch)
    assert instructor.money()["available"] == 40_000

    fan_out, messages, failed = run_payouts(functions, monkeypatch)
    mine = for_instructor(messages, instructor)
    assert len(mine) == 1 and failures_of(instructor, messages, failed) == []
    assert fan_out["period"] == payout_period(later(days=8)) and fan_out["messages"] >= 1
    _again, messages_again, _ = run_payouts(functions, monkeypatch)  # the schedule fires twice
    assert for_instructor(messages_again, instructor) == []  # nothing left to pay: no message
    assert deliver(functions, mine + mine) == []  # the same message delivered twice more

    (payout,) = instructor.payouts()
    assert payout["status"] == "paid" and payout["amount"] == {"amount": 40_000, "currency": "KRW"}
    assert payout["account_number_masked"] == "****7891" and payout["period"] == fan_out["period"]
    assert fake_bank.sent[payout["payout_id"]].amount == 40_000  # transferred exactly once
    assert instructor.money() == {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 40_000}
    statement = instructor.statement(payout["payout_id"])
    assert [(line["kind"], line["order_id"], line["amount"]["amount"]) for line in statement["lines"]] == [
        ("sale", order_id, 40_000)]
    assert_reconciled(api, admin)


def test_instructors_below_the_minimum_or_without_an_account_get_no_message(api, functions, admin, monkeypatch):
    small, _ = ready_instructor(api, functions, monkeypatch, sales=(12_000,))  # 9,600 < 10,000
    no_account = Instructor(api)
    no_account.sell(50_000)
    settle(functions, monkeypatch)

    fan_out, messages, _ = run_payouts(functions, monkeypatch)
    assert for_instructor(messages, small) == [] and for_instructor(messages, no_account) == []
    assert fan_out["below_minimum"] >= 1
    assert small.payouts() == [] and no_account.payouts() == []
    assert small.money()["available"] == 9_600 and no_account.money()["available"] == 40_000
    # a message for them anyway (a stale or forged one) pays nothing
    assert payouts.process(small.user_id, fan_out["period"]) == "nothing to pay"
    assert payouts.process(no_account.user_id, fan_out["period"]) == "nothing to pay"
    assert_reconciled(api, admin)


def test_a_crash_after_the_payout_was_created_is_finished_by_the_redelivered_message(api, fake_bank, functions, admin,
                                                                                     monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    real_complete = payouts.complete

    def crash(payout):
        raise RuntimeError("the Lambda died before calling the bank")

    with clock_at(monkeypatch, later(days=8)):
        run_scheduled(functions, "payouts")
        mine = for_instructor(take_messages(), instructor)
        monkeypatch.setattr(payouts, "complete", crash)
        assert deliver(functions, mine) == [mine[0]["MessageId"]]  # reported, so SQS delivers it again
        (stuck,) = instructor.payouts()
        assert stuck["status"] == "in_transit" and stuck["payout_id"] not in fake_bank.outcomes
        assert instructor.money()["in_transit"] == 40_000 and instructor.money()["available"] == 0
        assert_reconciled(api, admin)

        monkeypatch.setattr(payouts, "complete", real_complete)
        assert deliver(functions, mine) == []
    (paid,) = instructor.payouts()
    assert paid["payout_id"] == stuck["payout_id"] and paid["status"] == "paid"
    assert fake_bank.sent[paid["payout_id"]].amount == 40_000
    assert instructor.money() == {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 40_000}
    assert_reconciled(api, admin)


def test_a_crash_after_the_bank_paid_is_finished_by_next_weeks_run_without_paying_twice(api, fake_bank, functions, admin,
                                                                                        monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    real_record = payouts.record

    def crash(*args, **kwargs):
        raise RuntimeError("the Lambda died after the bank transfer, before recording it")

    with clock_at(monkeypatch, later(days=8)):
        run_scheduled(functions, "payouts")
        mine = for_instructor(take_messages(), instructor)
        monkeypatch.setattr(payouts, "record", crash)
        assert deliver(functions, mine) == [mine[0]["MessageId"]]
    monkeypatch.setattr(payouts, "record", real_record)
    (stuck,) = instructor.payouts()
    assert stuck["status"] == "in_transit" and fake_bank.sent[stuck["payout_id"]].amount == 40_000
    calls = fake_bank.calls
    # The message is lost (say it went to the dead-letter queue); a week later the job finds the payout
    # in transit, asks the bank again with the same payout id and records what the bank already did.
    fan_out, messages, failed = run_payouts(functions, monkeypatch, days=15)
    assert len(for_instructor(messages, instructor)) == 1 and failures_of(instructor, messages, failed) == []
    assert fan_out["in_transit"] >= 1
    (paid,) = instructor.payouts()
    assert paid["payout_id"] == stuck["payout_id"] and paid["status"] == "paid"
    assert fake_bank.calls > calls and fake_bank.sent[paid["payout_id"]].amount == 40_000
    assert instructor.money() == {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 40_000}
    assert_reconciled(api, admin)


def test_concurrent_deliveries_of_one_message_make_one_payout(api, fake_bank, functions, admin, monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    period = payout_period(later(days=8))
    original = os.environ
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda _: _try(payouts.process, instructor.user_id, period), range(6)))
    os.environ = original  # noqa: B003 (undo the test client's per-request swap)
    assert "paid" in outcomes
    (payout,) = instructor.payouts()
    assert payout["status"] == "paid" and fake_bank.sent[payout["payout_id"]].amount == 40_000
    assert instructor.money()["paid_out"] == 40_000
    assert_reconciled(api, admin)


def _try(function, *args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - a loser of the race may be told to retry
        return type(error).__name__


def test_a_refused_payout_returns_the_money_and_the_next_statement_lists_it(api, fake_bank, functions, admin, monkeypatch):
    instructor, (first_order,) = ready_instructor(api, functions, monkeypatch, account=CLOSED_ACCOUNT)
    _, messages, failed = run_payouts(functions, monkeypatch)
    assert failures_of(instructor, messages, failed) == []  # a refusal is an outcome, not an error
    (refused,) = instructor.payouts()
    assert refused["status"] == "failed" and "ACCOUNT_CLOSED" in refused["failure_reason"]
    assert refused["payout_id"] not in fake_bank.sent
    assert instructor.money()["available"] == 40_000 and instructor.money()["in_transit"] == 0
    assert_reconciled(api, admin)

    # the instructor fixes the account and sells again; the next week pays both
    assert instructor.set_account(GOOD_ACCOUNT).status_code == 200
    second_order, _ = instructor.sell(30_000)
    settle(functions, monkeypatch, days=16)
    run_payouts(functions, monkeypatch, days=16)
    paid, failed_again = instructor.payouts()
    assert failed_again["payout_id"] == refused["payout_id"] and failed_again["status"] == "failed"
    assert paid["status"] == "paid" and paid["amount"]["amount"] == 40_000 + 24_000
    assert paid["period"] > refused["period"] and fake_bank.sent[paid["payout_id"]].amount == 64_000
    lines = instructor.statement(paid["payout_id"])["lines"]
    assert sorted((line["kind"], line["order_id"], line["payout_id"], line["amount"]["amount"]) for line in lines) \
        == sorted([("returned_payout", None, refused["payout_id"], 40_000), ("sale", second_order, None, 24_000)])
    assert sum(line["amount"]["amount"] for line in lines) == paid["amount"]["amount"]
    assert [(line["kind"], line["order_id"]) for line in instructor.statement(refused["payout_id"])["lines"]] == [
        ("sale", first_order)]
    assert_reconciled(api, admin)


def test_a_payout_the_bank_has_not_answered_stays_in_transit_and_is_asked_about_again(api, fake_bank, functions, admin,
                                                                                      monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch, account=SILENT_ACCOUNT)
    _, messages, failed = run_payouts(functions, monkeypatch)
    (mine,) = for_instructor(messages, instructor)
    assert mine["MessageId"] in failed  # reported: SQS delivers it again later
    (pending,) = instructor.payouts()
    assert pending["status"] == "in_transit"
    assert instructor.money()["in_transit"] == 40_000 and instructor.money()["available"] == 0
    _, again, _ = run_payouts(functions, monkeypatch, days=15)  # re-driven from the in_transit index
    assert len(for_instructor(again, instructor)) == 1
    assert [p["payout_id"] for p in instructor.payouts()] == [pending["payout_id"]]
    assert pending["payout_id"] not in fake_bank.sent
    assert_reconciled(api, admin)


def test_a_statement_lists_each_sale_and_each_refund_of_a_settled_sale_and_sums_to_the_payout(
        api, functions, admin, monkeypatch):
    instructor, (kept, refunded) = ready_instructor(api, functions, monkeypatch, sales=(50_000, 30_000))
    back = refund(api, admin, refunded)
    assert back.status_code == 200, back.body
    refund_id = back.json_body["refund"]["refund_id"]
    third, _ = instructor.sell(20_000)
    settle(functions, monkeypatch)
    assert instructor.money()["available"] == 40_000 + 24_000 - 24_000 + 16_000
    run_payouts(functions, monkeypatch)
    (payout,) = instructor.payouts()
    lines = instructor.statement(payout["payout_id"])["lines"]
    assert sorted((line["kind"], line["order_id"], line["refund_id"], line["amount"]["amount"]) for line in lines) \
        == sorted([("sale", kept, None, 40_000), ("sale", refunded, None, 24_000),
                   ("refund", refunded, refund_id, -24_000), ("sale", third, None, 16_000)])
    assert sum(line["amount"]["amount"] for line in lines) == payout["amount"]["amount"] == 56_000
    assert_reconciled(api, admin)


def test_an_instructor_sees_only_their_own_payouts(api, functions, monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    run_payouts(functions, monkeypatch)
    (payout,) = instructor.payouts()
    other = Instructor(api)
    assert api.get(f"/instructor/payouts/{payout['payout_id']}", token=other.token).status_code == 404
    assert other.payouts() == []


def test_the_worker_reports_only_the_messages_it_could_not_finish(api, functions, monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    period = payout_period(later(days=8))
    event = functions.events.generate_sqs_event(
        ["not json", json.dumps({"instructor_id": instructor.user_id, "period": period})],
        queue_name=os.environ["PAYOUT_QUEUE"])
    event["Records"][0]["messageId"], event["Records"][1]["messageId"] = "broken", "good"
    answer = functions.lambda_.invoke("payout_worker", event).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert [p["status"] for p in instructor.payouts()] == ["paid"]


def test_the_fan_out_reads_indexes_and_balances_never_scans(api, monkeypatch):
    def no_scan(*args, **kwargs):
        raise AssertionError("the payout job must not scan")

    for model in (accounts_store.PayoutAccountItem, payouts_store.PayoutItem, ledger_store.LedgerAccountItem):
        monkeypatch.setattr(model, "scan", no_scan)
    payouts.fan_out(later(days=8))
    take_messages()


# --- the seal: statements stay whole under concurrent postings ------------------------------------

def test_an_entry_that_took_its_place_before_a_payout_but_commits_after_it_lands_in_the_next_statement(
        api, functions, admin, monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    late_order, _ = instructor.sell(30_000)
    order = orders_store.get(late_order)
    now = later(days=8)
    # the settlement of `late_order` takes its ledger sequence number ...
    late = UnitOfWork()
    orders_store.add_settle(late, order, now)
    ledger.add_transfer(late, Transfer(
        f"settle:{late_order}", "settlement",
        (debit(ledger.instructor_pending(instructor.user_id, "KRW"), order.instructor_share),
         credit(ledger.instructor_available(instructor.user_id, "KRW"), order.instructor_share))), now=now)
    # ... then a payout seals the available account before that settlement commits
    assert payouts.process(instructor.user_id, payout_period(now)) == "paid"
    with pytest.raises(Contention):
        late.commit()  # refused: it would slip into the statement already paid
    assert settlement.settle_order(orders_store.get(late_order), now) is not None  # retried, with a new seq
    run_payouts(functions, monkeypatch, days=15)
    paid_late, paid_first = instructor.payouts()
    assert paid_first["amount"]["amount"] == 40_000 and paid_late["amount"]["amount"] == 24_000
    assert [line["order_id"] for line in instructor.statement(paid_late["payout_id"])["lines"]] == [late_order]
    assert_reconciled(api, admin)


def test_a_payout_is_not_created_over_an_entry_posted_while_it_read_the_account(api, functions, monkeypatch):
    instructor, _ = ready_instructor(api, functions, monkeypatch)
    late_order, _ = instructor.sell(30_000)
    now = later(days=8)
    real = ledger.entries_between
    posted = []

    def entries_then_a_settlement(account, after, before=None):
        found = list(real(account, after, before))
        if not posted:  # a settlement commits between the payout's read and its commit
            posted.append(settlement.settle_order(orders_store.get(late_order), now))
        return iter(found)

    monkeypatch.setattr(ledger, "entries_between", entries_then_a_settlement)
    assert payouts.process(instructor.user_id, payout_period(now)) == "paid"
    (payout,) = instructor.payouts()
    assert payout["amount"]["amount"] == 64_000  # read again, with the settlement in it
    monkeypatch.setattr(ledger, "entries_between", real)
    assert sum(line["amount"]["amount"] for line in instructor.statement(payout["payout_id"])["lines"]) == 64_000
