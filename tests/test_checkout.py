"""Checkout through the payment gateway, over HTTP: holds, confirm, decline, expiry, retries and races."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from chalicelib.adapters import fake_payments
from tests.support.checkout import expire_checkouts, orders_of, pay_checkout, seats_left, start_checkout
from tests.support.courses import STUDIO, make_course
from tests.support.money import (
    assert_problem,
    assert_reconciled,
    balance,
    course_with_session,
    dynamodb_calls,
    dynamodb_fails,
    funded_learner,
    krw,
    new_key,
)


def _in(hours):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"])


def pending_share(api, instructor):
    return api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"]


def test_a_card_and_wallet_checkout_of_two_courses_enrolls_and_pays_each_instructor(api, admin, instructor):
    other_instructor = api.token_for(roles=["instructor"])
    course_id, session_id = course_with_session(api, instructor, capacity=5, starts_at=_in(30), amount=30_000)
    second = make_course(api, other_instructor, amount=20_000)
    learner = funded_learner(api, 50_000)
    created = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}, {"course_id": second}],
                             wallet_amount=krw(15_000))
    assert created.status_code == 201, created.body
    checkout = created.json_body
    assert checkout["status"] == "pending"
    assert [item["total"]["amount"] for item in checkout["items"]] == [30_000, 20_000]
    assert checkout["total"] == krw(50_000) and checkout["wallet_amount"] == krw(15_000)
    assert checkout["amount_due"] == krw(35_000)
    payment = checkout["payment"]
    assert payment["gateway"] == "fake" and payment["order_id"] == checkout["checkout_id"]
    assert payment["amount"] == krw(35_000) and payment["order_name"].endswith("외 1건") and payment["payment_key"]
    expires = datetime.fromisoformat(checkout["expires_at"])
    assert timedelta(minutes=39) < expires - datetime.now(UTC) <= timedelta(minutes=40)
    # the holds: the seat is taken, the wallet part cannot be spent elsewhere
    assert seats_left(api, course_id) == 4 and balance(api, learner) == 35_000
    assert_reconciled(api, admin)

    paid = pay_checkout(api, learner, checkout)
    assert paid.status_code == 200, paid.body
    assert paid.json_body["status"] == "paid"
    assert sorted(order["course_id"] for order in paid.json_body["orders"]) == sorted([course_id, second])
    assert {order["course_id"] for order in orders_of(api, learner)} == {course_id, second}
    assert seats_left(api, course_id) == 4 and balance(api, learner) == 35_000
    assert pending_share(api, instructor) == 24_000 and pending_share(api, other_instructor) == 16_000
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["status"] == "paid"
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=admin).status_code == 200
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=funded_learner(api, 1_000)).status_code == 404
    assert_reconciled(api, admin)


def test_a_checkout_the_wallet_and_a_coupon_cover_confirms_without_the_gateway(api, admin, instructor):
    course_id = make_course(api, instructor, amount=40_000)
    assert api.post(f"{STUDIO}/{course_id}/coupons", {"code": "QUARTER", "kind": "percent", "value": 25,
                                                     "max_redemptions": 5, "expires_at": _in(24)},
                    token=instructor).status_code == 201
    other = make_course(api, instructor, amount=10_000)
    learner = funded_learner(api, 50_000)
    created = start_checkout(api, learner, [{"course_id": course_id}, {"course_id": other}], coupon_code="quarter",
                             wallet_amount=krw(40_000))
    assert created.status_code == 201, created.body
    checkout = created.json_body
    assert [item["discount"]["amount"] for item in checkout["items"]] == [10_000, 0]  # the coupon's course only
    assert checkout["amount_due"] == krw(0) and checkout["payment"] is None
    paid = pay_checkout(api, learner, checkout)
    assert paid.status_code == 200 and paid.json_body["status"] == "paid", paid.body
    assert balance(api, learner) == 10_000 and pending_share(api, instructor) == 32_000
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 1
    assert_reconciled(api, admin)


def test_refusals_name_their_reason_and_hold_nothing(api, admin, instructor):
    course_id, session_id = course_with_session(api, instructor, capacity=1, starts_at=_in(30), amount=30_000)
    learner = funded_learner(api, 20_000)
    assert start_checkout(api, learner, [{"course_id": "nope"}]).status_code == 404
    assert start_checkout(api, instructor, [{"course_id": course_id}]).status_code == 403  # instructors are not learners
    owner = api.token_for(roles=["learner", "instructor"])
    own = make_course(api, owner)
    assert start_checkout(api, owner, [{"course_id": own}]).status_code == 403
    coupon = start_checkout(api, learner, [{"course_id": course_id}], coupon_code="NOSUCH")
    assert coupon.status_code == 422 and coupon.json_body["errors"][0]["field"] == "coupon_code"
    broke = start_checkout(api, learner, [{"course_id": course_id}], wallet_amount=krw(25_000))
    assert broke.status_code == 402 and broke.json_body["code"] == "INSUFFICIENT_FUNDS"
    too_much = start_checkout(api, learner, [{"course_id": course_id}], wallet_amount=krw(30_001))
    assert too_much.status_code == 422 and too_much.json_body["errors"][0]["field"] == "wallet_amount.amount"
    twice = start_checkout(api, learner, [{"course_id": course_id}, {"course_id": course_id}])
    assert twice.status_code == 422 and twice.json_body["errors"][0]["field"] == "items[1].course_id"
    assert start_checkout(api, learner, []).status_code == 422
    assert start_checkout(api, learner, [{"course_id": f"c{n}"} for n in range(11)]).status_code == 422
    first = start_checkout(api, funded_learner(api, 1_000), [{"course_id": course_id, "session_id": session_id}])
    assert first.status_code == 201
    sold_out = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}])
    assert sold_out.status_code == 409 and sold_out.json_body["code"] == "SOLD_OUT"
    bought = start_checkout(api, learner, [{"course_id": course_id}], wallet_amount=krw(0))
    assert pay_checkout(api, learner, bought.json_body).status_code == 200
    again = start_checkout(api, learner, [{"course_id": course_id}])
    assert again.status_code == 409 and again.json_body["code"] == "ALREADY_ENROLLED"
    assert balance(api, learner) == 20_000
    assert_reconciled(api, admin)


def test_a_confirm_for_another_amount_is_refused_naming_it(api, instructor):
    course_id = make_course(api, instructor, amount=10_000)
    learner = funded_learner(api, 1_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id}]).json_body
    wrong = pay_checkout(api, learner, checkout, amount=krw(9_000))
    assert wrong.status_code == 422 and wrong.json_body["errors"][0]["field"] == "amount"
    assert pay_checkout(api, funded_learner(api, 1_000), checkout).status_code == 404


def test_a_declined_payment_fails_the_checkout_and_releases_its_holds(api, admin, instructor):
    course_id, session_id = course_with_session(api, instructor, capacity=2, starts_at=_in(30), amount=30_000)
    assert api.post(f"{STUDIO}/{course_id}/coupons", {"code": "TENOFF", "kind": "fixed", "value": 10_000,
                                                     "max_redemptions": 1, "expires_at": _in(24)},
                    token=instructor).status_code == 201
    learner = funded_learner(api, 10_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}], coupon_code="TENOFF",
                              wallet_amount=krw(5_000)).json_body
    assert seats_left(api, course_id) == 1 and balance(api, learner) == 5_000
    declined = pay_checkout(api, learner, checkout, payment_key="decline")
    assert declined.status_code == 402 and declined.json_body["code"] == "PAYMENT_DECLINED"
    got = api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body
    assert got["status"] == "failed" and got["failure_reason"]
    assert seats_left(api, course_id) == 2 and balance(api, learner) == 10_000
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 0
    assert pay_checkout(api, learner, checkout).status_code == 402  # a failed checkout stays failed
    expire_checkouts()  # nothing of this checkout is released twice
    assert balance(api, learner) == 10_000 and orders_of(api, learner) == []
    assert_reconciled(api, admin)


def test_expiry_releases_the_holds_and_a_late_confirm_is_cancelled_at_the_gateway(api, admin, instructor):
    course_id, session_id = course_with_session(api, instructor, capacity=2, starts_at=_in(30), amount=30_000)
    learner = funded_learner(api, 10_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}],
                              wallet_amount=krw(10_000)).json_body
    expire_checkouts(minutes=30)  # not yet due: this one stays pending
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["status"] == "pending"
    expire_checkouts()
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["status"] == "expired"
    assert seats_left(api, course_id) == 2 and balance(api, learner) == 10_000
    assert_reconciled(api, admin)

    late = pay_checkout(api, learner, checkout)
    assert late.status_code == 200, late.body
    assert late.json_body["status"] == "cancelled" and late.json_body["cancel_reason"] == "expired"
    assert late.json_body["orders"] == []
    assert checkout["checkout_id"] in fake_payments.CANCELLED
    assert orders_of(api, learner) == [] and balance(api, learner) == 10_000 and seats_left(api, course_id) == 2
    assert pay_checkout(api, learner, checkout).json_body["status"] == "cancelled"  # a retry changes nothing
    assert_reconciled(api, admin)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_confirm_that_failed_after_the_gateway_answered_ends_paid_once_on_any_retry(api, admin, instructor, when):
    course_id = make_course(api, instructor, amount=30_000)
    learner = funded_learner(api, 10_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id}], wallet_amount=krw(10_000)).json_body
    key = new_key("confirm")
    with dynamodb_fails("TransactWriteItems", when=when):
        assert_problem(pay_checkout(api, learner, checkout, key=key))
    same = pay_checkout(api, learner, checkout, key=key)
    fresh = pay_checkout(api, learner, checkout)
    for response in (same, fresh):
        assert response.status_code == 200 and response.json_body["status"] == "paid", response.body
    assert same.json_body["orders"] == fresh.json_body["orders"]
    assert len(orders_of(api, learner)) == 1 and balance(api, learner) == 0
    assert pending_share(api, instructor) == 24_000
    assert_reconciled(api, admin)


def test_two_checkouts_of_one_learner_cannot_spend_the_same_wallet_money(api, admin, instructor, threads):
    courses = [make_course(api, instructor, amount=30_000) for _ in range(2)]
    learner = funded_learner(api, 30_000)
    responses = list(threads.map(lambda course_id: start_checkout(api, learner, [{"course_id": course_id}],
                                                                  wallet_amount=krw(20_000)), courses))
    assert sorted(r.status_code for r in responses) == [201, 402], [r.body for r in responses]
    assert balance(api, learner) == 10_000
    held_elsewhere = api.post("/orders", {"course_id": make_course(api, instructor, amount=20_000)}, token=learner,
                              headers={"Idempotency-Key": new_key()})
    assert held_elsewhere.status_code == 402  # the held part cannot be spent by a wallet purchase either
    assert_reconciled(api, admin)


def test_a_gateway_outage_leaves_the_checkout_pending_and_a_retry_with_the_same_key_pays_it(api, admin, instructor,
                                                                                          monkeypatch):
    from chalicelib import errors
    from chalicelib.services import checkout as checkout_service

    class DownGateway(fake_payments.FakePayments):
        def confirm(self, payment_key, order_id, amount):
            raise errors.PaymentGatewayError("down")

    course_id = make_course(api, instructor, amount=30_000)
    learner = funded_learner(api, 1_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id}]).json_body
    key = new_key("confirm")
    monkeypatch.setattr(checkout_service, "payment_gateway", DownGateway)
    down = pay_checkout(api, learner, checkout, key=key)
    assert down.status_code == 502 and down.json_body["code"] == "PAYMENT_GATEWAY_ERROR"
    assert api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["status"] == "pending"
    monkeypatch.undo()
    assert pay_checkout(api, learner, checkout, key=key).json_body["status"] == "paid"
    assert_reconciled(api, admin)


def test_a_confirm_takes_its_reads_and_one_transaction(api, instructor):
    course_id = make_course(api, instructor, amount=30_000)
    learner = funded_learner(api, 10_000)
    checkout = start_checkout(api, learner, [{"course_id": course_id}, {"course_id": make_course(api, instructor)}],
                              wallet_amount=krw(10_000)).json_body
    with dynamodb_calls() as calls:
        assert pay_checkout(api, learner, checkout).status_code == 200
    assert calls.count("TransactWriteItems") == 1, calls  # the payment, with the idempotency record
    assert "Scan" not in calls and "Query" not in calls, calls


def test_a_confirm_racing_the_expiry_job_ends_paid_or_cancelled_never_both(api, admin, instructor, threads):
    for _ in range(3):
        course_id, session_id = course_with_session(api, instructor, capacity=1, starts_at=_in(30), amount=30_000)
        learner = funded_learner(api, 10_000)
        checkout = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}],
                                  wallet_amount=krw(10_000)).json_body
        confirmed, _ = list(threads.map(lambda run: run(), [partial(pay_checkout, api, learner, checkout),
                                                            expire_checkouts]))
        assert confirmed.status_code == 200, confirmed.body
        status = api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["status"]
        assert status == confirmed.json_body["status"] in ("paid", "cancelled")
        enrolled = len(orders_of(api, learner))
        assert (enrolled, balance(api, learner), seats_left(api, course_id)) == (
            (1, 0, 0) if status == "paid" else (0, 10_000, 1))
        assert (checkout["checkout_id"] in fake_payments.CANCELLED) == (status == "cancelled")
    assert_reconciled(api, admin)
