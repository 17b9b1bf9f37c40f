"""Refunds of checkout orders over HTTP: each part back to the card (a partial PG cancel under the refund's own
idempotency key) and the wallet in proportion, pending while the PG fails, sent by the retry job exactly once,
reconciled after each."""

import contextlib
from datetime import UTC, datetime

import pytest

from chalicelib import errors
from chalicelib.adapters import fake_payments
from chalicelib.jobs import JOBS
from chalicelib.services import orders as orders_service
from tests.support.checkout import pay_checkout, started_checkout
from tests.support.courses import make_course
from tests.support.money import (
    admin_token,
    assert_problem,
    assert_reconciled,
    balance,
    dynamodb_fails,
    funded_learner,
    krw,
    new_key,
    refund,
)


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def _checkout_order(api, amount=30_000, wallet=10_000):
    """A learner's order of one course paid by a checkout: `wallet` from the wallet, the rest by card."""
    instructor = api.token_for(roles=["instructor"])
    learner = funded_learner(api, wallet) if wallet else api.token_for(roles=["learner"])
    course_id = make_course(api, instructor, amount=amount)
    checkout = started_checkout(api, learner, [{"course_id": course_id}], wallet_amount=krw(wallet))
    paid = pay_checkout(api, learner, checkout)
    assert paid.status_code == 200 and paid.json_body["status"] == "paid", paid.body
    return learner, checkout["checkout_id"], paid.json_body["orders"][0]["order_id"]


def _cancels(checkout_id):
    """The fake PG's partial cancels of a checkout's payment: {idempotency key: amount}."""
    return {key: amount.amount for key, (order_id, amount) in fake_payments.PARTIAL_CANCELS.items()
            if order_id == checkout_id}


def _parts(api, token, order_id):
    response = api.get(f"/orders/{order_id}", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["refunds"]


def _retry():
    return JOBS["refund_retry"].run(datetime.now(UTC))


class RefusingGateway(fake_payments.FakePayments):
    def partial_cancel(self, *args):
        raise errors.PaymentGatewayError("The payment provider did not answer; try again")


def test_a_card_and_wallet_order_refunded_in_two_parts_goes_back_to_each_in_proportion(api, admin):
    learner, checkout_id, order_id = _checkout_order(api)  # 20,000 by card, 10,000 from the wallet
    assert balance(api, learner) == 0

    first = refund(api, learner, order_id, amount=krw(10_000))
    assert first.status_code == 200, first.body
    part = first.json_body["refunds"][0]
    assert part["to"] == "card_and_wallet" and part["status"] == "done"
    assert (part["to_card"], part["to_wallet"]) == (krw(6_667), krw(3_333))  # 2:1, largest remainder
    assert balance(api, learner) == 3_333
    assert _cancels(checkout_id) == {f"refund-{part['refund_id']}": 6_667}
    assert_reconciled(api, admin)

    last = refund(api, learner, order_id)  # the rest
    assert last.status_code == 200, last.body
    assert last.json_body["status"] == "refunded"
    second = last.json_body["refunds"][1]
    assert (second["amount"], second["to_card"], second["to_wallet"]) == (krw(20_000), krw(13_333), krw(6_667))
    assert balance(api, learner) == 10_000  # exactly the wallet part
    cancels = _cancels(checkout_id)
    assert cancels[f"refund-{second['refund_id']}"] == 13_333 and sum(cancels.values()) == 20_000  # the card part
    assert_reconciled(api, admin)


def test_a_refund_the_pg_refuses_stays_pending_until_the_job_sends_it_exactly_once(api, admin, monkeypatch):
    learner, checkout_id, order_id = _checkout_order(api, amount=30_000, wallet=0)
    key = new_key("refund")
    monkeypatch.setattr(orders_service, "payment_gateway", RefusingGateway)
    refused = refund(api, learner, order_id, key=key, amount=krw(12_000))
    assert refused.status_code == 200, refused.body
    part = refused.json_body["refunds"][0]
    assert (part["to"], part["status"], part["to_card"]) == ("card", "pending", krw(12_000))
    assert _parts(api, learner, order_id)[0]["status"] == "pending"  # visible on the order
    assert _cancels(checkout_id) == {}
    assert_reconciled(api, admin)  # in transit: the pending card part
    assert _retry() == {"done": 0, "still_pending": 1}  # the PG still refuses
    assert refund(api, learner, order_id, key=key, amount=krw(12_000)).json_body["refunds"] == [part]  # a replay

    monkeypatch.undo()
    assert _retry()["done"] >= 1
    assert _retry() == {"done": 0, "still_pending": 0}  # twice: nothing more
    assert _parts(api, learner, order_id)[0]["status"] == "done"
    assert _cancels(checkout_id) == {f"refund-{part['refund_id']}": 12_000}
    assert_reconciled(api, admin)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_fault_after_the_pg_cancel_is_completed_by_the_job_without_a_second_cancel(api, admin, monkeypatch, when):
    learner, checkout_id, order_id = _checkout_order(api)
    calls = []

    with contextlib.ExitStack() as faults:
        class CrashingAfterCancel(fake_payments.FakePayments):
            def partial_cancel(self, *args):
                super().partial_cancel(*args)
                calls.append(args)
                if len(calls) == 1:  # the done transaction fails (before DynamoDB, or its answer is lost)
                    faults.enter_context(dynamodb_fails("TransactWriteItems", when=when))

        monkeypatch.setattr(orders_service, "payment_gateway", CrashingAfterCancel)
        assert_problem(refund(api, learner, order_id, amount=krw(9_000)))
    part = _parts(api, learner, order_id)[0]
    assert part["status"] == ("pending" if when == "before" else "done")
    _retry()
    assert _parts(api, learner, order_id)[0]["status"] == "done"
    assert len(calls) == (2 if when == "before" else 1)  # the job asked the PG again, under the same key
    assert _cancels(checkout_id) == {f"refund-{part['refund_id']}": 6_000}  # given back once
    assert_reconciled(api, admin)
