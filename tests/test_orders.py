"""Buying courses from the wallet, refunds and coupons, through the API."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock
from tests.support.courses import STUDIO, make_course
from tests.support.money import balance, buy, confirm, course_with_session, new_key, refund, start_topup


def _in(hours):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"], name="Ina")


@pytest.fixture
def learner(api):
    return funded(api)


def funded(api, amount=200_000):
    token = api.token_for(roles=["learner"], name="Lea")
    assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    return token


def test_buying_enrolls_debits_the_wallet_and_credits_the_instructor_pending(api, instructor, learner):
    course_id = make_course(api, instructor, amount=55_000)
    order = buy(api, learner, course_id)
    assert order.status_code == 201, order.body
    body = order.json_body
    assert body["status"] == "paid" and body["total"] == {"amount": 55_000, "currency": "KRW"}
    assert body["enrollment_id"] and "platform_fee" not in body
    assert balance(api, learner) == 145_000
    earnings = api.get("/instructor/balance", token=instructor).json_body
    assert earnings["pending"] == {"amount": 44_000, "currency": "KRW"}  # 55,000 less the 20% fee
    assert earnings["available"]["amount"] == 0
    receipt = api.get(f"/orders/{body['order_id']}", token=learner)
    assert receipt.status_code == 200 and receipt.json_body["order_id"] == body["order_id"]
    assert [o["order_id"] for o in api.get("/orders", token=learner).json_body["items"]] == [body["order_id"]]
    assert api.get(f"/courses/{course_id}").json_body["enrollment_count"] == 1


def test_the_same_idempotency_key_replays_and_a_new_key_is_already_enrolled(api, instructor, learner):
    course_id = make_course(api, instructor, amount=30_000)
    first = buy(api, learner, course_id, key="buy-once")
    again = buy(api, learner, course_id, key="buy-once")
    assert again.status_code == 201 and again.json_body == first.json_body
    other = buy(api, learner, course_id)
    assert other.status_code == 409 and other.json_body["code"] == "ALREADY_ENROLLED"
    reused = api.post("/orders", {"course_id": make_course(api, instructor)}, token=learner,
                      headers={"Idempotency-Key": "buy-once"})
    assert reused.status_code == 422 and reused.json_body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert balance(api, learner) == 170_000


def test_money_routes_need_an_idempotency_key(api, instructor, learner):
    course_id = make_course(api, instructor)
    response = api.post("/orders", {"course_id": course_id}, token=learner)
    assert response.status_code == 400 and response.json_body["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_insufficient_funds_is_402_and_nothing_changes(api, instructor):
    poor = funded(api, 10_000)
    course_id = make_course(api, instructor, amount=55_000)
    response = buy(api, poor, course_id)
    assert response.status_code == 402 and response.json_body["code"] == "INSUFFICIENT_FUNDS"
    assert balance(api, poor) == 10_000
    assert api.get("/orders", token=poor).json_body["items"] == []
    assert api.get(f"/courses/{course_id}").json_body["enrollment_count"] == 0


def test_unknown_unpublished_and_own_courses_cannot_be_bought(api, instructor, learner):
    draft = make_course(api, instructor, publish=False)
    assert buy(api, learner, draft).status_code == 404
    assert buy(api, learner, "01NOSUCHCOURSE").status_code == 404
    both = api.token_for(roles=["learner", "instructor"])
    assert confirm(api, both, start_topup(api, both, 100_000)).status_code == 200
    own = make_course(api, both)
    assert buy(api, both, own).status_code == 403


def test_a_seat_is_taken_and_a_full_session_is_sold_out(api, instructor, learner):
    course_id, session_id = course_with_session(api, instructor, capacity=1, starts_at=_in(48))
    assert buy(api, learner, course_id, session_id=session_id).status_code == 201
    assert api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"] == 0
    late = funded(api)
    response = buy(api, late, course_id, session_id=session_id)
    assert response.status_code == 409 and response.json_body["code"] == "SOLD_OUT"
    assert balance(api, late) == 200_000
    assert buy(api, late, course_id, session_id="nosuchsession").status_code == 404


def test_refund_within_the_policy_returns_money_ends_enrollment_and_frees_the_seat(api, instructor, learner):
    course_id, session_id = course_with_session(api, instructor, capacity=3, starts_at=_in(48), amount=40_000)
    order = buy(api, learner, course_id, session_id=session_id).json_body
    refunded = refund(api, learner, order["order_id"])
    assert refunded.status_code == 200, refunded.body
    assert refunded.json_body["status"] == "refunded"
    assert refunded.json_body["refund"]["amount"] == {"amount": 40_000, "currency": "KRW"}
    assert balance(api, learner) == 200_000
    assert api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"] == 0
    assert api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"] == 3
    again = refund(api, learner, order["order_id"])
    assert again.status_code == 422 and again.json_body["code"] == "REFUND_NOT_ALLOWED"
    # buying again after a refund is allowed
    assert buy(api, learner, course_id).status_code == 201


def test_refund_after_the_window_is_refused_but_an_admin_may(api, instructor, learner, monkeypatch):
    monkeypatch.setenv("REFUND_PRO_RATA", "false")  # with it (the default), tests/test_refunds.py
    course_id = make_course(api, instructor, amount=20_000)
    order = buy(api, learner, course_id).json_body
    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    refused = refund(api, learner, order["order_id"])
    assert refused.status_code == 422 and refused.json_body["code"] == "REFUND_NOT_ALLOWED"
    assert "7 days" in refused.json_body["detail"]
    partial = refund(api, api.admin_token(), order["order_id"], amount={"amount": 5_000, "currency": "KRW"})
    assert partial.status_code == 200 and partial.json_body["refund"]["amount"]["amount"] == 5_000
    assert balance(api, learner) == 185_000


def test_refund_above_the_progress_limit_is_refused(api, instructor, learner, monkeypatch):
    from chalicelib.store.enrollments import EnrollmentItem

    monkeypatch.setenv("REFUND_PRO_RATA", "false")  # with it (the default), tests/test_refunds.py
    course_id = make_course(api, instructor, lessons=5)
    order = buy(api, learner, course_id).json_body
    learner_id = api.get("/me", token=learner).json_body["user_id"]
    EnrollmentItem(learner_id, course_id).update(actions=[EnrollmentItem.progress_percent.set(20)])
    response = refund(api, learner, order["order_id"])
    assert response.status_code == 422 and "10%" in response.json_body["detail"]


def test_a_lesson_completed_while_the_refund_runs_cannot_slip_past_the_progress_limit(api, instructor, learner,
                                                                                    monkeypatch):
    from chalicelib.services import orders as orders_service

    monkeypatch.setenv("REFUND_PRO_RATA", "false")  # past the limit nothing is refundable
    course_id = make_course(api, instructor, lessons=5)
    order = buy(api, learner, course_id).json_body
    lesson_id = api.get(f"/courses/{course_id}").json_body["sections"][0]["lessons"][0]["lesson_id"]
    checked = orders_service._quote

    def then_complete_a_lesson(order_, enrollment, now):
        refusal = checked(order_, enrollment, now)  # 0% complete: the policy allows it ...
        done = api.call("PUT", f"/me/enrollments/{course_id}/lessons/{lesson_id}/progress",
                        {"completed": True, "position_seconds": 60}, token=learner)
        assert done.status_code == 200 and done.json_body["progress_percent"] == 20  # ... until now
        return refusal

    monkeypatch.setattr(orders_service, "_quote", then_complete_a_lesson)
    response = refund(api, learner, order["order_id"])
    assert response.status_code == 422 and response.json_body["code"] == "REFUND_NOT_ALLOWED"
    assert "10%" in response.json_body["detail"]
    assert balance(api, learner) == 200_000 - order["total"]["amount"]
    assert api.get(f"/orders/{order['order_id']}", token=learner).json_body["status"] == "paid"


def test_another_learners_order_is_404(api, instructor, learner):
    order = buy(api, learner, make_course(api, instructor)).json_body
    other = api.token_for()
    assert api.get(f"/orders/{order['order_id']}", token=other).status_code == 404
    assert refund(api, other, order["order_id"]).status_code == 404
    assert api.get(f"/orders/{order['order_id']}", token=api.admin_token()).status_code == 200


def test_coupons_discount_and_run_out(api, instructor, learner):
    course_id = make_course(api, instructor, amount=50_000)
    created = api.post(f"{STUDIO}/{course_id}/coupons", {"code": "half", "kind": "percent", "value": 50,
                                                         "max_redemptions": 1, "expires_at": _in(24)}, token=instructor)
    assert created.status_code == 201 and created.json_body["code"] == "HALF"
    order = buy(api, learner, course_id, coupon_code="HALF")
    assert order.status_code == 201
    assert order.json_body["discount"]["amount"] == 25_000 and order.json_body["total"]["amount"] == 25_000
    assert balance(api, learner) == 175_000
    second = funded(api)
    exhausted = buy(api, second, course_id, coupon_code="HALF")
    assert exhausted.status_code == 422 and exhausted.json_body["errors"][0]["field"] == "coupon_code"
    coupons = api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body
    assert coupons[0]["redemptions"] == 1
    other = api.token_for(roles=["instructor"])
    assert api.post(f"{STUDIO}/{course_id}/coupons", {"code": "MINE", "kind": "fixed", "value": 1000,
                                                     "max_redemptions": 5, "expires_at": _in(24)},
                    token=other).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({}, "course_id"),
    ({"course_id": ""}, "course_id"),
    ({"course_id": "x", "coupon_code": "a b"}, "coupon_code"),
    ({"course_id": "x", "extra": 1}, "extra"),
])
def test_bad_order_input_names_the_field(api, learner, body, field):
    response = api.post("/orders", body, token=learner, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == field


def test_an_expired_coupon_is_refused_naming_the_field_and_nothing_is_charged(api, instructor, learner, monkeypatch):
    course_id = make_course(api, instructor, amount=30_000)
    created = api.post(f"{STUDIO}/{course_id}/coupons", {"code": "SOON", "kind": "fixed", "value": 10_000,
                                                         "max_redemptions": 5, "expires_at": _in(1)}, token=instructor)
    assert created.status_code == 201, created.body
    later = clock.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    expired = buy(api, learner, course_id, coupon_code="SOON")
    assert expired.status_code == 422, expired.body
    assert expired.json_body["code"] == "VALIDATION_FAILED"
    assert [e["field"] for e in expired.json_body["errors"]] == ["coupon_code"]
    assert balance(api, learner) == 200_000
    assert api.get("/orders", token=learner).json_body["items"] == []
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 0
    assert buy(api, learner, course_id).status_code == 201  # the course itself is still for sale, at full price
    assert balance(api, learner) == 170_000


def test_a_refund_keeps_the_coupon_redemption_counted(api, instructor, learner):
    course_id = make_course(api, instructor, amount=50_000)
    assert api.post(f"{STUDIO}/{course_id}/coupons", {"code": "ONCE", "kind": "fixed", "value": 10_000,
                                                     "max_redemptions": 1, "expires_at": _in(24)},
                    token=instructor).status_code == 201
    order = buy(api, learner, course_id, coupon_code="ONCE")
    assert order.status_code == 201 and order.json_body["total"]["amount"] == 40_000
    assert balance(api, learner) == 160_000
    refunded = refund(api, learner, order.json_body["order_id"])
    assert refunded.status_code == 200 and refunded.json_body["refund"]["amount"]["amount"] == 40_000
    assert balance(api, learner) == 200_000
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 1
    for buyer in (learner, funded(api)):  # neither the refunded learner nor anyone else gets it again
        again = buy(api, buyer, course_id, coupon_code="ONCE")
        assert again.status_code == 422 and [e["field"] for e in again.json_body["errors"]] == ["coupon_code"]
        assert balance(api, buyer) == 200_000
    assert api.get(f"{STUDIO}/{course_id}/coupons", token=instructor).json_body[0]["redemptions"] == 1
    assert buy(api, learner, course_id).status_code == 201  # without it, at full price
    assert balance(api, learner) == 150_000


def test_a_free_order_is_refunded_like_any_other(api, instructor):
    """Found by the market model: a 100% coupon's order totals 0, and its learner's refund was refused
    as a bad `amount.amount`, a field the learner never sent."""
    course_id = make_course(api, instructor, amount=10_000)
    coupon = api.post(f"{STUDIO}/{course_id}/coupons", {"code": "FREEFORALL", "kind": "percent", "value": 100,
                                                        "max_redemptions": 10, "expires_at": _in(24)}, token=instructor)
    assert coupon.status_code == 201, coupon.body
    learner = api.token_for()
    order = buy(api, learner, course_id, coupon_code="FREEFORALL")
    assert order.status_code == 201 and order.json_body["total"]["amount"] == 0, order.body
    back = refund(api, learner, order.json_body["order_id"])
    assert back.status_code == 200, back.body
    assert back.json_body["status"] == "refunded" and back.json_body["refund"]["amount"]["amount"] == 0
    assert api.get(f"/courses/{course_id}").json_body["enrollment_count"] == 0
    assert buy(api, learner, course_id, coupon_code="FREEFORALL").status_code == 201  # and may enroll again
