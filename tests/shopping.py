"""Helpers for tests that move money through the API: fund a wallet, buy, refund."""

import itertools

from tests.test_catalog import STUDIO, make_course

_keys = itertools.count()


def key(prefix="k"):
    return f"{prefix}-{next(_keys)}-test"


def fund(api, token, amount=200_000):
    """Top up the wallet through the fake payment gateway, as a learner would."""
    topup = api.post("/wallet/topups", {"amount": {"amount": amount, "currency": "KRW"}}, token=token,
                     headers={"Idempotency-Key": key("topup")})
    assert topup.status_code == 201, topup.body
    confirmed = api.post(f"/wallet/topups/{topup.json_body['topup_id']}/confirm",
                         {"payment_key": topup.json_body["checkout"]["payment_key"]}, token=token,
                         headers={"Idempotency-Key": key("confirm")})
    assert confirmed.status_code == 200, confirmed.body


def buy(api, token, course_id, idempotency_key=None, **extra):
    return api.post("/orders", {"course_id": course_id, **extra}, token=token,
                    headers={"Idempotency-Key": idempotency_key or key("order")})


def refund(api, token, order_id, idempotency_key=None, **extra):
    return api.post(f"/orders/{order_id}/refund", {"reason": "changed my mind", **extra}, token=token,
                    headers={"Idempotency-Key": idempotency_key or key("refund")})


def wallet(api, token):
    return api.get("/wallet", token=token).json_body["balance"]["amount"]


def course_with_session(api, instructor, capacity, starts_at, amount=50_000):
    course_id = make_course(api, instructor, amount=amount)
    session = api.post(f"{STUDIO}/{course_id}/sessions",
                       {"starts_at": starts_at, "duration_minutes": 60, "capacity": capacity}, token=instructor)
    assert session.status_code == 201, session.body
    return course_id, session.json_body["session_id"]
