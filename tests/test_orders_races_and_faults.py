"""Purchases and refunds under concurrency and DynamoDB failures: never oversold, never charged twice."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.courses import STUDIO, make_course
from tests.support.money import (
    RELEASE,
    assert_reconciled,
    balance,
    buy,
    confirm,
    course_with_session,
    dynamodb_calls,
    dynamodb_fails,
    fails_with_the_fault,
    fault_cases,
    new_key,
    refund,
    retry_after_the_fault,
    start_topup,
)


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


def _funded(api, amount=100_000):
    token = api.token_for()
    assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    return token


def _in(hours):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_twenty_learners_racing_for_five_seats_get_exactly_five(api, admin, threads):
    instructor = api.token_for(roles=["instructor"])
    course_id, session_id = course_with_session(api, instructor, capacity=5, starts_at=_in(30), amount=30_000)
    learners = [_funded(api) for _ in range(20)]
    responses = list(threads.map(lambda token: buy(api, token, course_id, session_id=session_id), learners))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [409] * 15, [r.json_body for r in responses if r.status_code not in (201, 409)]
    assert {r.json_body["code"] for r in responses if r.status_code == 409} == {"SOLD_OUT"}
    assert sorted(balance(api, token) for token in learners) == [70_000] * 5 + [100_000] * 15
    assert api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"] == 0
    assert api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"] == 5 * 24_000
    assert_reconciled(api, admin)


def test_a_buyer_who_lost_a_conflict_while_the_last_seat_went_is_answered_sold_out_not_conflict(api, admin,
                                                                                                 monkeypatch):
    """A retry after TransactionConflict reads the session first: buyers of a sold-out session used to retry
    transactions that could only fail, contending with each other until the budget ran out (409 CONFLICT,
    "try again", for 86 of 150 sold-out buyers on launch day, bench/launch_day.py)."""
    import contextlib

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.store import transactions
    from chalicelib.store.courses import SessionItem, session_key
    from infra import emulator

    instructor = api.token_for(roles=["instructor"])
    course_id, session_id = course_with_session(api, instructor, capacity=1, starts_at=_in(30), amount=20_000)
    first, second = _funded(api), _funded(api)
    assert buy(api, first, course_id, session_id=session_id).status_code == 201

    @contextlib.contextmanager
    def session_kept_in_flight():
        """Other buyers' transactions keep the session's item in flight the whole time: every transaction
        writing it is cancelled with TransactionConflict, as on DynamoDB."""
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-2"].get_table(SessionItem.Meta.table_name)
        held = (table.name, *emulator._primary(table, {"course_id": {"S": course_id},
                                                       "item": {"S": session_key(session_id)}}))
        emulator.set_transaction_conflicts(0.02)
        emulator._in_flight[held] = emulator._in_flight.get(held, 0) + 1
        try:
            yield
        finally:
            emulator._in_flight[held] -= 1
            if not emulator._in_flight[held]:
                del emulator._in_flight[held]
            emulator.set_transaction_conflicts(0)

    monkeypatch.setattr(transactions, "CONTENTION_BUDGET", 1.0)  # without the read: CONFLICT after 1 s, not 8
    with session_kept_in_flight(), dynamodb_calls() as calls:
        response = buy(api, second, course_id, session_id=session_id)
    assert response.status_code == 409 and response.json_body["code"] == "SOLD_OUT", response.json_body
    assert calls.count("TransactWriteItems") == 1, calls  # the one that lost the conflict; no retry after it
    assert balance(api, second) == 100_000
    assert api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"] == 0
    assert_reconciled(api, admin)


def test_a_coupon_is_never_redeemed_more_than_its_limit(api, admin, threads):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=20_000)
    assert api.post(f"{STUDIO}/{course_id}/coupons", {"code": "THREE", "kind": "fixed", "value": 5_000,
                                                     "max_redemptions": 3, "expires_at": _in(5)},
                    token=instructor).status_code == 201
    learners = [_funded(api) for _ in range(10)]
    responses = list(threads.map(lambda token: buy(api, token, course_id, coupon_code="THREE"), learners))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [422] * 7
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 3
    assert sorted(balance(api, token) for token in learners) == [85_000] * 3 + [100_000] * 7
    assert_reconciled(api, admin)


def test_one_idempotency_key_sent_by_ten_threads_buys_once(api, admin, threads):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=10_000)
    learner = _funded(api)
    key = new_key("same")
    responses = list(threads.map(lambda _: buy(api, learner, course_id, key=key), range(10)))
    assert {r.status_code for r in responses} <= {201, 409} and 201 in {r.status_code for r in responses}
    assert {r.json_body["code"] for r in responses if r.status_code == 409} <= {"IDEMPOTENCY_IN_PROGRESS"}
    assert len({r.json_body["order_id"] for r in responses if r.status_code == 201}) == 1
    assert balance(api, learner) == 90_000
    assert len(api.get("/orders", token=learner).json_body["items"]) == 1
    assert_reconciled(api, admin)


def test_purchases_of_different_courses_do_not_contend(api, admin, threads):
    instructors = [api.token_for(roles=["instructor"]) for _ in range(4)]
    courses = [make_course(api, token, amount=12_000) for token in instructors]
    learners = [_funded(api) for _ in range(8)]
    responses = list(threads.map(lambda n: buy(api, learners[n], courses[n % 4]), range(8)))
    assert [r.status_code for r in responses] == [201] * 8
    assert_reconciled(api, admin)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_purchase_that_fails_in_dynamodb_is_retried_with_the_same_key_and_charges_once(api, admin, when):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=25_000)
    learner = _funded(api)
    key = new_key("fault")
    with dynamodb_fails("TransactWriteItems", when=when):
        failed = buy(api, learner, course_id, key=key)
    assert failed.status_code == 500 and failed.json_body["code"] == "INTERNAL"
    retried = buy(api, learner, course_id, key=key)
    assert retried.status_code == 201, retried.body
    assert balance(api, learner) == 75_000
    assert len(api.get("/orders", token=learner).json_body["items"]) == 1
    assert_reconciled(api, admin)


@pytest.mark.parametrize("operation", ["GetItem", "TransactWriteItems"])
def test_a_refund_that_fails_in_dynamodb_is_retried_and_refunds_once(api, admin, operation):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=25_000)
    learner = _funded(api)
    order = buy(api, learner, course_id).json_body
    key = new_key("refund-fault")
    with dynamodb_fails(operation):
        failed = refund(api, learner, order["order_id"], key=key)
    assert failed.status_code == 500
    retried = refund(api, learner, order["order_id"], key=key)
    assert retried.status_code == 200, retried.body
    assert refund(api, learner, order["order_id"], key=key).json_body == retried.json_body
    assert balance(api, learner) == 100_000
    assert_reconciled(api, admin)


# --- a fault at every DynamoDB call of a purchase and of a refund ------------------------------------

# The calls a purchase makes, in order: claim the Idempotency-Key, read the course (which carries the
# instructor's time zone for the daily stats), then the one transaction (order, enrollment, counters,
# ledger transfer and the completed idempotency record).
PURCHASE_STEPS = ["PutItem", "GetItem", "TransactWriteItems"]
# A refund: claim the key, read the order, the enrollment (progress), the course (its lessons, for the
# quote), the instructor's profile, commit.
REFUND_STEPS = ["PutItem", "GetItem", "GetItem", "GetItem", "GetItem", "TransactWriteItems"]


def test_the_fault_cases_cover_every_dynamodb_call_of_a_purchase_and_a_refund(api):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=10_000)
    learner = _funded(api)
    with dynamodb_calls() as calls:
        order = buy(api, learner, course_id)
    assert order.status_code == 201 and calls == PURCHASE_STEPS
    with dynamodb_calls() as calls:
        assert refund(api, learner, order.json_body["order_id"]).status_code == 200
    assert calls == REFUND_STEPS
    with dynamodb_calls() as calls, dynamodb_fails("TransactWriteItems"):
        assert buy(api, learner, course_id).status_code == 500
    assert calls == [*PURCHASE_STEPS, RELEASE[0]]  # a failed request gives its key back


@pytest.mark.parametrize(("operation", "nth", "when"), fault_cases(PURCHASE_STEPS))
def test_a_purchase_with_a_fault_at_any_dynamodb_call_is_retried_with_its_key_and_charges_once(
        api, admin, monkeypatch, operation, nth, when):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=25_000)
    learner = _funded(api)
    key = new_key("purchase-fault")
    committed = fails_with_the_fault(lambda: buy(api, learner, course_id, key=key), operation, nth, when)
    assert balance(api, learner) == (75_000 if committed else 100_000)  # the failure told the truth
    retried = retry_after_the_fault(lambda: buy(api, learner, course_id, key=key), 201, operation, nth, when,
                                    monkeypatch)
    assert retried.json_body["status"] == "paid"
    assert (retried.headers.get("Idempotent-Replayed") == "true") == committed
    replayed = buy(api, learner, course_id, key=key)
    assert replayed.status_code == 201 and replayed.json_body == retried.json_body
    assert balance(api, learner) == 75_000
    assert api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"] == 20_000
    orders = api.get("/orders", token=learner).json_body["items"]
    assert [(o["order_id"], o["status"]) for o in orders] == [(retried.json_body["order_id"], "paid")]
    assert_reconciled(api, admin)


@pytest.mark.parametrize(("operation", "nth", "when"), fault_cases(REFUND_STEPS))
def test_a_refund_with_a_fault_at_any_dynamodb_call_is_retried_with_its_key_and_refunds_once(
        api, admin, monkeypatch, operation, nth, when):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, amount=25_000)
    learner = _funded(api)
    order = buy(api, learner, course_id).json_body
    key = new_key("refund-fault")
    committed = fails_with_the_fault(lambda: refund(api, learner, order["order_id"], key=key), operation, nth, when)
    assert balance(api, learner) == (100_000 if committed else 75_000)
    retried = retry_after_the_fault(lambda: refund(api, learner, order["order_id"], key=key), 200, operation,
                                    nth, when, monkeypatch)
    assert retried.json_body["status"] == "refunded"
    assert retried.json_body["refund"]["amount"] == {"amount": 25_000, "currency": "KRW"}
    assert (retried.headers.get("Idempotent-Replayed") == "true") == committed
    assert refund(api, learner, order["order_id"], key=key).json_body == retried.json_body
    assert balance(api, learner) == 100_000
    assert api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"] == 0
    assert api.get(f"/orders/{order['order_id']}", token=learner).json_body["status"] == "refunded"
    again = refund(api, learner, order["order_id"])  # a new key: the order is refunded already
    assert again.status_code == 422 and again.json_body["code"] == "REFUND_NOT_ALLOWED"
    assert balance(api, learner) == 100_000
    assert_reconciled(api, admin)
